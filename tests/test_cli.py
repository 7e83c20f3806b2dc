"""The `startvora` command: init, demo, config checks, and one-line errors."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from startvora.core.schema import SchemaState, schema_problem


def startvora(*args: str, data: Path, env: dict[str, str] | None = None, timeout: int = 60):
    full_env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "STARTVORA_DATA": str(data),
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "startvora", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def one_line_error(result) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_init_creates_then_upgrades(tmp_path):
    first = startvora("init", data=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "Database ready" in first.stdout
    con = sqlite3.connect(tmp_path / "startvora.db")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("SELECT count(*) FROM alembic_version").fetchone()[0] == 1
    con.close()
    again = startvora("init", data=tmp_path)
    assert again.returncode == 0 and "Database ready" in again.stdout


def test_demo_is_deterministic_and_prints_the_sign_in(tmp_path):
    names = []
    for run in ("a", "b"):
        data = tmp_path / run
        assert startvora("init", data=data).returncode == 0
        result = startvora("demo", "--size", "small", "--seed", "7", data=data)
        assert result.returncode == 0, result.stderr
        assert "Sign in as owner@demo.example.com with the password" in result.stdout
        con = sqlite3.connect(data / "startvora.db")
        names.append(con.execute("SELECT name, email FROM auth_users ORDER BY id").fetchall())
        con.close()
    assert names[0] == names[1] and len(names[0]) == 15
    assert startvora("count-users", data=tmp_path / "a").stdout.strip() == "15"
    con = sqlite3.connect(tmp_path / "a" / "startvora.db")
    totals = "SELECT measure, month, key, amount_minor FROM finance_period_totals ORDER BY 1, 2, 3"
    loaded = con.execute(totals).fetchall()
    assert loaded, "the demo counts its invoices and expenses for the reports"
    con.execute("DELETE FROM finance_period_totals")
    con.commit()
    recount = startvora("finance", "rebuild-totals", data=tmp_path / "a")
    assert recount.returncode == 0 and recount.stdout.startswith("demo: "), recount.stderr
    assert con.execute(totals).fetchall() == loaded
    con.close()
    again = startvora("demo", data=tmp_path / "a")
    assert "exists already" in one_line_error(again)
    more = startvora("demo", "--org", "demo", "--seed", "8", data=tmp_path / "a")
    assert more.returncode == 0 and "14 members" in more.stdout
    assert "no organization" in one_line_error(
        startvora("demo", "--org", "nope", data=tmp_path / "a")
    )


def test_demo_needs_an_initialised_database(tmp_path):
    assert "startvora init" in one_line_error(startvora("demo", data=tmp_path))


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("[server\nport = 1", "not valid TOML"),
        ("[server]\nport = 'x'\n", "server.port: must be a whole number"),
        ("[server]\nspeed = 3\n", "server.speed: unknown setting"),
    ],
)
def test_bad_config_is_one_line(tmp_path, content, fragment):
    config = tmp_path / "bad.toml"
    config.write_text(content)
    line = one_line_error(startvora("--config", str(config), "serve", data=tmp_path))
    assert line.startswith("startvora: configuration error:") and fragment in line


def test_bad_environment_value_is_one_line(tmp_path):
    result = startvora("check-config", data=tmp_path, env={"STARTVORA_LOG__LEVEL": "chatty"})
    assert "log.level" in one_line_error(result)


def test_unwritable_data_folder_is_one_line(tmp_path):
    assert "cannot be created" in one_line_error(startvora("init", data=Path("/proc/self/x")))


def test_serve_refuses_an_uninitialised_database(tmp_path):
    line = one_line_error(startvora("serve", "--port", "1", data=tmp_path))
    assert "run `startvora init` first" in line


def test_serve_refuses_a_schema_from_a_newer_version(tmp_path):
    assert startvora("init", data=tmp_path).returncode == 0
    con = sqlite3.connect(tmp_path / "startvora.db")
    con.execute("UPDATE alembic_version SET version_num = 'ffffffffffff'")
    con.commit()
    con.close()
    line = one_line_error(startvora("serve", data=tmp_path))
    assert "does not know" in line


def test_schema_behind_names_the_fix():
    state = SchemaState(current="aaa", heads=("bbb",))
    problem = schema_problem(state, {"aaa", "bbb"})
    assert "behind (aaa, needs bbb)" in problem and "run `startvora init`" in problem
    assert schema_problem(SchemaState(current="bbb", heads=("bbb",)), {"bbb"}) is None


def test_serve_refuses_a_port_in_use(tmp_path):
    assert startvora("init", data=tmp_path).returncode == 0
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = one_line_error(startvora("serve", "--port", str(port), data=tmp_path))
    assert f"port {port} on 127.0.0.1 is already in use" in line


def test_worker_refuses_immediate_mode(tmp_path):
    result = startvora("worker", data=tmp_path, env={"STARTVORA_QUEUE__IMMEDIATE": "true"})
    assert "queue.immediate is on" in result.stderr


def run_with_stdin(data: Path, stdin: str, *args: str):
    return subprocess.run(
        [sys.executable, "-m", "startvora", *args],
        env={
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/tmp"),
            "STARTVORA_DATA": str(data),
        },
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_create_user_and_token_from_a_shell(tmp_path):
    assert startvora("init", data=tmp_path).returncode == 0
    made = run_with_stdin(
        tmp_path,
        "a long shell password\n",
        "create-user",
        "--email",
        "Root@Example.com",
        "--password-stdin",
        "--org",
        "Shell Co",
    )
    assert made.returncode == 0, made.stderr
    assert "Created root@example.com as owner of 'Shell Co' (/o/shell-co/)" in made.stdout
    second = run_with_stdin(
        tmp_path,
        "another long password\n",
        "create-user",
        "--email",
        "clerk@example.com",
        "--password-stdin",
        "--org",
        "shell-co",
        "--role",
        "accountant",
    )
    assert second.returncode == 0, second.stderr
    token = startvora(
        "create-token", "--email", "clerk@example.com", "--org", "shell-co", data=tmp_path
    )
    assert token.returncode == 0 and token.stdout.strip().startswith("svt_")
    con = sqlite3.connect(tmp_path / "startvora.db")
    stored = con.execute("SELECT token_hash FROM auth_api_tokens").fetchone()[0]
    con.close()
    assert token.stdout.strip() not in stored


@pytest.mark.parametrize(
    ("stdin", "args", "message"),
    [
        ("short\n", ("--email", "a@b.co", "--org", "X"), "at least 10"),
        ("a long shell password\n", ("--email", "nope", "--org", "X"), "Enter an email"),
        (
            "a long shell password\n",
            ("--email", "a@b.co", "--org", "New", "--role", "member"),
            "needs an owner",
        ),
    ],
)
def test_create_user_refuses_bad_input(tmp_path, stdin, args, message):
    assert startvora("init", data=tmp_path).returncode == 0
    result = run_with_stdin(tmp_path, stdin, "create-user", "--password-stdin", *args)
    assert message in one_line_error(result)


def test_create_token_for_a_non_member(tmp_path):
    assert startvora("init", data=tmp_path).returncode == 0
    run_with_stdin(
        tmp_path,
        "a long shell password\n",
        "create-user",
        "--email",
        "a@b.co",
        "--password-stdin",
        "--org",
        "One",
    )
    run_with_stdin(
        tmp_path,
        "a long shell password\n",
        "create-user",
        "--email",
        "c@d.co",
        "--password-stdin",
        "--org",
        "Two",
    )
    result = startvora("create-token", "--email", "a@b.co", "--org", "two", data=tmp_path)
    assert "not a member" in one_line_error(result)


def test_cli_role_choices_match_the_permission_table():
    from startvora.cli import ROLE_CHOICES
    from startvora.core.permissions import ROLES

    assert set(ROLE_CHOICES) == set(ROLES)

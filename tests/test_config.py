"""Settings: precedence, strict types, unknown keys, the example file, the data folder."""

from __future__ import annotations

import re
import stat
import tomllib
from pathlib import Path

import pytest

from startvora.config import ConfigError, describe, env_name, load_settings
from startvora.core import datadir
from tests.conftest import repo_root


def load(tmp_path: Path, toml: str = "", env: dict[str, str] | None = None, **overrides):
    config = tmp_path / "startvora.toml"
    config.write_text(toml)
    base_env = {"STARTVORA_DATA": str(tmp_path / "data")}
    return load_settings(config, overrides or None, {**base_env, **(env or {})})


def test_it_uses_defaults(tmp_path):
    settings = load(tmp_path)
    assert settings.server.port == 8000
    assert settings.database.auto_migrate is False
    assert settings.database_url == f"sqlite:///{tmp_path / 'data' / 'startvora.db'}"


def test_precedence_file_env_secret_file_overrides(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("s" * 40 + "\n")
    toml = '[server]\nport = 9000\nworkers = 3\n[log]\nlevel = "debug"\n'
    env = {"STARTVORA_SERVER__PORT": "9100", "STARTVORA_SECRET_KEY_FILE": str(secret)}
    settings = load(tmp_path, toml, env, **{"server.workers": 5})
    assert settings.server.port == 9100  # env beats file
    assert settings.server.workers == 5  # overrides beat file
    assert settings.log.level == "debug"  # file beats default
    assert settings.secret_key == "s" * 40  # _FILE secret, stripped


@pytest.mark.parametrize(
    ("toml", "env", "key", "fragment"),
    [
        ("[server]\nprot = 1\n", {}, "server.prot", "unknown setting"),
        ("colour = 1\n", {}, "colour", "unknown setting"),
        ("[server]\nport = 'abc'\n", {}, "server.port", "whole number"),
        ("[server]\nport = 70000\n", {}, "server.port", "between 1 and 65535"),
        ("", {"STARTVORA_SERVER__PORT": "eighty"}, "server.port", "whole number"),
        ("", {"STARTVORA_DATABASE__AUTO_MIGRATE": "yes"}, "database.auto_migrate", "true or false"),
        ("[log]\nlevel = 'loud'\n", {}, "log.level", "one of debug, info"),
        ("", {"STARTVORA_SERVR__PORT": "1"}, "STARTVORA_SERVR__PORT", "unknown environment"),
        ("", {"STARTVORA_SERVER__PORT_FILE": "/x"}, "server.port", "only accepted for secrets"),
        ("[i18n]\ndefault_timezone = 'Mars/Olympus'\n", {}, "i18n.default_timezone", "unknown"),
        ("[i18n]\ndefault_currency = 'XYZ'\n", {}, "i18n.default_currency", "unknown ISO"),
        ("[i18n]\ndefault_locale = 'zz_QQ'\n", {}, "i18n.default_locale", "unknown locale"),
        ("server = 3\n", {}, "server", "must be a [server] table"),
    ],
)
def test_it_names_the_bad_key(tmp_path, toml, env, key, fragment):
    with pytest.raises(ConfigError) as info:
        load(tmp_path, toml, env)
    assert info.value.key == key
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_malformed_toml_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match=r"not valid TOML: .*line 1") as info:
        load(tmp_path, "[server\nport = 1")
    assert "\n" not in str(info.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_example_file_documents_every_key_and_loads():
    example = repo_root() / "config" / "startvora.example.toml"
    text = example.read_text()
    documented = set()
    section = ""
    for line in text.splitlines():
        if m := re.match(r"^#?\s*\[(\w+)\]\s*$", line):
            section = m.group(1)
        elif m := re.match(r"^#?\s*(\w+)\s*=", line):
            documented.add(f"{section}.{m.group(1)}" if section else m.group(1))
    assert documented == set(describe())
    for key in describe():
        assert env_name(key) in text, f"{key}: environment name not documented"
    # Uncommented, it is a valid file that gives the defaults.
    uncommented = re.sub(r"^#\s?(\[?\w+\]?\s*(=.*)?)$", r"\1", text, flags=re.M)
    tomllib.loads(uncommented)


def test_data_folder_and_secret_key(tmp_path):
    settings = load(tmp_path)
    path = datadir.prepare(settings)
    assert path.is_dir() and (path / "files").is_dir()
    key = datadir.secret_key(settings)
    key_file = path / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key) >= 32
    assert datadir.secret_key(settings) == key  # kept, not regenerated


def test_unwritable_data_folder(tmp_path):
    # /proc/self cannot take new folders, even for root: the same failure as a read-only disk.
    settings = load(tmp_path, env={"STARTVORA_DATA": "/proc/self"})
    with pytest.raises(datadir.DataDirError, match=r"data folder /proc/\d+ cannot be created"):
        datadir.prepare(settings)


def test_data_folder_inside_a_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    settings = load(tmp_path, env={"STARTVORA_DATA": str(blocker / "data")})
    with pytest.raises(datadir.DataDirError, match="cannot be created"):
        datadir.prepare(settings)


def test_a_file_secret_wins_whatever_the_order(tmp_path):
    secret = tmp_path / "s"
    secret.write_text("f" * 40)
    for env in (
        {"STARTVORA_SECRET_KEY": "d" * 40, "STARTVORA_SECRET_KEY_FILE": str(secret)},
        {"STARTVORA_SECRET_KEY_FILE": str(secret), "STARTVORA_SECRET_KEY": "d" * 40},
    ):
        assert load(tmp_path, env=env).secret_key == "f" * 40


def test_relative_data_dir_is_relative_to_the_file(tmp_path):
    config = tmp_path / "etc" / "startvora.toml"
    config.parent.mkdir()
    config.write_text('data_dir = "../var"\n')
    settings = load_settings(config, environ={})
    assert settings.data_path == (tmp_path / "var").resolve()


@pytest.mark.parametrize("url", ["garbage", "mysql://x/y", "http://db"])
def test_database_url_must_be_supported(tmp_path, url):
    with pytest.raises(ConfigError, match=r"database\.url"):
        load(tmp_path, env={"STARTVORA_DATABASE__URL": url})


def test_secret_key_is_the_same_for_processes_starting_together(tmp_path):
    import threading

    settings = load(tmp_path)
    datadir.prepare(settings)
    keys = []
    threads = [
        threading.Thread(target=lambda: keys.append(datadir.secret_key(settings))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 1 and len(keys) == 8

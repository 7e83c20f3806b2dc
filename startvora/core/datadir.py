"""The data folder: created on first run, checked for writing, holding the generated secret key."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from startvora.config import ConfigError, Settings

SUBFOLDERS = ("files", "search", "models", "backups")


class DataDirError(Exception):
    """The data folder cannot be used; the message says why in one line."""


def prepare(settings: Settings) -> Path:
    """Create the data folder and its subfolders if needed and check that it is writable."""
    path = settings.data_path
    try:
        path.mkdir(parents=True, exist_ok=True)
        for name in SUBFOLDERS:
            (path / name).mkdir(exist_ok=True)
    except OSError as exc:
        raise DataDirError(f"data folder {path} cannot be created: {exc.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise DataDirError(f"data folder {path} is not writable by this user")
    return path


def secret_key(settings: Settings) -> str:
    """The configured secret, or the one in data/secret_key, generated (mode 0600) if absent."""
    if settings.secret_key:
        if len(settings.secret_key) < 32:
            raise ConfigError("secret_key", "must be at least 32 characters long")
        return settings.secret_key
    key_file = settings.data_path / "secret_key"
    if not key_file.exists():
        # Written whole to a private file, then linked into place: a process starting at the
        # same moment sees either no key or the complete one, and only one key ever wins.
        value = secrets.token_urlsafe(48)
        temp = key_file.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(value + "\n")
            with contextlib.suppress(FileExistsError):  # another process won the race
                os.link(temp, key_file)
        except OSError as exc:
            raise DataDirError(f"{key_file} cannot be created: {exc.strerror}") from None
        finally:
            temp.unlink(missing_ok=True)
    try:
        value = key_file.read_text().strip()
    except OSError as exc:
        raise DataDirError(f"{key_file} cannot be read: {exc.strerror}") from None
    if len(value) < 32:
        raise DataDirError(f"{key_file} is too short; delete it to generate a new one")
    return value

"""Typed settings: defaults < TOML file < STARTVORA_* environment < *_FILE secrets < overrides.

Every key is declared once, in the dataclasses below, with its type, default and help text.
`config/startvora.example.toml` documents the same keys; a test keeps the two in step.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

ENV_PREFIX = "STARTVORA_"


class ConfigError(Exception):
    """A setting is unknown or has a bad value; the message names the key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


def _field(default: Any, help: str, **meta: Any) -> Any:
    return dataclasses.field(default=default, metadata={"help": help, **meta})


@dataclasses.dataclass(frozen=True)
class ServerSettings:
    host: str = _field("127.0.0.1", "Address to listen on; 0.0.0.0 serves the whole LAN.")
    port: int = _field(8000, "TCP port of the web server.", min=1, max=65535)
    workers: int = _field(2, "Web worker processes (gunicorn gthread).", min=1, max=32)
    threads: int = _field(
        8, "Threads per web worker; an open page's live updates hold one.", min=2, max=64
    )
    public_url: str = _field("", "URL people use to reach this instance, used in emails and links.")
    timeout: int = _field(60, "Seconds before a stuck web request is aborted.", min=5, max=3600)


@dataclasses.dataclass(frozen=True)
class DatabaseSettings:
    url: str = _field("", "SQLAlchemy URL; empty means startvora.db in the data folder.")
    auto_migrate: bool = _field(False, "Upgrade the database schema on `startvora serve`.")
    busy_timeout_ms: int = _field(5000, "How long SQLite waits for a lock.", min=0, max=600000)


@dataclasses.dataclass(frozen=True)
class QueueSettings:
    workers: int = _field(2, "Threads of the background job consumer.", min=1, max=16)
    immediate: bool = _field(False, "Run jobs inline instead of queueing them (tests only).")


@dataclasses.dataclass(frozen=True)
class I18nSettings:
    default_locale: str = _field("en", "Locale for people and organizations that set none.")
    default_timezone: str = _field("UTC", "Time zone for organizations that set none.")
    default_currency: str = _field("USD", "ISO 4217 currency for new organizations.")


@dataclasses.dataclass(frozen=True)
class SecuritySettings:
    secure_cookies: bool = _field(False, "Send cookies only over HTTPS; turn on behind TLS.")
    session_days: int = _field(30, "Days a remembered sign-in lasts.", min=1, max=365)
    trusted_proxies: int = _field(
        0, "Reverse proxies in front whose X-Forwarded-* to trust.", min=0, max=5
    )


@dataclasses.dataclass(frozen=True)
class MailSettings:
    host: str = _field("", "SMTP server; empty means email is not set up.")
    port: int = _field(587, "SMTP port.", min=1, max=65535)
    username: str = _field("", "SMTP user name, if the server needs one.")
    password: str = _field("", "SMTP password.", secret=True)
    from_address: str = _field("", "Sender address, e.g. Startvora <office@example.com>.")
    security: Literal["none", "starttls", "tls"] = _field("starttls", "Connection security.")
    timeout: int = _field(20, "Seconds before an SMTP connection gives up.", min=1, max=300)


@dataclasses.dataclass(frozen=True)
class StorageSettings:
    backend: Literal["local", "s3"] = _field("local", "Where files go: the data folder or S3.")
    s3_endpoint: str = _field("", "S3/MinIO host and port, e.g. minio.lan:9000.")
    s3_bucket: str = _field("startvora", "Bucket for this instance's files.")
    s3_access_key: str = _field("", "S3 access key.")
    s3_secret_key: str = _field("", "S3 secret key.", secret=True)
    s3_region: str = _field("us-east-1", "S3 region.")
    s3_secure: bool = _field(True, "Use HTTPS to reach S3.")
    max_upload_mb: int = _field(25, "Largest file one upload may be, in MB.", min=1, max=512)


@dataclasses.dataclass(frozen=True)
class LogSettings:
    level: Literal["debug", "info", "warning", "error"] = _field("info", "Log level.")
    format: Literal["text", "json"] = _field("text", "Log line format.")


@dataclasses.dataclass(frozen=True)
class HealthSettings:
    min_free_disk_mb: int = _field(
        200, "Below this much free space in the data folder /healthz fails.", min=0
    )


@dataclasses.dataclass(frozen=True)
class ReplicationSettings:
    url: str = _field(
        "",
        "Where Litestream copies the databases as they change: a folder (a USB disk or NAS),"
        " file:///path, sftp://user@host/path or s3://bucket/path; empty means off.",
    )
    sync_interval_ms: int = _field(
        1000, "How often changes are sent to the replica, in milliseconds.", min=100, max=3600000
    )
    s3_endpoint: str = _field("", "For s3:// on MinIO and the like: http(s)://host:port.")
    s3_region: str = _field("us-east-1", "S3 region.")
    s3_access_key: str = _field("", "S3 access key for the replica.")
    s3_secret_key: str = _field("", "S3 secret key for the replica.", secret=True)
    sftp_password: str = _field("", "Password for an sftp:// replica.", secret=True)
    sftp_key_path: str = _field("", "Private key file for an sftp:// replica.")


@dataclasses.dataclass(frozen=True)
class BackupSettings:
    dir: str = _field("", "Folder for snapshot archives; empty means backups/ in the data folder.")
    keep: int = _field(7, "Nightly snapshots kept; older ones are deleted.", min=1, max=1000)
    nightly_hour: int = _field(3, "Hour of the day (UTC) the nightly snapshot is made.", min=0,
                               max=23)  # fmt: skip
    admins: str = _field(
        "",
        "Emails of the people who may download snapshots in the browser (they hold every"
        " organization's data); empty means the owner, while the instance has one organization.",
    )


@dataclasses.dataclass(frozen=True)
class MetricsSettings:
    token: str = _field(
        "", "Bearer token that /metrics asks for; empty means only the networks below.",
        secret=True,
    )  # fmt: skip
    networks: str = _field(
        "127.0.0.1/32,::1/128", "Comma-separated networks that may read /metrics without a token."
    )


@dataclasses.dataclass(frozen=True)
class SentrySettings:
    dsn: str = _field("", "Sentry DSN: errors are reported there; empty means off.", secret=True)
    environment: str = _field("production", "Environment name shown in Sentry.")


@dataclasses.dataclass(frozen=True)
class Settings:
    data_dir: str = _field("", "Data folder; also STARTVORA_DATA. Empty means ./data.")
    secret_key: str = _field(
        "", "Signs cookies and tokens; empty means the generated data/secret_key.", secret=True
    )
    server: ServerSettings = dataclasses.field(default_factory=ServerSettings)
    database: DatabaseSettings = dataclasses.field(default_factory=DatabaseSettings)
    queue: QueueSettings = dataclasses.field(default_factory=QueueSettings)
    i18n: I18nSettings = dataclasses.field(default_factory=I18nSettings)
    security: SecuritySettings = dataclasses.field(default_factory=SecuritySettings)
    mail: MailSettings = dataclasses.field(default_factory=MailSettings)
    storage: StorageSettings = dataclasses.field(default_factory=StorageSettings)
    log: LogSettings = dataclasses.field(default_factory=LogSettings)
    health: HealthSettings = dataclasses.field(default_factory=HealthSettings)
    replication: ReplicationSettings = dataclasses.field(default_factory=ReplicationSettings)
    backup: BackupSettings = dataclasses.field(default_factory=BackupSettings)
    metrics: MetricsSettings = dataclasses.field(default_factory=MetricsSettings)
    sentry: SentrySettings = dataclasses.field(default_factory=SentrySettings)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser().resolve()

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.data_path / 'startvora.db'}"


SECTIONS: dict[str, type] = {
    f.name: f.type if isinstance(f.type, type) else globals()[f.type]
    for f in dataclasses.fields(Settings)
    if f.default is dataclasses.MISSING
}


def iter_keys() -> typing.Iterator[tuple[str, dataclasses.Field[Any]]]:
    """Every setting as (dotted key, field), in declaration order."""
    for f in dataclasses.fields(Settings):
        if f.name in SECTIONS:
            for sf in dataclasses.fields(SECTIONS[f.name]):
                yield f"{f.name}.{sf.name}", sf
        else:
            yield f.name, f


_KEYS = dict(iter_keys())
_HINTS: dict[str, Any] = {}
for _cls in (Settings, *SECTIONS.values()):
    for _name, _hint in typing.get_type_hints(_cls).items():
        _prefix = (
            "" if _cls is Settings else next(k for k, v in SECTIONS.items() if v is _cls) + "."
        )
        _HINTS[_prefix + _name] = _hint


def _coerce(key: str, raw: Any, from_text: bool) -> Any:
    """Turn a raw TOML or environment value into the declared type, or raise ConfigError."""
    hint = _HINTS[key]
    meta = _KEYS[key].metadata
    if hint is bool:
        if isinstance(raw, bool):
            return raw
        if from_text and raw in ("true", "false"):
            return raw == "true"
        raise ConfigError(key, f"must be true or false (got {raw!r})")
    if hint is int:
        value = raw
        if from_text and isinstance(raw, str) and re.fullmatch(r"-?\d+", raw.strip()):
            value = int(raw)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, f"must be a whole number (got {raw!r})")
        low, high = meta.get("min"), meta.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise ConfigError(key, f"must be {bounds} (got {value})")
        return value
    if typing.get_origin(hint) is Literal:
        choices = typing.get_args(hint)
        if raw not in choices:
            raise ConfigError(key, f"must be one of {', '.join(choices)} (got {raw!r})")
        return raw
    if not isinstance(raw, str):
        raise ConfigError(key, f"must be a string (got {raw!r})")
    return raw


def _flatten(table: Mapping[str, Any], source: str) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in table.items():
        if name in SECTIONS:
            if not isinstance(value, Mapping):
                raise ConfigError(name, f"must be a [{name}] table in {source}")
            for sub, subvalue in value.items():
                key = f"{name}.{sub}"
                if key not in _KEYS:
                    raise ConfigError(key, f"unknown setting in {source}")
                flat[key] = subvalue
        elif name in _KEYS:
            flat[name] = value
        else:
            raise ConfigError(name, f"unknown setting in {source}")
    return flat


def env_name(key: str) -> str:
    """`server.port` -> `STARTVORA_SERVER__PORT`; the data folder is plain STARTVORA_DATA."""
    if key == "data_dir":
        return ENV_PREFIX + "DATA"
    return ENV_PREFIX + key.upper().replace(".", "__")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError("config", f"file {path} does not exist") from None
    except PermissionError:
        raise ConfigError("config", f"file {path} cannot be read (permission denied)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config", f"file {path} is not valid TOML: {exc}") from None


def default_config_file() -> Path | None:
    """The TOML file to read when none is named: STARTVORA_CONFIG, else config/startvora.toml.

    config/ is the checkout's, or for an installed copy the one in the current folder.
    """
    named = os.environ.get(ENV_PREFIX + "CONFIG")
    if named:
        return Path(named)
    from startvora.paths import checkout_root

    candidate = (checkout_root() or Path.cwd()) / "config" / "startvora.toml"
    return candidate if candidate.is_file() else None


def load_settings(
    config_file: Path | str | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Load settings with the documented precedence; raise ConfigError naming the bad key."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}

    path = Path(config_file) if config_file else default_config_file()
    if path is not None:
        for key, raw in _flatten(_read_toml(path), str(path)).items():
            values[key] = _coerce(key, raw, from_text=False)
        # A relative data folder in the file is relative to the file, not to where it runs.
        if values.get("data_dir") and not Path(values["data_dir"]).expanduser().is_absolute():
            values["data_dir"] = str(path.resolve().parent / values["data_dir"])

    known_env = {env_name(k): k for k in _KEYS if k != "data_dir"}
    secrets_from_files: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name in (ENV_PREFIX + "CONFIG", ENV_PREFIX + "DATA"):
            continue
        base = name.removesuffix("_FILE")
        if name.endswith("_FILE") and base in known_env:
            key = known_env[base]
            if not _KEYS[key].metadata.get("secret"):
                raise ConfigError(key, f"{name} is only accepted for secrets")
            try:
                raw = Path(raw).read_text().strip()
            except OSError as exc:
                raise ConfigError(key, f"{name} names a file that cannot be read: {exc}") from None
            secrets_from_files[key] = _coerce(key, raw, from_text=True)
        elif name in known_env:
            values[known_env[name]] = _coerce(known_env[name], raw, from_text=True)
        else:
            raise ConfigError(name, "unknown environment setting")
    # A *_FILE secret wins over the same secret given directly, whatever the variables' order.
    values.update(secrets_from_files)
    if environ.get(ENV_PREFIX + "DATA"):
        values["data_dir"] = environ[ENV_PREFIX + "DATA"]

    for key, raw in (overrides or {}).items():
        if key not in _KEYS:
            raise ConfigError(key, "unknown setting")
        values[key] = _coerce(key, raw, from_text=isinstance(raw, str))

    if not values.get("data_dir"):
        from startvora.paths import default_data_dir

        values["data_dir"] = str(default_data_dir())
    settings = _build(values)
    _validate(settings)
    return settings


def _build(values: dict[str, Any]) -> Settings:
    top: dict[str, Any] = {}
    sections: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    for key, value in values.items():
        if "." in key:
            section, name = key.split(".", 1)
            sections[section][name] = value
        else:
            top[key] = value
    for name, cls in SECTIONS.items():
        top[name] = cls(**sections[name])
    return Settings(**top)


def _validate(settings: Settings) -> None:
    """Checks that need more than one value's type."""
    from babel import Locale, UnknownLocaleError
    from babel.numbers import get_currency_name

    try:
        Locale.parse(settings.i18n.default_locale)
    except (ValueError, UnknownLocaleError):
        raise ConfigError(
            "i18n.default_locale", f"unknown locale {settings.i18n.default_locale!r}"
        ) from None
    try:
        import zoneinfo

        zoneinfo.ZoneInfo(settings.i18n.default_timezone)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise ConfigError(
            "i18n.default_timezone", f"unknown time zone {settings.i18n.default_timezone!r}"
        ) from None
    code = settings.i18n.default_currency
    if not re.fullmatch(r"[A-Z]{3}", code) or get_currency_name(code, locale="en") == code:
        raise ConfigError("i18n.default_currency", f"unknown ISO 4217 currency {code!r}")
    s3 = settings.storage
    if s3.backend == "s3" and not (s3.s3_endpoint and s3.s3_access_key and s3.s3_secret_key):
        raise ConfigError(
            "storage.backend", "s3 needs s3_endpoint, s3_access_key and s3_secret_key"
        )
    db_url = settings.database.url
    if db_url and not re.match(r"^(sqlite|postgresql)(\+\w+)?://", db_url):
        raise ConfigError(
            "database.url", "must be an sqlite:// or postgresql:// URL (got another scheme)"
        )
    url = settings.server.public_url
    if url and not re.match(r"^https?://[^\s/]+", url):
        raise ConfigError("server.public_url", f"must start with http:// or https:// (got {url!r})")


def describe() -> types.MappingProxyType[str, dataclasses.Field[Any]]:
    """Read-only view of every key and its field, for docs and tests."""
    return types.MappingProxyType(_KEYS)

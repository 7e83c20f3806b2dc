"""The application factory and the list of domains."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from importlib import import_module
from pathlib import Path
from typing import Any

from flask import Flask, g, url_for

from startvora.version import __version__

# Every domain package, in registration order. Each has a register(app).
DOMAINS = (
    "startvora.auth",
    "startvora.orgs",
    "startvora.crm",
    "startvora.finance",
    "startvora.ops",
)


def create_app(
    overrides: Mapping[str, Any] | None = None,
    config_file: Path | str | None = None,
    migrations: bool = True,
) -> Flask:
    """Build the application.

    :param overrides: lower-case dotted keys (`server.port`) override settings; upper-case keys
        (`TESTING`) go straight into Flask's config.
    :param config_file: a TOML file; default STARTVORA_CONFIG or config/startvora.toml.
    :param migrations: set up Alembic (Flask-Migrate); web workers and the consumer skip it,
        which keeps Alembic out of their memory.
    """
    from startvora.config import load_settings
    from startvora.core import (
        audit,  # noqa: F401 (its model must be known to migrations)
        customfields,  # noqa: F401 (likewise)
        datadir,
        errors,
        files,
        health,
        htmx,
        i18n,
        imports,  # noqa: F401 (likewise)
        live,
        logs,
        mail,  # noqa: F401 (likewise)
        notify,
        numbering,  # noqa: F401 (likewise)
        observability,
        ratelimit,  # noqa: F401 (likewise)
        registry,
        savedviews,  # noqa: F401 (likewise)
        security,
        tasks,
        tenancy,
    )
    from startvora.core import db as core_db
    from startvora.extensions import csrf, db, login_manager
    from startvora.paths import PACKAGE_DIR, resource_dir

    overrides = dict(overrides or {})
    flask_config = {k: v for k, v in overrides.items() if k.isupper()}
    settings = load_settings(config_file, {k: v for k, v in overrides.items() if not k.isupper()})
    data = datadir.prepare(settings)

    app = Flask(
        "startvora",
        template_folder=str(resource_dir("templates")),
        static_folder=str(resource_dir("static")),
        instance_path=str(data),
    )
    app.extensions["startvora.settings"] = settings
    # Cookies are sent over HTTPS only when the instance is reached over HTTPS.
    secure = settings.security.secure_cookies or settings.server.public_url.startswith("https:")
    app.config.update(
        SECRET_KEY=datadir.secret_key(settings),
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SESSION_COOKIE_NAME="startvora_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_NAME="startvora_remember",
        REMEMBER_COOKIE_DURATION=dt.timedelta(days=settings.security.session_days),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=secure,
        WTF_CSRF_TIME_LIMIT=None,
        # The largest file is [storage] max_upload_mb; one more MB for the form's other fields.
        MAX_CONTENT_LENGTH=(settings.storage.max_upload_mb + 1) * 1024 * 1024,
        SEND_FILE_MAX_AGE_DEFAULT=dt.timedelta(days=7),
    )
    app.config.update(flask_config)
    if not app.testing:
        logs.setup(settings)
    # Before the proxy fix wraps the app: /metrics sees the client's address as views do.
    observability.init_app(app)  # metrics folder, Sentry, /metrics, request counts and ids
    if settings.security.trusted_proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = settings.security.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    core_db.configure_sqlite(settings.database.busy_timeout_ms)
    db.init_app(app)
    if migrations:
        from startvora.extensions import migrate

        migrate.init_app(app, db, directory=str(PACKAGE_DIR / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    i18n.init_app(app, settings.i18n.default_locale)
    tasks.configure(app, data / "queue.db", immediate=settings.queue.immediate)

    registry.init_app(app)
    tenancy.init_app(app)
    htmx.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    app.register_blueprint(health.bp)
    live.init_app(app)
    notify.init_app(app)
    app.register_blueprint(files.bp)  # /o/<org_slug>/files/<id>: stored files, members only
    _template_helpers(app)

    for name in DOMAINS:
        import_module(name).register(app)
    from startvora.core import api

    api.init_app(app)
    return app


def _template_helpers(app: Flask) -> None:
    from startvora.core.permissions import ROLE_LABELS, can

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"org": g.get("org"), "membership": g.get("membership"), "version": __version__}

    def static_url(filename: str) -> str:
        """Static file URL that changes with each release, so browsers can cache for long."""
        return url_for("static", filename=filename, v=__version__)

    def role_label(role: str) -> str:
        return str(ROLE_LABELS.get(role, role))

    app.jinja_env.globals.update(can=can, static_url=static_url, role_label=role_label)

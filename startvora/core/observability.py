"""What each process sets up to be watched: the metrics folder, Sentry, then /metrics and logs.

prometheus_client chooses between one process and many when it is first imported, from
PROMETHEUS_MULTIPROC_DIR; so `init_app` points that at the data folder before anything loads it.
Every process of an instance (gunicorn's workers, the consumer) then writes its counts as files
in <data>/run/metrics, and a scrape adds them up. This module imports neither Flask nor
prometheus_client at its top: gunicorn's master (config/gunicorn.conf.py) uses it as well.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from startvora.config import ConfigError, Settings
from startvora.version import __version__

if TYPE_CHECKING:
    from flask import Flask

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

_sentry_on = False


def metrics_dir(settings: Settings) -> Path:
    """Where the processes of this instance keep their counts."""
    return settings.data_path / "run" / "metrics"


def use_metrics_dir(settings: Settings) -> None:
    """Make this process count into the data folder; only before prometheus_client is loaded.

    A value inherited from elsewhere (another instance's environment) is replaced. Once the
    library is loaded, its mode is fixed for the life of the process and this does nothing.
    """
    if "prometheus_client" in sys.modules:
        return
    path = metrics_dir(settings)
    path.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(path)


def reset_metrics_dir(settings: Settings) -> None:
    """At the web server's start: forget the counts of processes from earlier runs."""
    path = metrics_dir(settings)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink(missing_ok=True)
    os.environ[MULTIPROC_ENV] = str(path)


def init_app(app: Flask) -> None:
    """Metrics folder, Sentry, /metrics with request counts, request ids for the logs."""
    settings: Settings = app.extensions["startvora.settings"]
    use_metrics_dir(settings)
    init_sentry(settings)
    from startvora.core import logs, metrics

    logs.init_app(app)
    metrics.init_app(app)


# -- Sentry ---------------------------------------------------------------------------------


def init_sentry(settings: Settings) -> bool:
    """Report errors to Sentry when [sentry] dsn is set; whether it is on in this process."""
    global _sentry_on
    if not settings.sentry.dsn:
        return False
    if _sentry_on:
        return True
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration
    from sentry_sdk.integrations.huey import HueyIntegration
    from sentry_sdk.integrations.logging import ignore_logger
    from sentry_sdk.integrations.stdlib import StdlibIntegration
    from sentry_sdk.utils import BadDsn, Dsn

    try:
        Dsn(settings.sentry.dsn)
    except BadDsn:
        raise ConfigError("sentry.dsn", "is not a Sentry DSN (https://key@host/project)") from None
    sentry_sdk.init(
        dsn=settings.sentry.dsn,
        environment=settings.sentry.environment,
        release=__version__,
        send_default_pii=False,
        # Business data stays home: no request bodies, no local variables of stack frames.
        max_request_body_size="never",
        include_local_variables=False,
        in_app_include=["startvora"],
        integrations=[FlaskIntegration()],
        disabled_integrations=[
            # It puts tracing data into every queued task's keyword arguments, which a consumer
            # without Sentry would pass on to the task; task errors come from Huey's signal below.
            HueyIntegration,
            # Its breadcrumbs hold outgoing URLs (webhook secrets live in their paths) and
            # command lines.
            StdlibIntegration,
        ],
        before_send=_scrub_event,
    )
    # Huey logs each task error before its signal: that line would report the error a second
    # time, and Sentry's de-duplication would then drop the report made below, with its tags.
    ignore_logger("huey")
    from huey import signals

    from startvora.core.tasks import huey

    huey.signal(signals.SIGNAL_ERROR)(_report_task_error)
    _sentry_on = True
    return True


def _scrub_event(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    # Reset and invitation tokens travel in query strings.
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("query_string", None)
        if isinstance(request.get("url"), str):
            request["url"] = request["url"].split("?", 1)[0]
    return event


def _report_task_error(signal: str, task: Any, exc: BaseException | None = None) -> None:
    """A background job raised: report it, unless its message was written for people."""
    if exc is None or getattr(exc, "user_facing", False):
        return
    import sentry_sdk

    with sentry_sdk.new_scope() as scope:
        scope.set_tag("job.task", task.name)
        scope.set_context("job", {"id": task.id, "retries_left": task.retries})
        sentry_sdk.capture_exception(exc)

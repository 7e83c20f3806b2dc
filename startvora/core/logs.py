"""Log set-up: plain text or one JSON object per line, with the request's id and endpoint.

Used by the supervisor too, which never loads Flask: request fields are read only when Flask is
already loaded in the process.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import secrets
import sys
import threading
from typing import TYPE_CHECKING, Any

from startvora.config import Settings

if TYPE_CHECKING:
    from flask import Flask

# Keys in the WSGI environ: gunicorn's access log reads them after the app has answered.
REQUEST_ID = "startvora.request_id"
ENDPOINT = "startvora.endpoint"
REQUEST_ID_HEADER = "X-Request-ID"
_GOOD_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# What every LogRecord has; anything else was passed in `extra` and goes into the JSON.
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def _request_fields() -> dict[str, Any]:
    flask = sys.modules.get("flask")
    if flask is None or not flask.has_request_context():
        return {}
    fields = {}
    request_id = flask.request.environ.get(REQUEST_ID)
    if request_id:
        fields["request_id"] = request_id
    if flask.request.endpoint:
        fields["endpoint"] = flask.request.endpoint
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, pid, message, request, extras."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        data.update(_request_fields())
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                data.setdefault(key, value)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        return json.dumps(data, default=str)


def setup(settings: Settings) -> None:
    """Configure the root logger once per process."""
    root = logging.getLogger()
    if getattr(root, "_startvora", False):
        return
    handler = logging.StreamHandler(sys.stderr)
    if settings.log.format == "json":
        handler.setFormatter(JsonFormatter())
        # What would otherwise reach stderr as free text goes through the log instead.
        logging.captureWarnings(True)
        sys.excepthook = _log_uncaught
        threading.excepthook = _log_uncaught_in_thread
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(settings.log.level.upper())
    # Alembic announces each of its plugins at INFO; only its migration steps are worth a line.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    root._startvora = True  # type: ignore[attr-defined]


def _log_uncaught(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    logging.getLogger("startvora").critical("uncaught exception", exc_info=(exc_type, exc, tb))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread else "a thread"
    logging.getLogger("startvora").critical(
        "uncaught exception in %s",
        name,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),  # type: ignore[arg-type]
    )


def init_app(app: Flask) -> None:
    """Give each request an id (logs, access log and the X-Request-ID response header)."""
    from flask import request, request_started

    # A proxy's id is kept, so its log and ours can be matched; from a client it is not trusted.
    from_proxy = app.extensions["startvora.settings"].security.trusted_proxies > 0

    def _start(sender: Flask, **extra: Any) -> None:
        given = request.headers.get(REQUEST_ID_HEADER, "") if from_proxy else ""
        environ = request.environ
        environ[REQUEST_ID] = given if _GOOD_REQUEST_ID.fullmatch(given) else secrets.token_hex(8)
        if request.endpoint:
            environ[ENDPOINT] = request.endpoint

    request_started.connect(_start, app, weak=False)

    @app.after_request
    def _request_id_header(response: Any) -> Any:
        request_id = request.environ.get(REQUEST_ID)
        if request_id:
            response.headers[REQUEST_ID_HEADER] = request_id
        return response

"""The one Huey instance (SqliteHuey in the data folder) and task wrappers with an app context."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, has_app_context
from huey import SqliteHuey, crontab
from huey.constants import EmptyData

log = logging.getLogger(__name__)

# Created unbound (in memory, immediate) so that modules can declare tasks at import time;
# configure() points it at the data folder's queue.db.
huey = SqliteHuey("startvora", immediate=True, utc=True)
_app: Flask | None = None

HEARTBEAT_KEY = "startvora:consumer-heartbeat"


def configure(app: Flask, queue_file: Path, immediate: bool) -> None:
    """Bind the queue to this app: its storage file, immediate mode, and the app for contexts."""
    global _app
    _app = app
    huey.storage_kwargs.update(filename=str(queue_file), timeout=5)
    huey._immediate = immediate
    huey.storage = huey.create_storage()
    app.extensions["startvora.huey"] = huey


def _in_app_context(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def inner(*args: Any, **kwargs: Any) -> Any:
        if has_app_context():
            return fn(*args, **kwargs)
        if _app is None:
            raise RuntimeError("the task queue is not bound to an app; call create_app() first")
        with _app.app_context():
            try:
                return fn(*args, **kwargs)
            finally:
                from startvora.extensions import db

                db.session.remove()

    return inner


def task(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """Declare a background task; it runs inside an app context. Arguments must be ids."""
    options.setdefault("retries", 3)
    options.setdefault("retry_delay", 10)

    def decorator(fn: Callable[..., Any]) -> Any:
        return huey.task(**options)(_in_app_context(fn))

    return decorator


def periodic(schedule: Any, **options: Any) -> Callable[[Callable[..., Any]], Any]:
    """Declare a periodic task (one place: each domain's tasks.py, run only by the consumer)."""

    def decorator(fn: Callable[..., Any]) -> Any:
        return huey.periodic_task(schedule, **options)(_in_app_context(fn))

    return decorator


@periodic(crontab(minute="*"), retries=0)
def heartbeat() -> None:
    """Record that the consumer is alive, for /healthz."""
    huey.storage.put_data(HEARTBEAT_KEY, repr(time.time()).encode())


def consumer_last_seen() -> float | None:
    """Unix time of the consumer's last heartbeat, if any."""
    raw = huey.storage.peek_data(HEARTBEAT_KEY)
    if raw is EmptyData:
        return None
    try:
        return float(raw)
    except (TypeError, ValueError):
        return None


def queue_length() -> int:
    return huey.storage.queue_size()

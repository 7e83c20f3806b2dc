"""The one Huey instance (SqliteHuey in the data folder) and task wrappers with an app context."""

from __future__ import annotations

import functools
import inspect
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, has_app_context
from huey import SqliteHuey, crontab
from huey.api import Task
from huey.constants import EmptyData

from startvora.core.jobs import JobBook, Tracker

log = logging.getLogger(__name__)

# Created unbound (in memory, immediate) so that modules can declare tasks at import time;
# configure() points it at the data folder's queue.db.
huey = SqliteHuey("startvora", immediate=True, utc=True)
_app: Flask | None = None

# Tasks whose first argument is an organization id: they run scoped to it and show on its Jobs page.
_ORG_TASKS: set[str] = set()
# Names people read on the Jobs page, by task.
LABELS: dict[str, Any] = {}
# Periodic schedules as written, by task, for the Jobs page.
SCHEDULES: dict[str, dict[str, str]] = {}


def _org_of(task: Task) -> int | None:
    if type(task).__name__ not in _ORG_TASKS:
        return None
    value = task.args[0] if task.args else task.kwargs.get("org_id")
    return value if isinstance(value, int) else None


tracker = Tracker(huey, _org_of)
tracker.connect()

HEARTBEAT_KEY = "startvora:consumer-heartbeat"


def configure(app: Flask, queue_file: Path, immediate: bool) -> None:
    """Bind the queue to this app: its storage file, immediate mode, and the app for contexts."""
    global _app
    _app = app
    huey.storage_kwargs.update(filename=str(queue_file), timeout=5)
    huey._immediate = immediate
    huey.storage = huey.create_storage()
    tracker.book = JobBook(queue_file)
    app.extensions["startvora.huey"] = huey


def bound_app() -> Flask | None:
    """The app the queue was last bound to (the consumer's, or the test's)."""
    return _app


def _in_app_context(fn: Callable[..., Any], org_scoped: bool) -> Callable[..., Any]:
    @functools.wraps(fn)
    def inner(*args: Any, **kwargs: Any) -> Any:
        if has_app_context():
            return _scoped(fn, org_scoped, args, kwargs)
        if _app is None:
            raise RuntimeError("the task queue is not bound to an app; call create_app() first")
        with _app.app_context():
            try:
                return _scoped(fn, org_scoped, args, kwargs)
            finally:
                from startvora.extensions import db

                db.session.remove()

    return inner


def _scoped(fn: Callable[..., Any], org_scoped: bool, args: tuple, kwargs: dict) -> Any:
    org_id = (args[0] if args else kwargs.get("org_id")) if org_scoped else None
    if org_id is None:
        return fn(*args, **kwargs)
    from startvora.core.tenancy import org_context

    with org_context(org_id):
        return fn(*args, **kwargs)


def task(label: Any = None, **options: Any) -> Callable[[Callable[..., Any]], Any]:
    """Declare a background task; it runs inside an app context. Arguments must be ids.

    A task whose first parameter is `org_id` runs scoped to that organization (None: to none)
    and appears on its Jobs page. Failures are retried with exponential backoff: by default
    5 retries after 10 s, 20 s, 40 s, 80 s and 160 s.
    """
    options.setdefault("retries", 5)
    options.setdefault("retry_delay", 10)
    options.setdefault("retry_backoff", 2)

    def decorator(fn: Callable[..., Any]) -> Any:
        params = list(inspect.signature(fn).parameters)
        org_scoped = bool(params) and params[0] == "org_id"
        if org_scoped:
            _ORG_TASKS.add(fn.__name__)
        wrapper = huey.task(**options)(_in_app_context(fn, org_scoped))
        LABELS[huey._registry.task_to_string(wrapper.task_class)] = label or fn.__name__
        return wrapper

    return decorator


def periodic(label: Any = None, **schedule: str) -> Callable[[Callable[..., Any]], Any]:
    """Declare a periodic task on a cron-like schedule (`minute="0", hour="3"`).

    Periodic tasks are run only by the consumer; they are not retried (the next run is).
    """

    def decorator(fn: Callable[..., Any]) -> Any:
        wrapper = huey.periodic_task(crontab(**schedule), retries=0)(_in_app_context(fn, False))
        name = huey._registry.task_to_string(wrapper.task_class)
        LABELS[name] = label or fn.__name__
        SCHEDULES[name] = schedule
        return wrapper

    return decorator


@periodic(label="Worker heartbeat", minute="*")
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


@periodic(label="Forget finished jobs", minute="17", hour="3")
def prune_jobs() -> None:
    """Drop the record of jobs that finished more than a week ago."""
    if tracker.book is not None:
        tracker.prune()


@periodic(label="Refresh database statistics", minute="41", hour="2")
def analyze_database() -> None:
    """Keep the query planner's statistics current (large tables need them to stay fast)."""
    from startvora.core.db import refresh_statistics

    refresh_statistics()

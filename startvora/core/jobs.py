"""The record of background jobs, kept beside the queue in queue.db.

Huey forgets a task once a worker takes it, so a consumer killed mid-task would lose it. Every
task's life is written here from Huey's signals (queued, running, retrying, done, failed, with
the error), which gives the Jobs page what it shows and lets `requeue_interrupted()` run again,
at the consumer's start, whatever was running when it died. Tasks are written to be idempotent,
so running one twice has the effect of running it once.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huey import signals as S
from huey.api import Huey, PeriodicTask, Task

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS startvora_jobs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    org_id INTEGER,
    args TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    data BLOB,
    priority INTEGER,
    eta REAL,
    enqueued_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS startvora_jobs_org_state ON startvora_jobs (org_id, state);
"""

STATES = ("queued", "scheduled", "running", "retrying", "interrupted", "done", "failed")
KEEP_DONE_DAYS = 7


@dataclass(frozen=True)
class Job:
    id: str
    name: str
    org_id: int | None
    args: str
    state: str
    attempts: int
    error: str
    eta: dt.datetime | None
    enqueued_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @property
    def periodic(self) -> bool:
        return self.id.startswith("periodic:")


def _when(value: float | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(value, dt.UTC) if value is not None else None


class JobBook:
    """One table in the queue's SQLite file, one connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        with self._connect() as con:
            con.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA busy_timeout=10000")
        return con

    @property
    def con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._local.con = self._connect()
        return con

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        return self.con.execute(sql, params)

    def rows(self, where: str, params: tuple[Any, ...] = (), limit: int = 200) -> list[Job]:
        cur = self.execute(
            "SELECT id, name, org_id, args, state, attempts, error, eta, enqueued_at,"  # noqa: S608 (the clauses are ours)
            f" started_at, finished_at FROM startvora_jobs WHERE {where}"
            " ORDER BY coalesce(finished_at, started_at, enqueued_at) DESC LIMIT ?",
            (*params, limit),
        )
        return [
            Job(*r[:7], _when(r[7]), _when(r[8]), _when(r[9]), _when(r[10]))  # type: ignore[arg-type]
            for r in cur.fetchall()
        ]


class Tracker:
    """Connects the book to a Huey instance's signals."""

    def __init__(self, huey: Huey, org_of: Callable[[Task], int | None]) -> None:
        self.huey = huey
        self.book: JobBook | None = None  # set when the queue is bound to its file
        self.org_of = org_of
        self.on_final_failure: list[Callable[[Job], None]] = []

    # -- what the signals write ---------------------------------------------------------------

    def _name(self, task: Task) -> str:
        return self.huey._registry.task_to_string(type(task))

    def _key(self, task: Task) -> str:
        return f"periodic:{self._name(task)}" if isinstance(task, PeriodicTask) else task.id

    def _describe(self, task: Task) -> str:
        try:
            return json.dumps({"args": list(task.args), "kwargs": task.kwargs}, default=str)[:500]
        except (TypeError, ValueError):
            return ""

    def _upsert(self, task: Task, state: str, **fields: Any) -> None:
        now = time.time()
        data = None if isinstance(task, PeriodicTask) else self.huey.serialize_task(task)
        self.book.execute(
            "INSERT INTO startvora_jobs (id, name, org_id, args, state, data, priority,"
            " enqueued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(id) DO UPDATE SET state = excluded.state,"
            " data = coalesce(excluded.data, data)",
            (
                self._key(task),
                self._name(task),
                self.org_of(task),
                self._describe(task),
                state,
                data,
                task.priority,
                now,
            ),
        )
        if fields:
            sets = ", ".join(f"{name} = ?" for name in fields)
            self.book.execute(
                f"UPDATE startvora_jobs SET {sets} WHERE id = ?",  # noqa: S608 (names are ours)
                (*fields.values(), self._key(task)),
            )

    def enqueued(self, signal: str, task: Task) -> None:
        if isinstance(task, PeriodicTask):
            return
        # A job the Retry button put back is already recorded; only a new one is inserted.
        self.book.execute(
            "INSERT OR IGNORE INTO startvora_jobs (id, name, org_id, args, state, data,"
            " priority, enqueued_at) VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)",
            (
                task.id,
                self._name(task),
                self.org_of(task),
                self._describe(task),
                self.huey.serialize_task(task),
                task.priority,
                time.time(),
            ),
        )

    def scheduled(self, signal: str, task: Task) -> None:
        eta = task.eta.replace(tzinfo=dt.UTC).timestamp() if task.eta else None
        row = self.book.execute(
            "SELECT state FROM startvora_jobs WHERE id = ?", (self._key(task),)
        ).fetchone()
        state = "retrying" if row and row[0] in ("retrying", "running") else "scheduled"
        self._upsert(task, state, eta=eta)

    def executing(self, signal: str, task: Task) -> None:
        self._upsert(task, "running", started_at=time.time(), finished_at=None, eta=None)
        self.book.execute(
            "UPDATE startvora_jobs SET attempts = attempts + 1 WHERE id = ?", (self._key(task),)
        )

    def complete(self, signal: str, task: Task) -> None:
        self._upsert(task, "done", finished_at=time.time(), error="")

    def error(self, signal: str, task: Task, exc: BaseException | None = None) -> None:
        if exc is None:
            message = signal
        elif getattr(exc, "user_facing", False):  # its message is already written for people
            message = str(exc)[:1000]
        else:
            message = f"{type(exc).__name__}: {exc}"[:1000]
        final = not task.retries
        self._upsert(
            task, "failed" if final else "retrying", finished_at=time.time(), error=message
        )
        if final:
            job = self.get(self._key(task))
            for callback in self.on_final_failure:
                try:
                    if job is not None:
                        callback(job)
                except Exception:
                    log.exception("job failure callback failed for %s", task.name)

    def interrupted(self, signal: str, task: Task) -> None:
        self._upsert(task, "interrupted")

    def stopped(self, signal: str, task: Task) -> None:
        # revoked, expired or canceled: it will not run, and that is no failure
        self._upsert(task, "done", finished_at=time.time(), error=signal)

    def connect(self) -> None:
        for handler, names in (
            (self.enqueued, (S.SIGNAL_ENQUEUED,)),
            (self.scheduled, (S.SIGNAL_SCHEDULED,)),
            (self.executing, (S.SIGNAL_EXECUTING,)),
            (self.complete, (S.SIGNAL_COMPLETE,)),
            (self.error, (S.SIGNAL_ERROR, S.SIGNAL_TIMEOUT)),
            (self.interrupted, (S.SIGNAL_INTERRUPTED,)),
            (self.stopped, (S.SIGNAL_REVOKED, S.SIGNAL_EXPIRED, S.SIGNAL_CANCELED)),
        ):
            self.huey.signal(*names)(self._guarded(handler))

    def _guarded(self, handler: Callable[..., None]) -> Callable[..., None]:
        def receiver(signal: str, task: Task, *args: Any) -> None:
            if self.book is None:
                return
            try:
                handler(signal, task, *args)
            except sqlite3.Error:
                # Bookkeeping must never stop the job itself.
                log.exception("could not record %s of %s", signal, task.name)

        receiver.__name__ = f"startvora_jobs_{handler.__name__}"
        return receiver

    # -- what the consumer and the Jobs page do -----------------------------------------------

    def get(self, job_id: str) -> Job | None:
        found = self.book.rows("id = ?", (job_id,), limit=1)
        return found[0] if found else None

    def for_org(self, org_id: int, states: tuple[str, ...], limit: int = 100) -> list[Job]:
        marks = ", ".join("?" for _ in states)
        return self.book.rows(f"org_id = ? AND state IN ({marks})", (org_id, *states), limit)

    def requeue_interrupted(self) -> int:
        """Put back every job that was running when the consumer stopped; the count."""
        count = 0
        for job_id, data, priority in self.book.execute(
            "SELECT id, data, priority FROM startvora_jobs"
            " WHERE state IN ('running', 'interrupted') AND data IS NOT NULL"
        ).fetchall():
            self.huey.storage.enqueue(data, priority)
            self.book.execute(
                "UPDATE startvora_jobs SET state = 'queued',"
                " error = 'Interrupted when the worker stopped; run again.' WHERE id = ?",
                (job_id,),
            )
            count += 1
        self.book.execute(
            "UPDATE startvora_jobs SET state = 'interrupted'"
            " WHERE state = 'running' AND id LIKE 'periodic:%'"
        )
        if count:
            log.warning("%d interrupted job(s) queued again", count)
        return count

    def retry(self, job_id: str) -> bool:
        """Run a failed job again with a fresh set of retries; False when it cannot be."""
        row = self.book.execute(
            "SELECT name, data, state FROM startvora_jobs WHERE id = ?", (job_id,)
        ).fetchone()
        if row is None or row[2] not in ("failed", "interrupted"):
            return False
        name, data, _state = row
        if data is None:  # a periodic job: run it once now
            task_class = self.huey._registry.string_to_task(name)
            task = task_class()
        else:
            task = self.huey.deserialize_task(data)
            task.retries = task.default_retries
            task.retry_delay = task.default_retry_delay
            task.eta = None
        self.book.execute(
            "UPDATE startvora_jobs SET state = 'queued', error = '', eta = NULL WHERE id = ?",
            (job_id,),
        )
        self.huey.enqueue(task)
        return True

    def prune(self, days: int = KEEP_DONE_DAYS) -> int:
        """Forget finished jobs older than `days`; failed ones stay until retried."""
        cur = self.book.execute(
            "DELETE FROM startvora_jobs WHERE state = 'done' AND id NOT LIKE 'periodic:%'"
            " AND finished_at < ?",
            (time.time() - days * 86400,),
        )
        return cur.rowcount

    def periodic_runs(self) -> Iterator[Job]:
        yield from self.book.rows("id LIKE 'periodic:%'", limit=500)

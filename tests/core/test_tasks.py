"""Task wrappers: an app context, immediate mode in tests, a real SqliteHuey queue otherwise."""

from __future__ import annotations

import sqlite3

from flask import current_app

from startvora.core import tasks


@tasks.task()
def app_name() -> str:
    return current_app.name


def test_immediate_mode_runs_inline_with_an_app_context(app, db):
    assert tasks.huey.immediate
    assert app_name()() == "startvora"


def test_heartbeat_is_recorded(app, db):
    tasks.heartbeat()
    assert tasks.consumer_last_seen() is not None


def test_queued_mode_writes_to_the_data_folder(make_app, tmp_path):
    other = make_app(queue__immediate=False)
    result = app_name()
    assert tasks.queue_length() == 1
    con = sqlite3.connect(tmp_path / "queue.db")
    assert con.execute("SELECT count(*) FROM task").fetchone()[0] == 1
    con.close()
    # The consumer runs a task outside any request: the wrapper pushes the app context.
    tasks.huey.execute(tasks.huey.dequeue())
    assert result.get() == "startvora"
    assert other.extensions["startvora.huey"] is tasks.huey

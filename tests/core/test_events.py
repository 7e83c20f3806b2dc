"""Domain events reach subscribers only after the commit; failures stay contained."""

from __future__ import annotations

from flask import current_app

from startvora.core import events, tasks
from startvora.extensions import db as _db

heard_by_task: list[tuple] = []


@tasks.task(retries=0)
def remember_event(org_id, name, payload):
    heard_by_task.append((name, org_id, payload, current_app.name))


def test_delivered_after_commit_not_on_rollback(app, db):
    heard = []
    events.subscribe(app, "test.happened", heard.append)
    events.emit("test.happened", org_id=7, thing_id=3)
    _db.session.rollback()
    assert heard == []
    events.emit("test.happened", org_id=7, thing_id=4)
    assert heard == []
    _db.session.commit()
    assert [(e.name, e.org_id, e.payload["thing_id"]) for e in heard] == [("test.happened", 7, 4)]
    assert len(heard[0].payload["event_id"]) == 32  # lets a subscriber run twice tell
    app.extensions["startvora.events"].pop("test.happened")


def test_a_failing_subscriber_is_logged_and_others_still_hear(app, db, caplog):
    heard = []

    def broken(event):
        raise RuntimeError("subscriber bug")

    events.subscribe(app, "test.fails", broken)
    events.subscribe(app, "test.fails", heard.append)
    events.emit("test.fails")
    _db.session.commit()
    assert len(heard) == 1 and "subscriber broken of test.fails failed" in caplog.text
    app.extensions["startvora.events"].pop("test.fails")


def test_slow_subscribers_run_as_tasks(app, db):
    heard_by_task.clear()
    events.subscribe(app, "test.slow", remember_event, task=True)
    events.emit("test.slow", org_id=1, n=2)
    _db.session.commit()
    [(name, org_id, payload, app_name)] = heard_by_task
    assert (name, org_id, payload["n"], app_name) == ("test.slow", 1, 2, "startvora")
    app.extensions["startvora.events"].pop("test.slow")


def test_wildcard_hears_everything(app, db):
    heard = []
    events.subscribe(app, "*", heard.append)
    events.emit("a.b")
    events.emit("c.d")
    _db.session.commit()
    assert [e.name for e in heard] == ["a.b", "c.d"]
    app.extensions["startvora.events"].pop("*")

"""/healthz: JSON with database, queue, disk and version; 503 when a check fails."""

from __future__ import annotations

import time

from startvora.core import tasks
from startvora.version import __version__


def test_it_reports_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["version"] == __version__
    assert set(body["checks"]) == {"database", "queue", "disk"}
    assert body["checks"]["disk"]["free_mb"] > 0
    assert response.headers["Cache-Control"] == "no-store"


def test_it_needs_no_sign_in_even_before_setup(client):
    assert client.get("/healthz").status_code == 200


def test_low_disk_fails(make_app):
    other = make_app(health__min_free_disk_mb=10**9)
    response = other.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["disk"]["ok"] is False


def test_broken_database_fails(make_app, tmp_path):
    (tmp_path / "startvora.db").mkdir()  # a folder where the database file should be
    response = make_app().test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "failing" and body["checks"]["database"]["ok"] is False


def test_a_missing_or_stale_consumer_fails(make_app):
    client = make_app(queue__immediate=False).test_client()

    def queue():
        response = client.get("/healthz")
        assert response.status_code == 503  # the database of this app is not set up either
        return response.get_json()["checks"]["queue"]

    assert queue()["error"] == "consumer not running"
    tasks.huey.storage.put_data(tasks.HEARTBEAT_KEY, repr(time.time() - 3600).encode())
    assert queue()["error"] == "consumer stopped"
    tasks.heartbeat.call_local()  # what the consumer runs each minute
    assert queue()["ok"] is True


def test_a_schema_behind_fails(client, db):
    from sqlalchemy import text

    db.session.execute(text("UPDATE alembic_version SET version_num = 'old'"))
    db.session.commit()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"]["error"] == "schema is not current"

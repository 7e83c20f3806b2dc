"""The Backups settings page and the nightly snapshot job."""

from __future__ import annotations

import datetime as dt

import pytest

from startvora.core.tenancy import org_context
from startvora.extensions import db as _db
from startvora.ops import snapshots, tasks

PAGE = "/o/acme/settings/backups"


@pytest.fixture
def settings(app, tmp_path, monkeypatch):
    """The app's settings with a backup folder of this test's own."""
    import dataclasses

    own = app.extensions["startvora.settings"]
    own = dataclasses.replace(own, backup=dataclasses.replace(own.backup, dir=str(tmp_path)))
    monkeypatch.setitem(app.extensions, "startvora.settings", own)
    return own


def test_the_page_shows_health_and_only_admins_see_it(client, people, login, settings):
    snapshots.create(settings, "nightly")
    login(people.carol)  # a member
    assert client.get(PAGE).status_code == 403
    login(people.alice)
    html = client.get(PAGE).get_data(as_text=True)
    assert "Nightly" in html and "Replication" in html and "Off" in html
    # Two organizations live here: a snapshot holds both, so no owner may take it by default.
    assert "Download the latest" not in html
    assert client.get(PAGE + "/latest").status_code == 403


def test_the_named_admins_download_the_latest_snapshot(app, client, people, login, settings,
                                                       monkeypatch):  # fmt: skip
    import dataclasses

    named = dataclasses.replace(
        settings, backup=dataclasses.replace(settings.backup, admins=people.alice.email.upper())
    )
    monkeypatch.setitem(app.extensions, "startvora.settings", named)
    newest = snapshots.create(named, "manual")
    login(people.alice)
    with client.get(PAGE + "/latest") as response:
        assert response.status_code == 200 and response.data == newest.read_bytes()
        assert newest.name in response.headers["Content-Disposition"]
    with org_context(people.org_a.id):
        from startvora.core.audit import AuditEvent

        events = _db.session.execute(_db.select(AuditEvent.action)).scalars().all()
    assert "backup.downloaded" in events
    login(people.bob)  # a viewer, even if named, is no admin of the organization
    assert client.get(PAGE + "/latest").status_code == 403


def test_the_nightly_snapshot_is_made_once_a_night_and_after_downtime(app, settings):
    hour = settings.backup.nightly_hour
    night = dt.datetime(2026, 11, 20, hour, 20, tzinfo=dt.UTC)
    assert tasks.snapshot_due(settings, night)  # none yet
    snapshots.create(settings, "nightly", now=night)
    assert not tasks.snapshot_due(settings, night + dt.timedelta(hours=5))
    assert not tasks.snapshot_due(settings, night + dt.timedelta(hours=23, minutes=30))  # 02:50
    assert tasks.snapshot_due(settings, night + dt.timedelta(days=1))  # its hour again
    assert tasks.snapshot_due(settings, night + dt.timedelta(days=1, hours=2))  # was off then
    for day in range(1, 10):
        snapshots.create(settings, "nightly", now=night - dt.timedelta(days=day))
    with app.app_context():
        tasks.nightly_snapshot.call_local()
    nightly = [s for s in snapshots.snapshots(settings) if s.reason == "nightly"]
    assert len(nightly) == settings.backup.keep
    assert nightly[0].created > night  # made now, the newest

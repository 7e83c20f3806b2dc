"""The audit log: what is recorded, that secrets are not, and the admin page."""

from __future__ import annotations

from startvora.core.audit import AuditEvent, record
from startvora.extensions import db as _db
from tests.factories import PASSWORD


def test_secrets_never_reach_the_log(app, db, people):
    with app.test_request_context(headers={"User-Agent": "pytest-agent"}):
        event = record(
            "auth.test",
            actor=people.alice,
            summary="x",
            password="hunter2",
            totp_code="123456",
            api_token="svt_abc",
            recovery_codes=["a"],
            fine="ok",
        )
        _db.session.commit()
    assert event.data == {
        "password": "[hidden]",
        "totp_code": "[hidden]",
        "api_token": "[hidden]",
        "recovery_codes": "[hidden]",
        "fine": "ok",
    }
    assert event.user_agent == "pytest-agent"


def test_sign_ins_are_recorded_with_ip_and_agent(client, people, csrf_token):
    client.post(
        "/sign-in",
        headers={"User-Agent": "Firefox/200"},
        data={"csrf_token": csrf_token(), "email": people.alice.email, "password": "bad bad"},
    )
    client.post(
        "/sign-in",
        headers={"User-Agent": "Firefox/200"},
        data={"csrf_token": csrf_token(), "email": people.alice.email, "password": PASSWORD},
    )
    events = _db.session.execute(_db.select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
    assert [e.action for e in events] == ["auth.sign_in_failed", "auth.signed_in"]
    assert all(e.ip == "127.0.0.1" and e.user_agent == "Firefox/200" for e in events)
    assert all(e.actor_id == people.alice.id for e in events)


def test_audit_page_shows_this_org_and_its_members_only(client, people, login, csrf_token):
    record("org.settings_changed", org=people.org_b, actor=people.charlie, summary="bravo thing")
    record("auth.signed_in", actor=people.charlie, summary="charlie signed in")
    record("auth.signed_in", actor=people.carol, summary="carol signed in")
    record("org.settings_changed", org=people.org_a, actor=people.alice, summary="acme thing")
    _db.session.commit()
    login(people.alice)
    html = client.get("/o/acme/audit").get_data(as_text=True)
    assert "acme thing" in html and "carol signed in" in html
    assert "bravo thing" not in html and "charlie signed in" not in html
    only_auth = client.get("/o/acme/audit?f_category=auth").get_data(as_text=True)
    assert "carol signed in" in only_auth and "acme thing" not in only_auth
    login(people.carol)
    assert client.get("/o/acme/audit").status_code == 403

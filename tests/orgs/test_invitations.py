"""Invitations: sent by email (real SMTP) or shared by hand, accepted, resent, revoked."""

from __future__ import annotations

import re
import time

from itsdangerous import URLSafeTimedSerializer

from startvora.auth.models import User
from startvora.core.tenancy import system_context
from startvora.extensions import db as _db
from startvora.orgs.models import Invitation, Membership
from tests.conftest import csrf_of, text_part
from tests.factories import PASSWORD

NEW_PW = "joining with a long one"


def invite(client, token, email="dan@example.com", role="member"):
    return client.post(
        "/o/acme/invitations", data={"csrf_token": token, "email": email, "role": role}
    )


def shared_link(client) -> str:
    html = client.get("/o/acme/members").get_data(as_text=True)
    link = re.search(r'id="invite-link">https?://[^/]+(/invitations/accept\?t=[^<]+)<', html)
    return link.group(1)


def test_invitation_by_email_is_accepted_with_a_new_account(mail_app):
    owner = mail_app.test_client()
    with owner.session_transaction() as session, mail_app.app_context():
        session["_user_id"] = _db.session.get(User, mail_app.config["TEST_OWNER_ID"]).get_id()
    response = invite(owner, csrf_of(owner))
    assert response.status_code == 303
    box = mail_app.config["TEST_MAILBOX"]
    deadline = time.monotonic() + 5
    while not box and time.monotonic() < deadline:
        time.sleep(0.05)
    body = text_part(box[0])
    assert box[0]["To"] == "dan@example.com" and "Acme Trading" in box[0]["Subject"]
    path = re.search(r"https?://[^/\s]+(/invitations/accept\?t=\S+)", body).group(1)

    guest = mail_app.test_client()
    page = guest.get(path)
    assert page.status_code == 200 and "Join Acme Trading" in page.get_data(as_text=True)
    weak = guest.post(
        path,
        data={
            "csrf_token": csrf_of(guest, path),
            "name": "Dan",
            "password": "1234567890",
            "confirm": "1234567890",
        },
    )
    assert weak.status_code == 422
    joined = guest.post(
        path,
        data={
            "csrf_token": csrf_of(guest, path),
            "name": "Dan",
            "password": NEW_PW,
            "confirm": NEW_PW,
        },
    )
    assert joined.status_code == 303 and joined.headers["Location"] == "/o/acme/"
    assert guest.get("/o/acme/").status_code == 200
    with mail_app.app_context():
        dan = _db.session.execute(
            _db.select(User).where(User.email == "dan@example.com")
        ).scalar_one()
        assert dan.memberships[0].role == "member"
    used = guest.get(path)
    assert used.status_code == 410 and "used already" in used.get_data(as_text=True)


def test_without_mail_the_link_is_shown_and_an_existing_user_accepts(
    client, people, login, csrf_token
):
    login(people.alice)
    assert (
        invite(client, csrf_token(), email=people.charlie.email, role="viewer").status_code == 303
    )
    path = shared_link(client)
    assert "invite-link" not in client.get("/o/acme/members").get_data(as_text=True)  # once
    login(people.charlie)
    page = client.get(path).get_data(as_text=True)
    assert "Join Acme Trading" in page
    assert client.post(path, data={"csrf_token": csrf_token()}).status_code == 303
    role = _db.session.execute(
        _db.select(Membership.role).where(
            Membership.org_id == people.org_a.id, Membership.user_id == people.charlie.id
        )
    ).scalar_one()
    assert role == "viewer"


def test_someone_else_cannot_use_the_link(client, people, login, csrf_token):
    login(people.alice)
    invite(client, csrf_token(), email="erin@example.com")
    path = shared_link(client)
    login(people.charlie)
    page = client.get(path).get_data(as_text=True)
    assert "You are signed in as" in page
    refused = client.post(path, data={"csrf_token": csrf_token()})
    assert refused.status_code == 409 and "another email address" in refused.get_data(as_text=True)


def test_bad_input_changes_nothing(client, people, login, csrf_token):
    login(people.alice)
    member = invite(client, csrf_token(), email=people.carol.email)
    assert "member already" in client.get(member.headers["Location"]).get_data(as_text=True)
    invite(client, csrf_token(), email="fay@example.com")
    twice = invite(client, csrf_token(), email="FAY@example.com")
    assert "open invitation already" in client.get(twice.headers["Location"]).get_data(as_text=True)
    bad = invite(client, csrf_token(), email="not an email")
    assert "Enter an email address" in client.get(bad.headers["Location"]).get_data(as_text=True)
    role = invite(client, csrf_token(), email="gus@example.com", role="emperor")
    assert "Choose one of the listed options" in client.get(role.headers["Location"]).get_data(
        as_text=True
    )
    with system_context("test"):
        assert _db.session.execute(_db.select(_db.func.count(Invitation.id))).scalar_one() == 1


def test_tampered_expired_revoked_and_resent_links(app, client, people, login, csrf_token):
    login(people.alice)
    invite(client, csrf_token(), email="hal@example.com")
    first = shared_link(client)
    assert client.get(first[:-3] + "abc").status_code == 410
    with system_context("test"):
        invitation = _db.session.execute(_db.select(Invitation)).scalar_one()
    resend = client.post(
        f"/o/acme/invitations/{invitation.id}/resend", data={"csrf_token": csrf_token()}
    )
    assert resend.status_code == 303
    second = shared_link(client)
    assert second != first
    login(people.charlie)
    assert "not valid" in client.get(first).get_data(as_text=True)  # the old link died
    assert client.get(second).status_code == 200

    login(people.alice)
    client.post(f"/o/acme/invitations/{invitation.id}/revoke", data={"csrf_token": csrf_token()})
    assert "withdrawn" in client.get(second).get_data(as_text=True)

    old = URLSafeTimedSerializer(app.secret_key, salt="startvora.invitation")
    forged = old.dumps({"i": invitation.id, "n": "guess"})
    assert "not valid" in client.get(f"/invitations/accept?t={forged}").get_data(as_text=True)


def test_only_owners_invite_owners(client, people, login, csrf_token):
    from tests import factories

    admin = factories.make_member(people.org_a, "admin")
    _db.session.commit()
    login(admin)
    response = invite(client, csrf_token(), email="ivy@example.com", role="owner")
    assert "Only an owner" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_viewers_cannot_invite(client, people, login, csrf_token):
    login(people.bob)
    assert invite(client, csrf_token()).status_code == 403


def test_existing_account_is_asked_to_sign_in(client, people, login, csrf_token):
    login(people.alice)
    invite(client, csrf_token(), email=people.charlie.email)
    path = shared_link(client)
    client.post("/sign-out", data={"csrf_token": csrf_token()})
    page = client.get(path).get_data(as_text=True)
    assert "Sign in to accept" in page
    signed = client.post(
        f"/sign-in?next={path}",
        data={"csrf_token": csrf_token(), "email": people.charlie.email, "password": PASSWORD},
    )
    assert signed.headers["Location"] == path


def test_an_expired_invitation_is_not_resent_beside_a_newer_one(client, people, login, csrf_token):
    login(people.alice)
    invite(client, csrf_token(), email="jo@example.com")
    with system_context("test"):
        old = _db.session.execute(_db.select(Invitation)).scalar_one()
        old.expires_at = old.created_at  # long gone
        _db.session.commit()
    invite(client, csrf_token(), email="jo@example.com")  # a new one is allowed
    response = client.post(
        f"/o/acme/invitations/{old.id}/resend", data={"csrf_token": csrf_token()}
    )
    assert "open invitation already" in client.get(response.headers["Location"]).get_data(True)
    assert client.get("/o/acme/members").status_code == 200


def test_joining_and_inviting_are_announced(app, client, people, login, csrf_token):
    heard = []
    from startvora.core import events

    events.subscribe(app, "*", heard.append)
    try:
        login(people.alice)
        invite(client, csrf_token(), email=people.charlie.email)
        path = shared_link(client)
        login(people.charlie)
        client.post(path, data={"csrf_token": csrf_token()})
    finally:
        app.extensions["startvora.events"].pop("*")
    assert [(e.name, e.org_id) for e in heard] == [
        ("member.invited", people.org_a.id),
        ("member.joined", people.org_a.id),
    ]

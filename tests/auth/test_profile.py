"""The profile: details, password change, sign out everywhere, API tokens, lockout."""

from __future__ import annotations

import pytest

from startvora.auth.models import ApiToken, User
from startvora.core.audit import AuditEvent
from startvora.core.tenancy import system_context
from startvora.extensions import db as _db
from tests.factories import PASSWORD

NEW = "another long passphrase"


def test_profile_needs_sign_in(client, people):
    assert client.get("/profile/").headers["Location"].startswith("/sign-in")


def test_update_details(client, people, login, csrf_token):
    login(people.carol)
    response = client.post(
        "/profile/", data={"csrf_token": csrf_token(), "name": " Carol C ", "locale": "en"}
    )
    assert response.status_code == 303
    assert _db.session.get(User, people.carol.id).name == "Carol C"
    bad = client.post("/profile/", data={"csrf_token": csrf_token(), "name": "", "locale": "xx"})
    assert bad.status_code == 422 and "This field is required." in bad.get_data(as_text=True)


@pytest.mark.parametrize(
    ("current", "new", "confirm", "message"),
    [
        ("wrong password", NEW, NEW, "not your current password"),
        (PASSWORD, NEW, NEW + "x", "not the same"),
        (PASSWORD, "qwertyuiop", "qwertyuiop", "too common"),
        (PASSWORD, "short", "short", "at least 10"),
    ],
)
def test_password_change_is_checked(
    client, people, login, csrf_token, current, new, confirm, message
):
    login(people.carol)
    response = client.post(
        "/profile/password",
        data={"csrf_token": csrf_token(), "current": current, "password": new, "confirm": confirm},
    )
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert _db.session.get(User, people.carol.id).check_password(PASSWORD)


def test_password_change_ends_other_sessions(app, client, people, login, csrf_token):
    login(people.carol)
    other = app.test_client()
    with other.session_transaction() as session:
        session["_user_id"] = people.carol.get_id()
    assert other.get("/o/acme/").status_code == 200
    response = client.post(
        "/profile/password",
        data={"csrf_token": csrf_token(), "current": PASSWORD, "password": NEW, "confirm": NEW},
    )
    assert response.status_code == 303
    assert client.get("/o/acme/").status_code == 200  # this browser stays signed in
    assert other.get("/o/acme/").status_code == 302  # the other one is out


def test_sign_out_everywhere(app, client, people, login, csrf_token):
    login(people.carol)
    other = app.test_client()
    with other.session_transaction() as session:
        session["_user_id"] = people.carol.get_id()
    response = client.post("/profile/sign-out-everywhere", data={"csrf_token": csrf_token()})
    assert response.status_code == 303
    assert client.get("/o/acme/").status_code == 302
    assert other.get("/o/acme/").status_code == 302


def test_tokens_created_once_and_revoked(client, people, login, csrf_token):
    login(people.carol)
    response = client.post(
        "/profile/tokens",
        data={"csrf_token": csrf_token(), "token_name": "Export", "org_id": people.org_a.id},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="new-token">svt_' in html
    with system_context("test"):
        token = _db.session.execute(_db.select(ApiToken)).scalar_one()
    assert token.org_id == people.org_a.id and token.name == "Export"
    assert "svt_" not in token.token_hash
    assert 'id="new-token"' not in client.get("/profile/").get_data(as_text=True)
    foreign = client.post(
        "/profile/tokens",
        data={"csrf_token": csrf_token(), "token_name": "x", "org_id": people.org_b.id},
    )
    assert foreign.status_code == 422
    revoke = client.post(f"/profile/tokens/{token.id}/revoke", data={"csrf_token": csrf_token()})
    assert revoke.status_code == 303
    with system_context("test"):
        assert _db.session.get(ApiToken, token.id).revoked_at is not None


def test_someone_elses_token_is_a_404(client, people, login, csrf_token):
    from startvora.auth import tokens
    from startvora.core.tenancy import org_context

    with org_context(people.org_b.id):
        token, _ = tokens.create_token(people.charlie, people.org_b.id, "theirs")
        _db.session.commit()
    login(people.carol)
    response = client.post(f"/profile/tokens/{token.id}/revoke", data={"csrf_token": csrf_token()})
    assert response.status_code == 404


def test_lockout_per_account_holds_across_app_instances(app, make_app, client, people, csrf_token):
    for _ in range(5):
        wrong = client.post(
            "/sign-in",
            data={"csrf_token": csrf_token(), "email": people.carol.email, "password": "nope nope"},
        )
        assert wrong.status_code == 422
    locked = client.post(
        "/sign-in",
        data={"csrf_token": csrf_token(), "email": people.carol.email, "password": PASSWORD},
    )
    assert locked.status_code == 429 and "Try again in 15 minutes" in locked.get_data(as_text=True)
    # Another web worker (another app on the same database) sees the same count.
    second = make_app(data_dir=app.instance_path)
    other = second.test_client()
    html = other.get("/sign-in").get_data(as_text=True)
    import re

    token = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)
    again = other.post(
        "/sign-in", data={"csrf_token": token, "email": people.carol.email, "password": PASSWORD}
    )
    assert again.status_code == 429
    failures = (
        _db.session.execute(
            _db.select(AuditEvent).where(AuditEvent.action == "auth.sign_in_failed")
        )
        .scalars()
        .all()
    )
    assert len(failures) == 5 and all(e.ip == "127.0.0.1" for e in failures)
    assert all("nope" not in str(e.data) for e in failures)  # no password in the log

"""TOTP two-factor: enrolment, sign-in, no replay, recovery codes, disabling, org requirement."""

from __future__ import annotations

import re
import time

import pyotp

from startvora.auth import twofactor
from startvora.auth.models import RecoveryCode, User
from startvora.extensions import db as _db
from tests.factories import PASSWORD


def code_for(user_id, offset_steps=0):
    secret = _db.session.get(User, user_id).totp_secret
    return pyotp.TOTP(secret).at(time.time() + offset_steps * 30)


def enrol(client, user, csrf_token) -> list[str]:
    page = client.get("/profile/two-factor")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<svg" in html and 'id="totp-secret"' in html
    wrong = client.post("/profile/two-factor", data={"csrf_token": csrf_token(), "code": "000000"})
    assert wrong.status_code == 422
    done = client.post(
        "/profile/two-factor", data={"csrf_token": csrf_token(), "code": code_for(user.id)}
    )
    assert done.status_code == 200
    codes = re.findall(r"<code>([0-9a-f]{5}-[0-9a-f]{5})</code>", done.get_data(as_text=True))
    assert len(codes) == 10
    return codes


def sign_in(client, csrf_token, email, password=PASSWORD):
    return client.post(
        "/sign-in", data={"csrf_token": csrf_token(), "email": email, "password": password}
    )


def test_enrol_then_sign_in_with_a_code_that_cannot_be_replayed(client, people, login, csrf_token):
    login(people.carol)
    codes = enrol(client, people.carol, csrf_token)
    stored = _db.session.execute(_db.select(RecoveryCode.code_hash)).scalars().all()
    assert len(stored) == 10 and not set(codes) & set(stored)  # hashed, never plain
    client.post("/sign-out", data={"csrf_token": csrf_token()})

    first = sign_in(client, csrf_token, people.carol.email)
    assert first.status_code == 303 and first.headers["Location"] == "/sign-in/code"
    assert client.get("/o/acme/").status_code == 302  # not signed in yet
    # The code used to confirm enrolment is spent; the next step's code works once.
    code = code_for(people.carol.id, offset_steps=1)
    ok = client.post("/sign-in/code", data={"csrf_token": csrf_token(), "code": code})
    assert ok.status_code == 303 and client.get("/o/acme/").status_code == 200
    client.post("/sign-out", data={"csrf_token": csrf_token()})

    sign_in(client, csrf_token, people.carol.email)
    replay = client.post("/sign-in/code", data={"csrf_token": csrf_token(), "code": code})
    assert replay.status_code == 422 and "used already" in replay.get_data(as_text=True)


def test_recovery_codes_work_once(client, people, login, csrf_token):
    login(people.carol)
    codes = enrol(client, people.carol, csrf_token)
    client.post("/sign-out", data={"csrf_token": csrf_token()})
    for expected in (303, 422):
        sign_in(client, csrf_token, people.carol.email)
        response = client.post(
            "/sign-in/code", data={"csrf_token": csrf_token(), "code": codes[0].upper()}
        )
        assert response.status_code == expected
        client.post("/sign-out", data={"csrf_token": csrf_token()})
    assert twofactor.remaining_recovery_codes(_db.session.get(User, people.carol.id)) == 9


def test_disable_needs_password_and_code(client, people, login, csrf_token):
    login(people.carol)
    enrol(client, people.carol, csrf_token)
    bad = client.post(
        "/profile/two-factor/disable",
        data={
            "csrf_token": csrf_token(),
            "disable_password": "wrong one!",
            "disable_code": "123456",
        },
    )
    assert bad.status_code == 422
    good = client.post(
        "/profile/two-factor/disable",
        data={
            "csrf_token": csrf_token(),
            "disable_password": PASSWORD,
            "disable_code": code_for(people.carol.id, offset_steps=1),
        },
    )
    assert good.status_code == 303
    user = _db.session.get(User, people.carol.id)
    assert not user.has_2fa and user.totp_secret is None
    assert _db.session.execute(_db.select(RecoveryCode)).first() is None


def test_codes_one_step_either_side_are_accepted(db, people):
    user = _db.session.get(User, people.carol.id)
    twofactor.start_enrolment(user)
    secret = user.totp_secret
    user.totp_enabled_at = user.created_at
    assert twofactor.verify(user, pyotp.TOTP(secret).at(time.time() - 30)) == "totp"
    assert twofactor.verify(user, pyotp.TOTP(secret).at(time.time() + 30)) == "totp"
    assert twofactor.verify(user, pyotp.TOTP(secret).at(time.time() + 120)) is None


def test_two_factor_attempts_are_limited(client, people, login, csrf_token):
    login(people.carol)
    enrol(client, people.carol, csrf_token)
    client.post("/sign-out", data={"csrf_token": csrf_token()})
    sign_in(client, csrf_token, people.carol.email)
    for _ in range(5):
        client.post("/sign-in/code", data={"csrf_token": csrf_token(), "code": "000000"})
    locked = client.post(
        "/sign-in/code",
        data={"csrf_token": csrf_token(), "code": code_for(people.carol.id, offset_steps=1)},
    )
    assert locked.status_code == 429 and "Try again in" in locked.get_data(as_text=True)


def test_an_org_can_require_two_factor(client, people, login):
    people.org_a.require_2fa = True
    _db.session.commit()
    login(people.bob)
    response = client.get("/o/acme/members")
    assert response.status_code == 303 and response.headers["Location"] == "/profile/two-factor"
    assert client.get("/profile/two-factor").status_code == 200  # enrolment stays reachable

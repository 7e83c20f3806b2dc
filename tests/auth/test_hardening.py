"""Sign-in hardening: remember-me on sign-out, races, expiry of the code step, HTTPS cookies."""

from __future__ import annotations

import threading
import time

import pyotp
from sqlalchemy.orm.attributes import set_committed_value

from startvora.auth import twofactor
from startvora.auth.models import User
from startvora.core import ratelimit
from startvora.extensions import db as _db
from tests.factories import PASSWORD


def sign_in(client, csrf_token, user, remember=False):
    data = {"csrf_token": csrf_token(), "email": user.email, "password": PASSWORD}
    if remember:
        data["remember"] = "on"
    return client.post("/sign-in", data=data)


def test_sign_out_also_ends_remember_me(client, people, csrf_token):
    sign_in(client, csrf_token, people.carol, remember=True)
    assert client.get_cookie("startvora_remember") is not None
    client.post("/sign-out", data={"csrf_token": csrf_token()})
    assert client.get_cookie("startvora_remember") is None
    assert client.get("/o/acme/").status_code == 302


def test_a_stale_copy_cannot_replay_a_code(db, people):
    user = _db.session.get(User, people.carol.id)
    secret = twofactor.start_enrolment(user)
    user.totp_enabled_at = user.created_at
    _db.session.commit()
    code = pyotp.TOTP(secret).now()
    assert twofactor.verify(user, code) == "totp"
    _db.session.commit()
    set_committed_value(user, "totp_last_step", None)  # as another worker's old copy would be
    assert twofactor.verify(user, code) is None


def test_racing_attempts_are_all_counted(app, db):
    limit = ratelimit.Limit("race-test", attempts=5, window_s=60)
    verdicts = []

    def go() -> None:
        with app.app_context():
            verdicts.append(ratelimit.attempt((limit, "Someone@Example.com ")))

    threads = [threading.Thread(target=go) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(v.allowed for v in verdicts) == 5
    assert sum(v.just_locked for v in verdicts) == 1
    # Case and spaces do not make a new key.
    assert not ratelimit.attempt((limit, "someone@example.com")).allowed


def test_the_code_step_expires_and_dies_with_the_session_token(client, people, csrf_token):
    user = _db.session.get(User, people.carol.id)
    twofactor.start_enrolment(user)
    user.totp_enabled_at = user.created_at
    _db.session.commit()
    sign_in(client, csrf_token, people.carol)
    assert client.get("/sign-in/code").status_code == 200
    with client.session_transaction() as session:
        pending = session["auth.pending"]
        session["auth.pending"] = {**pending, "at": time.time() - 301}
    assert client.get("/sign-in/code").headers["Location"] == "/sign-in"

    sign_in(client, csrf_token, people.carol)
    user = _db.session.get(User, people.carol.id)
    user.session_token = "rotated-by-a-reset"
    _db.session.commit()
    assert client.get("/sign-in/code").headers["Location"] == "/sign-in"


def test_foreign_digits_are_a_wrong_code_not_an_error(client, people, csrf_token):
    user = _db.session.get(User, people.carol.id)
    twofactor.start_enrolment(user)
    user.totp_enabled_at = user.created_at
    _db.session.commit()
    sign_in(client, csrf_token, people.carol)
    for code in ("١٢٣٤٥٦", "²²²²²²"):
        response = client.post("/sign-in/code", data={"csrf_token": csrf_token(), "code": code})
        assert response.status_code == 422


def test_forgot_password_says_the_same_for_every_address(client, people, csrf_token):
    answers = set()
    for email in (people.alice.email, "nobody@nowhere.test"):
        response = client.post(
            "/forgot-password", data={"csrf_token": csrf_token(), "email": email}
        )
        answers.add((response.status_code, "Email is not set up" in response.get_data(True)))
    assert answers == {(422, True)}


def test_remember_cookie_is_secure_over_https(client, people):
    import re

    html = client.get("/sign-in", base_url="https://localhost").get_data(as_text=True)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)
    response = client.post(
        "/sign-in",
        base_url="https://localhost",
        headers={"Referer": "https://localhost/sign-in"},
        data={
            "csrf_token": token,
            "email": people.alice.email,
            "password": PASSWORD,
            "remember": "on",
        },
    )
    cookies = response.headers.getlist("Set-Cookie")
    remember = [c for c in cookies if c.startswith("startvora_remember=")]
    assert remember and all("Secure" in c for c in cookies)


def test_access_log_leaves_query_strings_out():
    from tests.conftest import repo_root

    config = (repo_root() / "config" / "gunicorn.conf.py").read_text()
    assert "%(U)s" in config and "%(r)s" not in config and "%(q)s" not in config

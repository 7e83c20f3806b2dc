"""Signing in and out, the first-run setup and its gate."""

from __future__ import annotations

import pytest

from startvora.auth.models import User
from startvora.extensions import db as _db
from startvora.orgs.models import Membership, Organization
from tests.factories import PASSWORD


def test_first_run_leads_every_page_to_setup(client):
    for url in ("/", "/sign-in", "/o/anything/members", "/about"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"] == "/setup"
    assert client.get("/healthz").status_code == 200
    with client.get("/static/css/app.css") as static:
        assert static.status_code == 200


def test_setup_creates_org_and_owner(client, csrf_token):
    token = csrf_token()
    form = {
        "csrf_token": token,
        "org_name": "Café Ünïcode Ltd",
        "name": "Zoë Founder",
        "email": " Zoe@Example.COM ",
        "password": "a long password",
    }
    response = client.post("/setup", data=form)
    assert response.status_code == 303
    assert response.headers["Location"] == "/o/cafe-unicode-ltd/"
    user = _db.session.execute(_db.select(User)).scalar_one()
    assert user.email == "zoe@example.com" and user.check_password("a long password")
    membership = _db.session.execute(_db.select(Membership)).scalar_one()
    assert membership.role == "owner" and membership.org.name == "Café Ünïcode Ltd"
    # Signed in straight away; the setup page is gone for good.
    assert client.get("/o/cafe-unicode-ltd/").status_code == 200
    assert client.get("/setup").status_code == 404


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("org_name", "", "This field is required."),
        ("email", "not-an-email", "Enter an email address"),
        ("password", "short", "Use at least 10 characters."),
        ("name", "x" * 200, "Use at most 120 characters."),
    ],
)
def test_setup_validates_on_the_server(client, csrf_token, field, value, message):
    form = {
        "csrf_token": csrf_token(),
        "org_name": "Acme",
        "name": "A",
        "email": "a@b.co",
        "password": "long enough pw",
    }
    form[field] = value
    response = client.post("/setup", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html
    assert 'aria-invalid="true"' in html
    assert _db.session.execute(_db.select(Organization)).first() is None
    # What was typed is kept, except the password.
    if field != "password":
        assert 'value="long enough pw"' not in html


def test_sign_in_and_out(client, people, csrf_token):
    token = csrf_token()
    response = client.post(
        "/sign-in", data={"csrf_token": token, "email": people.alice.email, "password": PASSWORD}
    )
    assert response.status_code == 303 and response.headers["Location"] == "/home"
    assert client.get("/home").headers["Location"] == "/o/acme/"
    assert client.get("/o/acme/").status_code == 200
    assert _db.session.get(User, people.alice.id).last_login_at is not None
    response = client.post("/sign-out", data={"csrf_token": csrf_token()})
    assert response.status_code == 303
    assert client.get("/o/acme/").status_code == 302


@pytest.mark.parametrize("email", ["ALICE", "nobody@example.com"])
def test_failure_never_says_which_part_was_wrong(client, people, csrf_token, email):
    email = people.alice.email.upper() if email == "ALICE" else email
    response = client.post(
        "/sign-in", data={"csrf_token": csrf_token(), "email": email, "password": "wrong pw"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The email or password is wrong." in html
    assert 'value="wrong pw"' not in html


def test_htmx_sign_in_gets_a_fragment_or_a_redirect(client, people, csrf_token):
    headers = {"HX-Request": "true"}
    bad = client.post(
        "/sign-in", headers=headers, data={"csrf_token": csrf_token(), "email": "", "password": ""}
    )
    assert bad.status_code == 422 and "<html" not in bad.get_data(as_text=True)
    good = client.post(
        "/sign-in",
        headers=headers,
        data={"csrf_token": csrf_token(), "email": people.carol.email, "password": PASSWORD},
    )
    assert good.status_code == 204 and good.headers["HX-Redirect"] == "/home"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/o/acme/members", "/o/acme/members"),
        ("https://evil.example/", "/home"),
        ("//evil.example/x", "/home"),
        ("javascript:alert(1)", "/home"),
        ("/\\evil.example", "/home"),
        ("/\tevil", "/home"),
    ],
)
def test_next_only_follows_local_paths(client, people, csrf_token, target, expected):
    response = client.post(
        "/sign-in",
        query_string={"next": target},
        data={"csrf_token": csrf_token(), "email": people.alice.email, "password": PASSWORD},
    )
    assert response.headers["Location"] == expected


def test_remember_me_sets_a_lasting_cookie(client, people, csrf_token):
    client.post(
        "/sign-in",
        data={
            "csrf_token": csrf_token(),
            "email": people.alice.email,
            "password": PASSWORD,
            "remember": "on",
        },
    )
    assert client.get_cookie("startvora_remember") is not None


def test_inactive_person_cannot_sign_in(client, people, csrf_token):
    people.carol.active = False
    _db.session.commit()
    response = client.post(
        "/sign-in",
        data={"csrf_token": csrf_token(), "email": people.carol.email, "password": PASSWORD},
    )
    assert response.status_code == 422


def test_unauthenticated_answers(client, people):
    assert client.get("/o/acme/").headers["Location"].startswith("/sign-in?next=")
    htmx = client.get("/o/acme/members", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/sign-in")
    api = client.get("/o/acme/", headers={"Accept": "application/json"})
    assert api.status_code == 401 and api.mimetype == "application/problem+json"


def test_htmx_sign_in_never_redirects_off_site(client, people, csrf_token):
    response = client.post(
        "/sign-in",
        query_string={"next": "/\\evil.example"},
        headers={"HX-Request": "true"},
        data={"csrf_token": csrf_token(), "email": people.alice.email, "password": PASSWORD},
    )
    assert response.headers["HX-Redirect"] == "/home"


def test_passwords_are_taken_exactly_as_typed(client, db, csrf_token):
    from tests import factories

    user = factories.make_user(password="  spaced out pw  ")
    _db.session.commit()
    token = csrf_token()
    trimmed = client.post(
        "/sign-in", data={"csrf_token": token, "email": user.email, "password": "spaced out pw"}
    )
    assert trimmed.status_code == 422
    exact = client.post(
        "/sign-in", data={"csrf_token": token, "email": user.email, "password": "  spaced out pw  "}
    )
    assert exact.status_code == 303


def test_concurrent_setups_make_one_organization(app, db):
    import threading

    from startvora.auth import services

    results = []

    def attempt(n: int) -> None:
        with app.app_context():
            try:
                services.set_up_first_run(
                    f"Org {n}", "Owner", f"o{n}@x.test", "long password", "en", "UTC", "USD"
                )
                _db.session.commit()
                results.append("created")
            except services.SetupDoneError:
                _db.session.rollback()
                results.append("refused")
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("created") == 1
    assert _db.session.execute(_db.select(_db.func.count(Organization.id))).scalar_one() == 1

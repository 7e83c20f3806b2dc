"""Headers on every response, no inline script anywhere, CSRF on unsafe methods."""

from __future__ import annotations

import re

import pytest


def pages(people):
    return ["/sign-in", "/o/acme/", "/o/acme/members", "/about", "/o/acme/nope"]


def test_csp_forbids_inline_script(client, people, login):
    login(people.alice)
    for url in pages(people):
        response = client.get(url)
        csp = response.headers["Content-Security-Policy"]
        script_src = re.search(r"script-src ([^;]+)", csp).group(1)
        assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
        assert "'unsafe-inline'" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        html = response.get_data(as_text=True)
        # Every <script> has a src; no on* handler attributes; no style attributes.
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert not re.search(r"\son[a-z]+\s*=", html), url
        assert not re.search(r"\sstyle\s*=", html), url


def test_post_without_csrf_token_is_refused(client, people, login):
    login(people.alice)
    response = client.post("/o/acme/members/export", data={})
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/sign-in", "/setup"])
def test_anonymous_post_needs_csrf_too(client, url):
    assert client.post(url, data={"email": "a@b.co", "password": "x"}).status_code == 400


def test_cookies_and_hsts_over_https(client, people):
    html = client.get("/sign-in", base_url="https://localhost").get_data(as_text=True)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)
    response = client.post(
        "/sign-in",
        base_url="https://localhost",
        headers={"Referer": "https://localhost/sign-in"},  # checked by CSRF under HTTPS
        data={
            "csrf_token": token,
            "email": people.alice.email,
            "password": "correct horse battery",
        },
    )
    assert response.status_code == 303
    cookie = response.headers.get("Set-Cookie", "")
    assert "startvora_session=" in cookie and "Secure" in cookie and "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    plain = client.get("/sign-in")
    assert "Strict-Transport-Security" not in plain.headers


def test_sign_in_starts_a_new_session(client, people, csrf_token):
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    client.post(
        "/sign-in",
        data={
            "csrf_token": csrf_token(),
            "email": people.alice.email,
            "password": "correct horse battery",
        },
    )
    with client.session_transaction() as session:
        assert "planted" not in session and session["_user_id"]

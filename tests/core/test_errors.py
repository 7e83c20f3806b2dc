"""Error pages: in the layout for people, problem JSON for the API, a toast for htmx."""

from __future__ import annotations

import json

from tests import factories


def test_unknown_url_gives_404_in_the_layout(client, people, login):
    login(people.alice)
    response = client.get("/no/such/page")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "Page not found" in html and 'class="sidebar"' in html and "<html" in html


def test_anonymous_404_uses_the_centred_layout(client, people):
    response = client.get("/definitely-not-here")
    assert response.status_code == 404 and "Page not found" in response.get_data(as_text=True)


def test_api_errors_are_problem_documents(client, people):
    response = client.get("/api/v1/nothing")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 404


def test_htmx_errors_carry_a_toast(client, people, login):
    login(people.alice)
    response = client.get("/o/acme/missing", headers={"HX-Request": "true"})
    assert response.status_code == 404
    trigger = json.loads(response.headers["HX-Trigger"])
    assert trigger["showToast"]["level"] == "error"


def test_post_only_routes_refuse_get(client, people, login):
    login(people.alice)
    for url in ("/sign-out", "/o/acme/members/export", "/o/acme/members/remove"):
        response = client.get(url)
        assert response.status_code == 405
        assert "POST" in response.headers["Allow"]


def test_server_error_page_in_the_layout(make_app):
    other = make_app({"PROPAGATE_EXCEPTIONS": False})

    @other.get("/explode")
    def explode():
        raise RuntimeError("kaboom")

    with other.app_context():
        from startvora.extensions import db

        db.create_all()
        org = factories.make_org(slug="x")
        user_id = factories.make_member(org, "owner").get_id()
        db.session.commit()
    client = other.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user_id
    response = client.get("/explode")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in html and 'class="sidebar"' in html
    assert "kaboom" not in html


def test_htmx_405_keeps_allow(client, people, login):
    login(people.alice)
    response = client.get("/o/acme/members/remove", headers={"HX-Request": "true"})
    assert response.status_code == 405 and "POST" in response.headers["Allow"]

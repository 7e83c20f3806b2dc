"""The htmx helper: full page or named block, Vary, toasts, redirects."""

from __future__ import annotations

import json

from flask import Flask

from startvora.core.htmx import redirect_to, render, toast


def test_full_page_then_fragment(app: Flask, people, login):
    client = login(people.alice)
    full = client.get("/o/acme/members")
    assert full.status_code == 200 and "<html" in full.get_data(as_text=True)
    assert "HX-Request" in full.headers.get("Vary", "")
    part = client.get("/o/acme/members", headers={"HX-Request": "true"})
    body = part.get_data(as_text=True)
    assert part.status_code == 200 and "<html" not in body and "data-table" in body
    assert "HX-Request" in part.headers["Vary"]


def test_boosted_and_history_restore_get_the_full_page(people, login):
    client = login(people.alice)
    for extra in ({"HX-Boosted": "true"}, {"HX-History-Restore-Request": "true"}):
        response = client.get("/o/acme/members", headers={"HX-Request": "true", **extra})
        assert "<html" in response.get_data(as_text=True)


def test_toast_through_hx_trigger(app: Flask):
    with app.test_request_context(headers={"HX-Request": "true"}):
        response = toast(app.make_response(("", 200)), "Saved", "success")
        assert json.loads(response.headers["HX-Trigger"]) == {
            "showToast": {"message": "Saved", "level": "success"}
        }


def test_redirect_for_htmx_and_browsers(app: Flask):
    with app.test_request_context(headers={"HX-Request": "true"}):
        response = redirect_to("/next")
        assert response.status_code == 204 and response.headers["HX-Redirect"] == "/next"
    with app.test_request_context():
        response = redirect_to("/next")
        assert response.status_code == 303 and response.headers["Location"] == "/next"


def test_render_without_block_is_always_full(app: Flask, db):
    with app.test_request_context(headers={"HX-Request": "true"}):
        response = render("errors/error.html", status=404, title="t", detail="d")
        assert "<html" in response.get_data(as_text=True)


def test_trigger_keeps_a_plain_header(app: Flask):
    from startvora.core.htmx import trigger

    with app.test_request_context():
        response = app.make_response(("", 200))
        response.headers["HX-Trigger"] = "closeModal, contactCreated"
        trigger(response, "showToast", {"message": "x"})
        assert json.loads(response.headers["HX-Trigger"]) == {
            "closeModal": True,
            "contactCreated": True,
            "showToast": {"message": "x"},
        }


def test_every_response_varies_on_hx_request(client, people):
    for url in ("/sign-in", "/healthz", "/o/acme/"):
        assert "HX-Request" in client.get(url).headers.get("Vary", "")

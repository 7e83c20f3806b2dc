"""Full page or one named block, chosen by the view; toasts through HX-Trigger."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, flash, make_response, render_template, request
from jinja2_fragments.flask import render_block


def from_htmx() -> bool:
    """Any request sent by htmx, including boosted navigations."""
    return request.headers.get("HX-Request") == "true"


def is_htmx() -> bool:
    """An in-page htmx request (not a boosted navigation or a history restore)."""
    headers = request.headers
    return (
        from_htmx()
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def render(template: str, *, block: str | None = None, status: int = 200, **ctx: Any) -> Response:
    """Render the whole page, or only `block` when htmx asks for part of this page."""
    if block and is_htmx():
        body = render_block(template, block, **ctx)
    else:
        body = render_template(template, **ctx)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


def trigger(response: Response, event: str, detail: Any = True) -> Response:
    """Add one event to the response's HX-Trigger header, keeping any already there."""
    current = response.headers.get("HX-Trigger", "")
    try:
        events: dict[str, Any] = json.loads(current) if current else {}
    except ValueError:  # the plain form: "eventA, eventB"
        events = {name.strip(): True for name in current.split(",") if name.strip()}
    events[event] = detail
    response.headers["HX-Trigger"] = json.dumps(events)
    return response


def toast(response: Response, message: str, level: str = "success") -> Response:
    """Show a toast: through HX-Trigger for htmx, or as a flashed message on the next page."""
    if from_htmx() and response.status_code < 300:
        return trigger(response, "showToast", {"message": str(message), "level": level})
    flash(str(message), level)
    return response


def redirect_to(url: str, message: str | None = None, level: str = "success") -> Response:
    """Redirect that htmx follows as a full navigation (HX-Redirect) and browsers as a 303."""
    if message:
        flash(str(message), level)
    if from_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    response = make_response("", 303)
    response.headers["Location"] = url
    return response


def init_app(app: Any) -> None:
    """Always vary on HX-Request: one URL can answer a page or a fragment."""

    @app.after_request
    def _vary(response: Response) -> Response:
        response.vary.add("HX-Request")
        return response

"""Error pages inside the layout, a problem document for JSON, a toast for htmx."""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Flask,
    Response,
    current_app,
    jsonify,
    make_response,
    render_template,
    request,
)
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from startvora.core.htmx import is_htmx, trigger

log = logging.getLogger(__name__)


def _upload_mb() -> int:
    """The largest upload people may send, as the settings say (the 413 page names it)."""
    return current_app.extensions["startvora.settings"].storage.max_upload_mb


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Bad request"), _("The request could not be understood.")),
        401: (_("Sign-in required"), _("Sign in to continue.")),
        403: (_("Not allowed"), _("Your role in this organization does not allow this.")),
        404: (_("Page not found"), _("There is nothing here. The link may be old or mistyped.")),
        405: (_("Not allowed"), _("This address does not accept that kind of request.")),
        413: (_("Too large"), _("The upload is too large (limit %(mb)d MB).", mb=_upload_mb())),
        429: (_("Slow down"), _("Too many requests. Wait a moment and try again.")),
        500: (_("Something went wrong"), _("The error was logged. Try again in a moment.")),
    }


def _wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best in ("application/json", "application/problem+json")
    )


def render_error(status: int, detail: str | None = None) -> Response:
    """The error as a problem document (API), a toast (htmx) or a page in the layout."""
    title, text = _messages().get(status, (_("Error"), _("The request failed.")))
    detail = detail or text
    if _wants_json():
        response = jsonify(type="about:blank", title=title, status=status, detail=detail)
        response.mimetype = "application/problem+json"
    elif is_htmx():
        response = jsonify(error=detail)
        trigger(response, "showToast", {"message": f"{title}: {detail}", "level": "error"})
    else:
        try:
            body = render_template("errors/error.html", status=status, title=title, detail=detail)
        except Exception:
            # The layout itself failed (a broken database, say): answer plainly, not at all.
            log.exception("error page could not be rendered")
            body = f"<!doctype html><title>{status}</title><h1>{status}</h1>"
        response = make_response(body)
    response.status_code = status
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Any:
        return render_error(400, _("The form expired. Reload the page and try again."))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        if exc.code is None or exc.code < 400:
            return exc
        # abort(404, "why") says why; Werkzeug's own English default text is not shown.
        own = exc.description if exc.description != type(exc).description else None
        response = render_error(exc.code, own)
        if exc.code == 405:
            response.headers["Allow"] = ", ".join(exc.valid_methods or [])
        return response

    @app.errorhandler(InternalServerError)
    def _server_error(exc: InternalServerError) -> Any:
        from startvora.extensions import db

        db.session.rollback()
        return render_error(500)

"""The organization in the URL: /o/<org_slug>/...; a non-member gets 404, never 403."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import Blueprint, Flask, abort, g, jsonify, redirect, request, url_for
from flask_login import current_user

from startvora.core.htmx import from_htmx
from startvora.extensions import db, login_manager

M = TypeVar("M")


def unauthorized() -> Any:
    """HTML gets the sign-in page, htmx an HX-Redirect, JSON a 401."""
    target = url_for("auth.sign_in", next=request.full_path.rstrip("?"))
    if from_htmx():
        response = jsonify(error="sign-in required")
        response.status_code = 401
        response.headers["HX-Redirect"] = target
        return response
    if request.accept_mimetypes.best == "application/json" or request.path.startswith("/api/"):
        response = jsonify(
            type="about:blank", title="Unauthorized", status=401, detail="Sign in first."
        )
        response.status_code = 401
        response.mimetype = "application/problem+json"
        return response
    return redirect(target)


def load_org(slug: str) -> None:
    """Put the organization and the current user's membership on g, or answer 404/401."""
    from startvora.orgs.models import Membership, Organization

    if not current_user.is_authenticated:
        abort(login_manager.unauthorized())
    membership = db.session.execute(
        db.select(Membership)
        .join(Organization)
        .where(Organization.slug == slug, Membership.user_id == current_user.id)
    ).scalar_one_or_none()
    if membership is None:
        abort(404)
    g.org = membership.org
    g.membership = membership


def org_blueprint(name: str, import_name: str, url_prefix: str = "") -> Blueprint:
    """A blueprint whose every route lives under /o/<org_slug>/ and needs membership."""
    bp = Blueprint(name, import_name, url_prefix=f"/o/<org_slug>{url_prefix}")

    @bp.url_value_preprocessor
    def _pull(_endpoint: str | None, values: dict[str, Any] | None) -> None:
        g.org_slug = (values or {}).pop("org_slug", None)

    @bp.before_request
    def _load() -> None:
        load_org(g.org_slug)

    return bp


def get_scoped_or_404(model: type[M], object_id: int) -> M:
    """Load a row of the current organization by id; any other organization's row is a 404."""
    obj = db.session.get(model, object_id)
    if obj is None or getattr(obj, "org_id", None) != g.org.id:
        abort(404)
    return obj


def init_app(app: Flask) -> None:
    login_manager.unauthorized_handler(unauthorized)

    @app.url_defaults
    def _org_slug(endpoint: str, values: dict[str, Any]) -> None:
        org = g.get("org")
        if (
            org is not None
            and "org_slug" not in values
            and app.url_map.is_endpoint_expecting(endpoint, "org_slug")
        ):
            values["org_slug"] = org.slug

"""Sign in, sign out, and the first-run setup of the first organization and its owner."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from startvora.auth import schemas, services
from startvora.core.forms import FORM_ERROR, FormErrors, form_data, parse
from startvora.core.htmx import redirect_to, render
from startvora.extensions import db

bp = Blueprint("auth", __name__)

# Pages reachable before the first account exists.
_OPEN_ENDPOINTS = {"static", "health.healthz", "auth.setup"}


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths are followed after sign-in."""
    if not target or "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def init_first_run_gate(app: Flask) -> None:
    """Until an account exists, every page leads to the setup page."""

    @app.before_request
    def _first_run() -> Any:
        if app.extensions.get("startvora.setup_done"):
            return None
        if request.endpoint in _OPEN_ENDPOINTS or request.path.startswith("/api/"):
            return None
        if services.any_user_exists():
            app.extensions["startvora.setup_done"] = True
            return None
        return redirect(url_for("auth.setup"))


@bp.route("/setup", methods=["GET", "POST"])
def setup() -> Any:
    """Create the first organization and its owner; only while no account exists."""
    if services.any_user_exists():
        abort(404)
    errors = FormErrors()
    values: dict[str, Any] = {}
    if request.method == "POST":
        values = form_data(request.form, ("org_name", "name", "email", "password"))
        data, errors = parse(schemas.SetupIn, values)
        if data is not None:
            i18n = current_app.extensions["startvora.settings"].i18n
            try:
                user, org = services.set_up_first_run(
                    data.org_name,
                    data.name,
                    data.email,
                    data.password,
                    i18n.default_locale,
                    i18n.default_timezone,
                    i18n.default_currency,
                )
            except services.SetupDoneError:
                db.session.rollback()
                return redirect_to(url_for("auth.sign_in"), _("Setup is already done."), "info")
            db.session.commit()
            login_user(user)
            return redirect_to(
                url_for("orgs.dashboard", org_slug=org.slug), _("Welcome to Startvora.")
            )
    values.pop("password", None)
    status = 422 if errors else 200
    return render("auth/setup.html", block="form", status=status, errors=errors, values=values)


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Any:
    """Email and password; a failure never says which of the two was wrong."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")) or url_for("home.home"))
    errors = FormErrors()
    values: dict[str, Any] = {}
    if request.method == "POST":
        values = form_data(request.form, ("email", "password"))
        values["remember"] = request.form.get("remember") == "on"
        data, errors = parse(schemas.SignInIn, values)
        if data is not None:
            user = services.authenticate(data.email, data.password)
            if user is not None:
                db.session.commit()
                login_user(user, remember=data.remember)
                target = _safe_next(request.args.get("next")) or url_for("home.home")
                return redirect_to(target)
            errors = FormErrors({FORM_ERROR: _("The email or password is wrong.")})
    values.pop("password", None)
    status = 422 if errors else 200
    return render("auth/sign_in.html", block="form", status=status, errors=errors, values=values)


@bp.post("/sign-out")
def sign_out() -> Any:
    """End this browser's session."""
    logout_user()
    return redirect_to(url_for("auth.sign_in"), _("You are signed out."))

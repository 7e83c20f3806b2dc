"""Sign in (with two-factor), sign out, password reset, and the first-run setup."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from startvora.auth import schemas, services, twofactor
from startvora.auth.models import User
from startvora.core import audit, mail, ratelimit
from startvora.core.forms import FORM_ERROR, FormErrors, form_data, parse
from startvora.core.htmx import redirect_to, render
from startvora.core.mail import external_url
from startvora.extensions import db

bp = Blueprint("auth", __name__)

# Pages reachable before the first account exists.
_OPEN_ENDPOINTS = {"static", "health.healthz", "auth.setup"}

SIGN_IN_PER_IP = ratelimit.Limit("sign-in-ip", attempts=30, window_s=15 * 60)
SIGN_IN_PER_ACCOUNT = ratelimit.Limit("sign-in-account", attempts=5, window_s=15 * 60)
RESET_PER_IP = ratelimit.Limit("reset-ip", attempts=10, window_s=60 * 60)
RESET_PER_ACCOUNT = ratelimit.Limit("reset-account", attempts=3, window_s=60 * 60)
TWO_FACTOR_PER_ACCOUNT = ratelimit.Limit("2fa-account", attempts=5, window_s=15 * 60)
TWO_FACTOR_PER_IP = ratelimit.Limit("2fa-ip", attempts=30, window_s=15 * 60)
PASSWORD_CHECK = ratelimit.Limit("password-check", attempts=10, window_s=15 * 60)

PENDING = "auth.pending"  # session key: who passed the password step, waiting for a code
PENDING_MAX_AGE_S = 300


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths are followed after sign-in."""
    if not target or "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _ip() -> str:
    return request.remote_addr or "unknown"


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


def _complete_sign_in(
    user: User, remember: bool, method: str, forget: tuple[ratelimit.Limit, str]
) -> Any:
    """Start a fresh session for the person (never reusing the anonymous one)."""
    target = _safe_next(session.get("auth.next")) or url_for("home.home")
    session.clear()
    login_user(user, remember=remember)
    audit.record("auth.signed_in", actor=user, summary=f"Signed in ({method})", method=method)
    db.session.commit()
    ratelimit.reset(forget)  # after the commit: the limiter writes on a connection of its own
    return redirect_to(target)


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
            audit.record("org.created", org=org, actor=user, target=org, summary=org.name)
            db.session.commit()
            session.clear()
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
            verdict = ratelimit.attempt((SIGN_IN_PER_IP, _ip()), (SIGN_IN_PER_ACCOUNT, data.email))
            if not verdict.allowed:
                _record_lockout(verdict, services.find_user(data.email), data.email)
                errors = FormErrors({FORM_ERROR: verdict.message()})
                values.pop("password", None)
                return render(
                    "auth/sign_in.html", block="form", status=429, errors=errors, values=values
                )
            user = services.authenticate(data.email, data.password)
            if user is None:
                known = services.find_user(data.email)
                audit.record(
                    "auth.sign_in_failed",
                    actor=known,
                    summary="Wrong email or password",
                    email=data.email,
                )
                db.session.commit()
                errors = FormErrors({FORM_ERROR: _("The email or password is wrong.")})
            else:
                session["auth.next"] = request.args.get("next") or ""
                if user.has_2fa:
                    session[PENDING] = {
                        "id": user.id,
                        "token": user.session_token,
                        "at": time.time(),
                        "remember": data.remember,
                    }
                    db.session.commit()
                    ratelimit.reset((SIGN_IN_PER_ACCOUNT, data.email))
                    return redirect_to(url_for("auth.two_factor"))
                return _complete_sign_in(
                    user, data.remember, "password", (SIGN_IN_PER_ACCOUNT, data.email)
                )
    values.pop("password", None)
    status = 422 if errors else 200
    return render("auth/sign_in.html", block="form", status=status, errors=errors, values=values)


def _record_lockout(verdict: ratelimit.Verdict, user: User | None, who: str) -> None:
    """The first refused attempt of a lockout goes to the audit log."""
    if verdict.just_locked:
        audit.record("auth.locked_out", actor=user, summary=f"Too many attempts for {who}")
        db.session.commit()


def _pending_user() -> User | None:
    """The person between the password step and the code step, for five minutes at most."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_MAX_AGE_S:
        return None
    user = db.session.get(User, pending.get("id"))
    # A password reset or "sign out everywhere" since the password step voids it.
    if user is None or not user.has_2fa or user.session_token != pending.get("token"):
        return None
    return user


@bp.route("/sign-in/code", methods=["GET", "POST"])
def two_factor() -> Any:
    """The second step: a code from the authenticator app, or a recovery code."""
    user = _pending_user()
    if user is None:
        session.pop(PENDING, None)
        return redirect_to(url_for("auth.sign_in"))
    errors = FormErrors()
    if request.method == "POST":
        data, errors = parse(schemas.CodeIn, form_data(request.form, ("code",)))
        if data is not None:
            verdict = ratelimit.attempt(
                (TWO_FACTOR_PER_ACCOUNT, str(user.id)), (TWO_FACTOR_PER_IP, _ip())
            )
            if not verdict.allowed:
                _record_lockout(verdict, user, user.email)
                return render(
                    "auth/two_factor.html",
                    block="form",
                    status=429,
                    errors=FormErrors({FORM_ERROR: verdict.message()}),
                )
            method = twofactor.verify(user, data.code)
            if method is not None:
                if method == "recovery":
                    audit.record("auth.recovery_code_used", actor=user, summary="Recovery code")
                remember = bool(session[PENDING].get("remember"))
                return _complete_sign_in(
                    user, remember, method, (TWO_FACTOR_PER_ACCOUNT, str(user.id))
                )
            audit.record("auth.sign_in_failed", actor=user, summary="Wrong two-factor code")
            db.session.commit()
            errors = FormErrors({"code": _("That code is not right, or it was used already.")})
    status = 422 if errors else 200
    return render("auth/two_factor.html", block="form", status=status, errors=errors)


@bp.post("/sign-out")
def sign_out() -> Any:
    """End this browser's session."""
    # Cleared first: logout_user() then marks the remember-me cookie for deletion.
    session.clear()
    logout_user()
    return redirect_to(url_for("auth.sign_in"), _("You are signed out."))


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot_password() -> Any:
    """Email a one-hour reset link; the answer is the same whether the account exists or not."""
    errors = FormErrors()
    values: dict[str, Any] = {}
    sent = False
    if request.method == "POST":
        values = form_data(request.form, ("email",))
        data, errors = parse(schemas.ResetRequestIn, values)
        if data is not None and not mail.mail_configured():
            # The same answer for every address: it must not tell which ones have accounts.
            errors = FormErrors(
                {FORM_ERROR: _("Email is not set up here. Ask your administrator.")}
            )
        elif data is not None:
            verdict = ratelimit.attempt((RESET_PER_IP, _ip()), (RESET_PER_ACCOUNT, data.email))
            if not verdict.allowed:
                errors = FormErrors({FORM_ERROR: verdict.message()})
                return render(
                    "auth/forgot.html", block="form", status=429, errors=errors, values=values
                )
            user = services.find_user(data.email)
            if user is not None and user.active:
                link = url_for("auth.reset_password", t=services.make_reset_token(user))
                mail.send_email(
                    user.email,
                    _("Reset your Startvora password"),
                    "password_reset",
                    context={"link": external_url(link)},
                )
                audit.record("auth.password_reset_requested", actor=user, summary=user.email)
            db.session.commit()
            sent = True
    status = 422 if errors else 200
    return render(
        "auth/forgot.html", block="form", status=status, errors=errors, values=values, sent=sent
    )


@bp.route("/reset-password", methods=["GET", "POST"])
def reset_password() -> Any:
    """Choose a new password from an emailed link (single use, one hour).

    The token travels in the query string, which the access log leaves out.
    """
    token = request.args.get("t", "")[:2000]
    try:
        user = services.user_for_reset_token(token)
    except services.ResetTokenError as exc:
        message = (
            _("This link has expired. Ask for a new one.")
            if exc.expired
            else _("This link is not valid or was used already. Ask for a new one.")
        )
        return render("auth/reset.html", status=410, invalid=message, errors=FormErrors())
    errors = FormErrors()
    if request.method == "POST":
        data, errors = parse(
            schemas.NewPasswordIn,
            form_data(request.form, ("password", "confirm")),
            context={"email": user.email},
        )
        if data is not None:
            services.change_password(user, data.password)
            audit.record("auth.password_reset", actor=user, summary=user.email)
            db.session.commit()
            return redirect_to(url_for("auth.sign_in"), _("Your password is changed. Sign in."))
    status = 422 if errors else 200
    return render(
        "auth/reset.html", block="form", status=status, errors=errors, token=token, invalid=None
    )

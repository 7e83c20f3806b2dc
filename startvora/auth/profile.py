"""A person's own settings: details, password, two-factor, sessions and API tokens."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from startvora.auth import schemas, services, tokens, twofactor
from startvora.auth.models import ApiToken
from startvora.auth.views import PASSWORD_CHECK
from startvora.core import audit, ratelimit
from startvora.core.forms import FormErrors, form_data, parse
from startvora.core.htmx import redirect_to, render
from startvora.core.i18n import available_locales, locale_name
from startvora.core.tenancy import org_context, system_context
from startvora.extensions import db

bp = Blueprint("profile", __name__, url_prefix="/profile")


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every page here is the signed-in person's own."""


def _password_tries_left() -> ratelimit.Verdict:
    """Checks of the password from a signed-in session are limited too (a stolen session)."""
    return ratelimit.attempt((PASSWORD_CHECK, str(current_user.id)))


def _page(status: int = 200, **ctx: Any) -> Any:
    ctx.setdefault("errors", FormErrors())
    ctx.setdefault("section", "")
    orgs = sorted(((m.org_id, m.org.name) for m in current_user.memberships), key=lambda o: o[1])
    return render(
        "auth/profile.html",
        status=status,
        tokens=tokens.tokens_of(current_user),
        org_names=dict(orgs),
        org_choices=orgs,
        locale_choices=[(code, locale_name(code)) for code in available_locales()],
        recovery_left=twofactor.remaining_recovery_codes(current_user),
        **ctx,
    )


@bp.get("/")
def index() -> Any:
    """The profile page."""
    return _page()


@bp.post("/")
def update() -> Any:
    """Change name and language."""
    data, errors = parse(schemas.ProfileIn, form_data(request.form, ("name", "locale")))
    if data is not None and data.locale and data.locale not in available_locales():
        errors = FormErrors({"locale": _("Choose one of the listed languages.")})
    if data is None or errors:
        return _page(422, errors=errors, section="details")
    current_user.name = data.name
    current_user.locale = data.locale or None
    db.session.commit()
    return redirect_to(url_for("profile.index"), _("Your details are saved."))


@bp.post("/password")
def change_password() -> Any:
    """Change the password; every other session ends."""
    data, errors = parse(
        schemas.ChangePasswordIn,
        form_data(request.form, ("current", "password", "confirm")),
        context={"email": current_user.email},
    )
    if data is not None and not (verdict := _password_tries_left()).allowed:
        errors = FormErrors({"current": verdict.message()})
    elif data is not None and not current_user.check_password(data.current):
        errors = FormErrors({"current": _("This is not your current password.")})
    if data is None or errors:
        return _page(422, errors=errors, section="password")
    services.change_password(current_user, data.password)
    audit.record("auth.password_changed", actor=current_user, summary=current_user.email)
    db.session.commit()
    login_user(current_user._get_current_object())  # this browser gets the new session token
    return redirect_to(url_for("profile.index"), _("Your password is changed."))


@bp.post("/sign-out-everywhere")
def sign_out_everywhere() -> Any:
    """End every session of this person, on every device, this one included."""
    services.rotate_sessions(current_user)
    audit.record("auth.signed_out_everywhere", actor=current_user, summary=current_user.email)
    db.session.commit()
    logout_user()
    session.clear()
    return redirect_to(url_for("auth.sign_in"), _("You are signed out on every device."))


@bp.route("/two-factor", methods=["GET", "POST"])
def two_factor() -> Any:
    """Turn on two-factor sign-in: scan the QR code, then confirm with a code."""
    if current_user.has_2fa:
        return redirect_to(url_for("profile.index"))
    errors = FormErrors()
    if not current_user.totp_secret:
        # Made once and kept until confirmed: reloading the page shows the same QR code.
        twofactor.start_enrolment(current_user)
        db.session.commit()
    elif request.method == "POST":
        data, errors = parse(schemas.CodeIn, form_data(request.form, ("code",)))
        if data is not None:
            codes = twofactor.confirm_enrolment(current_user, data.code)
            if codes is not None:
                audit.record("auth.2fa_enabled", actor=current_user, summary=current_user.email)
                db.session.commit()
                return render("auth/recovery_codes.html", codes=codes)
            errors = FormErrors({"code": _("That code is not right. Try the next one.")})
    uri = twofactor.provisioning_uri(current_user)
    return render(
        "auth/two_factor_setup.html",
        status=422 if errors else 200,
        errors=errors,
        qr=twofactor.qr_svg(uri),
        secret=current_user.totp_secret,
    )


@bp.post("/two-factor/disable")
def disable_two_factor() -> Any:
    """Turn two-factor off, with the password and a code."""
    data, errors = parse(
        schemas.DisableTwoFactorIn, form_data(request.form, ("disable_password", "disable_code"))
    )
    if data is not None and not (verdict := _password_tries_left()).allowed:
        errors = FormErrors({"disable_code": verdict.message()})
    elif data is not None and not twofactor.disable(
        current_user, data.disable_password, data.disable_code
    ):
        errors = FormErrors({"disable_code": _("The password or the code is not right.")})
    if data is None or errors:
        return _page(422, errors=errors, section="two-factor")
    audit.record("auth.2fa_disabled", actor=current_user, summary=current_user.email)
    db.session.commit()
    return redirect_to(url_for("profile.index"), _("Two-factor sign-in is off."), "warning")


@bp.post("/two-factor/recovery-codes")
def new_recovery_codes() -> Any:
    """Replace the recovery codes (the old ones stop working); needs the password."""
    password = request.form.get("recovery_password", "")
    if not current_user.has_2fa:
        abort(404)
    verdict = _password_tries_left()
    if not verdict.allowed or not current_user.check_password(password):
        message = verdict.message() if not verdict.allowed else _("This is not your password.")
        errors = FormErrors({"recovery_password": message})
        return _page(422, errors=errors, section="two-factor")
    codes = twofactor.new_recovery_codes(current_user)
    audit.record("auth.recovery_codes_renewed", actor=current_user, summary=current_user.email)
    db.session.commit()
    return render("auth/recovery_codes.html", codes=codes)


@bp.post("/tokens")
def create_token() -> Any:
    """A new API token for one of the person's organizations, shown once."""
    data, errors = parse(schemas.TokenIn, form_data(request.form, ("token_name", "org_id")))
    orgs = {m.org_id: m.org for m in current_user.memberships}
    if data is not None and data.org_id not in orgs:
        errors = FormErrors({"org_id": _("Choose one of your organizations.")})
    elif data is not None and orgs[data.org_id].require_2fa and not current_user.has_2fa:
        errors = FormErrors(
            {"org_id": _("This organization requires two-factor sign-in: turn it on first.")}
        )
    if data is None or errors:
        return _page(422, errors=errors, section="tokens")
    with org_context(data.org_id):
        token, plain = tokens.create_token(current_user, data.org_id, data.token_name)
    audit.record(
        "auth.token_created",
        org=data.org_id,
        actor=current_user,
        target=token,
        summary=f"{token.name} ({token.prefix}…)",
    )
    db.session.commit()
    return _page(new_token=plain, new_token_org=orgs[data.org_id].name, section="tokens")


@bp.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int) -> Any:
    """Revoke one of the person's own tokens."""
    with system_context("a person revoking their own token"):
        token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    tokens.revoke(token)
    audit.record(
        "auth.token_revoked",
        org=token.org_id,
        actor=current_user,
        target=token,
        summary=f"{token.name} ({token.prefix}…)",
    )
    db.session.commit()
    return redirect_to(url_for("profile.index"), _("The token is revoked."))

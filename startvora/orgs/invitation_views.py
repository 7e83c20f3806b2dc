"""Inviting people by email, and accepting an invitation."""

from __future__ import annotations

from typing import Any

from flask import abort, g, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user

from startvora.auth import schemas as auth_schemas
from startvora.auth import services as auth
from startvora.core import audit, mail
from startvora.core.forms import FormErrors, form_data, parse
from startvora.core.htmx import redirect_to, render
from startvora.core.permissions import ROLE_LABELS, require
from startvora.core.tenancy import get_scoped_or_404
from startvora.extensions import db
from startvora.orgs import invitations, services
from startvora.orgs.blueprints import bp, home_bp
from startvora.orgs.models import Invitation, Organization
from startvora.orgs.schemas import InviteIn

REASONS = {
    "invalid": _l("This invitation link is not valid. Ask for a new one."),
    "expired": _l("This invitation has expired. Ask the person who invited you to send it again."),
    "revoked": _l("This invitation was withdrawn."),
    "used": _l("This invitation was used already. Sign in to continue."),
    "closed": _l("This invitation is closed."),
    "other person": _l("This invitation is for another email address."),
    "already a member": _l("This person is a member already."),
    "already invited": _l("This person has an open invitation already; send it again instead."),
}


def _link(token: str) -> str:
    return mail.external_url(url_for("home.invitation_accept", t=token))


def _deliver(invitation: Invitation, token: str) -> str | None:
    """Email the link; when email is not set up, the link to share by hand is returned."""
    link = _link(token)
    try:
        mail.send_email(
            invitation.email,
            _(
                "%(name)s invites you to %(org)s on Startvora",
                name=current_user.name,
                org=g.org.name,
            ),
            "invitation",
            org_id=g.org.id,
            context={
                "inviter": current_user.name,
                "org_name": g.org.name,
                "sender_name": g.org.name,
                "role": str(ROLE_LABELS[invitation.role]).lower(),
                "link": link,
            },
        )
    except mail.MailNotConfigured:
        return link
    return None


def _send(
    invitation: Invitation, token: str, action: str, summary: str, shared: str, sent: str
) -> Any:
    """Email the link (or keep it to show once), record it, and go back to the members page."""
    manual = _deliver(invitation, token)
    audit.record(action, org=g.org, actor=current_user, target=invitation, summary=summary)
    db.session.commit()
    back = url_for("orgs.members_index")
    if manual:
        session["invite_link"] = {"id": invitation.id, "link": manual}
        return redirect_to(back, shared)
    return redirect_to(back, sent)


@bp.post("/invitations")
@require("org:admin")
def invitations_create() -> Any:
    """Invite someone by email with a role."""
    data, errors = parse(InviteIn, form_data(request.form, ("email", "role")))
    back = url_for("orgs.members_index")
    if data is None:
        return redirect_to(back, next(iter(errors.values())), "error")
    try:
        invitation, token = invitations.invite(g.org, g.membership, data.email, data.role)
    except invitations.InvitationError as exc:
        db.session.rollback()
        return redirect_to(back, str(REASONS[exc.reason]), "error")
    except services.MemberRuleError as exc:
        db.session.rollback()
        return redirect_to(back, str(exc.message), "error")
    return _send(
        invitation,
        token,
        "invitations.sent",
        f"{invitation.email} as {invitation.role}",
        _("Invitation created. Email is not set up: share the link."),
        _("Invitation sent to %(email)s.", email=invitation.email),
    )


@bp.post("/invitations/<int:invitation_id>/resend")
@require("org:admin")
def invitations_resend(invitation_id: int) -> Any:
    """Send a new link (valid 7 days); the previous link stops working."""
    invitation = get_scoped_or_404(Invitation, invitation_id)
    back = url_for("orgs.members_index")
    try:
        token = invitations.resend(invitation)
    except invitations.InvitationError as exc:
        return redirect_to(back, str(REASONS[exc.reason]), "error")
    return _send(
        invitation,
        token,
        "invitations.resent",
        invitation.email,
        _("New link created. Email is not set up: share the link."),
        _("Invitation sent again to %(email)s.", email=invitation.email),
    )


@bp.post("/invitations/<int:invitation_id>/revoke")
@require("org:admin")
def invitations_revoke(invitation_id: int) -> Any:
    """Withdraw an invitation; its link stops working."""
    invitation = get_scoped_or_404(Invitation, invitation_id)
    try:
        invitations.revoke(invitation)
    except invitations.InvitationError as exc:
        return redirect_to(url_for("orgs.members_index"), str(REASONS[exc.reason]), "error")
    audit.record(
        "invitations.revoked",
        org=g.org,
        actor=current_user,
        target=invitation,
        summary=invitation.email,
    )
    db.session.commit()
    return redirect_to(url_for("orgs.members_index"), _("The invitation is withdrawn."))


@home_bp.route("/invitations/accept", methods=["GET", "POST"])
def invitation_accept() -> Any:
    """Join an organization from an invitation: signed in, by signing in, or with a new account.

    The token travels in the query string, which the access log leaves out.
    """
    token = request.args.get("t", "")[:2000]
    try:
        invitation = invitations.from_link(token)
    except invitations.InvitationError as exc:
        return render("orgs/invitation.html", status=410, problem=REASONS[exc.reason])
    org = db.session.get(Organization, invitation.org_id)
    if org is None:
        abort(404)
    has_account = auth.find_user(invitation.email) is not None
    errors = FormErrors()
    values: dict[str, Any] = {}
    if request.method == "POST":
        if current_user.is_authenticated:
            user = current_user
        elif has_account:
            abort(400)
        else:
            values = form_data(request.form, ("name", "password", "confirm"))
            data, errors = parse(
                auth_schemas.NewAccountIn, values, context={"email": invitation.email}
            )
            if data is None:
                values.pop("password", None)
                values.pop("confirm", None)
                return render(
                    "orgs/invitation.html",
                    status=422,
                    invitation=invitation,
                    org=None,
                    org_name=org.name,
                    has_account=False,
                    errors=errors,
                    values=values,
                    role_labels=ROLE_LABELS,
                    token=token,
                )
            user = auth.create_user(invitation.email, data.name, data.password)
        try:
            joined = invitations.accept(invitation, user)
        except invitations.InvitationError as exc:
            return render("orgs/invitation.html", status=409, problem=REASONS[exc.reason])
        audit.record(
            "invitations.accepted", org=org, actor=user, target=invitation, summary=invitation.email
        )
        db.session.commit()
        if not current_user.is_authenticated:
            session.clear()
            login_user(user)
        message = (
            _("Welcome to %(org)s.", org=org.name)
            if joined
            else _("You are a member of %(org)s already.", org=org.name)
        )
        return redirect_to(url_for("orgs.dashboard", org_slug=org.slug), message)
    return render(
        "orgs/invitation.html",
        invitation=invitation,
        org=None,
        org_name=org.name,
        has_account=has_account,
        errors=errors,
        values=values,
        role_labels=ROLE_LABELS,
        token=token,
    )

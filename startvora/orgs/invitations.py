"""Invitations: a signed link, valid 7 days, that lets someone join with a role."""

from __future__ import annotations

import datetime as dt
import secrets

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from startvora.auth.models import User
from startvora.core import events
from startvora.core.db import utcnow
from startvora.core.tenancy import system_context
from startvora.core.text import sha256_hex
from startvora.extensions import db
from startvora.orgs import services
from startvora.orgs.models import Invitation, Membership, Organization

VALID_FOR = dt.timedelta(days=7)


class InvitationError(ValueError):
    """The invitation cannot be sent or used; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="startvora.invitation")


def _new_link_token(invitation: Invitation) -> str:
    # A fresh nonce each time: sending again makes the earlier link stop working.
    nonce = secrets.token_urlsafe(24)
    invitation.token_hash = sha256_hex(nonce)
    invitation.expires_at = utcnow() + VALID_FOR
    db.session.flush()
    return _serializer().dumps({"i": invitation.id, "n": nonce})


def is_member(org: Organization, email: str) -> bool:
    return (
        db.session.execute(
            db.select(Membership.id)
            .join(User, Membership.user_id == User.id)
            .where(Membership.org_id == org.id, User.email == email.lower())
        ).first()
        is not None
    )


def pending_for(email: str) -> Invitation | None:
    return (
        db.session.execute(
            db.select(Invitation)
            .where(
                Invitation.email == email.lower(),
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > utcnow(),
            )
            .order_by(Invitation.id.desc())
        )
        .scalars()
        .first()
    )


def invite(org: Organization, actor: Membership, email: str, role: str) -> tuple[Invitation, str]:
    """Invite someone by email with a role; the link token is returned to be sent."""
    if role == "owner" and actor.role != "owner":
        raise services.OwnerOnlyError()
    if is_member(org, email):
        raise InvitationError("already a member")
    if pending_for(email) is not None:
        raise InvitationError("already invited")
    invitation = Invitation(
        org_id=org.id,
        email=email.lower(),
        role=role,
        invited_by_id=actor.user_id,
        token_hash=secrets.token_hex(32),  # replaced by the link's own nonce just below
        expires_at=utcnow() + VALID_FOR,
    )
    db.session.add(invitation)
    db.session.flush()
    events.emit("member.invited", org_id=org.id, invitation_id=invitation.id, role=role)
    return invitation, _new_link_token(invitation)


def resend(invitation: Invitation) -> str:
    """A new link for an open invitation (also after it expired); the old link dies."""
    if invitation.accepted_at or invitation.revoked_at:
        raise InvitationError("closed")
    other = pending_for(invitation.email)
    if other is not None and other.id != invitation.id:
        raise InvitationError("already invited")
    invitation.sent_count += 1
    return _new_link_token(invitation)


def revoke(invitation: Invitation) -> None:
    if invitation.accepted_at is not None:
        raise InvitationError("closed")
    invitation.revoked_at = invitation.revoked_at or utcnow()


def from_link(token: str) -> Invitation:
    """The open invitation a link stands for; InvitationError("invalid"/"expired"/...)."""
    try:
        data = _serializer().loads(token, max_age=int(VALID_FOR.total_seconds()))
    except SignatureExpired:
        raise InvitationError("expired") from None
    except (BadSignature, ValueError, TypeError):
        raise InvitationError("invalid") from None
    if not isinstance(data, dict) or not isinstance(data.get("i"), int):
        raise InvitationError("invalid")
    with system_context("an invitation link names its own organization"):
        invitation = db.session.get(Invitation, data["i"])
    if invitation is None or not secrets.compare_digest(
        invitation.token_hash, sha256_hex(str(data.get("n", "")))
    ):
        raise InvitationError("invalid")
    if invitation.revoked_at:
        raise InvitationError("revoked")
    if invitation.accepted_at:
        raise InvitationError("used")
    if invitation.expires_at <= utcnow():
        raise InvitationError("expired")
    return invitation


def accept(invitation: Invitation, user: User) -> Membership | None:
    """Join the organization; None when the person was a member already."""
    if user.email.lower() != invitation.email:
        raise InvitationError("other person")
    invitation.accepted_at = utcnow()
    org = db.session.get(Organization, invitation.org_id)
    assert org is not None
    if is_member(org, user.email):
        return None
    membership = services.add_member(org, user, invitation.role)
    events.emit("member.joined", org_id=org.id, membership_id=membership.id, user_id=user.id)
    return membership

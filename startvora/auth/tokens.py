"""Personal access tokens for the API: shown once, stored hashed, bound to one organization."""

from __future__ import annotations

import secrets

from startvora.auth.models import ApiToken, User
from startvora.core.db import utcnow
from startvora.core.tenancy import system_context
from startvora.core.text import sha256_hex
from startvora.extensions import db

PREFIX = "svt_"


def create_token(user: User, org_id: int, name: str) -> tuple[ApiToken, str]:
    """A new token for a person in one organization; the plain token is returned only here."""
    plain = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        org_id=org_id, user_id=user.id, name=name, prefix=plain[:12], token_hash=sha256_hex(plain)
    )
    db.session.add(token)
    db.session.flush()
    return token, plain


def find_active(plain: str) -> ApiToken | None:
    """The live token a request presents, before any organization is known."""
    if not plain.startswith(PREFIX) or len(plain) > 200:
        return None
    with system_context("an API token names its own organization"):
        token = db.session.execute(
            db.select(ApiToken).where(ApiToken.token_hash == sha256_hex(plain))
        ).scalar_one_or_none()
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    return token


def tokens_of(user: User) -> list[ApiToken]:
    """A person's own tokens in every organization, newest first."""
    with system_context("a person's own tokens across organizations"):
        return list(
            db.session.execute(
                db.select(ApiToken)
                .where(ApiToken.user_id == user.id)
                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
            ).scalars()
        )


def revoke(token: ApiToken) -> None:
    token.revoked_at = token.revoked_at or utcnow()

"""Rules for accounts: creating people, signing in, passwords and their reset."""

from __future__ import annotations

import hashlib
import secrets
from functools import cache
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from startvora.auth.models import User
from startvora.core.db import utcnow
from startvora.extensions import db


@cache
def _dummy_hash() -> str:
    return generate_password_hash("not a real password", method="scrypt")


class SetupDoneError(Exception):
    """Someone completed the first-run setup already."""


def set_up_first_run(
    org_name: str, name: str, email: str, password: str, locale: str, timezone: str, currency: str
) -> tuple[User, Any]:
    """Create the first organization and its owner, unless an account exists by now."""
    from startvora.orgs import services as orgs

    if any_user_exists():
        raise SetupDoneError()
    try:
        user = create_user(email, name, password)
    except (ValueError, IntegrityError):
        raise SetupDoneError() from None
    # Counted after our insert holds the write lock: of two setups racing, only one stays.
    if db.session.execute(db.select(func.count(User.id))).scalar_one() > 1:
        raise SetupDoneError()
    org = orgs.create_organization(
        org_name, owner=user, locale=locale, timezone=timezone, currency=currency
    )
    return user, org


def any_user_exists() -> bool:
    """Whether at least one account exists (first-run setup is over)."""
    return db.session.execute(db.select(User.id).limit(1)).first() is not None


def create_user(email: str, name: str, password: str, locale: str | None = None) -> User:
    """Add a person; the email must be unused (the caller validated its form)."""
    if find_user(email) is not None:
        raise ValueError("email already registered")
    user = User(email=email.lower(), name=name, locale=locale)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def contact_of(user_id: int) -> tuple[str, str, str]:
    """(email, name, locale) of an active person, for notifications; empty when gone."""
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        return "", "", ""
    return user.email, user.name, user.locale or ""


def find_user(email: str) -> User | None:
    return db.session.execute(
        db.select(User).where(func.lower(User.email) == email.lower())
    ).scalar_one_or_none()


PASSWORD_MIN = 10
RESET_MAX_AGE_S = 3600


@cache
def _common_passwords() -> frozenset[str]:
    path = Path(__file__).with_name("common_passwords.txt")
    lines = path.read_text().splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def password_problem(password: str, email: str = "") -> str | None:
    """Why a new password is refused, in words for the person choosing it; None if it is fine."""
    if len(password) < PASSWORD_MIN:
        return _("Use at least %(n)d characters.", n=PASSWORD_MIN)
    lowered = password.lower()
    local = email.split("@")[0].lower()
    if lowered in _common_passwords() or len(set(lowered)) < 4:
        return _("This password is too common. Choose one that is harder to guess.")
    if local and len(local) >= 4 and local in lowered:
        return _("Do not use your email address in your password.")
    return None


def change_password(user: User, new_password: str) -> None:
    """Set a new password and end every other session of this person."""
    user.set_password(new_password)
    user.password_changed_at = utcnow()
    rotate_sessions(user)


def rotate_sessions(user: User) -> None:
    """Sign this person out everywhere: cookies carry the old token and stop working."""
    user.session_token = secrets.token_hex(16)


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="startvora.password-reset")


def _reset_fingerprint(user: User) -> str:
    # Changes when the password does: a used link, or one made before a change, is dead.
    return hashlib.sha256(f"{user.password_hash}:{user.session_token}".encode()).hexdigest()[:20]


def make_reset_token(user: User) -> str:
    """A signed, single-use link token that expires after one hour."""
    return _reset_serializer().dumps({"u": user.id, "f": _reset_fingerprint(user)})


class ResetTokenError(ValueError):
    """The link is malformed, expired or already used."""

    def __init__(self, expired: bool = False) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def user_for_reset_token(token: str) -> User:
    """The person a reset link is for; ResetTokenError when it cannot be used."""
    try:
        data = _reset_serializer().loads(token, max_age=RESET_MAX_AGE_S)
    except SignatureExpired:
        raise ResetTokenError(expired=True) from None
    except (BadSignature, ValueError, TypeError):
        raise ResetTokenError() from None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        raise ResetTokenError()
    user = db.session.get(User, data["u"])
    if user is None or not user.active:
        raise ResetTokenError()
    if not secrets.compare_digest(str(data.get("f", "")), _reset_fingerprint(user)):
        raise ResetTokenError()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active person with this email and password, or None; never says which part failed."""
    user = find_user(email)
    if user is None:
        # Spend the same time as a wrong password, so timing does not reveal unknown emails.
        check_password_hash(_dummy_hash(), password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    user.last_login_at = utcnow()
    return user

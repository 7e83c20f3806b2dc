"""Rules for accounts: creating people, checking a sign-in."""

from __future__ import annotations

from functools import cache
from typing import Any

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


def find_user(email: str) -> User | None:
    return db.session.execute(
        db.select(User).where(func.lower(User.email) == email.lower())
    ).scalar_one_or_none()


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

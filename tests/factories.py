"""Plain factory functions: they add and flush, the test decides when to commit."""

from __future__ import annotations

import itertools
from functools import cache
from typing import Any

from werkzeug.security import generate_password_hash

from startvora.auth.models import User
from startvora.extensions import db
from startvora.orgs.models import Membership, Organization

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


@cache
def _hash(password: str) -> str:
    # Hashing is slow on purpose; tests reuse one hash per password.
    return generate_password_hash(password, method="scrypt")


def make_user(**overrides: Any) -> User:
    n = next(_seq)
    password = overrides.pop("password", PASSWORD)
    values = {"email": f"person{n}@example.com", "name": f"Person {n}", **overrides}
    user = User(password_hash=_hash(password), **values)
    db.session.add(user)
    db.session.flush()
    return user


def make_org(**overrides: Any) -> Organization:
    n = next(_seq)
    values = {"name": f"Org {n}", "slug": f"org-{n}", "locale": "en", "timezone": "UTC"}
    values.update(overrides)
    org = Organization(currency=values.pop("currency", "USD"), **values)
    db.session.add(org)
    db.session.flush()
    return org


def make_member(org: Organization, role: str = "member", **user_fields: Any) -> User:
    user = make_user(**user_fields)
    db.session.add(Membership(org_id=org.id, user_id=user.id, role=role))
    db.session.flush()
    return user

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


def make_file(org: Organization, **overrides: Any) -> Any:
    """A stored file of the organization (bytes in the storage, row flushed)."""
    from startvora.core import files
    from startvora.core.tenancy import org_context

    values: dict[str, Any] = {
        "filename": "notes.txt",
        "data": b"Hello, world\n",
        "content_type": "text/plain",
    }
    values.update(overrides)
    with org_context(org.id):
        return files.store_bytes(org.id, **values)


def make_notification(org: Organization, user: User, **overrides: Any) -> Any:
    from startvora.core import notify

    values = {"org_id": org.id, "user_id": user.id, "event": "test.event", "title": "Hello"}
    values.update(overrides)
    item = notify.Notification(**values)
    db.session.add(item)
    db.session.flush()
    return item


def make_channel(org: Organization, **overrides: Any) -> Any:
    from startvora.core import notify

    values = {
        "org_id": org.id,
        "name": "Team chat",
        "url": "json://127.0.0.1:9/hook",
        "display_url": "json://127.0.0.1:9/hook",
        "service": "JSON",
        "events": [],
    }
    values.update(overrides)
    channel = notify.Channel(**values)
    db.session.add(channel)
    db.session.flush()
    return channel

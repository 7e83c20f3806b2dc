"""Roles per membership and the permissions they grant: the one table of who may do what."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, g
from flask_babel import lazy_gettext as _l

F = TypeVar("F", bound=Callable[..., Any])

ROLES = ("owner", "admin", "manager", "member", "accountant", "viewer")

ROLE_LABELS = {
    "owner": _l("Owner"),
    "admin": _l("Administrator"),
    "manager": _l("Manager"),
    "member": _l("Member"),
    "accountant": _l("Accountant"),
    "viewer": _l("Viewer"),
}

DOMAINS = (
    "org",
    "crm",
    "finance",
    "inventory",
    "marketing",
    "projects",
    "documents",
    "analytics",
    "insights",
)
VERBS = ("view", "edit", "delete", "approve", "admin")  # approve: expenses, orders


def _grant(domains: tuple[str, ...], verbs: tuple[str, ...]) -> frozenset[str]:
    return frozenset(f"{d}:{v}" for d in domains for v in verbs)


_BUSINESS = tuple(d for d in DOMAINS if d != "org")

PERMISSIONS: dict[str, frozenset[str]] = {
    "owner": _grant(DOMAINS, VERBS),
    "admin": _grant(DOMAINS, VERBS),
    "manager": _grant(_BUSINESS, ("view", "edit", "delete", "approve")) | {"org:view"},
    "member": _grant(_BUSINESS, ("view", "edit")) | {"org:view"},
    "accountant": _grant(("finance",), ("view", "edit", "delete", "approve"))
    | _grant(("crm", "inventory", "analytics", "insights", "documents"), ("view",))
    | {"org:view"},
    "viewer": _grant(_BUSINESS, ("view",)) | {"org:view"},
}


def role_allows(role: str | None, permission: str) -> bool:
    """Whether a role grants a `domain:verb` permission."""
    if permission.split(":", 1)[0] not in DOMAINS:
        raise ValueError(f"unknown permission {permission!r}")
    return role is not None and permission in PERMISSIONS.get(role, frozenset())


def can(permission: str) -> bool:
    """Whether the signed-in member of the current organization holds a permission."""
    membership = g.get("membership")
    return role_allows(membership.role if membership else None, permission)


def require(permission: str) -> Callable[[F], F]:
    """View decorator: 403 unless the current membership holds the permission."""
    role_allows("owner", permission)  # fail at import time on a misspelt permission

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not can(permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator

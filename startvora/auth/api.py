"""API endpoints about the person holding the token."""

from __future__ import annotations

from typing import Any

from flask import g

from startvora.auth.schemas import MeOut
from startvora.core.api import endpoint


@endpoint(
    "/me",
    summary="The person the token belongs to",
    response=MeOut,
    permission="org:view",
    tag="People",
)
def me() -> Any:
    """The token's person and their role in the token's organization."""
    user = g.api_user
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "locale": user.locale,
        "has_2fa": user.has_2fa,
        "role": g.membership.role,
    }

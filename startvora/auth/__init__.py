"""Identity: people, signing in and out, the first-run setup."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask, flash, url_for
from flask_babel import gettext as _

from startvora.core.htmx import redirect_to


def register(app: Flask) -> None:
    from startvora.auth import (  # noqa: F401 (api declares endpoints)
        api,
        profile,
        services,
        tokens,
        views,
    )
    from startvora.auth.models import User
    from startvora.extensions import db, login_manager

    @login_manager.user_loader
    def _load_user(cookie_id: str) -> User | None:
        # "<id>:<session token>": a new token (sign out everywhere, new password) ends old sessions.
        user_id, _, token = cookie_id.partition(":")
        if not user_id.isdigit() or not token:
            return None
        user = db.session.get(User, int(user_id))
        if user is None or not secrets.compare_digest(user.session_token, token):
            return None
        return user

    login_manager.login_view = "auth.sign_in"
    app.register_blueprint(views.bp)
    app.extensions["startvora.find_token"] = tokens.find_active
    app.extensions["startvora.user_contact"] = services.contact_of
    app.extensions.setdefault("startvora.org_guards", []).append(_require_two_factor)
    app.register_blueprint(profile.bp)
    views.init_first_run_gate(app)


def _require_two_factor(org: Any, user: Any) -> Any:
    """An organization that requires 2FA sends members without it to set it up first."""
    if org.require_2fa and not user.has_2fa:
        flash(
            _("%(org)s requires two-factor sign-in. Turn it on to continue.", org=org.name),
            "warning",
        )
        return redirect_to(url_for("profile.two_factor"))
    return None

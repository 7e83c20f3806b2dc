"""Identity: people, signing in and out, the first-run setup."""

from __future__ import annotations

import secrets

from flask import Flask


def register(app: Flask) -> None:
    from startvora.auth import api, profile, views  # noqa: F401 (api declares endpoints)
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
    app.register_blueprint(profile.bp)
    views.init_first_run_gate(app)

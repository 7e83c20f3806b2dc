"""Identity: people, signing in and out, the first-run setup."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from startvora.auth import views
    from startvora.auth.models import User
    from startvora.extensions import db, login_manager

    @login_manager.user_loader
    def _load_user(user_id: str) -> User | None:
        if not user_id.isdigit():
            return None
        return db.session.get(User, int(user_id))

    login_manager.login_view = "auth.sign_in"
    app.register_blueprint(views.bp)
    views.init_first_run_gate(app)

"""People who sign in."""

from __future__ import annotations

import datetime as dt
import secrets

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from startvora.core.db import TimestampMixin, UTCDateTime, utcnow
from startvora.core.tenancy import TenantMixin
from startvora.extensions import db


def initials_of(name: str, email: str) -> str:
    """Up to two letters for an avatar: of the first two words of the name, else of the email."""
    parts = name.split()
    return "".join(p[0] for p in parts[:2]).upper() or email[:1].upper()


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "auth_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(String(20))
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Part of the sign-in cookie: a new value signs this person out everywhere.
    session_token: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_hex(16))
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The last accepted TOTP time step: a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column()

    memberships = relationship(
        "Membership", back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def has_2fa(self) -> bool:
        return self.totp_enabled_at is not None

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def initials(self) -> str:
        return initials_of(self.name, self.email)


class RecoveryCode(db.Model):
    """A single-use 2FA recovery code, stored hashed."""

    __tablename__ = "auth_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("auth_users.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ApiToken(TenantMixin, db.Model):
    """A personal access token: one person, one organization, that person's role."""

    __tablename__ = "auth_api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("auth_users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user = relationship("User", lazy="joined")

"""Organizations (the tenants) and who belongs to them with which role."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from startvora.core.db import TimestampMixin, UTCDateTime, utcnow
from startvora.core.permissions import ROLES
from startvora.core.tenancy import TenantMixin
from startvora.extensions import db


class Organization(TimestampMixin, db.Model):
    __tablename__ = "orgs_organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    locale: Mapped[str] = mapped_column(String(20), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    legal_name: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    tax_id: Mapped[str] = mapped_column(String(60), default="")
    logo_key: Mapped[str | None] = mapped_column(String(200))
    fiscal_year_start: Mapped[int] = mapped_column(default=1)  # month, 1-12
    date_format: Mapped[str] = mapped_column(String(10), default="medium")
    number_locale: Mapped[str | None] = mapped_column(String(20))
    require_2fa: Mapped[bool] = mapped_column(default=False)

    memberships = relationship("Membership", back_populates="org", cascade="all, delete-orphan")


class Membership(TimestampMixin, db.Model):
    __tablename__ = "orgs_memberships"
    __table_args__ = (
        UniqueConstraint("org_id", "user_id"),
        CheckConstraint(f"role IN ({', '.join(repr(r) for r in ROLES)})", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs_organizations.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("auth_users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(20))

    org = relationship("Organization", back_populates="memberships", lazy="joined")
    user = relationship("User", back_populates="memberships", lazy="joined")


class Invitation(TenantMixin, TimestampMixin, db.Model):
    """An emailed, signed invitation to join with a role; valid 7 days."""

    __tablename__ = "orgs_invitations"
    __table_args__ = (
        CheckConstraint(f"role IN ({', '.join(repr(r) for r in ROLES)})", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("auth_users.id", ondelete="SET NULL")
    )
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_count: Mapped[int] = mapped_column(default=1)

    invited_by = relationship("User", lazy="joined")

    @property
    def status(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        return "expired" if self.expires_at <= utcnow() else "pending"

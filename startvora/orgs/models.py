"""Organizations (the tenants) and who belongs to them with which role."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from startvora.core.db import TimestampMixin
from startvora.core.permissions import ROLES
from startvora.extensions import db


class Organization(TimestampMixin, db.Model):
    __tablename__ = "orgs_organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    locale: Mapped[str] = mapped_column(String(20), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    currency: Mapped[str] = mapped_column(String(3), default="USD")

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

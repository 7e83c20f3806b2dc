"""CRM records: companies, contacts, leads, pipelines with stages, deals, activities."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from startvora.core.db import TimestampMixin, UTCDateTime
from startvora.core.tenancy import TenantMixin
from startvora.core.trash import SoftDeleteMixin
from startvora.extensions import db

STAGE_KINDS = ("open", "won", "lost")
LEAD_STATUSES = ("new", "qualified", "disqualified", "converted")
ACTIVITY_KINDS = ("call", "meeting", "email", "note", "todo")


class _Party(TenantMixin, SoftDeleteMixin, TimestampMixin):
    """What contacts and companies share: reach, address, tags, owner, source, notes, custom."""

    email: Mapped[str] = mapped_column(String(320), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    website: Mapped[str] = mapped_column(String(300), default="")
    street: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    country: Mapped[str] = mapped_column(String(2), default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(60), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    custom: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Lower-cased, accent-folded name for search and sort, kept by the services.
    search_name: Mapped[str] = mapped_column(String(300), default="")
    email_key: Mapped[str] = mapped_column(String(320), default="")  # lower-cased, for duplicates


class Company(_Party, db.Model):
    __tablename__ = "crm_companies"
    __table_args__ = (
        Index("ix_crm_companies_list", "org_id", "deleted_at", "search_name", "id"),
        Index("ix_crm_companies_email", "org_id", "email_key", "deleted_at"),
        # Covers what a search checks and sorts on for each id the search index gives.
        Index("ix_crm_companies_search", "id", "org_id", "deleted_at", "search_name"),
        Index("ix_crm_companies_recent", "org_id", "deleted_at", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    industry: Mapped[str] = mapped_column(String(80), default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("auth_users.id", ondelete="SET NULL"))
    owner = relationship("User", lazy="joined")

    @property
    def display_name(self) -> str:
        return self.name


def person_name(first_name: str | None, last_name: str | None, email: str | None) -> str:
    """How a contact is named: first and last name, else the email."""
    return " ".join(p for p in (first_name, last_name) if p) or email or ""


class Contact(_Party, db.Model):
    __tablename__ = "crm_contacts"
    __table_args__ = (
        Index("ix_crm_contacts_list", "org_id", "deleted_at", "search_name", "id"),
        Index("ix_crm_contacts_email", "org_id", "email_key", "deleted_at"),
        # Covers what a search checks and sorts on for each id the search index gives.
        Index("ix_crm_contacts_search", "id", "org_id", "deleted_at", "search_name"),
        Index("ix_crm_contacts_company", "company_id"),
        Index("ix_crm_contacts_owner", "org_id", "owner_id"),
        Index("ix_crm_contacts_recent", "org_id", "deleted_at", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    job_title: Mapped[str] = mapped_column(String(120), default="")
    mobile: Mapped[str] = mapped_column(String(40), default="")
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_companies.id", ondelete="SET NULL")
    )
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("auth_users.id", ondelete="SET NULL"))
    company = relationship(Company, lazy="joined")
    owner = relationship("User", lazy="joined")

    @property
    def display_name(self) -> str:
        return person_name(self.first_name, self.last_name, self.email)


class Lead(TenantMixin, SoftDeleteMixin, TimestampMixin, db.Model):
    """Someone who might buy: captured by a form, an import or the API; qualified, converted."""

    __tablename__ = "crm_leads"
    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in LEAD_STATUSES)})", name="status"),
        Index("ix_crm_leads_list", "org_id", "deleted_at", "status", "id"),
        Index("ix_crm_leads_recent", "org_id", "deleted_at", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    company_name: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(60), default="")
    status: Mapped[str] = mapped_column(String(14), default="new")
    disqualify_reason: Mapped[str] = mapped_column(String(300), default="")
    value_minor: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(3), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    custom: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    search_name: Mapped[str] = mapped_column(String(300), default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("auth_users.id", ondelete="SET NULL"))
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_contacts.id", ondelete="SET NULL")
    )
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_companies.id", ondelete="SET NULL")
    )
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("crm_deals.id", ondelete="SET NULL"))
    converted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    owner = relationship("User", lazy="joined")

    @property
    def display_name(self) -> str:
        person = " ".join(p for p in (self.first_name, self.last_name) if p)
        return self.title or person or self.company_name or self.email


class Pipeline(TenantMixin, TimestampMixin, db.Model):
    __tablename__ = "crm_pipelines"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(default=0)
    stages: Mapped[list[Stage]] = relationship(
        back_populates="pipeline", order_by="Stage.position", cascade="all, delete-orphan"
    )


class Stage(TenantMixin, db.Model):
    __tablename__ = "crm_stages"
    __table_args__ = (
        CheckConstraint(f"kind IN ({', '.join(repr(k) for k in STAGE_KINDS)})", name="kind"),
        CheckConstraint("probability BETWEEN 0 AND 100", name="probability"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(
        ForeignKey("crm_pipelines.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(default=0)
    probability: Mapped[int] = mapped_column(default=10)
    kind: Mapped[str] = mapped_column(String(6), default="open")
    pipeline: Mapped[Pipeline] = relationship(back_populates="stages")


class Deal(TenantMixin, SoftDeleteMixin, TimestampMixin, db.Model):
    __tablename__ = "crm_deals"
    __table_args__ = (
        Index("ix_crm_deals_board", "org_id", "pipeline_id", "deleted_at", "stage_id", "rank"),
        # Covers the board's per-stage counts and sums without reading the rows.
        Index(
            "ix_crm_deals_totals",
            "org_id",
            "pipeline_id",
            "deleted_at",
            "stage_id",
            "currency",
            "value_minor",
        ),
        Index("ix_crm_deals_contact", "contact_id"),
        Index("ix_crm_deals_company", "company_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("crm_pipelines.id", ondelete="RESTRICT"))
    stage_id: Mapped[int] = mapped_column(ForeignKey("crm_stages.id", ondelete="RESTRICT"))
    value_minor: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(3))
    expected_close: Mapped[dt.date | None] = mapped_column(Date)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("auth_users.id", ondelete="SET NULL"))
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_contacts.id", ondelete="SET NULL")
    )
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_companies.id", ondelete="SET NULL")
    )
    rank: Mapped[int] = mapped_column(default=0)  # order within its stage on the board
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    lost_reason: Mapped[str] = mapped_column(String(300), default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    custom: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    search_name: Mapped[str] = mapped_column(String(300), default="")
    stage = relationship(Stage, lazy="joined")
    owner = relationship("User", lazy="joined")
    contact = relationship(Contact, lazy="joined")
    company = relationship(Company, lazy="joined")

    @property
    def display_name(self) -> str:
        return self.title


class Activity(TenantMixin, SoftDeleteMixin, TimestampMixin, db.Model):
    """A call, meeting, logged email, note or to-do, on a contact, company, deal or lead."""

    __tablename__ = "crm_activities"
    __table_args__ = (
        CheckConstraint(f"kind IN ({', '.join(repr(k) for k in ACTIVITY_KINDS)})", name="kind"),
        Index("ix_crm_activities_contact", "contact_id", "happened_at"),
        Index("ix_crm_activities_company", "company_id", "happened_at"),
        Index("ix_crm_activities_deal", "deal_id", "happened_at"),
        Index("ix_crm_activities_agenda", "org_id", "owner_id", "done_at", "due_at"),
        Index("ix_crm_activities_remind", "remind_at", "reminded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    happened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # when it took place / due
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    remind_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("auth_users.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("auth_users.id", ondelete="SET NULL")
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_contacts.id", ondelete="CASCADE")
    )
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_companies.id", ondelete="CASCADE")
    )
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("crm_deals.id", ondelete="CASCADE"))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("crm_leads.id", ondelete="CASCADE"))
    owner = relationship("User", lazy="joined", foreign_keys=[owner_id])
    contact = relationship(Contact, lazy="joined")
    company = relationship(Company, lazy="joined")
    deal = relationship(Deal, lazy="joined")

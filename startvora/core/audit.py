"""The audit log: who did what, when, from where. Append-only; never holds secrets."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import has_request_context, request
from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from startvora.core.db import UTCDateTime, utcnow
from startvora.extensions import db

# Keys whose values never reach the log, whatever a caller passes.
SECRET_KEYS = {"password", "token", "code", "secret", "totp", "recovery", "csrf_token"}


class AuditEvent(db.Model):
    """One recorded action. org_id is empty for events about a person, such as sign-ins."""

    __tablename__ = "core_audit_events"
    __table_args__ = (
        Index("ix_core_audit_events_org_time", "org_id", "created_at"),
        # A record's history (its timeline) reads the events about it.
        Index("ix_core_audit_events_target", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int | None] = mapped_column(
        ForeignKey("orgs_organizations.id", ondelete="CASCADE")
    )
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("auth_users.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(60), index=True)
    target_type: Mapped[str] = mapped_column(String(40), default="")
    target_id: Mapped[int | None] = mapped_column()
    summary: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor = relationship("User", lazy="joined")


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    return {
        k: ("[hidden]" if any(s in k.lower() for s in SECRET_KEYS) else v) for k, v in data.items()
    }


def record(
    action: str,
    *,
    org: Any = None,
    actor: Any = None,
    target: Any = None,
    summary: str = "",
    **data: Any,
) -> AuditEvent:
    """Append an event (flushed with the caller's transaction). Secrets in data are hidden."""
    event = AuditEvent(
        org_id=getattr(org, "id", org),
        actor_id=getattr(actor, "id", actor),
        action=action,
        target_type=type(target).__name__ if target is not None else "",
        target_id=getattr(target, "id", None),
        summary=summary[:500],
        data=_clean(data),
    )
    if has_request_context():
        event.ip = (request.remote_addr or "")[:64]
        event.user_agent = (request.user_agent.string or "")[:300]
    db.session.add(event)
    return event

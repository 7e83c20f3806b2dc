"""Activities (calls, meetings, logged emails, notes, to-dos), reminders, and record timelines."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from flask_babel import lazy_gettext as _l

from startvora.core import audit, events
from startvora.core.audit import AuditEvent
from startvora.core.db import utcnow
from startvora.core.tasks import periodic
from startvora.core.tenancy import org_context, system_context
from startvora.crm.models import Activity, Company, Contact, Deal, Lead
from startvora.extensions import db

KIND_LABELS = {
    "call": _l("Call"),
    "meeting": _l("Meeting"),
    "email": _l("Email"),
    "note": _l("Note"),
    "todo": _l("To-do"),
}
KIND_ICONS = {
    "call": "phone",
    "meeting": "calendar",
    "email": "mail",
    "note": "file",
    "todo": "check",
}
TARGETS = {"contact": Contact, "company": Company, "deal": Deal, "lead": Lead}


@dataclasses.dataclass(frozen=True)
class TimelineItem:
    when: dt.datetime
    activity: Activity | None = None
    change: AuditEvent | None = None
    entry: Entry | None = None


@dataclasses.dataclass(frozen=True)
class Entry:
    """A line another module adds to a record's timeline (an invoice issued, a payment)."""

    icon: str
    title: str
    path: str = ""
    detail: str = ""


# Other modules add their own lines to the timelines of contacts, companies and deals:
# a source takes (target kind, target id, limit) and gives TimelineItems with an `entry`.
TIMELINE_SOURCES: list[Callable[[str, int, int], list[TimelineItem]]] = []


def add_timeline_source(source: Callable[[str, int, int], list[TimelineItem]]) -> None:
    if source not in TIMELINE_SOURCES:
        TIMELINE_SOURCES.append(source)


def log_activity(
    org_id: int,
    actor_id: int | None,
    target_kind: str,
    target: Any,
    kind: str,
    subject: str,
    body: str = "",
    due_at: dt.datetime | None = None,
    remind_at: dt.datetime | None = None,
    owner_id: int | None = None,
) -> Activity:
    """Record an activity on a contact, company, deal or lead (a to-do may have a reminder)."""
    activity = Activity(
        org_id=org_id,
        kind=kind,
        subject=subject,
        body=body,
        happened_at=due_at or utcnow(),
        due_at=due_at if kind in ("todo", "meeting", "call") else None,
        remind_at=remind_at,
        owner_id=owner_id or actor_id,
        created_by_id=actor_id,
        done_at=None if kind == "todo" or (due_at and due_at > utcnow()) else utcnow(),
    )
    setattr(activity, f"{target_kind}_id", target.id)
    # A contact's activity also shows on their company's timeline.
    if target_kind == "contact" and target.company_id:
        activity.company_id = target.company_id
    if target_kind == "deal":
        activity.contact_id, activity.company_id = target.contact_id, target.company_id
    db.session.add(activity)
    db.session.flush()
    events.emit("crm.activity_logged", org_id=org_id, id=activity.id)
    return activity


def complete(activity: Activity, done: bool = True) -> None:
    activity.done_at = utcnow() if done else None
    db.session.flush()


def timeline_for(target_kind: str, target_id: int, limit: int = 60) -> list[TimelineItem]:
    """Activities and recorded changes of one record, newest first."""
    column = getattr(Activity, f"{target_kind}_id")
    activities = db.session.execute(
        db.select(Activity)
        .where(column == target_id)
        .order_by(Activity.happened_at.desc(), Activity.id.desc())
        .limit(limit)
    ).scalars()
    changes = db.session.execute(
        db.select(AuditEvent)
        .where(
            AuditEvent.target_type == TARGETS[target_kind].__name__,
            AuditEvent.target_id == target_id,
        )
        .order_by(AuditEvent.created_at.desc())
        .limit(limit)
    ).scalars()
    items = [TimelineItem(a.happened_at, activity=a) for a in activities]
    items += [TimelineItem(c.created_at, change=c) for c in changes]
    for source in TIMELINE_SOURCES:
        items += source(target_kind, target_id, limit)
    items.sort(key=lambda item: item.when, reverse=True)
    return items[:limit]


def agenda(org_id: int, user_id: int, now: dt.datetime, tz: dt.tzinfo) -> dict[str, list[Activity]]:
    """A person's open to-dos, calls and meetings: overdue, today, upcoming (next 30 days)."""
    local_now = now.astimezone(tz)
    start_of_day = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    end_of_day = (start_of_day + dt.timedelta(days=1)).astimezone(dt.UTC)
    start_of_day = start_of_day.astimezone(dt.UTC)
    rows = list(
        db.session.execute(
            db.select(Activity)
            .where(
                Activity.org_id == org_id,
                Activity.owner_id == user_id,
                Activity.done_at.is_(None),
                Activity.due_at.is_not(None),
                Activity.due_at < now + dt.timedelta(days=30),
            )
            .order_by(Activity.due_at)
            .limit(300)
        ).scalars()
    )
    return {
        "overdue": [a for a in rows if a.due_at < start_of_day],
        "today": [a for a in rows if start_of_day <= a.due_at < end_of_day],
        "upcoming": [a for a in rows if a.due_at >= end_of_day],
    }


def record_change_label(event: AuditEvent) -> str:
    return event.summary


@periodic(label="Send activity reminders", minute="*")
def send_reminders() -> None:
    """Notify owners of to-dos whose reminder time has come (each reminder once)."""
    now = utcnow()
    with system_context("find reminders that are due in every organization"):
        due = db.session.execute(
            db.select(Activity.id, Activity.org_id)
            .where(
                Activity.remind_at.is_not(None),
                Activity.remind_at <= now,
                Activity.reminded_at.is_(None),
                Activity.done_at.is_(None),
                Activity.deleted_at.is_(None),
            )
            .limit(500)
        ).all()
    for activity_id, org_id in due:
        with org_context(org_id):
            activity = db.session.get(Activity, activity_id)
            if activity is None or activity.reminded_at is not None:
                continue
            activity.reminded_at = now  # marked in the same commit as the event: once only
            events.emit("crm.activity_due", org_id=org_id, id=activity.id)
            audit.record(
                "crm.activity_reminded", org=org_id, target=activity, summary=activity.subject
            )
            db.session.commit()

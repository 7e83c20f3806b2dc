"""Logging activities on records, completing to-dos, and a person's agenda."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Annotated, Any, Literal

from flask import g, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, StringConstraints, field_validator

from startvora.core.db import utcnow
from startvora.core.forms import FormErrors, parse
from startvora.core.htmx import redirect_to, render
from startvora.core.permissions import require
from startvora.core.tenancy import get_scoped_or_404
from startvora.crm import activities
from startvora.crm.blueprints import bp
from startvora.crm.models import Activity
from startvora.extensions import db

TARGET_ENDPOINTS = {
    "contact": ("crm.contacts_show", "contact_id"),
    "company": ("crm.companies_show", "company_id"),
    "deal": ("crm.deals_show", "deal_id"),
    "lead": ("crm.leads_show", "lead_id"),
}


class ActivityIn(BaseModel):
    kind: Literal["call", "meeting", "email", "note", "todo"]
    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    body: Annotated[str, StringConstraints(max_length=20000)] = ""
    due: str = ""
    remind: Literal["", "0", "15", "60", "1440"] = ""

    @field_validator("due")
    @classmethod
    def _due(cls, value: str) -> str:
        if value:
            try:
                dt.datetime.fromisoformat(value)
            except ValueError:
                raise ValueError(_("Enter a date and time.")) from None
        return value


def _local(value: str) -> dt.datetime:
    """A datetime-local input, read in the organization's time zone, as UTC."""
    naive = dt.datetime.fromisoformat(value).replace(tzinfo=None)
    return naive.replace(tzinfo=zoneinfo.ZoneInfo(g.org.timezone)).astimezone(dt.UTC)


def _back(target_kind: str, target_id: int) -> str:
    endpoint, key = TARGET_ENDPOINTS[target_kind]
    return url_for(endpoint, **{key: target_id})


@bp.post("/<any(contact, company, deal, lead):target_kind>/<int:target_id>/activities")
@require("crm:edit")
def activities_create(target_kind: str, target_id: int) -> Any:
    """Log a call, meeting, email or note, or plan a to-do with a reminder."""
    target = get_scoped_or_404(activities.TARGETS[target_kind], target_id)
    data, errors = parse(ActivityIn, request.form)
    if data is not None and data.remind and not data.due:
        errors = FormErrors({"due": _("A reminder needs a due time.")})
    if errors or data is None:
        return render(
            "crm/_timeline.html",
            block="activity_form",
            status=422,
            errors=errors,
            values=dict(request.form),
            timeline_kind=target_kind,
            timeline_id=target_id,
        )
    due = _local(data.due) if data.due else None
    remind = due - dt.timedelta(minutes=int(data.remind)) if due and data.remind else None
    activities.log_activity(
        g.org.id,
        current_user.id,
        target_kind,
        target,
        data.kind,
        data.subject,
        data.body,
        due_at=due,
        remind_at=remind,
    )
    db.session.commit()
    return redirect_to(_back(target_kind, target_id), _("Added to the timeline."))


@bp.post("/activities/<int:activity_id>/done")
@require("crm:edit")
def activities_done(activity_id: int) -> Any:
    """Tick a to-do off (or back on)."""
    activity = get_scoped_or_404(Activity, activity_id)
    activities.complete(activity, done=activity.done_at is None)
    db.session.commit()
    target = request.form.get("next", "")
    if target.startswith("/") and not target.startswith(("//", "/\\")):
        return redirect_to(target)
    return redirect_to(url_for("crm.agenda"))


@bp.get("/agenda")
@require("crm:view")
def agenda() -> Any:
    """My activities: overdue, today and upcoming."""
    groups = activities.agenda(
        g.org.id, current_user.id, utcnow(), zoneinfo.ZoneInfo(g.org.timezone)
    )
    return render("crm/agenda.html", groups=groups, labels=activities.KIND_LABELS)

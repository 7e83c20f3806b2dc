"""The Jobs page: this organization's background jobs, their errors, and a Retry button."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, g, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from huey import crontab

from startvora.core import audit
from startvora.core.htmx import redirect_to, render
from startvora.core.permissions import require
from startvora.core.tasks import LABELS, SCHEDULES, tracker
from startvora.extensions import db
from startvora.orgs.blueprints import bp

ACTIVE = ("queued", "scheduled", "running", "retrying", "interrupted")


def label_of(name: str) -> str:
    label = LABELS.get(name)
    return _(str(label)) if label else name.rsplit(".", 1)[-1]


def describe_schedule(schedule: dict[str, str]) -> str:
    """Words for a cron-like schedule, for the few shapes Startvora uses; else the cron line."""
    minute, hour = schedule.get("minute", "*"), schedule.get("hour", "*")
    rest = [schedule.get(k, "*") for k in ("day", "month", "day_of_week")]
    if rest == ["*", "*", "*"]:
        if minute == "*" and hour == "*":
            return _("Every minute")
        if minute.startswith("*/") and hour == "*":
            return _("Every %(n)s minutes", n=minute[2:])
        if minute.isdigit() and hour == "*":
            return _("Every hour at minute %(m)s", m=minute)
        if minute.isdigit() and hour.isdigit():
            return _("Every day at %(time)s UTC", time=f"{int(hour):02d}:{int(minute):02d}")
    fields = [minute, hour, *rest]
    return _("Cron schedule %(line)s (UTC)", line=" ".join(fields))


def next_run(schedule: dict[str, str], now: dt.datetime) -> dt.datetime | None:
    """The next minute the schedule matches, within eight days."""
    matches = crontab(**schedule)
    moment = now.replace(second=0, microsecond=0, tzinfo=None) + dt.timedelta(minutes=1)
    for _step in range(8 * 24 * 60):
        if matches(moment):
            return moment.replace(tzinfo=dt.UTC)
        moment += dt.timedelta(minutes=1)
    return None


@bp.get("/settings/jobs")
@require("org:admin")
def settings_jobs() -> Any:
    """Queued, scheduled and failed jobs of this organization, and the periodic schedule."""
    now = dt.datetime.now(dt.UTC)
    last_runs = {job.name: job for job in tracker.periodic_runs()}
    periodic = [
        {
            "label": label_of(name),
            "schedule": describe_schedule(schedule),
            "next": next_run(schedule, now),
            "last": last_runs.get(name),
        }
        for name, schedule in sorted(SCHEDULES.items(), key=lambda item: label_of(item[0]))
    ]
    return render(
        "orgs/jobs.html",
        failed=tracker.for_org(g.org.id, ("failed",)),
        active=tracker.for_org(g.org.id, ACTIVE),
        done=tracker.for_org(g.org.id, ("done",), limit=20),
        periodic=periodic,
        label_of=label_of,
    )


@bp.post("/settings/jobs/retry")
@require("org:admin")
def settings_jobs_retry() -> Any:
    """Run a failed job of this organization again, with a fresh round of retries."""
    job = tracker.get(request.form.get("job", ""))
    if job is None or job.org_id != g.org.id:
        abort(404)
    if not tracker.retry(job.id):
        return redirect_to(
            url_for("orgs.settings_jobs"), _("This job is not failed any more."), "warning"
        )
    audit.record("org.job_retried", org=g.org, actor=current_user, summary=label_of(job.name))
    db.session.commit()
    return redirect_to(url_for("orgs.settings_jobs"), _("The job is queued again."))

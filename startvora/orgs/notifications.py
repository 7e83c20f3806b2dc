"""What the organizations module notifies about: members invited and joining, failed jobs."""

from __future__ import annotations

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from startvora.core import events, live, notify
from startvora.core.events import Event
from startvora.core.permissions import ROLE_LABELS, role_allows
from startvora.core.tasks import LABELS
from startvora.extensions import db
from startvora.orgs.models import Invitation, Membership, Organization


def admins(org_id: int) -> list[int]:
    """The people who may administer the organization."""
    rows = db.session.execute(
        db.select(Membership.user_id, Membership.role).where(Membership.org_id == org_id)
    )
    return [user_id for user_id, role in rows if role_allows(role, "org:admin")]


def org_info(org_id: int) -> tuple[str, str]:
    """(name, locale) of an organization, for notifications written in a task."""
    org = db.session.get(Organization, org_id)
    return (org.name, org.locale or "en") if org else ("", "en")


def _slug(org_id: int) -> str:
    org = db.session.get(Organization, org_id)
    return org.slug if org else ""


def _invited_recipients(event: Event) -> list[int]:
    invitation = db.session.get(Invitation, event.payload["invitation_id"])
    inviter = invitation.invited_by_id if invitation else None
    return [u for u in admins(event.org_id) if u != inviter]


def _invited(event: Event) -> notify.Message | None:
    invitation = db.session.get(Invitation, event.payload["invitation_id"])
    if invitation is None:
        return None
    who = invitation.invited_by.name if invitation.invited_by else _("Someone")
    return notify.Message(
        _(
            "%(who)s invited %(email)s as %(role)s",
            who=who,
            email=invitation.email,
            role=str(ROLE_LABELS[invitation.role]).lower(),
        ),
        path=notify.path_for("orgs.members_index", org_slug=_slug(event.org_id)),
    )


def _joined_recipients(event: Event) -> list[int]:
    return [u for u in admins(event.org_id) if u != event.payload.get("user_id")]


def _joined(event: Event) -> notify.Message | None:
    membership = db.session.get(Membership, event.payload["membership_id"])
    if membership is None:
        return None
    return notify.Message(
        _(
            "%(name)s joined as %(role)s",
            name=membership.user.name,
            role=str(ROLE_LABELS[membership.role]).lower(),
        ),
        path=notify.path_for(
            "orgs.members_show", org_slug=_slug(event.org_id), member_id=membership.id
        ),
    )


def _job_failed(event: Event) -> notify.Message | None:
    from startvora.core.tasks import tracker

    job = tracker.get(event.payload["job_id"])
    label = LABELS.get(event.payload.get("task", ""), event.payload.get("task", ""))
    return notify.Message(
        _("A background job failed: %(job)s", job=_(str(label))),
        body=job.error if job else "",
        path=notify.path_for("orgs.settings_jobs", org_slug=_slug(event.org_id)),
    )


def _members_changed(event: Event) -> None:
    live.announce(event.org_id, "members")


def register(app: Flask) -> None:
    app.extensions["startvora.org_info"] = org_info
    # Open members pages refresh their list when someone joins, leaves or changes role.
    for name in ("member.joined", "member.removed", "member.role_changed", "member.invited"):
        events.subscribe(app, name, _members_changed)
    for kind in (
        notify.Kind(
            "member.invited",
            _l("Someone is invited"),
            _invited_recipients,
            _invited,
            permission="org:admin",
        ),
        notify.Kind(
            "member.joined",
            _l("Someone joins"),
            _joined_recipients,
            _joined,
            permission="org:admin",
            defaults=frozenset({"app", "email"}),
        ),
        notify.Kind(
            "job.failed",
            _l("A background job fails"),
            lambda event: admins(event.org_id),
            _job_failed,
            permission="org:admin",
            defaults=frozenset({"app", "email"}),
        ),
    ):
        notify.declare(app, kind)

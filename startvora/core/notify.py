"""Notifications: in-app messages, emails and organization channels (apprise), chosen per event.

A module declares what it notifies about once:

    notify.declare(app, Kind("member.joined", _l("Someone joins"), recipients, describe))

and the kind's domain event is then turned, by a task after the commit, into: an in-app
notification for each recipient who wants one, an email (through the outbox) for each who asked
for email, and a message to every organization channel subscribed to it. Each channel message
is a task of its own, so a channel that is down is retried without holding up the others.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app
from flask_babel import force_locale
from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from startvora.core import events, live
from startvora.core.db import UTCDateTime, utcnow
from startvora.core.tasks import task
from startvora.core.tenancy import TenantMixin
from startvora.extensions import db

log = logging.getLogger(__name__)

CHANNELS = ("app", "email")


@dataclasses.dataclass(frozen=True)
class Message:
    title: str
    body: str = ""
    path: str = ""  # a link inside Startvora, made into a full URL for email and channels


@dataclasses.dataclass(frozen=True)
class Kind:
    """One event people can be notified about.

    `recipients(event)` gives user ids; `describe(event)` a Message (or None to stay quiet),
    called in each recipient's language; `permission` limits who may choose it.
    """

    event: str
    label: Any
    recipients: Callable[[events.Event], list[int]]
    describe: Callable[[events.Event], Message | None]
    permission: str = "org:view"
    defaults: frozenset[str] = frozenset({"app"})


class Notification(TenantMixin, db.Model):
    """One in-app notification for one person."""

    __tablename__ = "core_notifications"
    __table_args__ = (Index("ix_core_notifications_inbox", "org_id", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("auth_users.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    path: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Preference(TenantMixin, db.Model):
    """A person's choice for one event and channel; absent means the kind's default."""

    __tablename__ = "core_notification_preferences"
    __table_args__ = (UniqueConstraint("org_id", "user_id", "event", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("auth_users.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(60))
    channel: Mapped[str] = mapped_column(String(10))
    enabled: Mapped[bool] = mapped_column(Boolean)


class HandledEvent(TenantMixin, db.Model):
    """Marks an event as turned into notifications, so a second run of the task does nothing."""

    __tablename__ = "core_notified_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Channel(TenantMixin, db.Model):
    """An organization's outside channel: an apprise URL (Slack, Telegram, ntfy, email...)."""

    __tablename__ = "core_notification_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    url: Mapped[str] = mapped_column(String(1000))  # holds secrets: never sent to a browser
    display_url: Mapped[str] = mapped_column(String(300))  # apprise's own privacy form
    service: Mapped[str] = mapped_column(String(80), default="")
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    last_sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


def init_app(app: Flask) -> None:
    app.jinja_env.globals["unread_notifications"] = _unread_for_page


def _announce_failure(job: Any) -> None:
    """A background job failed for good: `job.failed` of its organization, for its admins."""
    from startvora.core import tasks

    # A failing notifier must not notify about itself.
    if job.org_id is None or job.name.endswith(".dispatch") or tasks.bound_app() is None:
        return
    with tasks.bound_app().app_context():
        events.emit("job.failed", org_id=job.org_id, job_id=job.id, task=job.name)
        db.session.commit()
        db.session.remove()


def _unread_for_page() -> int:
    from flask import g
    from flask_login import current_user

    org = g.get("org")
    if org is None or not current_user.is_authenticated:
        return 0
    return unread_count(org.id, current_user.id)


_tracker_hooks = __import__("startvora.core.tasks", fromlist=["tracker"]).tracker.on_final_failure
if _announce_failure not in _tracker_hooks:
    _tracker_hooks.append(_announce_failure)


# -- declaring kinds -----------------------------------------------------------------------------


def kinds(app: Flask | None = None) -> dict[str, Kind]:
    return (app or current_app).extensions.setdefault("startvora.notify_kinds", {})


def declare(app: Flask, kind: Kind) -> None:
    """Make an event notifiable; its event is handled by a task after each commit."""
    kinds(app)[kind.event] = kind
    events.subscribe(app, kind.event, dispatch, task=True)


def path_for(endpoint: str, **values: Any) -> str:
    """A link's path from an endpoint, also in tasks (where url_for has no request)."""
    return current_app.url_map.bind("localhost").build(endpoint, values)


# -- preferences ---------------------------------------------------------------------------------


def wants(org_id: int, user_id: int, kind: Kind) -> set[str]:
    """The channels one person wants for one kind."""
    chosen = set(kind.defaults)
    rows = db.session.execute(
        db.select(Preference.channel, Preference.enabled).where(
            Preference.org_id == org_id,
            Preference.user_id == user_id,
            Preference.event == kind.event,
        )
    )
    for channel, enabled in rows:
        (chosen.add if enabled else chosen.discard)(channel)
    return chosen & set(CHANNELS)


def set_preferences(org_id: int, user_id: int, choices: dict[str, set[str]]) -> None:
    """Store a person's channels per event (events missing from `choices` are left alone)."""
    existing = {
        (p.event, p.channel): p
        for p in db.session.execute(
            db.select(Preference).where(Preference.org_id == org_id, Preference.user_id == user_id)
        ).scalars()
    }
    for event, channels in choices.items():
        for channel in CHANNELS:
            row = existing.get((event, channel))
            if row is None:
                row = Preference(org_id=org_id, user_id=user_id, event=event, channel=channel)
                db.session.add(row)
            row.enabled = channel in channels
    db.session.flush()


# -- delivery ------------------------------------------------------------------------------------


def _user_locale(user_id: int) -> tuple[str, str, str]:
    """(email, name, locale) of a person, through the accounts module's hook."""
    return current_app.extensions["startvora.user_contact"](user_id)


def _org_info(org_id: int) -> tuple[str, str]:
    """(name, locale) of an organization, through the organizations module's hook."""
    return current_app.extensions["startvora.org_info"](org_id)


@task(label="Send notifications")
def dispatch(org_id: int, name: str, payload: dict[str, Any]) -> None:
    """Turn one event into in-app notifications, emails and channel messages."""
    kind = kinds().get(name)
    if kind is None:
        return
    event = events.Event(name, org_id, payload)
    event_id = payload.get("event_id") or ""
    if (
        event_id
        and db.session.execute(
            db.select(HandledEvent.id).where(HandledEvent.event_id == event_id)
        ).first()
    ):
        return  # an earlier run of this task handled it (the two commit together below)
    # A failing email or channel must not be told about its own failure, again and again.
    failed_task = payload.get("task", "") if name == "job.failed" else ""
    skip_email = failed_task.endswith("deliver_email")
    skip_channels = failed_task.endswith("send_to_channel")
    notified = []
    org_locale = _org_info(org_id)[1] or "en"
    for user_id in dict.fromkeys(kind.recipients(event)):
        email, _name, locale = _user_locale(user_id)
        locale = locale or org_locale  # people without a language read the organization's
        with force_locale(locale):
            message = kind.describe(event)
        if message is None:
            continue
        channels = wants(org_id, user_id, kind)
        if "app" in channels:
            db.session.add(
                Notification(
                    org_id=org_id,
                    user_id=user_id,
                    event=name,
                    title=message.title[:300],
                    body=message.body,
                    path=message.path[:500],
                )
            )
            notified.append(user_id)
        if "email" in channels and email and not skip_email:
            _email(org_id, email, locale, kind, event, message)
    if event_id:
        db.session.add(HandledEvent(org_id=org_id, event_id=event_id))
    for user_id in notified:
        live.publish(org_id, "notifications", user_id=user_id)
    channel_ids = [
        c.id
        for c in db.session.execute(
            db.select(Channel).where(Channel.org_id == org_id, Channel.enabled.is_(True))
        ).scalars()
        if (not c.events or name in c.events) and not skip_channels
    ]
    db.session.commit()
    for channel_id in channel_ids:
        send_to_channel(org_id, channel_id, name, payload)


def _email(
    org_id: int, to: str, locale: str, kind: Kind, event: events.Event, message: Message
) -> None:
    from startvora.core import mail

    if not mail.mail_configured(org_id):
        return
    org_name = _org_info(org_id)[0]
    with force_locale(locale):
        mail.send_email(
            to,
            message.title,
            "notification",
            org_id=org_id,
            context={
                "title": message.title,
                "body": message.body,
                "link": mail.external_url(message.path) if message.path else "",
                "org_name": org_name,
                "sender_name": org_name,
            },
        )


class ChannelError(RuntimeError):
    """The channel refused or could not be reached; `str()` says what apprise reported."""

    user_facing = True


def check_url(url: str) -> tuple[str, str]:
    """(service name, privacy form) of an apprise URL; ValueError when apprise cannot use it."""
    import apprise

    box = apprise.Apprise()
    if not url.strip() or not box.add(url.strip()):
        raise ValueError(url)
    plugin = box[0]
    return str(plugin.service_name), plugin.url(privacy=True)[:300]


def post_to_channel(channel: Channel, title: str, body: str) -> None:
    """Send one message through a channel now; raises ChannelError with apprise's reason."""
    import apprise

    box = apprise.Apprise()
    if not box.add(channel.url):
        raise ChannelError("The channel's URL is not valid any more.")
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
        ok = box.notify(title=title, body=body or title)
    if not ok:
        lines = [line.strip() for line in captured.getvalue().splitlines() if line.strip()]
        raise ChannelError(
            (lines[-1] if lines else "The service did not accept the message.")[:500]
        )


@task(label="Notify a channel", retries=5, retry_delay=30, retry_backoff=2)
def send_to_channel(org_id: int, channel_id: int, name: str, payload: dict[str, Any]) -> None:
    """Post one event to one organization channel; retried while the service is down."""
    channel = db.session.get(Channel, channel_id)
    kind = kinds().get(name)
    if channel is None or not channel.enabled or kind is None:
        return
    with force_locale(_org_info(org_id)[1] or "en"):
        message = kind.describe(events.Event(name, org_id, payload))
    if message is None:
        return
    from startvora.core.mail import external_url

    body = message.body
    if message.path:
        body = f"{body}\n{external_url(message.path)}".strip()
    try:
        post_to_channel(channel, message.title, body)
    except ChannelError as exc:
        channel.last_error = str(exc)
        db.session.commit()
        raise
    channel.last_sent_at, channel.last_error = utcnow(), ""
    db.session.commit()


# -- the inbox -----------------------------------------------------------------------------------


def unread_count(org_id: int, user_id: int) -> int:
    return db.session.execute(
        db.select(func.count())
        .select_from(Notification)
        .where(
            Notification.org_id == org_id,
            Notification.user_id == user_id,
            Notification.read_at.is_(None),
        )
    ).scalar_one()


def inbox(
    org_id: int, user_id: int, limit: int = 50, before: int | None = None
) -> list[Notification]:
    query = (
        db.select(Notification)
        .where(Notification.org_id == org_id, Notification.user_id == user_id)
        .order_by(Notification.id.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(Notification.id < before)
    return list(db.session.execute(query).scalars())


def mark_read(org_id: int, user_id: int, ids: list[int] | None = None) -> int:
    """Mark some (or, with None, all) of a person's notifications read; how many changed."""
    query = (
        db.update(Notification)
        .where(
            Notification.org_id == org_id,
            Notification.user_id == user_id,
            Notification.read_at.is_(None),
        )
        .values(read_at=utcnow())
    )
    if ids is not None:
        query = query.where(Notification.id.in_(ids))
    changed = db.session.execute(query).rowcount
    if changed:  # other open pages of this person update their count
        live.publish(org_id, "notifications", user_id=user_id)
    return changed

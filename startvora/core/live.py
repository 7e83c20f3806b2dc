"""Live updates: a Server-Sent Events stream per open page, for its organization only.

A change announces itself with `publish(org_id, topic)`: a row written in the same transaction
as the change, so every web process (and the consumer) can see it. Each open page keeps one
stream (htmx's SSE extension), which looks for new rows every second or two and sends:

- `notifications`: the person's unread count, swapped into the bell;
- `changed-<topic>`: a signal that regions listening with `hx-trigger="sse:changed-<topic>"`
  reload themselves.

A stream holds a web thread, so each process serves at most `server.threads - 1` of them and
lets each last a few minutes (the browser reconnects). A page whose stream is refused or drops
falls back to polling (static/js/app.js) until the stream is back.
"""

from __future__ import annotations

import datetime as dt
import select
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, current_app, g, render_template, request, stream_with_context
from flask_login import current_user, login_required
from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from startvora.core.db import UTCDateTime, utcnow
from startvora.core.tasks import periodic
from startvora.core.tenancy import TenantMixin, org_blueprint, org_context, system_context
from startvora.extensions import db

POLL_SECONDS = 1.5
KEEPALIVE_SECONDS = 15.0
STREAM_SECONDS = 300.0
KEEP_EVENTS = dt.timedelta(minutes=15)

bp = org_blueprint("live", __name__)


class LiveEvent(TenantMixin, db.Model):
    """A change that open pages of the organization (or of one person) should hear about."""

    __tablename__ = "core_live_events"
    __table_args__ = (Index("ix_core_live_events_org_id_id", "org_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int | None] = mapped_column()  # None: everyone in the organization
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


def publish(org_id: int, topic: str, user_id: int | None = None) -> None:
    """Tell open pages that `topic` changed; sent once the current transaction commits."""
    db.session.add(LiveEvent(org_id=org_id, topic=topic[:40], user_id=user_id))


def announce(org_id: int, topic: str) -> None:
    """publish() and commit at once: for event subscribers, which run after the change's commit."""
    # Subscribers run in an app context of their own, without the request's organization.
    with org_context(org_id):
        publish(org_id, topic)
        db.session.commit()


def init_app(app: Flask) -> None:
    threads = app.extensions["startvora.settings"].server.threads
    app.extensions["startvora.live_slots"] = threading.BoundedSemaphore(max(1, threads - 1))
    app.register_blueprint(bp)


def _client_gone(sock: socket.socket | None) -> bool:
    """Whether the browser closed the connection (it never sends anything on a stream)."""
    if sock is None:
        return False
    try:
        readable, _w, _x = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


def _message(event: str, data: str) -> str:
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {event}\n{lines}\n"


def _badge() -> str:
    from startvora.core.notify import unread_count

    count = unread_count(g.org.id, current_user.id)
    return render_template("components/_bell_badge.html", unread=count).strip()


def _latest(org_id: int) -> int:
    return (
        db.session.execute(
            db.select(db.func.max(LiveEvent.id)).where(LiveEvent.org_id == org_id)
        ).scalar_one()
        or 0
    )


@bp.get("/live")
@login_required
def stream() -> Any:
    """The page's event stream (text/event-stream); 503 when this process has no thread free."""
    slots = current_app.extensions["startvora.live_slots"]
    if not slots.acquire(blocking=False):
        return Response("busy\n", status=503, mimetype="text/plain", headers={"Retry-After": "30"})
    org_id, user_id = g.org.id, current_user.id
    # The connection's socket, where the server offers it: a page left is noticed within a
    # poll, rather than at the next write, so its thread is free again at once.
    sock = request.environ.get("gunicorn.socket") or request.environ.get("werkzeug.socket")

    def events() -> Iterator[str]:
        try:
            last = _latest(org_id)
            yield "retry: 5000\n\n"
            yield _message("notifications", _badge())
            db.session.rollback()  # hold no read transaction while idle (WAL checkpoints)
            started = quiet_since = time.monotonic()
            while time.monotonic() - started < STREAM_SECONDS:
                time.sleep(POLL_SECONDS)
                if _client_gone(sock):
                    return
                rows = db.session.execute(
                    db.select(LiveEvent.id, LiveEvent.topic)
                    .where(
                        LiveEvent.org_id == org_id,
                        LiveEvent.id > last,
                        (LiveEvent.user_id.is_(None)) | (LiveEvent.user_id == user_id),
                    )
                    .order_by(LiveEvent.id)
                ).all()
                topics = dict.fromkeys(topic for _id, topic in rows)
                if rows:
                    last = rows[-1][0]
                for topic in topics:
                    if topic == "notifications":
                        yield _message("notifications", _badge())
                    else:
                        yield _message(f"changed-{topic}", topic)
                db.session.rollback()
                if topics:
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since > KEEPALIVE_SECONDS:
                    # A comment line: finds closed connections, keeps proxies from timing out.
                    yield ": keep-alive\n\n"
                    quiet_since = time.monotonic()
        finally:
            db.session.remove()

    response = Response(
        stream_with_context(events()),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
    # On close, not in the generator: a stream that never starts (HEAD) must free its slot too.
    response.call_on_close(slots.release)
    return response


@bp.get("/live/badge")
@login_required
def badge() -> Any:
    """The bell's unread count alone: what pages poll while their stream is down."""
    return _badge()


@periodic(label="Forget old live events", minute="*/10")
def prune_live_events() -> None:
    """Live events matter for seconds; old ones are removed."""
    with system_context("prune live events of every organization"):
        db.session.execute(
            db.delete(LiveEvent).where(LiveEvent.created_at < utcnow() - KEEP_EVENTS)
        )
        db.session.commit()

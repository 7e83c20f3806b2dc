"""Domain events: services emit named events; subscribers hear them only after the commit.

    events.emit("member.joined", org_id=org.id, membership_id=m.id)

A subscriber is a function `(event)`; one that fails is logged and never fails the request.
Slow work subscribes with a task instead, which is enqueued (after the commit) with the event.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app

from startvora.core.db import after_commit

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Event:
    name: str
    org_id: int | None
    payload: dict[str, Any]


def _registry(app: Flask | None = None) -> dict[str, list[tuple[Callable[..., Any], bool]]]:
    return (app or current_app).extensions.setdefault("startvora.events", {})


def subscribe(app: Flask, name: str, handler: Callable[..., Any], *, task: bool = False) -> None:
    """Call `handler(event)` after each commit that emitted `name` ("*" hears every event).

    With task=True the handler is a background task, enqueued with (org_id, name, payload):
    org_id first, so that the task runs scoped to the organization.
    """
    _registry(app).setdefault(name, []).append((handler, task))


def emit(name: str, org_id: int | None = None, **payload: Any) -> Event:
    """Announce that something happened; delivered once the current transaction commits.

    The payload gets an `event_id`, so that a subscriber run twice can tell it saw it before.
    """
    payload.setdefault("event_id", uuid.uuid4().hex)
    event = Event(name, org_id, payload)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    after_commit(_deliver, app, event)
    return event


def _deliver(app: Flask, event: Event) -> None:
    registry = _registry(app)
    for handler, is_task in registry.get(event.name, []) + registry.get("*", []):
        try:
            if is_task:
                handler(event.org_id, event.name, event.payload)
            else:
                handler(event)
        except Exception:
            # The change is committed; one subscriber's failure must not undo or hide it.
            log.exception(
                "subscriber %s of %s failed", getattr(handler, "__name__", handler), event.name
            )

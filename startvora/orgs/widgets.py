"""Dashboard cards of the organizations module."""

from __future__ import annotations

import shutil
import time
from typing import Any

from flask import current_app

from startvora.auth.models import User
from startvora.core import tasks
from startvora.core.db import utcnow
from startvora.core.permissions import ROLE_LABELS, ROLES
from startvora.extensions import db
from startvora.orgs import services
from startvora.orgs.models import Membership, Organization


def overview(org: Organization, user: User) -> dict[str, Any]:
    """Settings that shape every page: language, time zone, currency, and the local time."""
    return {"now": utcnow(), "sample_amount": 123456789}


def team(org: Organization, user: User) -> dict[str, Any]:
    """Member count by role and the newest members."""
    counts = services.role_counts(org)
    newest = list(
        db.session.execute(
            db.select(Membership)
            .where(Membership.org_id == org.id)
            .order_by(Membership.created_at.desc(), Membership.id.desc())
            .limit(5)
        ).scalars()
    )
    by_role = [(ROLE_LABELS[r], counts[r]) for r in ROLES if counts.get(r)]
    return {"total": sum(counts.values()), "by_role": by_role, "newest": newest}


def system(org: Organization, user: User) -> dict[str, Any]:
    """Queue and disk state, for administrators."""
    settings = current_app.extensions["startvora.settings"]
    usage = shutil.disk_usage(settings.data_path)
    last_seen = tasks.consumer_last_seen()
    return {
        "pending": tasks.queue_length(),
        "consumer_age": None if last_seen is None else int(time.time() - last_seen),
        "free_bytes": usage.free,
        "free_ratio": usage.free / usage.total if usage.total else 0,
        "data_path": str(settings.data_path),
    }

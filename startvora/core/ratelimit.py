"""Rate limits kept in the database, so they hold across web workers and restarts."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from flask_babel import ngettext
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from startvora.extensions import db


class RateLimit(db.Model):
    """Attempts per key (an IP or an account) in the current window."""

    __tablename__ = "core_rate_limits"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[float] = mapped_column()
    count: Mapped[int] = mapped_column(default=0)


@dataclass(frozen=True)
class Limit:
    """At most `attempts` in `window_s` seconds per key."""

    name: str
    attempts: int
    window_s: int


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_s: int = 0

    def message(self) -> str:
        minutes = max(1, math.ceil(self.retry_after_s / 60))
        return ngettext(
            "Too many attempts. Try again in %(num)d minute.",
            "Too many attempts. Try again in %(num)d minutes.",
            minutes,
        )


def check(limit: Limit, *keys: str) -> Verdict:
    """Whether another attempt is allowed for every key, without counting one."""
    now = time.time()
    worst = 0
    for key in keys:
        row = db.session.get(RateLimit, f"{limit.name}:{key}")
        in_window = row is not None and now - row.window_start < limit.window_s
        if in_window and row.count >= limit.attempts:
            worst = max(worst, int(row.window_start + limit.window_s - now) + 1)
    return Verdict(allowed=worst == 0, retry_after_s=worst)


def hit(limit: Limit, *keys: str) -> None:
    """Count one attempt against every key (the caller commits)."""
    now = time.time()
    for key in keys:
        full = f"{limit.name}:{key}"
        row = db.session.get(RateLimit, full)
        if row is None:
            db.session.add(RateLimit(key=full, window_start=now, count=1))
        elif now - row.window_start >= limit.window_s:
            row.window_start, row.count = now, 1
        else:
            row.count += 1
    db.session.flush()


def reset(limit: Limit, *keys: str) -> None:
    """Forget the attempts of these keys (after a success)."""
    for key in keys:
        row = db.session.get(RateLimit, f"{limit.name}:{key}")
        if row is not None:
            db.session.delete(row)

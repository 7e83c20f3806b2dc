"""Rate limits kept in the database, so they hold across web workers and restarts."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from flask_babel import ngettext
from sqlalchemy import String, case, select
from sqlalchemy.orm import Mapped, mapped_column

from startvora.core.db import insert_or_ignore
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
    just_locked: bool = False  # this attempt was the first one over the limit

    def message(self) -> str:
        minutes = max(1, math.ceil(self.retry_after_s / 60))
        return ngettext(
            "Too many attempts. Try again in %(num)d minute.",
            "Too many attempts. Try again in %(num)d minutes.",
            minutes,
        )


KEEP_S = 24 * 3600  # rows idle longer than any window are purged


def attempt(*checks: tuple[Limit, str]) -> Verdict:
    """Count one attempt against every (limit, key) and say whether it may go ahead.

    Counting happens first, atomically, in a transaction of its own that commits at once: two
    requests racing each other both count, and a refused attempt stays counted whatever the
    request does afterwards. Call it before the request writes anything (SQLite has one
    writer at a time), and `reset` after the request's commit.
    """
    table = RateLimit.__table__
    now = time.time()
    worst = Verdict(allowed=True)
    with db.engine.begin() as conn:
        conn.execute(table.delete().where(table.c.window_start < now - KEEP_S))
        for limit, key in checks:
            full = f"{limit.name}:{key.casefold().strip()}"[:200]
            conn.execute(insert_or_ignore(table, key=full, window_start=now, count=0))
            expired = table.c.window_start <= now - limit.window_s
            conn.execute(
                table.update()
                .where(table.c.key == full)
                .values(
                    count=case((expired, 1), else_=table.c.count + 1),
                    window_start=case((expired, now), else_=table.c.window_start),
                )
            )
            count, start = conn.execute(
                select(table.c.count, table.c.window_start).where(table.c.key == full)
            ).one()
            if count > limit.attempts:
                retry = int(start + limit.window_s - now) + 1
                if retry > worst.retry_after_s:
                    worst = Verdict(False, retry, just_locked=count == limit.attempts + 1)
    return worst


def reset(*checks: tuple[Limit, str]) -> None:
    """Forget the attempts of these keys (after a success)."""
    table = RateLimit.__table__
    keys = [f"{limit.name}:{key.casefold().strip()}"[:200] for limit, key in checks]
    with db.engine.begin() as conn:
        conn.execute(table.delete().where(table.c.key.in_(keys)))

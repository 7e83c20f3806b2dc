"""Gapless document numbers from a pattern: INV-{YYYY}-{0000}, Q{YY}{MM}-{000}, CN-{0000}.

A number is taken in the same transaction that issues the document: one statement adds one to
the sequence's counter and returns it, so two processes issuing at once wait for each other's
commit (SQLite has one writer) and never get the same number; a transaction that rolls back
gives its number back. A counter runs per organization, sequence key and period: a pattern
with {YYYY} starts again each year, one with {MM} each month, one with neither never.
"""

from __future__ import annotations

import datetime as dt
import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from startvora.core.tenancy import TenantMixin
from startvora.extensions import db

TOKEN = re.compile(r"\{(YYYY|YY|MM|DD|0+)\}")
MAX_PATTERN = 40


class Sequence(TenantMixin, db.Model):
    """The last number given for a sequence key in a period ("" when the pattern has none)."""

    __tablename__ = "core_sequences"
    __table_args__ = (UniqueConstraint("org_id", "key", "period", name="uq_core_sequences"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(10), default="")
    last: Mapped[int] = mapped_column(default=0)


def check_pattern(pattern: str) -> str:
    """The pattern, trimmed; ValueError with a message when it cannot number documents."""
    pattern = pattern.strip()
    counters = re.findall(r"\{0+\}", pattern)
    if not pattern or len(pattern) > MAX_PATTERN:
        raise ValueError(_l("Use a pattern of 1 to %(n)d characters.", n=MAX_PATTERN))
    if len(counters) != 1:
        raise ValueError(_l("Put exactly one counter in the pattern, such as {0000}."))
    rest = TOKEN.sub("", pattern)
    if "{" in rest or "}" in rest:
        raise ValueError(_l("Use only {YYYY}, {YY}, {MM}, {DD} and one counter like {0000}."))
    if any(c.isspace() or not c.isprintable() for c in rest):
        raise ValueError(_l("Leave spaces and control characters out of the pattern."))
    return pattern


def period_of(pattern: str, day: dt.date) -> str:
    """The part of the date that restarts the counter: year, month, day, or none."""
    if "{DD}" in pattern:
        return day.strftime("%Y-%m-%d")
    if "{MM}" in pattern:
        return day.strftime("%Y-%m")
    if "{YYYY}" in pattern or "{YY}" in pattern:
        return day.strftime("%Y")
    return ""


def render(pattern: str, day: dt.date, value: int) -> str:
    """The pattern with the date and the counter filled in ({000} pads to three digits)."""

    def fill(match: re.Match[str]) -> str:
        token = match.group(1)
        if token[0] == "0":
            return str(value).zfill(len(token))
        return {
            "YYYY": f"{day.year:04d}",
            "YY": f"{day.year % 100:02d}",
            "MM": f"{day.month:02d}",
            "DD": f"{day.day:02d}",
        }[token]

    return TOKEN.sub(fill, pattern)


def take(org_id: int, key: str, pattern: str, day: dt.date) -> str:
    """The next number of a sequence, in the caller's transaction (commit or roll back with it)."""
    period = period_of(pattern, day)
    value = db.session.execute(
        text(
            "INSERT INTO core_sequences (org_id, key, period, last) VALUES (:org, :key, :period, 1)"
            " ON CONFLICT (org_id, key, period) DO UPDATE SET last = last + 1 RETURNING last"
        ),
        {"org": org_id, "key": key, "period": period},
    ).scalar_one()
    return render(pattern, day, value)


def peek(org_id: int, key: str, pattern: str, day: dt.date) -> str:
    """The number the next document would get (for a preview; nothing is taken)."""
    row = db.session.execute(
        db.select(Sequence.last).where(
            Sequence.org_id == org_id,
            Sequence.key == key,
            Sequence.period == period_of(pattern, day),
        )
    ).scalar_one_or_none()
    return render(pattern, day, (row or 0) + 1)

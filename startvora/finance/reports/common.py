"""What the reports share: periods and presets, the filters, reading the monthly totals,
and the names of customers, products, categories and payment methods."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from babel.dates import format_interval, format_skeleton
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from startvora.crm.models import Company, Contact, person_name
from startvora.extensions import db
from startvora.finance import ledger, services
from startvora.finance.ledger import PeriodTotal
from startvora.finance.models import Product
from startvora.orgs.models import Organization

GRANULARITIES = ("month", "quarter", "year")
PRESETS = ("this_month", "last_month", "this_quarter", "this_year", "last_year")
MAX_MONTHS = 120  # ten years
BUCKETS = ("current", "1_30", "31_60", "61_90", "over_90")  # days past due
_CHUNK = 500  # ids per IN (...) when looking names up


# -- months and ranges ---------------------------------------------------------------------------


def _index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def _first(index: int) -> dt.date:
    return dt.date(index // 12, index % 12 + 1, 1)


def _last(index: int) -> dt.date:
    year, month = index // 12, index % 12 + 1
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _period_start(index: int, months: int, fiscal_start: int) -> int:
    """The first month of the quarter or year (of the fiscal year) holding month `index`."""
    return index - (index - (fiscal_start - 1)) % months


def whole_months(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """A range as the reports count it: from its first month's first day to its last month's
    last day."""
    return start.replace(day=1), _last(_index(end))


def preset_range(name: str, today: dt.date, fiscal_start: int = 1) -> tuple[dt.date, dt.date]:
    """This or last month, this quarter, this or last (fiscal) year, as whole months."""
    now = _index(today)
    first, months = {
        "this_month": (now, 1),
        "last_month": (now - 1, 1),
        "this_quarter": (_period_start(now, 3, fiscal_start), 3),
        "this_year": (_period_start(now, 12, fiscal_start), 12),
        "last_year": (_period_start(now, 12, fiscal_start) - 12, 12),
    }[name]
    return _first(first), _last(first + months - 1)


def range_label(start: dt.date, end: dt.date) -> str:
    """A range in the reader's language: "Jan 1 – Mar 31, 2026" ("1 Jan – 31 Mar 2026")."""
    return format_interval(start, end, "yMMMd", locale=get_locale() or "en")


def _month_label(day: dt.date) -> str:
    return format_skeleton("yMMM", day, locale=get_locale() or "en")


def _months_label(start: dt.date, end: dt.date) -> str:
    return format_interval(start, end, "yMMM", locale=get_locale() or "en")


# -- what the pages and the API ask for ----------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """A report's parameters: a range (or a preset of one), a granularity, an "as of" date."""

    start: dt.date  # the first day of the first month
    end: dt.date  # the last day of the last month
    by: str = "month"
    as_of: dt.date | None = None  # receivables aging; None: today
    preset: str = ""  # the preset the range follows ("this_year"), kept in links
    reshaped: bool = False  # the dates typed were not whole months

    def params(self, kind: str) -> dict[str, str]:
        """The query parameters that give these filters back (for links and exports)."""
        if kind == "aging":
            return {"as_of": self.as_of.isoformat()} if self.as_of else {}
        params = (
            {"range": self.preset}
            if self.preset
            else {"start": self.start.isoformat(), "end": self.end.isoformat()}
        )
        if kind == "pnl":
            params["by"] = self.by
        return params


EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(9000, 12, 31)  # dates arithmetic stays safe in


def _read_date(raw: str, field: str, errors: dict[str, str]) -> dt.date | None:
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        errors[field] = _("Enter a date like 2026-03-31.")
        return None
    if not EARLIEST <= day <= LATEST:
        errors[field] = _("Enter a date between 1900 and 9000.")
        return None
    return day


def read_filters(
    args: Mapping[str, str],
    today: dt.date,
    fiscal_start: int = 1,
    kind: str = "range",
    default: str = "this_year",
) -> tuple[Filters, dict[str, str]]:
    """Filters from query parameters (`range`, or `start` and `end`; `by`; `as_of`), and a
    message per parameter that is wrong. The same rules serve the pages and the API."""
    errors: dict[str, str] = {}
    if kind == "aging":
        raw = (args.get("as_of") or "").strip()
        as_of = _read_date(raw, "as_of", errors) if raw else None
        if as_of is not None and as_of > today:
            errors["as_of"] = _("Choose today or an earlier date.")
        day = as_of or today
        return Filters(day, day, as_of=None if as_of == today else as_of), errors
    by = (args.get("by") or "month").strip()
    if kind == "pnl" and by not in GRANULARITIES:
        errors["by"] = _("Choose months, quarters or years.")
    if by not in GRANULARITIES:
        by = "month"
    preset = (args.get("range") or "").strip()
    raw_start, raw_end = (args.get("start") or "").strip(), (args.get("end") or "").strip()
    if preset and preset not in PRESETS:
        errors["range"] = _("Choose one of the periods offered, or enter dates.")
    if preset in PRESETS or not (raw_start or raw_end):  # a preset wins over dates
        preset = preset if preset in PRESETS else default
        start, end = preset_range(preset, today, fiscal_start)
        return Filters(start, end, by, preset=preset), errors
    start = _read_date(raw_start, "start", errors) if raw_start else None
    end = _read_date(raw_end, "end", errors) if raw_end else None
    if not raw_start:
        errors["start"] = _("Enter the first day of the period.")
    if not raw_end:
        errors["end"] = _("Enter the last day of the period.")
    if start is None or end is None:
        start, end = preset_range(default, today, fiscal_start)
        return Filters(start, end, by), errors
    if end < start:
        errors["end"] = _("The end is before the start.")
    elif _index(end) - _index(start) + 1 > MAX_MONTHS:
        errors["end"] = _("Choose at most 10 years.")
    first, last = whole_months(start, end)
    return Filters(first, last, by, reshaped=(first, last) != (start, end)), errors


# -- shared pieces -------------------------------------------------------------------------------


def _org(org_id: int) -> Organization:
    org = db.session.get(Organization, org_id)
    assert org is not None
    return org


def _share(amount: int, total: int) -> Decimal | None:
    if total <= 0:
        return None
    return (Decimal(amount) / Decimal(total)).quantize(Decimal("0.0001"))


def _by_key(org_id: int, measure: str, start: dt.date, end: dt.date) -> list[tuple[str, int, int]]:
    """A measure's (key, amount, count) over whole months, added up by key in SQL."""
    first, last = whole_months(start, end)
    rows = db.session.execute(
        select(PeriodTotal.key, func.sum(PeriodTotal.amount_minor), func.sum(PeriodTotal.count))
        .where(
            PeriodTotal.org_id == org_id,
            PeriodTotal.measure == measure,
            PeriodTotal.month >= first,
            PeriodTotal.month <= last,
        )
        .group_by(PeriodTotal.key)
    )
    return [(key, int(amount or 0), int(count or 0)) for key, amount, count in rows]


def _monthly(
    org_id: int, measures: Iterable[str], start: dt.date, end: dt.date
) -> list[tuple[str, dt.date, str, int, int, int]]:
    """The monthly rows of some measures: (measure, month, key, amount, basis, count)."""
    first, last = whole_months(start, end)
    return [
        tuple(row)  # type: ignore[misc]
        for row in db.session.execute(
            select(PeriodTotal.measure, PeriodTotal.month, PeriodTotal.key,
                   PeriodTotal.amount_minor, PeriodTotal.basis_minor, PeriodTotal.count)
            .where(
                PeriodTotal.org_id == org_id,
                PeriodTotal.measure.in_(tuple(measures)),
                PeriodTotal.month >= first,
                PeriodTotal.month <= last,
            )
        )
    ]  # fmt: skip


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i : i + _CHUNK]


def _ids(keys: Iterable[str], prefix: str) -> list[int]:
    tails = (k[len(prefix) :] for k in keys if k.startswith(prefix))
    return sorted({int(t) for t in tails if t.isascii() and t.isdigit()})


def customer_names(keys: Iterable[str]) -> dict[str, str]:
    """Names of customer keys ("company:ID", "contact:ID"), deleted customers included."""
    keys = set(keys)
    names = {"": _("No customer")}
    for chunk in _chunks(_ids(keys, "company:")):
        for id_, name in db.session.execute(
            select(Company.id, Company.name)
            .where(Company.id.in_(chunk))
            .execution_options(include_deleted=True)
        ):
            names[f"company:{id_}"] = name
    for chunk in _chunks(_ids(keys, "contact:")):
        for id_, first, last, email in db.session.execute(
            select(Contact.id, Contact.first_name, Contact.last_name, Contact.email)
            .where(Contact.id.in_(chunk))
            .execution_options(include_deleted=True)
        ):
            names[f"contact:{id_}"] = person_name(first, last, email)
    return {key: names.get(key) or _("Unknown customer") for key in keys}


def product_names(keys: Iterable[str]) -> dict[str, str]:
    """Names of product keys (ids as text; "" is lines without a product), deleted included."""
    keys = set(keys)
    names = {"": _("Other lines")}
    for chunk in _chunks(_ids(keys, "")):
        for id_, name in db.session.execute(
            select(Product.id, Product.name)
            .where(Product.id.in_(chunk))
            .execution_options(include_deleted=True)
        ):
            names[str(id_)] = name
    return {key: names.get(key) or _("Removed product %(id)s", id=key) for key in keys}


def category_label(category: str) -> str:
    """An expense category as shown; expenses without one are "Uncategorized"."""
    return category or _("Uncategorized")


def method_label(method: str) -> str:
    """A payment method's name, as the invoice page says it."""
    return str(services.method_labels().get(method) or method or _("Other"))


def ensure_built(org_id: int) -> bool:
    """Count the totals once for an organization whose totals were never counted from its
    documents (a database from before they were kept); True when it did. The caller commits."""
    if ledger.is_built(org_id):
        return False
    ledger.rebuild(org_id)
    db.session.flush()
    return True

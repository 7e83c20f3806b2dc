"""Targets (what a module imports), column mapping, and checking and saving one row."""

from __future__ import annotations

import abc
import dataclasses
import logging
import unicodedata
from collections.abc import Hashable, Sequence
from typing import Any, ClassVar

from flask_babel import gettext as _
from sqlalchemy.exc import DataError, IntegrityError

from startvora.core.importer.reading import PREVIEW_ROWS, Table
from startvora.extensions import db

log = logging.getLogger(__name__)


class RowError(ValueError):
    """One row was refused while saving; `message` says why."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


# -- targets and mapping ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Field:
    """A field a column can be imported into; aliases are other usual column names for it."""

    name: str
    label: Any
    required: bool = False
    aliases: tuple[str, ...] = ()


class Target(abc.ABC):
    """One kind of record that can be imported: a module subclasses it and registers it.

    An instance serves one import (of one organization, by one person), so it may cache lookups.
    """

    entity: ClassVar[str] = ""  # the name in URLs and in ImportRun.entity: "contacts"
    label: ClassVar[Any] = ""  # "Contacts"
    permission: ClassVar[str] = ""  # needed to import: "crm:edit"

    def __init__(self, org_id: int, actor_id: int | None) -> None:
        self.org_id = org_id
        self.actor_id = actor_id

    @abc.abstractmethod
    def fields(self) -> list[Field]:
        raise NotImplementedError

    def check_mapping(self, mapped: set[str]) -> list[str]:
        """Why a mapping cannot be imported (the required fields it misses); empty when fine."""
        return [
            _("No column is mapped to %(field)s, which every row needs.", field=f.label)
            for f in self.fields()
            if f.required and f.name not in mapped
        ]

    @abc.abstractmethod
    def validate(self, row: dict[str, str]) -> tuple[Any, dict[str, Any] | None, dict[str, str]]:
        """The row (field -> text) checked: (object to save, custom values, errors by field).

        Errors under "" are about the whole row. With errors, the object is None.
        """
        raise NotImplementedError

    def duplicate_key(self, valid: Any) -> Hashable | None:
        """What two rows share when they are the same record (an email); None: never the same."""
        return None

    def find_existing(self, valid: Any) -> Any | None:
        """The saved record this row duplicates, if any (for skip or update)."""
        return None

    def find_existing_many(self, valids: list[Any]) -> list[Any | None]:
        """find_existing for many rows at once; a target overrides it with one query."""
        return [self.find_existing(v) for v in valids]

    @abc.abstractmethod
    def save(self, valid: Any, custom: dict[str, Any] | None, existing: Any | None) -> None:
        """Create the record, or update `existing`; RowError when a rule refuses it. Flush only."""
        raise NotImplementedError

    # Targets that can add many new records in one statement set this and define save_many.
    saves_many: ClassVar[bool] = False

    def save_many(self, rows: list[Checked]) -> None:
        """Create the records of many checked rows at once: all of them, or raise."""
        raise NotImplementedError(f"{type(self).__name__} sets saves_many without save_many")

    def finish(self) -> None:  # noqa: B027 (an optional hook: doing nothing is the default)
        """Called once the last row is saved, before the final commit (tell open pages)."""


TARGETS: dict[str, type[Target]] = {}


def register(target: type[Target]) -> type[Target]:
    """Make a target importable (used as a class decorator)."""
    TARGETS[target.entity] = target
    return target


def get_target(entity: str) -> type[Target] | None:
    return TARGETS.get(entity)


def _key(text: str) -> str:
    folded = unicodedata.normalize("NFKD", str(text).casefold())
    return "".join(c for c in folded if c.isalnum())


def suggest_mapping(columns: Sequence[str], fields: Sequence[Field]) -> dict[str, str]:
    """Column -> field name (or "") by the columns' names; each field is taken once."""
    known: dict[str, str] = {}
    for f in fields:
        for name in (f.name, str(f.label), *f.aliases):
            known.setdefault(_key(name), f.name)
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for column in columns:
        name = known.get(_key(column), "")
        if name and name not in taken:
            mapping[column] = name
            taken.add(name)
        else:
            mapping[column] = ""
    return mapping


def check_mapping(target: Target, mapping: dict[str, str]) -> list[str]:
    """Why this column -> field mapping cannot be imported; empty when it can."""
    chosen = [f for f in mapping.values() if f]
    known = {f.name: f for f in target.fields()}
    problems = []
    if not chosen:
        problems.append(_("Map at least one column to a field."))
    for name in sorted({f for f in chosen if chosen.count(f) > 1}):
        label = known[name].label if name in known else name
        problems.append(_("Only one column can go into %(field)s.", field=label))
    return problems + target.check_mapping(set(chosen))


# -- checking rows ------------------------------------------------------------------------------


@dataclasses.dataclass
class Checked:
    """One row's fate: "create", "update", "skip" or "error", and the reasons by column."""

    cells: Sequence[str]
    outcome: str
    errors: dict[str, str]  # column (or "") -> message
    valid: Any = None
    custom: dict[str, Any] | None = None
    existing: Any = None

    @property
    def message(self) -> str:
        return "; ".join(f"{c}: {m}" if c else m for c, m in self.errors.items())


def _row_values(
    columns: Sequence[str], mapping: dict[str, str], cells: Sequence[str]
) -> tuple[dict[str, str], dict[str, str]]:
    values: dict[str, str] = {}
    column_of: dict[str, str] = {}
    for column, cell in zip(columns, cells, strict=False):
        field = mapping.get(column)
        if field:
            values[field] = cell
            column_of[field] = column
    return values, column_of


def validate_row(
    target: Target, columns: Sequence[str], mapping: dict[str, str], cells: Sequence[str]
) -> Checked:
    """Check one row's values ("valid" or "error"); nothing is read or written."""
    if len(cells) > len(columns):
        extra = ", ".join(c for c in cells[len(columns) :] if c)[:200]
        message = _("This row has more cells than the header has columns (%(extra)s).", extra=extra)
        return Checked(cells[: len(columns)], "error", {"": message})
    values, column_of = _row_values(columns, mapping, cells)
    valid, custom, errors = target.validate(values)
    if errors:
        return Checked(cells, "error", {column_of.get(f, ""): m for f, m in errors.items()})
    return Checked(cells, "valid", {}, valid, custom)


def _decide(row: Checked, existing: Any, on_duplicate: str) -> Checked:
    row.existing = existing
    if existing is None:
        row.outcome = "create"
    else:
        row.outcome = "update" if on_duplicate == "update" else "skip"
    return row


def check_row(
    target: Target,
    columns: Sequence[str],
    mapping: dict[str, str],
    cells: Sequence[str],
    on_duplicate: str,
) -> Checked:
    """Validate one row and find the record it duplicates; nothing is written."""
    row = validate_row(target, columns, mapping, cells)
    if row.outcome == "error":
        return row
    return _decide(row, target.find_existing(row.valid), on_duplicate)


def preview(
    target: Target, table: Table, mapping: dict[str, str], on_duplicate: str = "skip"
) -> list[Checked]:
    """The first rows as they would import, with their errors; nothing is written."""
    with db.session.no_autoflush:
        return [
            check_row(target, table.columns, mapping, cells, on_duplicate)
            for cells in table.rows[:PREVIEW_ROWS]
        ]


def save_row(target: Target, row: Checked) -> Checked:
    """Save one checked row in its own savepoint: written whole, or not at all."""
    if row.outcome not in ("create", "update"):
        return row
    try:
        with db.session.begin_nested():
            target.save(row.valid, row.custom, row.existing if row.outcome == "update" else None)
    except RowError as exc:
        row.outcome, row.errors = "error", {"": str(exc.message)}
    except (IntegrityError, DataError) as exc:
        log.info("import row refused by the database: %s", exc.orig)
        row.outcome, row.errors = "error", {"": _("This row conflicts with a saved record.")}
    return row


def save_batch(
    target: Target,
    columns: Sequence[str],
    mapping: dict[str, str],
    batch: Sequence[Sequence[str]],
    on_duplicate: str,
) -> list[Checked]:
    """Check and save a batch of rows; each row ends "create", "update", "skip" or "error".

    Duplicates are looked up for the whole batch at once; new records are added in one
    statement when the target can (in a savepoint: if any of them fails, each row is then
    saved on its own, so the others still go in and the failing one gets its reason). A row
    that repeats an earlier row of the same batch waits until that one is saved.
    """
    rows = [validate_row(target, columns, mapping, cells) for cells in batch]
    valid = [r for r in rows if r.outcome == "valid"]
    with db.session.no_autoflush:
        found = target.find_existing_many([r.valid for r in valid])
    seen: set[Hashable] = set()
    waiting: list[Checked] = []
    for row, existing in zip(valid, found, strict=True):
        key = target.duplicate_key(row.valid)
        if existing is None and key is not None and key in seen:
            waiting.append(row)
            continue
        if key is not None:
            seen.add(key)
        _decide(row, existing, on_duplicate)
    new = [r for r in valid if r.outcome == "create"]
    if new and target.saves_many:
        try:
            with db.session.begin_nested():
                target.save_many(new)
            new = []
        except (RowError, IntegrityError, DataError) as exc:
            log.info("a batch of %d new rows goes in one by one: %s", len(new), exc)
    for row in new:
        save_row(target, row)
    for row in valid:
        if row.outcome == "update":
            save_row(target, row)
    if waiting:  # the rows they repeat are saved now (or failed): look again
        found = target.find_existing_many([r.valid for r in waiting])
        for row, existing in zip(waiting, found, strict=True):
            save_row(target, _decide(row, existing, on_duplicate))
    return rows

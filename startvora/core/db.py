"""Database plumbing: SQLite pragmas, common columns, after-commit callbacks."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import sqlite3
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import DateTime, String, event, func, literal_column, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from startvora.extensions import db

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000


def utcnow() -> dt.datetime:
    """The current time in UTC, timezone-aware."""
    return dt.datetime.now(dt.UTC)


def configure_sqlite(busy_timeout_ms: int) -> None:
    """Set the busy timeout applied by the connect listener."""
    global BUSY_TIMEOUT_MS
    BUSY_TIMEOUT_MS = busy_timeout_ms


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def fold(text: str) -> str:
    """Text as search keys keep it: case-folded, accents removed ("Zoë" -> "zoe")."""
    if text.isascii():  # most names and emails: nothing to decompose
        return " ".join(text.lower().split())
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    if max(decomposed) <= "\uffff":
        return " ".join(decomposed.translate(_bmp_marks()).split())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


@functools.cache
def _bmp_marks() -> dict[int, None]:
    """str.translate's table that drops the combining marks of the Basic Multilingual Plane."""
    return {cp: None for cp in range(0x10000) if unicodedata.combining(chr(cp))}


def folded(expr: Any) -> Any:
    """An SQL expression folded for case-insensitive search and sort, in any language."""
    if db.engine.dialect.name == "sqlite":
        return func.sv_fold(expr)
    return func.lower(expr)


def upsert(table: Any) -> Any:
    """An INSERT that can say what to do ON CONFLICT (SQLite and PostgreSQL write it alike)."""
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def insert_or_ignore(table: Any, **values: Any) -> Any:
    """INSERT that does nothing when the row's key exists (SQLite and PostgreSQL)."""
    return upsert(table).values(**values).on_conflict_do_nothing()


def lock_for_update(obj: Any) -> None:
    """Hold `obj`'s row for the rest of the transaction and read it afresh, before a service
    checks its state and changes it: of two requests changing the same record at once, the
    second waits for the first to commit and then sees its change (a second approval, issue or
    billing is refused instead of counted twice). SQLite takes its write lock with a no-op
    UPDATE; PostgreSQL locks the row with SELECT ... FOR UPDATE."""
    table = type(obj).__table__
    if db.engine.dialect.name == "postgresql":
        db.session.execute(db.select(table.c.id).where(table.c.id == obj.id).with_for_update())
    else:
        db.session.execute(table.update().where(table.c.id == obj.id).values(id=table.c.id))
    db.session.refresh(obj)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # The listener is global; only SQLite connections get the pragmas.
    if not isinstance(dbapi_conn, sqlite3.Connection):
        return
    # SQLite's lower() and LIKE fold ASCII only; searches use Python's full case folding.
    dbapi_conn.create_function("sv_fold", 1, _fold, deterministic=True)
    cur = dbapi_conn.cursor()
    try:
        cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_MS)}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
    finally:
        cur.close()


class UTCDateTime(db.TypeDecorator):
    """Stores aware datetimes as naive UTC and gives them back aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use startvora.core.db.utcnow()")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return value.replace(tzinfo=dt.UTC) if value is not None else None


class DecimalText(db.TypeDecorator):
    """An exact Decimal (a quantity, a rate), stored as text: SQLite has no decimal type, and
    its REAL would turn 0.1 into 0.1000000000000000055."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        number = Decimal(str(value))
        if not number.is_finite():
            raise ValueError(f"not a finite number: {value!r}")
        return format(number.normalize(), "f")

    def process_result_value(self, value: str | None, dialect: Any) -> Decimal | None:
        return Decimal(value) if value is not None else None


class TimestampMixin:
    """created_at / updated_at maintained by the ORM."""

    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


_KEY = "startvora_after_commit"


def after_commit(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Run fn(*args, **kwargs) once the current transaction commits; dropped on rollback."""
    db.session.connection()  # make sure a transaction is open, so a rollback is seen
    db.session.info.setdefault(_KEY, []).append((fn, args, kwargs))


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    callbacks = session.info.pop(_KEY, [])
    # The committing session cannot run SQL any more: each callback gets a fresh app context,
    # and so a session of its own (it commits its own writes, scoped by the ids it was given).
    app = current_app._get_current_object() if has_app_context() else None  # type: ignore[attr-defined]
    for fn, args, kwargs in callbacks:
        try:
            if app is None:
                fn(*args, **kwargs)
                continue
            with app.app_context():
                try:
                    fn(*args, **kwargs)
                finally:
                    db.session.remove()
        except Exception:
            # The data is committed; a failed side effect must not turn the request into a 500.
            log.exception("after-commit callback %s failed", getattr(fn, "__name__", fn))


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_commit(session: Session, _previous: Any) -> None:
    session.info.pop(_KEY, None)


def refresh_statistics() -> None:
    """ANALYZE: the query planner's statistics, so it picks the selective index (an email, a
    company) over the broad one once tables are large. About 0.2 s per 100k rows."""
    db.session.execute(text("ANALYZE"))
    db.session.commit()


_UNSET = object()
SQLITE_MAX_VARIABLES = 32766  # bound values per statement (SQLite 3.32 and later)


def insert_rows(table: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    """Add many rows with few statements (multi-row VALUES), past the ORM: bulk imports.

    Every row names the same columns; other columns take their plain (non-callable) default.
    Values go through the columns' own bind processing (JSON, UTC timestamps), as the ORM's
    would. One statement for hundreds of rows also keeps triggers' work in one piece: a full-
    text index written row by row, statement by statement, costs several times as much.
    """
    if not rows:
        return
    named = set(rows[0])
    dialect = db.session.get_bind().dialect
    columns, defaults = [], {}
    for column in table.columns:
        if column.key in named:
            columns.append(column)
        elif column.default is not None:
            if not column.default.is_scalar:
                raise ValueError(f"insert_rows: give {table.name}.{column.key} a value")
            columns.append(column)
            defaults[column.key] = column.default.arg
    processors = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    keys = [c.key for c in columns]
    names = ", ".join(dialect.identifier_preparer.quote(c.name) for c in columns)
    row_marks = "(" + ", ".join(["?"] * len(columns)) + ")"
    per_statement = max(1, SQLITE_MAX_VARIABLES // len(columns))
    connection = db.session.connection()
    last_in: list[Any] = [_UNSET] * len(columns)
    last_out: list[Any] = [None] * len(columns)
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        values: list[Any] = []
        for row in chunk:
            for i, key in enumerate(keys):
                value = row[key] if key in row else defaults[key]
                process = processors[i]
                if process is None:
                    values.append(value)
                elif value is last_in[i]:  # one timestamp or constant shared by every row
                    values.append(last_out[i])
                else:
                    last_in[i], last_out[i] = value, process(value)
                    values.append(last_out[i])
        marks = ", ".join([row_marks] * len(chunk))
        connection.exec_driver_sql(
            f"INSERT INTO {table.name} ({names}) VALUES {marks}",  # noqa: S608 (names from the model)
            tuple(values),
        )


def next_id(table: Any) -> int:
    """The id after the highest one in use, in any organization: where a bulk insert's own ids
    start (should another writer take them first, the insert fails on the primary key)."""
    sql = f"SELECT coalesce(max(id), 0) + 1 FROM {table.name}"  # noqa: S608 (a model's table)
    return int(db.session.connection().exec_driver_sql(sql).scalar_one())


def any_of(stmt: Any) -> bool:
    """Whether a query gives any row (it stops at the first; criteria kept as in count_of)."""
    probe = stmt.with_only_columns(literal_column("1"), maintain_column_froms=True)
    return db.session.execute(probe.order_by(None).limit(1)).first() is not None


def count_of(stmt: Any) -> int:
    """How many rows a query gives. The count keeps the query's own entity in its FROM (no
    subquery), so the tenancy and trash criteria that the session adds still apply to it."""
    counted = stmt.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)
    return db.session.execute(counted).scalar_one()

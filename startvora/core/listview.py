"""The one list component: search, filters, sort, keyset pagination, empty state, bulk select.

A module describes its list once (a ListSpec) and renders it with templates/macros/list.html.
The state lives in the query string, so every filtered, sorted page is bookmarkable.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from flask import Response, current_app, request, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Select, and_, or_
from sqlalchemy.sql.elements import ColumnElement

from startvora.core.db import any_of, count_of, fold, folded
from startvora.extensions import db

MAX_SEARCH = 200


@dataclasses.dataclass(frozen=True)
class Column:
    key: str
    label: Any
    sort: ColumnElement[Any] | None = None  # a NOT NULL expression, when sortable
    align: str = "start"
    hide_on_phone: bool = False


@dataclasses.dataclass(frozen=True)
class Filter:
    key: str
    label: Any
    choices: Sequence[tuple[str, Any]]
    apply: Callable[[Select[Any], str], Select[Any]]


@dataclasses.dataclass(frozen=True)
class ListSpec:
    """What a list shows. `query` selects the rows' entity; `id` is its unique key column."""

    name: str
    query: Callable[[], Select[Any]]
    id: ColumnElement[Any]
    columns: Sequence[Column]
    search: Sequence[ColumnElement[Any]] = ()
    # Columns that already hold folded text (core.db.fold): matched as they are, faster.
    search_folded: Sequence[ColumnElement[Any]] = ()
    # Or a function that narrows the query to rows matching all the (folded) search words,
    # e.g. through an index.
    search_fn: Callable[[Select[Any], list[str]], Select[Any]] | None = None
    filters: Sequence[Filter] = ()
    default_sort: str = ""
    default_desc: bool = False
    per_page: int = 25
    bulk: bool = False


@dataclasses.dataclass
class ListState:
    q: str = ""
    filters: dict[str, str] = dataclasses.field(default_factory=dict)
    sort: str = ""
    desc: bool = False
    after: str | None = None
    before: str | None = None

    def params(self, **changes: Any) -> dict[str, Any]:
        """Query-string parameters for this state with some changed (None drops one)."""
        params: dict[str, Any] = {"q": self.q or None, "sort": self.sort, "dir": None}
        params["dir"] = "desc" if self.desc else "asc"
        params.update({f"f_{k}": v for k, v in self.filters.items()})
        params.update(changes)
        return {k: v for k, v in params.items() if v not in (None, "")}


@dataclasses.dataclass
class ListPage:
    spec: ListSpec
    state: ListState
    rows: list[Any]
    total: int
    next_cursor: str | None
    prev_cursor: str | None
    unfiltered_empty: bool

    @property
    def is_filtered(self) -> bool:
        return bool(self.state.q or self.state.filters)

    def url(self, **changes: Any) -> str:
        return url_for(
            request.endpoint or "", **(request.view_args or {}), **self.state.params(**changes)
        )

    def sort_url(self, column: Column) -> str:
        desc = not self.state.desc if self.state.sort == column.key else False
        return self.url(sort=column.key, dir="desc" if desc else "asc")

    def next_url(self) -> str | None:
        return self.url(after=self.next_cursor) if self.next_cursor else None

    def prev_url(self) -> str | None:
        return self.url(before=self.prev_cursor) if self.prev_cursor else None

    def first_url(self) -> str:
        return self.url()

    def clear_url(self) -> str:
        return url_for(request.endpoint or "", **(request.view_args or {}))

    @property
    def is_first_page(self) -> bool:
        return not (self.state.after or self.state.before) or self.prev_cursor is None


def _signer(spec: ListSpec, state: ListState) -> URLSafeSerializer:
    # Signed per list and sort key: a cursor is only ever read back by the query that made it,
    # so a tampered or mismatched one is refused instead of reaching the database.
    return URLSafeSerializer(current_app.secret_key, salt=f"list:{spec.name}:{state.sort}")


def _encode(signer: URLSafeSerializer, value: Any, row_id: Any) -> str:
    if isinstance(value, dt.datetime):
        value = {"dt": value.isoformat()}
    elif isinstance(value, dt.date):
        value = {"d": value.isoformat()}
    return signer.dumps([value, row_id])


def _decode(signer: URLSafeSerializer, cursor: str) -> tuple[Any, Any]:
    """A cursor back to (sort value, id); ValueError when it was not made here."""
    try:
        value, row_id = signer.loads(cursor)
    except (BadSignature, ValueError, TypeError):
        raise ValueError("bad cursor") from None
    if isinstance(value, dict) and "dt" in value:
        value = dt.datetime.fromisoformat(value["dt"])
    elif isinstance(value, dict):
        value = dt.date.fromisoformat(value["d"])
    return value, row_id


def read_state(spec: ListSpec, args: Mapping[str, str]) -> ListState:
    """Parse the query string; anything unknown or malformed falls back to the default."""
    sortable = {c.key for c in spec.columns if c.sort is not None}
    sort = args.get("sort", "")
    if sort not in sortable:
        sort, desc = spec.default_sort, spec.default_desc
    else:
        desc = args.get("dir") == "desc"
    filters = {}
    for f in spec.filters:
        value = args.get(f"f_{f.key}", "")
        if value and value in {str(v) for v, _ in f.choices}:
            filters[f.key] = value
    return ListState(
        q=" ".join(args.get("q", "").split())[:MAX_SEARCH],
        filters=filters,
        sort=sort,
        desc=desc,
        after=args.get("after") or None,
        before=args.get("before") or None,
    )


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def filtered(spec: ListSpec, state: ListState) -> Select[Any]:
    """The list's query with the state's filters and search applied (no order, no page)."""
    stmt = spec.query()
    by_key = {f.key: f for f in spec.filters}
    for key, value in state.filters.items():
        stmt = by_key[key].apply(stmt, value)
    if spec.search_fn is not None and state.q.split():
        return spec.search_fn(stmt, [fold(word) for word in state.q.split()])
    for word in state.q.split():
        pattern = f"%{_escape_like(word.casefold())}%"
        plain = f"%{_escape_like(fold(word))}%"
        stmt = stmt.where(
            or_(
                *(folded(col).like(pattern, escape="\\") for col in spec.search),
                *(col.like(plain, escape="\\") for col in spec.search_folded),
            )
        )
    return stmt


def run(spec: ListSpec, args: Mapping[str, str] | None = None) -> ListPage:
    """Run the list for the request's query string and give one page of rows."""
    state = read_state(spec, request.args if args is None else args)
    stmt = filtered(spec, state)
    sort_col = next(c.sort for c in spec.columns if c.key == state.sort)
    assert sort_col is not None

    signer = _signer(spec, state)
    backwards = False
    cursor = None
    try:
        if state.before:
            cursor, backwards = _decode(signer, state.before), True
        elif state.after:
            cursor = _decode(signer, state.after)
    except ValueError:
        state.after = state.before = None

    # Going backwards walks the reverse order, then flips the page.
    ascending = state.desc == backwards
    if cursor is not None:
        value, row_id = cursor
        if ascending:
            stmt = stmt.where(or_(sort_col > value, and_(sort_col == value, spec.id > row_id)))
        else:
            stmt = stmt.where(or_(sort_col < value, and_(sort_col == value, spec.id < row_id)))
    order = (sort_col.asc(), spec.id.asc()) if ascending else (sort_col.desc(), spec.id.desc())
    # The page's keys first, from a narrow query: sorting many matches then moves two values
    # per row, not whole rows with their joined owners and companies. Then the page's rows.
    keys_stmt = stmt.with_only_columns(
        sort_col.label("_sort"), spec.id.label("_id"), maintain_column_froms=True
    )
    result = db.session.execute(keys_stmt.order_by(*order).limit(spec.per_page + 1)).all()
    more = len(result) > spec.per_page
    result = result[: spec.per_page]
    if backwards:
        result.reverse()
    by_id = {}
    if result:
        loaded = db.session.execute(spec.query().where(spec.id.in_([r._id for r in result])))
        by_id = {getattr(row[0], spec.id.key): row[0] for row in loaded.unique()}

    def cursor_of(row: Any) -> str:
        return _encode(signer, row._sort, row._id)

    next_cursor = prev_cursor = None
    if result:
        if backwards:
            next_cursor = cursor_of(result[-1])
            prev_cursor = cursor_of(result[0]) if more else None
        else:
            next_cursor = cursor_of(result[-1]) if more else None
            prev_cursor = cursor_of(result[0]) if cursor is not None else None

    total = count_of(filtered(spec, state))
    unfiltered_empty = total == 0 and (not (state.q or state.filters) or not any_of(spec.query()))
    return ListPage(
        spec=spec,
        state=state,
        rows=[by_id[row._id] for row in result if row._id in by_id],
        total=total,
        next_cursor=next_cursor,
        prev_cursor=prev_cursor,
        unfiltered_empty=unfiltered_empty,
    )


def selected_ids(form: Mapping[str, Any]) -> list[int]:
    """Ids ticked in a bulk-select form; non-numbers are ignored."""
    getter = getattr(form, "getlist", None)
    values = getter("ids") if getter else form.get("ids", [])
    # isdigit() alone accepts "²"; ids are plain ASCII digits that fit in 64 bits.
    return sorted({int(v) for v in map(str, values) if v.isascii() and v.isdigit() and len(v) < 19})


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A leading =, +, - or @ would run as a formula in a spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_response(filename: str, header: Sequence[Any], rows: Any) -> Response:
    """A CSV download, safe to open in a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_cell(h) for h in header])
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )

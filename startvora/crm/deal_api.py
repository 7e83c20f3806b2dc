"""Deals and pipelines in the API: list, read, create, change, move and delete deals.

`core.api.endpoint` declares read-only GET endpoints; the writes here follow the same rules
(token, permission, organization scope, problem documents) through `_write`, and are listed in
the OpenAPI document the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import g, request
from flask_babel import gettext as _
from pydantic import BaseModel
from sqlalchemy import func, select

from startvora.core import customfields as cf
from startvora.core import money
from startvora.core.api import (
    ApiError,
    Invalid,
    endpoint,
    int_arg,
    json_body,
    write_endpoint,
)
from startvora.core.db import count_of, fold
from startvora.core.forms import FORM_ERROR, parse
from startvora.crm import deals
from startvora.crm.deal_schemas import (
    DealIn,
    DealOut,
    DealPage,
    MoveIn,
    PipelineList,
    PipelineOut,
)
from startvora.crm.models import Deal, Stage
from startvora.crm.services import CrmError
from startvora.extensions import db

MAX_LIMIT = 100
TAG = "Deals"
SORTS = {
    "title": Deal.search_name,
    "value": Deal.value_minor,
    "expected_close": func.coalesce(Deal.expected_close, "9999-12-31"),
    "created_at": Deal.created_at,
    "updated_at": Deal.updated_at,
    "rank": Deal.rank,
}
DEAL_KEYS = (
    "title",
    "pipeline_id",
    "stage_id",
    "value",
    "currency",
    "expected_close",
    "owner_id",
    "contact_id",
    "company_id",
    "tags",
)


class DealDeleted(BaseModel):
    id: int
    deleted: bool


def _write(
    method: str,
    path: str,
    *,
    summary: str,
    response: type[BaseModel],
    status: int = 200,
    body: type[BaseModel] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A writing endpoint of the Deals section: crm:edit, or crm:delete for DELETE."""
    permission = "crm:delete" if method == "DELETE" else "crm:edit"
    return write_endpoint(
        method, path, summary=summary, response=response, permission=permission, tag=TAG,
        body=body, status=status,
    )  # fmt: skip


def _deal_or_404(deal_id: int) -> Deal:
    deal = db.session.get(Deal, deal_id)
    if deal is None or deal.org_id != g.org.id or deal.deleted_at is not None:
        raise ApiError(404, "No such deal.")
    return deal


def _context() -> dict[str, str]:
    return {"currency": g.org.currency, "locale": "en"}


def _custom(body: dict[str, Any], deal: Deal | None) -> dict[str, Any] | None:
    """Custom values from the body's `custom` object, checked against the definitions."""
    if "custom" not in body:
        return None if deal is not None else {}
    raw = body["custom"]
    if not isinstance(raw, dict):
        raise Invalid({"custom": "Send custom values as an object."})
    fields = cf.fields_for(g.org.id, "deal")
    unknown = set(raw) - {f.key for f in fields}
    if unknown:
        raise Invalid({"custom": f"Unknown custom fields: {', '.join(sorted(unknown))}."})
    values, errors = cf.parse_values(fields, raw, prefix="", partial=deal is not None)
    if errors:
        raise Invalid({f"custom.{k}": v for k, v in errors.items()})
    return {**(deal.custom or {}), **values} if deal is not None else values


def _save(body: dict[str, Any], deal: Deal | None) -> Deal:
    data, errors = parse(DealIn, {k: body[k] for k in DEAL_KEYS if k in body}, _context())
    if data is None:
        raise Invalid(dict(errors))
    custom = _custom(body, deal)
    try:
        return deals.save_deal(g.org.id, g.api_user.id, data, custom, deal)
    except CrmError as exc:
        raise Invalid({exc.field or FORM_ERROR: str(exc.message)}) from None


@endpoint(
    "/deals",
    summary="Deals, filtered, sorted and paged (with the total count)",
    response=DealPage,
    permission="crm:view",
    tag=TAG,
    query=(
        ("pipeline_id", "integer", "only this pipeline's deals"),
        ("stage_id", "integer", "only this stage's deals"),
        ("owner_id", "integer", "only this member's deals"),
        ("status", "string", "open, won or lost"),
        ("q", "string", "words in the title"),
        (
            "sort",
            "string",
            "title, value, expected_close, created_at, updated_at or rank; "
            "a leading - sorts descending (default -updated_at)",
        ),
        ("limit", "integer", "1 to 100, default 50"),
        ("offset", "integer", "deals to skip, default 0"),
    ),
)
def deals_list() -> Any:
    """One page of deals matching the filters."""
    # Explicit, not only the session hooks: the total is counted over a subquery.
    stmt = (
        select(Deal)
        .join(Stage, Deal.stage_id == Stage.id)
        .where(Deal.org_id == g.org.id, Deal.deleted_at.is_(None))
    )
    for name, column in (
        ("pipeline_id", Deal.pipeline_id),
        ("stage_id", Deal.stage_id),
        ("owner_id", Deal.owner_id),
    ):
        value = int_arg(name, None)
        if value is not None:
            stmt = stmt.where(column == value)
    status = request.args.get("status", "")
    if status:
        if status not in ("open", "won", "lost"):
            raise ApiError(400, "`status` must be open, won or lost.")
        stmt = stmt.where(Stage.kind == status)
    for word in fold(request.args.get("q", ""))[:200].split():
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(Deal.search_name.like(f"%{escaped}%", escape="\\"))
    sort = request.args.get("sort", "-updated_at")
    column = SORTS.get(sort.lstrip("-"))
    if column is None:
        raise ApiError(400, f"`sort` must be one of {', '.join(SORTS)}, optionally with a -.")
    order = (column.desc(), Deal.id.desc()) if sort.startswith("-") else (column, Deal.id)
    limit = int_arg("limit", 50, 1, MAX_LIMIT) or 50
    offset = int_arg("offset", 0) or 0
    total = count_of(stmt)
    rows = db.session.execute(stmt.order_by(*order).limit(limit).offset(offset)).scalars()
    items = [DealOut.of(d) for d in rows]
    more = offset + len(items) < total
    return DealPage(
        items=items,
        total=total,
        limit=limit,
        offset=offset,
        next_offset=offset + len(items) if more else None,
    )


@endpoint(
    "/deals/<int:deal_id>", summary="One deal", response=DealOut, permission="crm:view", tag=TAG
)
def deals_get(deal_id: int) -> Any:
    """A deal by id."""
    return DealOut.of(_deal_or_404(deal_id))


@_write(
    "POST",
    "/deals",
    summary="Create a deal (body: a deal's fields)",
    response=DealOut,
    status=201,
    body=DealIn,
)
def deals_create() -> Any:
    """A new deal, first in its stage."""
    return DealOut.of(_save(json_body(), None))


@_write(
    "PATCH",
    "/deals/<int:deal_id>",
    summary="Change a deal (body: the fields to change)",
    response=DealOut,
    body=DealIn,
)
def deals_update(deal_id: int) -> Any:
    """Change the fields sent; the others stay as they are."""
    deal = _deal_or_404(deal_id)
    body = json_body()
    current = {
        "title": deal.title,
        "pipeline_id": deal.pipeline_id,
        "stage_id": deal.stage_id,
        "value": str(money.from_minor(deal.value_minor, deal.currency)),
        "currency": deal.currency,
        "expected_close": deal.expected_close,
        "owner_id": deal.owner_id,
        "contact_id": deal.contact_id,
        "company_id": deal.company_id,
        "tags": list(deal.tags or []),
    }
    if "stage_id" in body and "pipeline_id" not in body:
        current.pop("pipeline_id")  # a stage of another pipeline moves the deal there
    return DealOut.of(_save({**current, **body}, deal))


@_write(
    "POST",
    "/deals/<int:deal_id>/move",
    summary="Move a deal to a stage (body: stage_id, before_id, lost_reason)",
    response=DealOut,
    body=MoveIn,
)
def deals_move(deal_id: int) -> Any:
    """Put a deal in a stage of its pipeline, before another deal or at the end."""
    deal = _deal_or_404(deal_id)
    data, errors = parse(MoveIn, json_body())
    if data is None:
        raise Invalid(dict(errors))
    stage = db.session.get(Stage, data.stage_id)
    if stage is None or stage.org_id != g.org.id:
        raise Invalid({"stage_id": _("Choose a stage of the deal's pipeline.")})
    try:
        deals.move_deal(
            g.org.id,
            g.api_user.id,
            deal,
            stage,
            data.before_id,
            place=data.place,
            lost_reason=data.lost_reason,
        )
    except CrmError as exc:
        raise Invalid({exc.field or FORM_ERROR: str(exc.message)}) from None
    return DealOut.of(deal)


@_write("DELETE", "/deals/<int:deal_id>", summary="Move a deal to the trash", response=DealDeleted)
def deals_delete(deal_id: int) -> Any:
    """The deal goes to the trash, where it can be restored."""
    deal = _deal_or_404(deal_id)
    deals.trash_deal(g.org.id, g.api_user.id, deal)
    return DealDeleted(id=deal.id, deleted=True)


@endpoint(
    "/pipelines",
    summary="Pipelines with their stages, in order",
    response=PipelineList,
    permission="crm:view",
    tag=TAG,
)
def pipelines_list() -> Any:
    """Every pipeline of the organization, each with its stages."""
    deals.ensure_default_pipeline(g.org.id)  # as the board does on first use
    items = [PipelineOut.model_validate(p) for p in deals.pipelines(g.org.id)]
    return PipelineList(items=items, total=len(items))

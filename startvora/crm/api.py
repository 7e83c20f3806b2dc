"""Contacts, companies, leads and activities in the API: list (filter, sort, page, total),
read, create, change (PATCH: only the fields sent) and delete to the trash."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import g, request
from pydantic import BaseModel

from startvora.core import customfields as cf
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
from startvora.crm import activities, leads, schemas, services
from startvora.crm.models import Activity, Company, Contact, Lead
from startvora.crm.search_index import searcher
from startvora.extensions import db

MAX_LIMIT = 200
QUERY = (
    ("q", "string", "search words (name, email)"),
    ("owner_id", "integer", "only this owner's"),
    ("tag", "string", "only records with this tag"),
    ("sort", "string", "name, created_at or updated_at; '-' first for descending"),
    ("limit", "integer", "1 to 200, default 50"),
    ("offset", "integer", "rows to skip, default 0"),
)


class ContactPage(BaseModel):
    items: list[schemas.ContactOut]
    total: int
    limit: int
    offset: int


class CompanyPage(BaseModel):
    items: list[schemas.CompanyOut]
    total: int
    limit: int
    offset: int


class LeadPage(BaseModel):
    items: list[schemas.LeadOut]
    total: int
    limit: int
    offset: int


class Deleted(BaseModel):
    id: int
    deleted: bool


class ContactBody(schemas.ContactIn):
    custom: dict[str, Any] = {}


class CompanyBody(schemas.CompanyIn):
    custom: dict[str, Any] = {}


class ActivityOut(BaseModel):
    id: int
    kind: str
    subject: str
    body: str
    happened_at: dt.datetime
    due_at: dt.datetime | None
    done_at: dt.datetime | None
    owner_id: int | None
    contact_id: int | None
    company_id: int | None
    deal_id: int | None
    lead_id: int | None

    model_config = {"from_attributes": True}


class ActivityPage(BaseModel):
    items: list[ActivityOut]
    total: int
    limit: int
    offset: int


class ActivityBody(BaseModel):
    kind: str
    subject: str
    body: str = ""
    due_at: dt.datetime | None = None
    remind_at: dt.datetime | None = None
    contact_id: int | None = None
    company_id: int | None = None
    deal_id: int | None = None
    lead_id: int | None = None


def _page(model: Any, query: Any, sorts: dict[str, Any]) -> dict[str, Any]:
    """Filter by the common parameters, sort, count, and cut one page."""
    q = request.args.get("q", "")[:200]
    if hasattr(model, "email_key"):
        query = searcher(model)(query, [fold(word) for word in q.split()])
    else:
        for word in q.split():
            word = fold(word).replace("%", "").replace("_", "")
            query = query.where(model.search_name.like(f"%{word}%"))
    owner_id = int_arg("owner_id", None)
    if owner_id is not None:
        query = query.where(model.owner_id == owner_id)
    tag = request.args.get("tag", "")
    if tag:
        table = model.__tablename__
        query = query.where(
            db.text(
                f"EXISTS (SELECT 1 FROM json_each({table}.tags) WHERE value = :tag)"  # noqa: S608
            ).bindparams(tag=tag)
        )
    sort = request.args.get("sort", "name")
    column = sorts.get(sort.lstrip("-"))
    if column is None:
        raise ApiError(400, f"`sort` must be one of: {', '.join(sorts)} (with '-' to reverse).")
    order = (column.desc(), model.id.desc()) if sort.startswith("-") else (column, model.id)
    limit = int_arg("limit", 50, 1, MAX_LIMIT)
    offset = int_arg("offset", 0, 0, 10**9)
    total = count_of(query)
    items = list(db.session.execute(query.order_by(*order).limit(limit).offset(offset)).scalars())
    return {"items": items, "total": total, "limit": limit, "offset": offset}


def _get(model: Any, record_id: int, what: str) -> Any:
    obj = db.session.get(model, record_id)
    if obj is None or obj.org_id != g.org.id:
        raise ApiError(404, f"No such {what}.")
    return obj


def _custom(entity: str, raw: Any, current: dict[str, Any] | None) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise Invalid({"custom": "Send custom values as an object."})
    fields = cf.fields_for(g.org.id, entity)
    unknown = set(raw) - {f.key for f in fields}
    if unknown:
        raise Invalid({"custom": f"Unknown custom fields: {', '.join(sorted(unknown))}."})
    values, errors = cf.parse_values(fields, raw, prefix="", partial=current is not None)
    if errors:
        raise Invalid({f"custom.{k}": v for k, v in errors.items()})
    return {**(current or {}), **values}


def _save_party(kind: str, obj: Any | None) -> Any:
    """Create (obj None) or change a contact or company from the JSON body."""
    body = json_body()
    is_contact = kind == "contact"
    schema = schemas.ContactIn if is_contact else schemas.CompanyIn
    fields = services.CONTACT_FIELDS if is_contact else services.COMPANY_FIELDS
    values = {name: getattr(obj, name) for name in fields} if obj is not None else {}
    values.update({k: v for k, v in body.items() if k in fields})
    data, errors = parse(schema, values)
    try:
        custom = _custom(kind, body.get("custom", {}), obj.custom if obj is not None else None)
    except Invalid as exc:  # report the fields' and the custom values' problems together
        raise Invalid({**errors, **exc.errors}) from None
    if data is None:
        raise Invalid(dict(errors))
    saver = services.save_contact if is_contact else services.save_company
    try:
        return saver(g.org.id, g.api_user.id, data, custom, obj)
    except services.CrmError as exc:
        raise Invalid({exc.field or FORM_ERROR: str(exc.message)}) from None


# -- contacts ------------------------------------------------------------------------------------


@endpoint(
    "/contacts",
    summary="Contacts: search, filter, sort, page (with the total)",
    response=ContactPage,
    permission="crm:view",
    tag="Contacts",
    query=(*QUERY, ("company_id", "integer", "only the people of this company")),
)
def contacts_list() -> Any:
    """One page of contacts."""
    query = db.select(Contact)
    company_id = int_arg("company_id", None)
    if company_id is not None:
        query = query.where(Contact.company_id == company_id)
    return _page(
        Contact,
        query,
        {
            "name": Contact.search_name,
            "created_at": Contact.created_at,
            "updated_at": Contact.updated_at,
        },
    )


@endpoint(
    "/contacts/<int:contact_id>",
    summary="One contact",
    response=schemas.ContactOut,
    permission="crm:view",
    tag="Contacts",
)
def contacts_get(contact_id: int) -> Any:
    """A contact by id."""
    return _get(Contact, contact_id, "contact")


@write_endpoint(
    "POST", "/contacts", summary="Add a contact", response=schemas.ContactOut,
    permission="crm:edit", tag="Contacts", body=ContactBody, status=201,
)  # fmt: skip
def contacts_create() -> Any:
    """Add a contact; custom values go in `custom`."""
    return _save_party("contact", None)


@write_endpoint(
    "PATCH", "/contacts/<int:contact_id>", summary="Change a contact (only the fields sent)",
    response=schemas.ContactOut, permission="crm:edit", tag="Contacts", body=ContactBody,
)  # fmt: skip
def contacts_update(contact_id: int) -> Any:
    """Change the fields sent; the others stay."""
    return _save_party("contact", _get(Contact, contact_id, "contact"))


@write_endpoint(
    "DELETE", "/contacts/<int:contact_id>", summary="Move a contact to the trash",
    response=Deleted, permission="crm:delete", tag="Contacts",
)  # fmt: skip
def contacts_delete(contact_id: int) -> Any:
    """Move to the trash (restore it from the Trash page)."""
    contact = _get(Contact, contact_id, "contact")
    services.trash(g.org.id, g.api_user.id, contact)
    return {"id": contact.id, "deleted": True}


# -- companies -----------------------------------------------------------------------------------


@endpoint(
    "/companies",
    summary="Companies: search, filter, sort, page (with the total)",
    response=CompanyPage,
    permission="crm:view",
    tag="Companies",
    query=QUERY,
)
def companies_list() -> Any:
    """One page of companies."""
    return _page(
        Company,
        db.select(Company),
        {
            "name": Company.search_name,
            "created_at": Company.created_at,
            "updated_at": Company.updated_at,
        },
    )


@endpoint(
    "/companies/<int:company_id>",
    summary="One company",
    response=schemas.CompanyOut,
    permission="crm:view",
    tag="Companies",
)
def companies_get(company_id: int) -> Any:
    """A company by id."""
    return _get(Company, company_id, "company")


@write_endpoint(
    "POST", "/companies", summary="Add a company", response=schemas.CompanyOut,
    permission="crm:edit", tag="Companies", body=CompanyBody, status=201,
)  # fmt: skip
def companies_create() -> Any:
    """Add a company."""
    return _save_party("company", None)


@write_endpoint(
    "PATCH", "/companies/<int:company_id>", summary="Change a company (only the fields sent)",
    response=schemas.CompanyOut, permission="crm:edit", tag="Companies", body=CompanyBody,
)  # fmt: skip
def companies_update(company_id: int) -> Any:
    """Change the fields sent; the others stay."""
    return _save_party("company", _get(Company, company_id, "company"))


@write_endpoint(
    "DELETE", "/companies/<int:company_id>", summary="Move a company to the trash",
    response=Deleted, permission="crm:delete", tag="Companies",
)  # fmt: skip
def companies_delete(company_id: int) -> Any:
    """Move to the trash."""
    company = _get(Company, company_id, "company")
    services.trash(g.org.id, g.api_user.id, company)
    return {"id": company.id, "deleted": True}


# -- leads ---------------------------------------------------------------------------------------


@endpoint(
    "/leads",
    summary="Leads: search, filter, sort, page (with the total)",
    response=LeadPage,
    permission="crm:view",
    tag="Leads",
    query=(*QUERY, ("status", "string", "new, qualified, disqualified or converted")),
)
def leads_list() -> Any:
    """One page of leads."""
    query = db.select(Lead)
    status = request.args.get("status", "")
    if status:
        query = query.where(Lead.status == status)
    return _page(
        Lead,
        query,
        {"name": Lead.search_name, "created_at": Lead.created_at, "updated_at": Lead.updated_at},
    )


@endpoint(
    "/leads/<int:lead_id>", summary="One lead", response=schemas.LeadOut,
    permission="crm:view", tag="Leads",
)  # fmt: skip
def leads_get(lead_id: int) -> Any:
    """A lead by id."""
    return _get(Lead, lead_id, "lead")


@write_endpoint(
    "POST", "/leads", summary="Capture a lead (from a web form, another system...)",
    response=schemas.LeadOut, permission="crm:edit", tag="Leads", body=schemas.LeadIn, status=201,
)  # fmt: skip
def leads_create() -> Any:
    """Capture a lead; `value` is a decimal string in `currency` (default: the base one)."""
    data, errors = parse(schemas.LeadIn, json_body())
    if data is None:
        raise Invalid(dict(errors))
    try:
        return leads.save_lead(g.org.id, g.api_user.id, data, g.org.currency)
    except (services.CrmError, ValueError) as exc:
        raise Invalid({getattr(exc, "field", "") or FORM_ERROR: str(exc)}) from None


@write_endpoint(
    "POST", "/leads/<int:lead_id>/convert",
    summary="Convert a lead into contact, company and deal (existing ones are reused)",
    response=schemas.LeadOut, permission="crm:edit", tag="Leads",
)  # fmt: skip
def leads_convert(lead_id: int) -> Any:
    """Convert in one step; send {"make_deal": false} to open no deal."""
    lead = _get(Lead, lead_id, "lead")
    body = request.get_json(silent=True) or {}
    try:
        leads.convert(
            g.org.id, g.api_user.id, lead, make_deal=body.get("make_deal", True) is not False
        )
    except services.CrmError as exc:
        raise Invalid({FORM_ERROR: str(exc.message)}) from None
    return lead


# -- activities ----------------------------------------------------------------------------------


@endpoint(
    "/activities",
    summary="Activities, newest first, optionally of one record",
    response=ActivityPage,
    permission="crm:view",
    tag="Activities",
    query=(
        ("contact_id", "integer", "only this contact's"),
        ("company_id", "integer", "only this company's (its people's too)"),
        ("deal_id", "integer", "only this deal's"),
        ("lead_id", "integer", "only this lead's"),
        ("open", "boolean", "true: only to-dos not done"),
        ("limit", "integer", "1 to 200, default 50"),
        ("offset", "integer", "rows to skip"),
    ),
)
def activities_list() -> Any:
    """One page of activities."""
    query = db.select(Activity)
    for target in activities.TARGETS:
        value = int_arg(f"{target}_id", None)
        if value is not None:
            query = query.where(getattr(Activity, f"{target}_id") == value)
    if request.args.get("open") == "true":
        query = query.where(Activity.done_at.is_(None), Activity.due_at.is_not(None))
    limit = int_arg("limit", 50, 1, MAX_LIMIT)
    offset = int_arg("offset", 0, 0, 10**9)
    total = count_of(query)
    items = list(
        db.session.execute(
            query.order_by(Activity.happened_at.desc(), Activity.id.desc())
            .limit(limit)
            .offset(offset)
        ).scalars()
    )
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@write_endpoint(
    "POST", "/activities", summary="Log an activity on a contact, company, deal or lead",
    response=ActivityOut, permission="crm:edit", tag="Activities", body=ActivityBody, status=201,
)  # fmt: skip
def activities_create() -> Any:
    """Log a call, meeting, email, note or to-do; give exactly one target id."""
    from pydantic import ValidationError

    try:
        data = ActivityBody.model_validate(json_body())
    except ValidationError as exc:
        raise Invalid(
            {".".join(map(str, e["loc"])) or FORM_ERROR: e["msg"] for e in exc.errors()}
        ) from None
    if data.kind not in activities.KIND_LABELS:
        raise Invalid({"kind": f"One of: {', '.join(activities.KIND_LABELS)}."})
    if not data.subject.strip() or len(data.subject) > 200:
        raise Invalid({"subject": "Give a subject of 1 to 200 characters."})
    targets = [
        (k, getattr(data, f"{k}_id")) for k in activities.TARGETS if getattr(data, f"{k}_id")
    ]
    if len(targets) != 1:
        raise Invalid({FORM_ERROR: "Give exactly one of contact_id, company_id, deal_id, lead_id."})
    kind, target_id = targets[0]
    target = _get(activities.TARGETS[kind], target_id, kind)
    due = data.due_at.astimezone(dt.UTC) if data.due_at and data.due_at.tzinfo else None
    if data.due_at and due is None:
        raise Invalid({"due_at": "Give a time zone, e.g. 2026-12-01T09:00:00Z."})
    remind = data.remind_at.astimezone(dt.UTC) if data.remind_at and data.remind_at.tzinfo else None
    return activities.log_activity(
        g.org.id, g.api_user.id, kind, target, data.kind, data.subject.strip(), data.body,
        due_at=due, remind_at=remind,
    )  # fmt: skip

"""Invoices, quotes and credit notes in the API (list with the total,
read, draft, change a draft, issue, void, pay, credit, delete a draft).

Amounts are sent as decimal strings in the document's currency ("1250.50") and answered both
ways: `total` ("1250.50") and `total_minor` (125050, the currency's minor units).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from flask import g, request
from pydantic import BaseModel, Field

from startvora.core import files, fts, money
from startvora.core.api import ApiError, Invalid, endpoint, int_arg, json_body, write_endpoint
from startvora.core.db import count_of, fold
from startvora.core.forms import FORM_ERROR, parse
from startvora.extensions import db
from startvora.finance import services
from startvora.finance.api.common import MAX_LIMIT, Deleted, amount, get_own, parse_context, refused
from startvora.finance.models import Invoice
from startvora.finance.schemas import InvoiceIn, PaymentIn

# -- answers -----------------------------------------------------------------------------------


class LineOut(BaseModel):
    id: int
    product_id: int | None
    description: str
    quantity: Decimal
    unit: str
    unit_price: str
    discount: Decimal
    tax_ids: list[int]
    net: str
    total: str
    expense_id: int | None  # the expense this line bills to the customer


class TaxOut(BaseModel):
    name: str
    rate: Decimal
    base: str
    amount: str


class PaymentOut(BaseModel):
    id: int
    paid_on: dt.date
    amount: str
    method: str
    reference: str


class AttachmentOut(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int


class InvoiceOut(BaseModel):
    id: int
    kind: str
    number: str | None
    status: str
    state: str
    company_id: int | None
    contact_id: int | None
    customer_name: str
    currency: str
    exchange_rate: Decimal
    issue_date: dt.date | None
    due_date: dt.date | None
    prices_include_tax: bool
    subtotal: str
    tax: str
    total: str
    total_minor: int
    paid: str
    credited: str
    balance: str
    balance_minor: int
    credit_for_id: int | None
    notes: str
    footer: str
    tax_exemption: str  # why no tax is charged, for an exempt customer
    lines: list[LineOut]
    taxes: list[TaxOut]
    payments: list[PaymentOut]
    attachments: list[AttachmentOut]
    issued_at: dt.datetime | None
    sent_at: dt.datetime | None
    viewed_at: dt.datetime | None


class InvoiceSummary(BaseModel):
    id: int
    kind: str
    number: str | None
    state: str
    customer_name: str
    currency: str
    issue_date: dt.date | None
    due_date: dt.date | None
    total: str
    balance: str


class InvoicePage(BaseModel):
    items: list[InvoiceSummary]
    total: int
    limit: int
    offset: int


# -- bodies (documented in the OpenAPI document; read with the forms' schemas) -------------------


class LineBody(BaseModel):
    product_id: int | None = None
    description: str = ""
    quantity: str = "1"
    unit: str = ""
    unit_price: str = Field("0", description="decimal, in the invoice's currency")
    discount: str = Field("0", description="percent")
    tax_ids: list[int] = []
    expense_id: int | None = Field(None, description="an approved billable expense it bills")


class InvoiceBody(BaseModel):
    company_id: int | None = None
    contact_id: int | None = None
    currency: str = Field("", description="ISO 4217; the organization's when left out")
    exchange_rate: str = ""
    issue_date: dt.date | None = None
    due_date: dt.date | None = None
    prices_include_tax: bool = False
    notes: str = ""
    footer: str = ""
    lines: list[LineBody] = []


class PaymentBody(BaseModel):
    paid_on: dt.date
    amount: str = Field(description="decimal, in the invoice's currency")
    method: str = "bank_transfer"
    reference: str = ""
    note: str = ""
    overpayment: str = Field("", description="'credit' keeps more than the balance as credit")


class VoidBody(BaseModel):
    reason: str


class CreditBody(BaseModel):
    lines: dict[str, str] = Field(description="invoice line id -> quantity to credit")
    reason: str


# -- helpers ----------------------------------------------------------------------------------


def _invoice_out(invoice: Invoice) -> dict[str, Any]:
    cur = invoice.currency
    return {
        **{
            name: getattr(invoice, name)
            for name in InvoiceOut.model_fields
            if hasattr(invoice, name)
        },
        "state": invoice.state(services.today_of(g.org)),
        "subtotal": amount(invoice.subtotal_minor, cur),
        "tax": amount(invoice.tax_minor, cur),
        "total": amount(invoice.total_minor, cur),
        "paid": amount(invoice.paid_minor, cur),
        "credited": amount(invoice.credited_minor, cur),
        "balance": amount(invoice.balance_minor, cur),
        "balance_minor": invoice.balance_minor,
        "lines": [
            {
                "id": line.id,
                "product_id": line.product_id,
                "description": line.description,
                "quantity": line.quantity,
                "unit": line.unit,
                "unit_price": amount(line.unit_price_minor, cur),
                "discount": line.discount,
                "tax_ids": line.tax_ids,
                "net": amount(line.net_minor, cur),
                "total": amount(line.total_minor, cur),
                "expense_id": line.expense_id,
            }
            for line in invoice.lines
        ],
        "taxes": [
            {
                "name": t.name,
                "rate": t.rate,
                "base": amount(t.base_minor, cur),
                "amount": amount(t.amount_minor, cur),
            }
            for t in invoice.taxes
        ],
        "payments": [
            {
                "id": p.id,
                "paid_on": p.paid_on,
                "amount": amount(p.amount_minor, cur),
                "method": p.method,
                "reference": p.reference,
            }
            for p in invoice.payments
        ],
        "attachments": [
            {"id": f.id, "filename": f.filename, "content_type": f.content_type, "size": f.size}
            for f in files.attached_to("invoice", invoice.id)
        ],
    }


# -- invoices ---------------------------------------------------------------------------------


@endpoint(
    "/invoices",
    summary="Invoices and credit notes: search, filter, sort, page (with the total)",
    response=InvoicePage, permission="finance:view", tag="Finance",
    query=(
        ("q", "string", "search words (number, customer)"),
        ("state", "string", "draft, unpaid, overdue, paid or void"),
        ("kind", "string", "invoice or credit_note"),
        ("company_id", "integer", "only this company's"),
        ("contact_id", "integer", "only this contact's"),
        ("sort", "string", "date, total or customer; '-' first for descending (default -date)"),
        ("limit", "integer", "1 to 200, default 50"),
        ("offset", "integer", "rows to skip, default 0"),
    ),
)  # fmt: skip
def invoices_list() -> Any:
    query = fts.searcher(Invoice)(
        db.select(Invoice), [fold(w) for w in request.args.get("q", "")[:200].split()]
    )
    today = services.today_of(g.org)
    states = {
        "draft": Invoice.status == "draft",
        "unpaid": Invoice.is_open.is_(True),
        "overdue": Invoice.is_open.is_(True) & (Invoice.due_date < today),
        "paid": (Invoice.status == "issued") & Invoice.is_open.is_(False),
        "void": Invoice.status == "void",
    }
    state = request.args.get("state", "")
    if state:
        if state not in states:
            raise ApiError(400, f"`state` must be one of: {', '.join(states)}.")
        query = query.where(states[state])
    kind = request.args.get("kind", "")
    if kind:
        query = query.where(Invoice.kind == kind)
    for name in ("company_id", "contact_id"):
        value = int_arg(name, None)
        if value is not None:
            query = query.where(getattr(Invoice, name) == value)
    sorts = {"date": Invoice.sort_date, "total": Invoice.total_minor,
             "customer": Invoice.customer_name}  # fmt: skip
    sort = request.args.get("sort", "-date")
    column = sorts.get(sort.lstrip("-"))
    if column is None:
        raise ApiError(400, f"`sort` must be one of: {', '.join(sorts)} (with '-' to reverse).")
    order = (column.desc(), Invoice.id.desc()) if sort.startswith("-") else (column, Invoice.id)
    limit = int_arg("limit", 50, 1, MAX_LIMIT)
    offset = int_arg("offset", 0, 0, 10**9)
    total = count_of(query)
    rows = list(db.session.execute(query.order_by(*order).limit(limit).offset(offset)).scalars())
    items = [
        {**{n: getattr(i, n) for n in ("id", "kind", "number", "customer_name", "currency",
                                         "issue_date", "due_date")},
         "state": i.state(today), "total": amount(i.total_minor, i.currency),
         "balance": amount(i.balance_minor, i.currency)}
        for i in rows
    ]  # fmt: skip
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@endpoint(
    "/invoices/<int:invoice_id>", summary="One invoice or credit note, with lines and payments",
    response=InvoiceOut, permission="finance:view", tag="Finance",
)  # fmt: skip
def invoices_get(invoice_id: int) -> Any:
    return _invoice_out(get_own(Invoice, invoice_id, "invoice"))


def _save_invoice(invoice: Invoice | None) -> Any:
    from startvora.finance.schemas import LineIn

    body = json_body()
    raw_lines = body.get("lines", [] if invoice is None else None)
    if raw_lines is not None and not isinstance(raw_lines, list):
        raise Invalid({"lines": "Send the lines as a list."})
    head = {k: v for k, v in body.items() if k in InvoiceIn.model_fields and k != "lines"}
    if invoice is not None:
        kept = {"company_id", "contact_id", "currency", "issue_date", "due_date",
                "prices_include_tax", "notes", "footer"}  # fmt: skip
        head = {**{k: getattr(invoice, k) for k in kept}, **head}
        head.setdefault("exchange_rate", format(invoice.exchange_rate, "f"))
    context = parse_context(head.get("currency") or None)
    errors: dict[str, str] = {}
    lines = []
    if raw_lines is None:  # a PATCH without lines keeps them
        lines = [
            LineIn.model_construct(
                product_id=line.product_id, description=line.description,
                quantity=line.quantity, unit=line.unit, unit_price=line.unit_price_minor,
                discount=line.discount, tax_ids=line.tax_ids,
            )
            for line in invoice.lines  # type: ignore[union-attr]
        ]  # fmt: skip
    else:
        for i, raw in enumerate(raw_lines):
            line, line_errors = parse(LineIn, raw if isinstance(raw, dict) else {}, context=context)
            for field, message in line_errors.items():
                errors[f"lines.{i}.{field}" if field != FORM_ERROR else f"lines.{i}"] = message
            if line is not None:
                lines.append(line)
    data, head_errors = parse(InvoiceIn, head, context=context)
    errors.update(head_errors)
    if errors or data is None:
        raise Invalid(errors)
    data = data.model_copy(update={"lines": lines})
    try:
        return _invoice_out(services.save_draft(g.org.id, g.api_user.id, data, invoice))
    except services.FinanceError as exc:
        raise refused(exc) from None


@write_endpoint(
    "POST", "/invoices", summary="Add a draft invoice", response=InvoiceOut,
    permission="finance:edit", tag="Finance", body=InvoiceBody, status=201,
)  # fmt: skip
def invoices_create() -> Any:
    return _save_invoice(None)


@write_endpoint(
    "PATCH", "/invoices/<int:invoice_id>", summary="Change a draft (only the fields sent)",
    response=InvoiceOut, permission="finance:edit", tag="Finance", body=InvoiceBody,
)  # fmt: skip
def invoices_update(invoice_id: int) -> Any:
    return _save_invoice(get_own(Invoice, invoice_id, "invoice"))


@write_endpoint(
    "POST", "/invoices/<int:invoice_id>/issue", summary="Issue a draft: number it, freeze it",
    response=InvoiceOut, permission="finance:edit", tag="Finance",
)  # fmt: skip
def invoices_issue(invoice_id: int) -> Any:
    invoice = get_own(Invoice, invoice_id, "invoice")
    try:
        return _invoice_out(services.issue(g.org.id, g.api_user.id, invoice))
    except services.FinanceError as exc:
        raise refused(exc) from None


@write_endpoint(
    "POST", "/invoices/<int:invoice_id>/void", summary="Void an issued, unpaid invoice",
    response=InvoiceOut, permission="finance:edit", tag="Finance", body=VoidBody,
)  # fmt: skip
def invoices_void(invoice_id: int) -> Any:
    invoice = get_own(Invoice, invoice_id, "invoice")
    reason = json_body().get("reason", "")
    try:
        return _invoice_out(services.void(g.org.id, g.api_user.id, invoice, str(reason)))
    except services.FinanceError as exc:
        raise refused(exc) from None


@write_endpoint(
    "POST", "/invoices/<int:invoice_id>/payments",
    summary="Record a payment (on a credit note: a refund)", response=InvoiceOut,
    permission="finance:edit", tag="Finance", body=PaymentBody, status=201,
)  # fmt: skip
def invoices_pay(invoice_id: int) -> Any:
    invoice = get_own(Invoice, invoice_id, "invoice")
    data, errors = parse(PaymentIn, json_body(), context=parse_context(invoice.currency))
    if data is None:
        raise Invalid(dict(errors))
    try:
        services.record_payment(g.org.id, g.api_user.id, invoice, data)
    except services.FinanceError as exc:
        raise refused(exc) from None
    return _invoice_out(invoice)


@write_endpoint(
    "POST", "/invoices/<int:invoice_id>/credit-notes",
    summary="Credit some or all of an invoice's lines", response=InvoiceOut,
    permission="finance:edit", tag="Finance", body=CreditBody, status=201,
)  # fmt: skip
def invoices_credit(invoice_id: int) -> Any:
    invoice = get_own(Invoice, invoice_id, "invoice")
    body = json_body()
    raw = body.get("lines")
    if not isinstance(raw, dict):
        raise Invalid({"lines": "Send the lines as an object: line id -> quantity."})
    quantities: dict[int, Any] = {}
    for key, value in raw.items():
        if not str(key).isdigit():
            raise Invalid({"lines": f"{key!r} is not a line id."})
        try:
            quantities[int(key)] = money.parse_amount(value, "en")
        except ValueError as exc:
            raise Invalid({f"lines.{key}": str(exc)}) from None
    unknown = set(quantities) - {line.id for line in invoice.lines}
    if unknown:
        raise Invalid({"lines": "Use the ids of this invoice's lines."})
    try:
        note = services.create_credit_note(
            g.org.id, g.api_user.id, invoice, quantities, str(body.get("reason", ""))
        )
    except services.FinanceError as exc:
        raise refused(exc) from None
    return _invoice_out(note)


@write_endpoint(
    "DELETE", "/invoices/<int:invoice_id>", summary="Delete a draft", response=Deleted,
    permission="finance:delete", tag="Finance",
)  # fmt: skip
def invoices_delete(invoice_id: int) -> Any:
    invoice = get_own(Invoice, invoice_id, "invoice")
    try:
        services.delete_draft(g.org.id, g.api_user.id, invoice)
    except services.FinanceError as exc:
        raise refused(exc) from None
    return {"id": invoice_id, "deleted": True}

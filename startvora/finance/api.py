"""Finance in the API: tax rates, products, invoices and credit notes (list with the total,
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
from startvora.finance.models import Invoice, Product
from startvora.finance.schemas import InvoiceIn, PaymentIn, ProductIn, TaxRateIn

MAX_LIMIT = 200


# -- answers -----------------------------------------------------------------------------------


class TaxRateOut(BaseModel):
    id: int
    name: str
    rate: Decimal
    compound: bool
    archived: bool


class TaxRateList(BaseModel):
    items: list[TaxRateOut]


class ProductOut(BaseModel):
    id: int
    name: str
    kind: str
    sku: str
    description: str
    unit: str
    prices: dict[str, str]
    tax_ids: list[int]
    income_category: str
    expense_category: str
    archived: bool


class ProductPage(BaseModel):
    items: list[ProductOut]
    total: int
    limit: int
    offset: int


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


class Deleted(BaseModel):
    id: int
    deleted: bool


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


class ProductBody(BaseModel):
    name: str = ""
    kind: str = "product"
    sku: str = ""
    description: str = ""
    unit: str = ""
    prices: dict[str, str] = Field({}, description="currency -> decimal price")
    tax_ids: list[int] = []
    income_category: str = ""
    expense_category: str = ""


class RateBody(BaseModel):
    name: str
    rate: str
    compound: bool = False


# -- helpers ----------------------------------------------------------------------------------


def _amount(minor: int, currency: str) -> str:
    return format(money.from_minor(minor, currency), "f")


def _context(currency: str | None = None) -> dict[str, str]:
    return {"currency": currency or g.org.currency, "locale": "en"}  # plain decimals only


def _get(model: Any, record_id: int, what: str) -> Any:
    obj = db.session.get(model, record_id)
    if obj is None or obj.org_id != g.org.id:
        raise ApiError(404, f"No such {what}.")
    return obj


def _refused(exc: services.FinanceError) -> Invalid:
    return Invalid({exc.field or FORM_ERROR: str(exc.message)})


def _invoice_out(invoice: Invoice) -> dict[str, Any]:
    cur = invoice.currency
    return {
        **{
            name: getattr(invoice, name)
            for name in InvoiceOut.model_fields
            if hasattr(invoice, name)
        },
        "state": invoice.state(services.today_of(g.org)),
        "subtotal": _amount(invoice.subtotal_minor, cur),
        "tax": _amount(invoice.tax_minor, cur),
        "total": _amount(invoice.total_minor, cur),
        "paid": _amount(invoice.paid_minor, cur),
        "credited": _amount(invoice.credited_minor, cur),
        "balance": _amount(invoice.balance_minor, cur),
        "balance_minor": invoice.balance_minor,
        "lines": [
            {
                "id": line.id,
                "product_id": line.product_id,
                "description": line.description,
                "quantity": line.quantity,
                "unit": line.unit,
                "unit_price": _amount(line.unit_price_minor, cur),
                "discount": line.discount,
                "tax_ids": line.tax_ids,
                "net": _amount(line.net_minor, cur),
                "total": _amount(line.total_minor, cur),
                "expense_id": line.expense_id,
            }
            for line in invoice.lines
        ],
        "taxes": [
            {
                "name": t.name,
                "rate": t.rate,
                "base": _amount(t.base_minor, cur),
                "amount": _amount(t.amount_minor, cur),
            }
            for t in invoice.taxes
        ],
        "payments": [
            {
                "id": p.id,
                "paid_on": p.paid_on,
                "amount": _amount(p.amount_minor, cur),
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


def _product_out(product: Product) -> dict[str, Any]:
    out = {name: getattr(product, name) for name in ProductOut.model_fields}
    out["prices"] = {c: _amount(m, c) for c, m in (product.prices or {}).items()}
    return out


# -- tax rates --------------------------------------------------------------------------------


@endpoint(
    "/tax-rates", summary="The organization's tax rates", response=TaxRateList,
    permission="finance:view", tag="Finance",
)  # fmt: skip
def tax_rates_list() -> Any:
    return {"items": services.tax_rates(g.org.id, include_archived=True)}


@write_endpoint(
    "POST", "/tax-rates", summary="Add a tax rate", response=TaxRateOut,
    permission="finance:admin", tag="Finance", body=RateBody, status=201,
)  # fmt: skip
def tax_rates_create() -> Any:
    data, errors = parse(TaxRateIn, json_body(), context=_context())
    if data is None:
        raise Invalid(dict(errors))
    return services.save_tax_rate(g.org.id, g.api_user.id, data)


# -- products ---------------------------------------------------------------------------------


@endpoint(
    "/products",
    summary="Products and services: search, filter, page (with the total)",
    response=ProductPage, permission="finance:view", tag="Finance",
    query=(
        ("q", "string", "search words (name, SKU)"),
        ("kind", "string", "product or service"),
        ("archived", "string", "'yes' for archived ones only, 'no' for those in use"),
        ("limit", "integer", "1 to 200, default 50"),
        ("offset", "integer", "rows to skip, default 0"),
    ),
)  # fmt: skip
def products_list() -> Any:
    query = db.select(Product)
    for word in request.args.get("q", "")[:200].split():
        word = fold(word).replace("%", "").replace("_", "")
        query = query.where(Product.search_name.like(f"%{word}%"))
    kind = request.args.get("kind", "")
    if kind:
        query = query.where(Product.kind == kind)
    archived = request.args.get("archived", "")
    if archived in ("yes", "no"):
        query = query.where(Product.archived.is_(archived == "yes"))
    limit = int_arg("limit", 50, 1, MAX_LIMIT)
    offset = int_arg("offset", 0, 0, 10**9)
    total = count_of(query)
    rows = db.session.execute(
        query.order_by(Product.search_name, Product.id).limit(limit).offset(offset)
    ).scalars()
    return {"items": [_product_out(p) for p in rows], "total": total, "limit": limit,
            "offset": offset}  # fmt: skip


@endpoint(
    "/products/<int:product_id>", summary="One product or service", response=ProductOut,
    permission="finance:view", tag="Finance",
)  # fmt: skip
def products_get(product_id: int) -> Any:
    return _product_out(_get(Product, product_id, "product"))


def _save_product(product: Product | None) -> Any:
    body = json_body()
    values: dict[str, Any] = {}
    if product is not None:
        values = {name: getattr(product, name) for name in ProductIn.model_fields}
        values["prices"] = {c: _amount(m, c) for c, m in (product.prices or {}).items()}
    values.update({k: v for k, v in body.items() if k in ProductIn.model_fields})
    data, errors = parse(ProductIn, values, context=_context())
    if data is None:
        raise Invalid(dict(errors))
    try:
        return _product_out(services.save_product(g.org.id, g.api_user.id, data, product))
    except services.FinanceError as exc:
        raise _refused(exc) from None


@write_endpoint(
    "POST", "/products", summary="Add a product or service", response=ProductOut,
    permission="finance:edit", tag="Finance", body=ProductBody, status=201,
)  # fmt: skip
def products_create() -> Any:
    return _save_product(None)


@write_endpoint(
    "PATCH", "/products/<int:product_id>", summary="Change a product (only the fields sent)",
    response=ProductOut, permission="finance:edit", tag="Finance", body=ProductBody,
)  # fmt: skip
def products_update(product_id: int) -> Any:
    return _save_product(_get(Product, product_id, "product"))


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
         "state": i.state(today), "total": _amount(i.total_minor, i.currency),
         "balance": _amount(i.balance_minor, i.currency)}
        for i in rows
    ]  # fmt: skip
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@endpoint(
    "/invoices/<int:invoice_id>", summary="One invoice or credit note, with lines and payments",
    response=InvoiceOut, permission="finance:view", tag="Finance",
)  # fmt: skip
def invoices_get(invoice_id: int) -> Any:
    return _invoice_out(_get(Invoice, invoice_id, "invoice"))


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
    context = _context(head.get("currency") or None)
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
        raise _refused(exc) from None


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
    return _save_invoice(_get(Invoice, invoice_id, "invoice"))


@write_endpoint(
    "POST", "/invoices/<int:invoice_id>/issue", summary="Issue a draft: number it, freeze it",
    response=InvoiceOut, permission="finance:edit", tag="Finance",
)  # fmt: skip
def invoices_issue(invoice_id: int) -> Any:
    invoice = _get(Invoice, invoice_id, "invoice")
    try:
        return _invoice_out(services.issue(g.org.id, g.api_user.id, invoice))
    except services.FinanceError as exc:
        raise _refused(exc) from None


@write_endpoint(
    "POST", "/invoices/<int:invoice_id>/void", summary="Void an issued, unpaid invoice",
    response=InvoiceOut, permission="finance:edit", tag="Finance", body=VoidBody,
)  # fmt: skip
def invoices_void(invoice_id: int) -> Any:
    invoice = _get(Invoice, invoice_id, "invoice")
    reason = json_body().get("reason", "")
    try:
        return _invoice_out(services.void(g.org.id, g.api_user.id, invoice, str(reason)))
    except services.FinanceError as exc:
        raise _refused(exc) from None


@write_endpoint(
    "POST", "/invoices/<int:invoice_id>/payments",
    summary="Record a payment (on a credit note: a refund)", response=InvoiceOut,
    permission="finance:edit", tag="Finance", body=PaymentBody, status=201,
)  # fmt: skip
def invoices_pay(invoice_id: int) -> Any:
    invoice = _get(Invoice, invoice_id, "invoice")
    data, errors = parse(PaymentIn, json_body(), context=_context(invoice.currency))
    if data is None:
        raise Invalid(dict(errors))
    try:
        services.record_payment(g.org.id, g.api_user.id, invoice, data)
    except services.FinanceError as exc:
        raise _refused(exc) from None
    return _invoice_out(invoice)


@write_endpoint(
    "POST", "/invoices/<int:invoice_id>/credit-notes",
    summary="Credit some or all of an invoice's lines", response=InvoiceOut,
    permission="finance:edit", tag="Finance", body=CreditBody, status=201,
)  # fmt: skip
def invoices_credit(invoice_id: int) -> Any:
    invoice = _get(Invoice, invoice_id, "invoice")
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
        raise _refused(exc) from None
    return _invoice_out(note)


@write_endpoint(
    "DELETE", "/invoices/<int:invoice_id>", summary="Delete a draft", response=Deleted,
    permission="finance:delete", tag="Finance",
)  # fmt: skip
def invoices_delete(invoice_id: int) -> Any:
    invoice = _get(Invoice, invoice_id, "invoice")
    try:
        services.delete_draft(g.org.id, g.api_user.id, invoice)
    except services.FinanceError as exc:
        raise _refused(exc) from None
    return {"id": invoice_id, "deleted": True}

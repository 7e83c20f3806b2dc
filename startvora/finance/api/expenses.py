"""Expenses in the API: expenses and vendor bills (list with the total, read, enter, change,
delete, approve, reject, reopen, pay, bill to the customer, upload the receipt) and recurring
expenses (list, set up, stop).

Amounts are sent as decimal strings in the expense's currency ("42.50") and answered both
ways: `total` ("42.50") and `total_minor` (4250, the currency's minor units).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from flask import g, request
from pydantic import BaseModel, Field

from startvora.core.api import ApiError, Invalid, endpoint, int_arg, json_body, write_endpoint
from startvora.core.db import count_of, fold
from startvora.core.files import UploadError
from startvora.core.forms import parse
from startvora.extensions import db
from startvora.finance import expenses, services
from startvora.finance.api.common import MAX_LIMIT, Deleted, amount, get_own, parse_context, refused
from startvora.finance.expense_models import Expense, RecurringExpense
from startvora.finance.models import Invoice, InvoiceLine
from startvora.finance.schemas import ExpenseIn, RecurringExpenseIn

TAG = "Expenses"


# -- answers -----------------------------------------------------------------------------------


class ReceiptOut(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    has_preview: bool


class ExpenseOut(BaseModel):
    id: int
    kind: str
    status: str
    state: str = Field(description="pending, rejected, approved; a bill: unpaid, overdue, paid")
    vendor_company_id: int | None
    vendor_contact_id: int | None
    vendor_name: str
    spent_on: dt.date
    due_date: dt.date | None
    bill_number: str
    category: str
    description: str
    currency: str
    exchange_rate: Decimal
    amount: str = Field(description="as entered: with tax or without (amount_includes_tax)")
    amount_minor: int
    amount_includes_tax: bool
    tax_rate_id: int | None
    tax_name: str
    tax_rate: Decimal
    net: str
    net_minor: int
    tax: str
    tax_minor: int
    total: str
    total_minor: int
    base_currency: str
    base_net: str
    base_net_minor: int
    base_tax: str
    base_tax_minor: int
    paid_on: dt.date | None
    payment_method: str
    billable: bool
    customer_company_id: int | None
    customer_contact_id: int | None
    billed_invoice_id: int | None
    decided_at: dt.datetime | None
    decided_by_id: int | None
    rejection_reason: str
    receipt: ReceiptOut | None
    recurring_id: int | None
    created_at: dt.datetime


class ExpensePage(BaseModel):
    items: list[ExpenseOut]
    total: int
    limit: int
    offset: int


class RecurringExpenseOut(BaseModel):
    id: int
    kind: str
    vendor_company_id: int | None
    vendor_contact_id: int | None
    vendor_name: str
    category: str
    description: str
    currency: str
    exchange_rate: Decimal
    amount: str
    amount_minor: int
    amount_includes_tax: bool
    tax_rate_id: int | None
    billable: bool
    customer_company_id: int | None
    customer_contact_id: int | None
    frequency: str
    start_date: dt.date
    next_date: dt.date | None
    end_date: dt.date | None
    max_count: int | None
    made_count: int
    due_days: int
    active: bool
    last_expense_id: int | None


class RecurringExpensePage(BaseModel):
    items: list[RecurringExpenseOut]
    total: int
    limit: int
    offset: int


# -- bodies (documented in the OpenAPI document; read with the forms' schemas) -------------------


class ExpenseBody(BaseModel):
    kind: str = Field("expense", description="expense or bill")
    vendor_company_id: int | None = None
    vendor_contact_id: int | None = None
    vendor_name: str = Field("", description="a vendor that is not in the CRM")
    spent_on: dt.date
    due_date: dt.date | None = Field(None, description="a bill's due date")
    bill_number: str = ""
    category: str
    description: str = ""
    currency: str = Field("", description="ISO 4217; the organization's when left out")
    exchange_rate: str = Field("", description="organization's currency per 1; default 1")
    amount: str = Field(description="decimal, in the expense's currency")
    amount_includes_tax: bool = True
    tax_rate_id: int | None = None
    billable: bool = False
    customer_company_id: int | None = None
    customer_contact_id: int | None = None
    paid_on: dt.date | None = Field(None, description="an expense: its date when left out")
    payment_method: str = Field("", description="bank_transfer, card, cash, cheque, ...")


class RecurringExpenseBody(ExpenseBody):
    frequency: str = Field("monthly", description="weekly, monthly, quarterly or yearly")
    end_date: dt.date | None = None
    max_count: int | None = Field(None, description="how many expenses at most")
    due_days: int = Field(0, description="a bill: due this many days after its date")


class RejectBody(BaseModel):
    reason: str


class PayBody(BaseModel):
    paid_on: dt.date
    payment_method: str = Field("bank_transfer", description="bank_transfer, card, cash, ...")


# -- helpers ----------------------------------------------------------------------------------


def _billed(ids: list[int]) -> dict[int, int]:
    """Expense id -> the invoice (not void) that bills it, for a page of expenses at once."""
    if not ids:
        return {}
    rows = db.session.execute(
        db.select(InvoiceLine.expense_id, Invoice.id)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(InvoiceLine.expense_id.in_(ids), Invoice.kind == "invoice",
               Invoice.status != "void")
    )  # fmt: skip
    return {expense_id: invoice_id for expense_id, invoice_id in rows}


def _expense_out(e: Expense, billed: dict[int, int] | None = None) -> dict[str, Any]:
    cur, base = e.currency, g.org.currency
    billed = _billed([e.id]) if billed is None else billed
    receipt = e.receipt
    return {
        **{name: getattr(e, name) for name in ExpenseOut.model_fields if hasattr(e, name)},
        "state": e.state(services.today_of(g.org)),
        "amount": amount(e.amount_minor, cur),
        "net": amount(e.net_minor, cur),
        "tax": amount(e.tax_minor, cur),
        "total": amount(e.total_minor, cur),
        "base_currency": base,
        "base_net": amount(e.base_net_minor, base),
        "base_tax": amount(e.base_tax_minor, base),
        "billed_invoice_id": billed.get(e.id),
        "receipt": {
            "id": receipt.id, "filename": receipt.filename, "content_type": receipt.content_type,
            "size": receipt.size, "has_preview": bool(receipt.thumbnail_key),
        } if receipt else None,
    }  # fmt: skip


def _recurring_out(s: RecurringExpense) -> dict[str, Any]:
    return {
        **{n: getattr(s, n) for n in RecurringExpenseOut.model_fields if hasattr(s, n)},
        "amount": amount(s.amount_minor, s.currency),
    }


def _values_of(e: Expense) -> dict[str, Any]:
    """A saved expense as a body would send it (a PATCH changes only what it sends)."""
    values = {n: getattr(e, n) for n in ExpenseIn.model_fields if hasattr(e, n)}
    values |= {"amount": amount(e.amount_minor, e.currency),
               "exchange_rate": format(e.exchange_rate, "f")}  # fmt: skip
    return values


def _parse(schema: type[ExpenseIn], values: dict[str, Any]) -> Any:
    if isinstance(values.get("amount"), int | float) and not isinstance(values["amount"], bool):
        values["amount"] = str(values["amount"])
    data, errors = parse(schema, values, context=parse_context(values.get("currency") or None))
    if data is None:
        raise Invalid(dict(errors))
    return data


# -- expenses ---------------------------------------------------------------------------------

STATUSES = ("pending", "approved", "rejected")


@endpoint(
    "/expenses",
    summary="Expenses and vendor bills: search, filter, sort, page (with the total)",
    response=ExpensePage, permission="finance:view", tag=TAG,
    query=(
        ("q", "string", "search words (vendor, bill number, category, description)"),
        ("status", "string", "pending, approved or rejected"),
        ("kind", "string", "expense or bill"),
        ("category", "string", "only this category"),
        ("date_from", "string", "dated on or after (YYYY-MM-DD)"),
        ("date_to", "string", "dated on or before (YYYY-MM-DD)"),
        ("billable", "string", "'yes' for billable ones only, 'no' for the others"),
        ("sort", "string", "date, amount or vendor; '-' first for descending (default -date)"),
        ("limit", "integer", "1 to 200, default 50"),
        ("offset", "integer", "rows to skip, default 0"),
    ),
)  # fmt: skip
def expenses_list() -> Any:
    query = db.select(Expense)
    for word in request.args.get("q", "")[:200].split():
        word = fold(word).replace("%", "").replace("_", "")
        query = query.where(Expense.search_name.like(f"%{word}%"))
    status = request.args.get("status", "")
    if status:
        if status not in STATUSES:
            raise ApiError(400, f"`status` must be one of: {', '.join(STATUSES)}.")
        query = query.where(Expense.status == status)
    kind = request.args.get("kind", "")
    if kind:
        if kind not in ("expense", "bill"):
            raise ApiError(400, "`kind` must be expense or bill.")
        query = query.where(Expense.kind == kind)
    if request.args.get("category"):
        query = query.where(Expense.category == request.args["category"])
    for name, compare in (("date_from", Expense.spent_on.__ge__),
                          ("date_to", Expense.spent_on.__le__)):  # fmt: skip
        raw = request.args.get(name, "")
        if raw:
            try:
                query = query.where(compare(dt.date.fromisoformat(raw)))
            except ValueError:
                raise ApiError(400, f"`{name}` must be a date like 2026-03-31.") from None
    billable = request.args.get("billable", "").lower()
    if billable:
        if billable not in ("yes", "no", "true", "false"):
            raise ApiError(400, "`billable` must be yes or no.")
        query = query.where(Expense.billable.is_(billable in ("yes", "true")))
    sorts = {"date": Expense.spent_on, "amount": Expense.base_net_minor + Expense.base_tax_minor,
             "vendor": Expense.vendor_name}  # fmt: skip
    sort = request.args.get("sort", "-date")
    column = sorts.get(sort.lstrip("-"))
    if column is None:
        raise ApiError(400, f"`sort` must be one of: {', '.join(sorts)} (with '-' to reverse).")
    order = (column.desc(), Expense.id.desc()) if sort.startswith("-") else (column, Expense.id)
    limit = int_arg("limit", 50, 1, MAX_LIMIT)
    offset = int_arg("offset", 0, 0, 10**9)
    total = count_of(query)
    rows = list(
        db.session.execute(query.order_by(*order).limit(limit).offset(offset)).unique().scalars()
    )
    billed = _billed([e.id for e in rows])
    return {"items": [_expense_out(e, billed) for e in rows], "total": total, "limit": limit,
            "offset": offset}  # fmt: skip


@endpoint(
    "/expenses/<int:expense_id>", summary="One expense or vendor bill", response=ExpenseOut,
    permission="finance:view", tag=TAG,
)  # fmt: skip
def expenses_get(expense_id: int) -> Any:
    return _expense_out(get_own(Expense, expense_id, "expense"))


def _save(expense: Expense | None) -> Any:
    body = json_body()
    values = _values_of(expense) if expense is not None else {}
    values.update({k: v for k, v in body.items() if k in ExpenseIn.model_fields})
    data = _parse(ExpenseIn, values)
    try:
        saved = expenses.save_expense(g.org.id, g.api_user.id, data, expense)
    except expenses.FinanceError as exc:
        raise refused(exc) from None
    return _expense_out(saved)


@write_endpoint(
    "POST", "/expenses", summary="Enter an expense or a vendor bill (it waits for approval)",
    response=ExpenseOut, permission="finance:edit", tag=TAG, body=ExpenseBody, status=201,
)  # fmt: skip
def expenses_create() -> Any:
    return _save(None)


@write_endpoint(
    "PATCH", "/expenses/<int:expense_id>",
    summary="Change an expense that is not approved (only the fields sent)",
    response=ExpenseOut, permission="finance:edit", tag=TAG, body=ExpenseBody,
)  # fmt: skip
def expenses_update(expense_id: int) -> Any:
    return _save(get_own(Expense, expense_id, "expense"))


@write_endpoint(
    "DELETE", "/expenses/<int:expense_id>", summary="Delete an expense that is not approved",
    response=Deleted, permission="finance:delete", tag=TAG,
)  # fmt: skip
def expenses_delete(expense_id: int) -> Any:
    expense = get_own(Expense, expense_id, "expense")
    try:
        expenses.delete_expense(g.org.id, g.api_user.id, expense)
    except expenses.FinanceError as exc:
        raise refused(exc) from None
    return {"id": expense_id, "deleted": True}


@write_endpoint(
    "POST", "/expenses/<int:expense_id>/approve",
    summary="Approve: from now on it counts in the reports", response=ExpenseOut,
    permission="finance:approve", tag=TAG,
)  # fmt: skip
def expenses_approve(expense_id: int) -> Any:
    expense = get_own(Expense, expense_id, "expense")
    try:
        return _expense_out(expenses.approve(g.org.id, g.api_user.id, expense))
    except expenses.FinanceError as exc:
        raise refused(exc) from None


@write_endpoint(
    "POST", "/expenses/<int:expense_id>/reject", summary="Reject, saying why",
    response=ExpenseOut, permission="finance:approve", tag=TAG, body=RejectBody,
)  # fmt: skip
def expenses_reject(expense_id: int) -> Any:
    expense = get_own(Expense, expense_id, "expense")
    reason = json_body().get("reason", "")
    try:
        return _expense_out(expenses.reject(g.org.id, g.api_user.id, expense, str(reason)))
    except expenses.FinanceError as exc:
        raise refused(exc) from None


@write_endpoint(
    "POST", "/expenses/<int:expense_id>/reopen",
    summary="Reopen an approved expense (it leaves the reports until approved again)",
    response=ExpenseOut, permission="finance:approve", tag=TAG,
)  # fmt: skip
def expenses_reopen(expense_id: int) -> Any:
    expense = get_own(Expense, expense_id, "expense")
    try:
        return _expense_out(expenses.reopen(g.org.id, g.api_user.id, expense))
    except expenses.FinanceError as exc:
        raise refused(exc) from None


@write_endpoint(
    "POST", "/expenses/<int:expense_id>/pay", summary="Record that an approved bill was paid",
    response=ExpenseOut, permission="finance:edit", tag=TAG, body=PayBody,
)  # fmt: skip
def expenses_pay(expense_id: int) -> Any:
    expense = get_own(Expense, expense_id, "expense")
    body = json_body()
    try:
        paid_on = dt.date.fromisoformat(str(body.get("paid_on", "")))
    except ValueError:
        raise Invalid({"paid_on": "Send the date it was paid, like 2026-03-31."}) from None
    method = str(body.get("payment_method", "bank_transfer"))
    try:
        return _expense_out(expenses.mark_paid(g.org.id, g.api_user.id, expense, paid_on, method))
    except expenses.FinanceError as exc:
        raise refused(exc) from None


@write_endpoint(
    "POST", "/expenses/<int:expense_id>/bill",
    summary="Bill an approved, billable expense to its customer (on their draft invoice, "
    "or a new one); the answer names the invoice in billed_invoice_id",
    response=ExpenseOut, permission="finance:edit", tag=TAG,
)  # fmt: skip
def expenses_bill(expense_id: int) -> Any:
    expense = get_own(Expense, expense_id, "expense")
    try:
        expenses.bill_expense(g.org.id, g.api_user.id, expense)
    except expenses.FinanceError as exc:
        raise refused(exc) from None
    return _expense_out(expense)


@write_endpoint(
    "POST", "/expenses/<int:expense_id>/receipt",
    summary="Attach or replace the receipt: multipart/form-data with the file in `file` "
    "(a JPEG, PNG, WebP or GIF image, or a PDF)",
    response=ExpenseOut, permission="finance:edit", tag=TAG,
)  # fmt: skip
def expenses_receipt(expense_id: int) -> Any:
    expense = get_own(Expense, expense_id, "expense")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid({"file": "Send the receipt as multipart/form-data, in the field `file`."})
    try:
        expenses.attach_receipt(g.org.id, g.api_user.id, expense, upload)
    except UploadError as exc:
        raise Invalid({"file": str(exc.message)}) from None
    return _expense_out(expense)


# -- recurring expenses -----------------------------------------------------------------------


@endpoint(
    "/recurring-expenses", summary="Recurring expenses: the schedules, running ones first",
    response=RecurringExpensePage, permission="finance:view", tag=TAG,
    query=(
        ("active", "string", "'yes' for running schedules only, 'no' for stopped or finished"),
        ("limit", "integer", "1 to 200, default 50"),
        ("offset", "integer", "rows to skip, default 0"),
    ),
)  # fmt: skip
def recurring_expenses_list() -> Any:
    query = db.select(RecurringExpense)
    active = request.args.get("active", "")
    if active:
        if active not in ("yes", "no"):
            raise ApiError(400, "`active` must be yes or no.")
        query = query.where(RecurringExpense.active.is_(active == "yes"))
    limit = int_arg("limit", 50, 1, MAX_LIMIT)
    offset = int_arg("offset", 0, 0, 10**9)
    total = count_of(query)
    rows = db.session.execute(
        query.order_by(
            RecurringExpense.active.desc(), RecurringExpense.next_date, RecurringExpense.id
        )
        .limit(limit)
        .offset(offset)
    ).scalars()
    return {"items": [_recurring_out(s) for s in rows], "total": total, "limit": limit,
            "offset": offset}  # fmt: skip


@write_endpoint(
    "POST", "/recurring-expenses",
    summary="Set up an expense entered (and approved) again on a schedule, from spent_on on",
    response=RecurringExpenseOut, permission="finance:edit", tag=TAG,
    body=RecurringExpenseBody, status=201,
)  # fmt: skip
def recurring_expenses_create() -> Any:
    body = json_body()
    data = _parse(
        RecurringExpenseIn, {k: v for k, v in body.items() if k in RecurringExpenseIn.model_fields}
    )
    try:
        return _recurring_out(expenses.save_recurring(g.org.id, g.api_user.id, data))
    except expenses.FinanceError as exc:
        raise refused(exc) from None


@write_endpoint(
    "POST", "/recurring-expenses/<int:schedule_id>/stop",
    summary="Stop a schedule (the expenses it entered stay)", response=RecurringExpenseOut,
    permission="finance:edit", tag=TAG,
)  # fmt: skip
def recurring_expenses_stop(schedule_id: int) -> Any:
    schedule = get_own(RecurringExpense, schedule_id, "recurring expense")
    expenses.stop_recurring(g.org.id, g.api_user.id, schedule)
    return _recurring_out(schedule)

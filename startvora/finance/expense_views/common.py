"""What the expense pages share: labels, the form's fields read and checked, the parties."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import g, request
from flask_babel import gettext as _

from startvora.core import money
from startvora.core.forms import FORM_ERROR, FormErrors, parse
from startvora.crm.models import Company, Contact
from startvora.extensions import db
from startvora.finance import catalog, services, totals
from startvora.finance.expense_models import Expense, RecurringExpense
from startvora.finance.invoice_views.common import customer_label, find_customer
from startvora.finance.schemas import ExpenseIn, minor_of
from startvora.orgs.schemas import COMMON_CURRENCIES

INPUTS = (
    "kind", "vendor", "spent_on", "due_date", "bill_number", "category", "description",
    "currency", "exchange_rate", "amount", "tax_rate_id", "paid_on", "payment_method", "customer",
)  # fmt: skip
CHECKS = ("amount_includes_tax", "billable")
RECURRING_INPUTS = ("frequency", "end_date", "max_count", "due_days")
# Where the schema's fields are shown in the form.
FIELD_OF = {
    "vendor_name": "vendor",
    "vendor_company_id": "vendor",
    "vendor_contact_id": "vendor",
    "customer_company_id": "customer",
    "customer_contact_id": "customer",
}
PAY_METHODS = ("bank_transfer", "card", "cash", "cheque", "direct_debit", "other")


def number_context(currency: str | None = None) -> dict[str, str]:
    """The validation context of amounts typed on this organization's pages."""
    org = g.org
    return {"currency": currency or org.currency, "locale": org.number_locale or org.locale}


def locale() -> str:
    return number_context()["locale"]


def state_labels() -> dict[str, str]:
    return {
        "pending": _("Waiting for approval"),
        "rejected": _("Rejected"),
        "approved": _("Approved"),
        "unpaid": _("Unpaid"),
        "overdue": _("Overdue"),
        "paid": _("Paid"),
    }


def kind_labels() -> dict[str, str]:
    return {"expense": _("Expense"), "bill": _("Vendor bill")}


def method_labels() -> dict[str, str]:
    """How an expense can be paid: the invoice payment methods but customer credit."""
    return {k: v for k, v in services.method_labels().items() if k != "credit"}


def currencies(current: str) -> list[str]:
    return list(dict.fromkeys([g.org.currency, current, *COMMON_CURRENCIES]))


def categories() -> list[str]:
    """Categories to suggest: those expenses use already, then products' expense categories."""
    used = db.session.execute(
        db.select(Expense.category).where(Expense.category != "").distinct().limit(200)
    ).scalars()
    _income, from_products = catalog.categories(g.org.id)
    return sorted(set(used) | set(from_products), key=str.casefold)


def tax_rates(chosen: Any = None) -> list[Any]:
    """Rates to offer: those in use, and an archived one only where it is chosen already."""
    chosen_id = int(chosen) if str(chosen or "").isdigit() else None
    return [
        t
        for t in services.tax_rates(g.org.id, include_archived=True)
        if not t.archived or t.id == chosen_id
    ]


def party(company_id: int | None, contact_id: int | None) -> Company | Contact | None:
    """The CRM company or contact a record names (None when it names neither or it is gone)."""
    if company_id is not None:
        return db.session.get(Company, company_id)
    if contact_id is not None:
        return db.session.get(Contact, contact_id)
    return None


def party_label(company_id: int | None, contact_id: int | None) -> str:
    found = party(company_id, contact_id)
    if isinstance(found, Company):
        return customer_label(found, None)
    return customer_label(None, found) if found is not None else ""


def blank_values() -> dict[str, Any]:
    """A new expense: today, the organization's currency, paid by card."""
    values: dict[str, Any] = {name: "" for name in INPUTS}
    values |= {
        "kind": "expense",
        "spent_on": services.today_of(g.org).isoformat(),
        "currency": g.org.currency,
        "amount_includes_tax": True,
        "billable": False,
        "payment_method": "card",
    }
    return values


def values_of(record: Expense | RecurringExpense) -> dict[str, Any]:
    """A saved expense (or schedule) as the form shows it, amounts the organization's way."""
    loc = locale()
    values: dict[str, Any] = {
        "kind": record.kind,
        "vendor": party_label(record.vendor_company_id, record.vendor_contact_id)
        or record.vendor_name,
        "category": record.category,
        "description": record.description,
        "currency": record.currency,
        "exchange_rate": money.typed_number(record.exchange_rate, loc)
        if record.currency != g.org.currency
        else "",
        "amount": money.typed_amount(record.amount_minor, record.currency, loc),
        "amount_includes_tax": record.amount_includes_tax,
        "tax_rate_id": str(record.tax_rate_id or ""),
        "billable": record.billable,
        "customer": party_label(record.customer_company_id, record.customer_contact_id),
    }
    if isinstance(record, Expense):
        values |= {
            "spent_on": record.spent_on.isoformat(),
            "due_date": record.due_date.isoformat() if record.due_date else "",
            "bill_number": record.bill_number,
            "paid_on": record.paid_on.isoformat() if record.paid_on else "",
            "payment_method": record.payment_method,
        }
    else:
        values |= {
            "spent_on": (record.next_date or record.start_date).isoformat(),
            "frequency": record.frequency,
            "end_date": record.end_date.isoformat() if record.end_date else "",
            "max_count": str(record.max_count or ""),
            "due_days": str(record.due_days or ""),
        }
    return values


def read_form(recurring: bool = False) -> dict[str, Any]:
    """The posted fields (as typed) and check boxes."""
    names = INPUTS + (RECURRING_INPUTS if recurring else ())
    values: dict[str, Any] = {name: request.form.get(name, "").strip() for name in names}
    values |= {name: bool(request.form.get(name)) for name in CHECKS}
    if values["kind"] not in ("expense", "bill"):
        values["kind"] = "expense"
    return values


def _party_ids(text: str, required: bool) -> tuple[int | None, int | None, str, str]:
    """(company id, contact id, free name, problem) for a vendor or customer field."""
    text = " ".join(text.split())
    if not text:
        return (
            None,
            None,
            "",
            _("Choose the customer the expense is billed to.") if required else "",
        )
    company, contact, problem = find_customer(text)
    if problem:
        return None, None, text, problem
    return (company.id if company else None), (contact.id if contact else None), "", ""


def check(
    values: dict[str, Any], schema: type[ExpenseIn] = ExpenseIn
) -> tuple[Any, FormErrors, Any]:
    """Validate the form: the schema object when all is well, errors per field, and the
    amount's net, tax and total as they would be saved (None until the amount reads)."""
    errors = FormErrors()
    context = number_context(values.get("currency") or None)
    vendor_company, vendor_contact, vendor_name, _problem = _party_ids(values["vendor"], False)
    raw = {k: v for k, v in values.items() if k not in ("vendor", "customer")}
    raw |= {"vendor_company_id": vendor_company, "vendor_contact_id": vendor_contact,
            "vendor_name": vendor_name}  # fmt: skip
    if values["billable"]:
        company, contact, _name, problem = _party_ids(values["customer"], True)
        if problem:
            errors["customer"] = problem
        raw |= {"customer_company_id": company, "customer_contact_id": contact}
    data, found = parse(schema, raw, context=context)
    for field, message in found.items():
        if field == FORM_ERROR:
            field = _field_of_rule(values)
        errors.setdefault(FIELD_OF.get(field, field), message)
    return (data if not errors else None), errors, preview(values, context)


def _field_of_rule(values: dict[str, Any]) -> str:
    """The field a rule about several fields concerns, to show its message next to it."""
    if values["kind"] == "bill" and not values["vendor"]:
        return "vendor"
    if values["billable"] and not values["customer"]:
        return "customer"
    due = values.get("due_date", "")
    if values["kind"] == "bill" and due and due < values.get("spent_on", ""):
        return "due_date"
    if values.get("paid_on"):
        return "paid_on"
    return FORM_ERROR


def preview(values: dict[str, Any], context: dict[str, str]) -> totals.LineOut | None:
    """What the typed amount comes to with the chosen tax rate (as the service will compute)."""
    try:
        currency = money.check_currency(context["currency"])
        amount = minor_of(values["amount"], currency, context["locale"])
    except ValueError:
        return None
    if not amount:
        return None
    rates = {str(t.id): t for t in services.tax_rates(g.org.id, include_archived=True)}
    rate = rates.get(values.get("tax_rate_id", ""))
    taxes = (totals.Tax(rate.id, rate.name, rate.rate, rate.compound),) if rate else ()
    result = totals.compute(
        [totals.LineIn(Decimal(1), amount, Decimal(0), taxes)],
        currency,
        inclusive=bool(values["amount_includes_tax"]),
    )
    return result.lines[0]

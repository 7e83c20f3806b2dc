"""Expense rules: entering expenses and vendor bills with their receipts, approving them (only
then do they count in the reports), paying bills, billing expenses on to customers, and
expenses repeated on a schedule."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import FileStorage

from startvora.core import audit, events, files, money
from startvora.core.db import fold, lock_for_update, utcnow
from startvora.core.tasks import periodic
from startvora.crm.models import Company, Contact
from startvora.extensions import db
from startvora.finance import ledger, services, totals
from startvora.finance.expense_models import Expense, RecurringExpense
from startvora.finance.models import Invoice, InvoiceLine, TaxRate
from startvora.finance.schemas import ExpenseIn, InvoiceIn, LineIn, RecurringExpenseIn
from startvora.orgs.models import Organization

FinanceError = services.FinanceError
RECEIPT_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"})


def _party(model: Any, party_id: int | None, field: str) -> Any:
    if party_id is None:
        return None
    party = db.session.execute(db.select(model).where(model.id == party_id)).scalar_one_or_none()
    if party is None:
        raise FinanceError(_("Choose a company or person of this organization."), field)
    return party


def _fill(org: Organization, target: Any, data: ExpenseIn) -> TaxRate | None:
    """Copy what an expense and a schedule share; the tax rate chosen."""
    vendor = _party(Company, data.vendor_company_id, "vendor") or _party(
        Contact, data.vendor_contact_id, "vendor"
    )
    customer = None
    if data.billable:
        customer = _party(Company, data.customer_company_id, "customer") or _party(
            Contact, data.customer_contact_id, "customer"
        )
    rate = None
    if data.tax_rate_id is not None:
        rate = db.session.execute(
            db.select(TaxRate).where(TaxRate.id == data.tax_rate_id)
        ).scalar_one_or_none()
        if rate is None or (rate.archived and rate.id != target.tax_rate_id):
            raise FinanceError(_("Choose a tax rate of this organization."), "tax_rate_id")
    target.kind = data.kind
    target.vendor_company_id = vendor.id if isinstance(vendor, Company) else None
    target.vendor_contact_id = vendor.id if isinstance(vendor, Contact) else None
    target.vendor_name = vendor.display_name if vendor is not None else data.vendor_name
    target.category = data.category
    target.description = data.description
    target.currency = data.currency
    target.exchange_rate = data.exchange_rate if data.currency != org.currency else Decimal(1)
    target.amount_minor = data.amount
    target.amount_includes_tax = data.amount_includes_tax
    target.tax_rate_id = rate.id if rate else None
    target.billable = customer is not None
    target.customer_company_id = customer.id if isinstance(customer, Company) else None
    target.customer_contact_id = customer.id if isinstance(customer, Contact) else None
    return rate


def _amounts(org: Organization, expense: Expense, rate: TaxRate | None) -> None:
    """Net, tax and total from the amount as typed, and the reports' figures."""
    taxes = (totals.Tax(rate.id, rate.name, rate.rate, rate.compound),) if rate else ()
    result = totals.compute(
        [totals.LineIn(Decimal(1), expense.amount_minor, Decimal(0), taxes)],
        expense.currency,
        inclusive=expense.amount_includes_tax,
    )
    line = result.lines[0]
    expense.net_minor, expense.tax_minor, expense.total_minor = (
        line.net_minor,
        line.tax_minor,
        line.total_minor,
    )
    expense.tax_name = rate.name if rate else ""
    expense.tax_rate = rate.rate if rate else Decimal(0)
    convert = services.base_amount
    expense.base_net_minor = convert(
        expense.net_minor, expense.currency, expense.exchange_rate, org.currency
    )
    expense.base_tax_minor = convert(
        expense.tax_minor, expense.currency, expense.exchange_rate, org.currency
    )


def save_expense(
    org_id: int, actor_id: int | None, data: ExpenseIn, expense: Expense | None = None
) -> Expense:
    """Enter or change an expense; it waits for approval (again, if it had been rejected)."""
    if expense is not None:
        lock_for_update(expense)
    if expense is not None and expense.status == "approved":
        raise FinanceError(_("This expense is approved. Reopen it before changing it."))
    org = db.session.get(Organization, org_id)
    assert org is not None
    created = expense is None
    if expense is None:
        expense = Expense(org_id=org_id, created_by_id=actor_id, tax_rate_id=None)
    with db.session.no_autoflush:
        rate = _fill(org, expense, data)
    db.session.add(expense)
    expense.spent_on = data.spent_on
    expense.due_date = data.due_date if data.kind == "bill" else None
    expense.bill_number = data.bill_number
    expense.paid_on = data.paid_on if data.kind == "bill" else data.paid_on or data.spent_on
    expense.payment_method = data.payment_method if expense.paid_on else ""
    expense.status, expense.rejection_reason = "pending", ""
    expense.decided_at = expense.decided_by_id = None
    _amounts(org, expense, rate)
    expense.search_name = fold(
        " ".join((expense.vendor_name, expense.bill_number, expense.category, data.description))
    )[:400]
    db.session.flush()
    audit.record(
        "finance.expense_created" if created else "finance.expense_changed",
        org=org_id, actor=actor_id, target=expense,
        summary=f"{expense.vendor_name or expense.category}: "
        f"{money.format_money(expense.total_minor, expense.currency, org.locale)}",
    )  # fmt: skip
    if created:
        events.emit("expense.submitted", org_id=org_id, id=expense.id)
    return expense


def attach_receipt(
    org_id: int, actor_id: int | None, expense: Expense, upload: FileStorage
) -> files.StoredFile:
    """Keep a photo or PDF of the receipt with the expense (replacing an earlier one)."""
    lock_for_update(expense)
    if expense.status == "approved":
        raise FinanceError(_("This expense is approved. Reopen it before changing its receipt."))
    stored = files.store_upload(
        org_id, actor_id, upload, allowed=RECEIPT_TYPES, owner=("expense", expense.id)
    )
    old = expense.receipt
    expense.receipt_file_id = stored.id
    expense.receipt = stored
    if old is not None:
        files.delete_file(old)
    db.session.flush()
    audit.record(
        "finance.receipt_attached", org=org_id, actor=actor_id, target=expense,
        summary=stored.filename,
    )  # fmt: skip
    return stored


def approve(org_id: int, actor_id: int | None, expense: Expense) -> Expense:
    """Accept an expense: from now on it counts in the reports and can be billed on."""
    lock_for_update(expense)
    if expense.status == "approved":
        raise FinanceError(_("This expense is approved already."))
    expense.status, expense.decided_at, expense.decided_by_id = "approved", utcnow(), actor_id
    expense.rejection_reason = ""
    db.session.flush()
    ledger.post_expense(expense)
    audit.record("finance.expense_approved", org=org_id, actor=actor_id, target=expense,
                 summary=expense.display_name)  # fmt: skip
    events.emit("expense.approved", org_id=org_id, id=expense.id)
    return expense


def reject(org_id: int, actor_id: int | None, expense: Expense, reason: str) -> Expense:
    """Send an expense back to whoever entered it, saying why."""
    lock_for_update(expense)
    if expense.status != "pending":
        raise FinanceError(_("Only an expense waiting for approval can be rejected."))
    reason = " ".join(reason.split())[:300]
    if not reason:
        raise FinanceError(_("Say why the expense is rejected."), "reason")
    expense.status, expense.decided_at, expense.decided_by_id = "rejected", utcnow(), actor_id
    expense.rejection_reason = reason
    db.session.flush()
    audit.record("finance.expense_rejected", org=org_id, actor=actor_id, target=expense,
                 summary=reason)  # fmt: skip
    events.emit("expense.rejected", org_id=org_id, id=expense.id)
    return expense


def reopen(org_id: int, actor_id: int | None, expense: Expense) -> Expense:
    """Take an approved expense back to pending (out of the reports) so it can be corrected."""
    lock_for_update(expense)
    if expense.status != "approved":
        raise FinanceError(_("Only an approved expense can be reopened."))
    billed = billed_on(expense.id)
    if billed is not None:
        raise FinanceError(
            _(
                "This expense is billed on %(invoice)s. Remove it from that invoice first.",
                invoice=billed.display_name,
            )
        )
    expense.status, expense.decided_at, expense.decided_by_id = "pending", None, None
    db.session.flush()
    ledger.post_expense(expense, -1)
    audit.record("finance.expense_reopened", org=org_id, actor=actor_id, target=expense,
                 summary=expense.display_name)  # fmt: skip
    return expense


def mark_paid(
    org_id: int, actor_id: int | None, expense: Expense, paid_on: dt.date | None, method: str
) -> Expense:
    """Record that an approved vendor bill was paid."""
    lock_for_update(expense)
    from startvora.finance.models import PAYMENT_METHODS

    if expense.kind != "bill" or expense.status != "approved":
        raise FinanceError(_("Only an approved bill is paid here."))
    if expense.paid_on is not None:
        raise FinanceError(_("This bill is paid already."))
    if paid_on is None:
        raise FinanceError(_("Enter the date it was paid."), "paid_on")
    if paid_on < expense.spent_on:
        raise FinanceError(_("A bill cannot be paid before its date."), "paid_on")
    if method not in PAYMENT_METHODS or method == "credit":
        raise FinanceError(_("Choose how it was paid."), "payment_method")
    expense.paid_on, expense.payment_method = paid_on, method
    db.session.flush()
    audit.record("finance.bill_paid", org=org_id, actor=actor_id, target=expense,
                 summary=paid_on.isoformat())  # fmt: skip
    return expense


def delete_expense(org_id: int, actor_id: int | None, expense: Expense) -> None:
    """Remove an expense that is not approved, with its receipt."""
    lock_for_update(expense)
    if expense.status == "approved":
        raise FinanceError(_("An approved expense counts in the reports: reopen it first."))
    audit.record("finance.expense_deleted", org=org_id, actor=actor_id, target=expense,
                 summary=expense.display_name)  # fmt: skip
    receipt = expense.receipt
    db.session.delete(expense)
    db.session.flush()
    if receipt is not None:
        files.delete_file(receipt)


# -- billing on to customers --------------------------------------------------------------------


def billed_on(expense_id: int) -> Invoice | None:
    """The invoice (draft or issued, not void) that bills the expense, if any."""
    return db.session.execute(
        db.select(Invoice)
        .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
        .where(
            InvoiceLine.expense_id == expense_id,
            Invoice.kind == "invoice",
            Invoice.status != "void",
        )
        .limit(1)
    ).scalar_one_or_none()


def billing_problem(expense_id: int, invoice: Invoice) -> str | None:
    """Why a line of `invoice` cannot bill this expense; None when it can."""
    expense = db.session.execute(
        db.select(Expense).where(Expense.id == expense_id)
    ).scalar_one_or_none()
    if expense is None:
        return _("Choose expenses of this organization.")
    lock_for_update(expense)  # two drafts billing it at once: the second sees the first
    if invoice.kind != "invoice":
        return _("Expenses are billed on invoices.")
    if not expense.billable or expense.status != "approved":
        return _("Only an approved, billable expense can be billed to a customer.")
    if expense.customer_company_id is not None:
        same = expense.customer_company_id == invoice.company_id
    else:
        same = invoice.company_id is None and expense.customer_contact_id == invoice.contact_id
    if not same:
        return _("This expense is billed to another customer.")
    other = billed_on(expense_id)
    if other is not None and other.id != invoice.id:
        return _("This expense is billed on %(invoice)s already.", invoice=other.display_name)
    return None


def unbilled(company_id: int | None, contact_id: int | None) -> list[Expense]:
    """A customer's approved billable expenses that no invoice bills yet."""
    if company_id is not None:
        who = Expense.customer_company_id == company_id
    elif contact_id is not None:
        who = (Expense.customer_contact_id == contact_id) & Expense.customer_company_id.is_(None)
    else:
        return []
    billed = (
        db.select(InvoiceLine.expense_id)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(InvoiceLine.expense_id.is_not(None), Invoice.status != "void",
               Invoice.kind == "invoice")
    )  # fmt: skip
    return list(
        db.session.execute(
            db.select(Expense)
            .where(
                who,
                Expense.billable.is_(True),
                Expense.status == "approved",
                Expense.id.not_in(billed),
            )
            .order_by(Expense.spent_on, Expense.id)
        ).scalars()
    )


def _line_for(expense: Expense, invoice_currency: str, invoice_rate: Decimal, base: str) -> LineIn:
    """An invoice line re-billing an expense at its cost without tax, in the invoice's currency."""
    if invoice_currency == expense.currency:
        price = expense.net_minor
    else:  # through the organization's currency, at each document's own rate
        in_base = money.from_minor(expense.base_net_minor, base)
        price = money.to_minor(in_base / Decimal(invoice_rate), invoice_currency)
    what = expense.description.split("\n")[0] or expense.category
    label = f"{what} ({expense.vendor_name}, {expense.spent_on.isoformat()})"
    return LineIn.model_construct(
        product_id=None, description=label[:5000], quantity=Decimal(1), unit="",
        unit_price=price, discount=Decimal(0), tax_ids=[], expense_id=expense.id,
    )  # fmt: skip


def _lines_of(invoice: Invoice) -> list[LineIn]:
    return [
        LineIn.model_construct(
            product_id=line.product_id, description=line.description, quantity=line.quantity,
            unit=line.unit, unit_price=line.unit_price_minor, discount=line.discount,
            tax_ids=list(line.tax_ids), expense_id=line.expense_id,
        )
        for line in invoice.lines
    ]  # fmt: skip


def add_to_invoice(
    org_id: int, actor_id: int | None, invoice: Invoice, expenses: list[Expense]
) -> Invoice:
    """Add lines billing these expenses to a draft invoice of their customer."""
    if invoice.status != "draft" or invoice.kind != "invoice":
        raise FinanceError(_("Expenses are added to a draft invoice."))
    org = db.session.get(Organization, org_id)
    assert org is not None
    lines = _lines_of(invoice)
    for expense in expenses:
        problem = billing_problem(expense.id, invoice)
        if problem:
            raise FinanceError(problem)
        lines.append(_line_for(expense, invoice.currency, invoice.exchange_rate, org.currency))
    data = InvoiceIn.model_construct(
        company_id=invoice.company_id, contact_id=invoice.contact_id, currency=invoice.currency,
        exchange_rate=invoice.exchange_rate, issue_date=invoice.issue_date,
        due_date=invoice.due_date, prices_include_tax=invoice.prices_include_tax,
        notes=invoice.notes, footer=invoice.footer, lines=lines,
    )  # fmt: skip
    return services.save_draft(org_id, actor_id, data, invoice)


def bill_expense(org_id: int, actor_id: int | None, expense: Expense) -> Invoice:
    """Put an expense on its customer's next invoice: their newest draft, else a new one."""
    lock_for_update(expense)
    if not expense.billable or expense.status != "approved":
        raise FinanceError(_("Only an approved, billable expense can be billed to a customer."))
    already = billed_on(expense.id)
    if already is not None:
        raise FinanceError(
            _("This expense is billed on %(invoice)s already.", invoice=already.display_name)
        )
    company_id, contact_id = expense.customer_company_id, expense.customer_contact_id
    if company_id:
        who = Invoice.company_id == company_id
    else:  # the person's own invoices, not their company's addressed to them
        who = (Invoice.contact_id == contact_id) & Invoice.company_id.is_(None)
    draft = db.session.execute(
        db.select(Invoice)
        .where(who, Invoice.kind == "invoice", Invoice.status == "draft")
        .order_by(Invoice.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if draft is None:
        org = db.session.get(Organization, org_id)
        assert org is not None
        settings = services.settings_of(org_id)
        data = InvoiceIn.model_construct(
            company_id=company_id, contact_id=None if company_id else contact_id,
            currency=expense.currency, exchange_rate=expense.exchange_rate, issue_date=None,
            due_date=None, prices_include_tax=False, notes=settings.notes,
            footer=settings.footer, lines=[_line_for(expense, expense.currency,
                                                     expense.exchange_rate, org.currency)],
        )  # fmt: skip
        return services.save_draft(org_id, actor_id, data)
    return add_to_invoice(org_id, actor_id, draft, [expense])


# -- recurring expenses -------------------------------------------------------------------------


def save_recurring(
    org_id: int, actor_id: int | None, data: RecurringExpenseIn,
    schedule: RecurringExpense | None = None,
) -> RecurringExpense:  # fmt: skip
    """Set up (or change) an expense entered again on a schedule, from `spent_on` on."""
    org = db.session.get(Organization, org_id)
    assert org is not None
    if data.end_date is not None and data.end_date < data.spent_on:
        raise FinanceError(_("The end date cannot be before the first date."), "end_date")
    created = schedule is None
    if schedule is None:
        if data.spent_on < services.today_of(org) - dt.timedelta(days=366):
            raise FinanceError(_("Start within the last year."), "spent_on")
        schedule = RecurringExpense(
            org_id=org_id, created_by_id=actor_id, tax_rate_id=None, made_count=0, active=True
        )
        schedule.start_date = schedule.next_date = data.spent_on
    with db.session.no_autoflush:
        _fill(org, schedule, data)
    db.session.add(schedule)
    schedule.frequency = data.frequency
    schedule.end_date, schedule.max_count = data.end_date, data.max_count
    schedule.due_days = data.due_days if data.kind == "bill" else 0
    _move_on(schedule, None)
    db.session.flush()
    audit.record(
        "finance.recurring_expense_created" if created else "finance.recurring_expense_changed",
        org=org_id, actor=actor_id, target=schedule,
        summary=f"{schedule.display_name}, {schedule.frequency}",
    )  # fmt: skip
    return schedule


def _move_on(schedule: RecurringExpense, made_on: dt.date | None) -> None:
    from startvora.finance.recurring import first_on_or_after, nth_date

    day = schedule.next_date
    if day is not None and made_on is not None:
        index, _date = first_on_or_after(schedule.start_date, schedule.frequency, made_on)
        day = nth_date(schedule.start_date, schedule.frequency, index + 1)
    done = day is None or (
        (schedule.max_count is not None and schedule.made_count >= schedule.max_count)
        or (schedule.end_date is not None and day > schedule.end_date)
    )
    schedule.next_date = None if done else day
    if done:
        schedule.active = False


def make_next(org: Organization, schedule: RecurringExpense) -> Expense:
    """Enter the expense of the schedule's next date, approved, and move the schedule on."""
    day = schedule.next_date
    assert day is not None
    rate = db.session.get(TaxRate, schedule.tax_rate_id) if schedule.tax_rate_id else None
    expense = Expense(org_id=org.id, spent_on=day, recurring_id=schedule.id, tax_rate_id=None)
    for column in (
        "kind", "vendor_company_id", "vendor_contact_id", "vendor_name", "category",
        "description", "currency", "exchange_rate", "amount_minor", "amount_includes_tax",
        "tax_rate_id", "billable", "customer_company_id", "customer_contact_id", "created_by_id",
    ):  # fmt: skip
        setattr(expense, column, getattr(schedule, column))
    if schedule.kind == "bill":
        expense.due_date = day + dt.timedelta(days=schedule.due_days)
    else:
        expense.paid_on = day
    expense.search_name = fold(
        " ".join((expense.vendor_name, expense.category, expense.description))
    )[:400]
    _amounts(org, expense, rate)
    expense.status, expense.decided_at = "approved", utcnow()
    expense.decided_by_id = schedule.created_by_id
    db.session.add(expense)
    db.session.flush()
    ledger.post_expense(expense)
    audit.record(
        "finance.expense_created", org=org.id, actor=None, target=expense,
        summary=_("Entered and approved by the schedule of %(what)s", what=schedule.display_name),
    )  # fmt: skip
    schedule.made_count += 1
    schedule.last_expense_id = expense.id
    _move_on(schedule, day)
    return expense


def stop_recurring(org_id: int, actor_id: int | None, schedule: RecurringExpense) -> None:
    """Stop a schedule: nothing more is entered (what was entered stays)."""
    schedule.active = False
    db.session.flush()
    audit.record("finance.recurring_expense_stopped", org=org_id, actor=actor_id,
                 target=schedule, summary=schedule.display_name)  # fmt: skip


def run_recurring(org: Organization) -> int:
    """Enter every expense whose date has come (missed ones too, once each); how many."""
    from startvora.finance.recurring import catch_up

    return catch_up(org, RecurringExpense, lambda schedule: make_next(org, schedule))


@periodic(label=_l("Recurring expenses"), minute="7", hour="*")
def recurring_expenses() -> None:
    """Every hour: enter the recurring expenses whose date has come, in every organization."""
    from startvora.finance.recurring import in_each_org

    in_each_org(RecurringExpense, run_recurring)

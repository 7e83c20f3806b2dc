"""Finance rules: tax rates, products, drafts, issuing with a gapless number, voiding, payments.

An issued invoice is never edited: its lines, totals, customer details and number stay as they
were issued; only payments (and a void, while none is recorded) change its state.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from startvora.core import audit, events, money, numbering
from startvora.core.db import fold, lock_for_update, utcnow
from startvora.crm.models import Company, Contact
from startvora.extensions import db
from startvora.finance import ledger, totals
from startvora.finance.models import (
    CustomerCredit,
    FinanceSettings,
    Invoice,
    InvoiceLine,
    InvoiceTax,
    Payment,
    Product,
    TaxExemption,
    TaxRate,
)
from startvora.finance.schemas import InvoiceIn, PaymentIn, ProductIn, TaxRateIn
from startvora.orgs.models import Organization

INVOICE_SEQUENCE = "invoice"
QUOTE_SEQUENCE = "quote"


class FinanceError(ValueError):
    """A rule refused the change; `field` names the input it is about (or "" for the form)."""

    def __init__(self, message: Any, field: str = "") -> None:
        super().__init__(str(message))
        self.message, self.field = message, field


def method_labels() -> dict[str, str]:
    """How each payment method is named on pages and receipts."""
    return {
        "bank_transfer": _("Bank transfer"),
        "card": _("Card"),
        "cash": _("Cash"),
        "cheque": _("Cheque"),
        "direct_debit": _("Direct debit"),
        "other": _("Other"),
        "credit": _("Customer credit"),
    }


def today_of(org: Organization) -> dt.date:
    """Today in the organization's time zone (an invoice's date is the business's day)."""
    return dt.datetime.now(ZoneInfo(org.timezone)).date()


def _saved_settings(org_id: int) -> FinanceSettings | None:
    return db.session.execute(
        db.select(FinanceSettings).where(FinanceSettings.org_id == org_id)
    ).scalar_one_or_none()


def settings_of(org_id: int) -> FinanceSettings:
    """The organization's finance settings to read: saved ones, or the defaults (not saved,
    so that reading a page never writes)."""
    found = _saved_settings(org_id)
    if found is not None:
        return found
    defaults = {
        c.key: c.default.arg if c.default.is_scalar else c.default.arg(None)
        for c in FinanceSettings.__table__.columns
        if c.default is not None
    }
    return FinanceSettings(**{**defaults, "org_id": org_id})


def settings_to_change(org_id: int) -> FinanceSettings:
    """The organization's finance settings row, added with the defaults when there is none."""
    found = _saved_settings(org_id)
    if found is None:
        found = settings_of(org_id)
        db.session.add(found)
        db.session.flush()
    return found


# -- tax rates and products -----------------------------------------------------------------------


def tax_rates(org_id: int, include_archived: bool = False) -> list[TaxRate]:
    query = db.select(TaxRate).where(TaxRate.org_id == org_id)
    if not include_archived:
        query = query.where(TaxRate.archived.is_(False))
    return list(db.session.execute(query.order_by(TaxRate.name, TaxRate.id)).scalars())


def save_tax_rate(
    org_id: int, actor_id: int | None, data: TaxRateIn, rate: TaxRate | None = None
) -> TaxRate:
    """Add or change a rate. Issued invoices keep the name and rate they were issued with."""
    created = rate is None
    if rate is None:
        rate = TaxRate(org_id=org_id, name=data.name, rate=data.rate)
        db.session.add(rate)
    rate.name, rate.rate, rate.compound = data.name, data.rate, data.compound
    db.session.flush()
    audit.record(
        "finance.tax_rate_created" if created else "finance.tax_rate_changed",
        org=org_id,
        actor=actor_id,
        target=rate,
        summary=rate.label,
    )
    return rate


def save_product(
    org_id: int, actor_id: int | None, data: ProductIn, product: Product | None = None
) -> Product:
    rates = {t.id: t for t in tax_rates(org_id, include_archived=True)}
    if set(data.tax_ids) - set(rates):
        raise FinanceError(_("Choose tax rates of this organization."), "tax_ids")
    kept = set(product.tax_ids or []) if product is not None else set()
    if any(rates[i].archived and i not in kept for i in data.tax_ids):
        raise FinanceError(_("This tax rate is archived; choose one in use."), "tax_ids")
    created = product is None
    if product is None:
        product = Product(org_id=org_id, name=data.name)
        db.session.add(product)
    for name in ProductIn.model_fields:
        setattr(product, name, getattr(data, name))
    product.search_name = fold(f"{data.name} {data.sku}")[:300]
    db.session.flush()
    audit.record(
        "finance.product_created" if created else "finance.product_changed",
        org=org_id,
        actor=actor_id,
        target=product,
        summary=product.name,
    )
    return product


# -- invoices ----------------------------------------------------------------------------------


def _customer(org_id: int, data: InvoiceIn) -> tuple[Company | None, Contact | None]:
    company = contact = None
    if data.company_id is not None:
        company = db.session.execute(
            db.select(Company).where(Company.id == data.company_id)
        ).scalar_one_or_none()
        if company is None:
            raise FinanceError(_("Choose a customer of this organization."), "customer")
    if data.contact_id is not None:
        contact = db.session.execute(
            db.select(Contact).where(Contact.id == data.contact_id)
        ).scalar_one_or_none()
        if contact is None:
            raise FinanceError(_("Choose a customer of this organization."), "customer")
    return company, contact


def apply_totals(invoice: Invoice, rates: dict[int, Any]) -> None:
    """Work out the lines' and the invoice's totals and its tax breakdown (drafts only)."""
    lines_in = [
        totals.LineIn(
            line.quantity,
            line.unit_price_minor,
            line.discount,
            tuple(
                totals.Tax(i, rates[i].name, rates[i].rate, rates[i].compound)
                for i in line.tax_ids
                if i in rates
            ),
        )
        for line in invoice.lines
    ]
    result = totals.compute(
        lines_in,
        invoice.currency,
        inclusive=invoice.prices_include_tax,
        per_document=invoice.round_per_document,
    )
    for line, out in zip(invoice.lines, result.lines, strict=True):
        line.net_minor, line.tax_minor, line.total_minor = (
            out.net_minor,
            out.tax_minor,
            out.total_minor,
        )
    invoice.taxes = [
        InvoiceTax(
            org_id=invoice.org_id,
            tax_rate_id=t.tax.id,
            name=t.tax.name,
            rate=t.tax.rate,
            compound=t.tax.compound,
            base_minor=t.base_minor,
            amount_minor=t.amount_minor,
        )
        for t in result.taxes
    ]
    invoice.subtotal_minor = result.subtotal_minor
    invoice.tax_minor = result.tax_minor
    invoice.total_minor = result.total_minor


def base_amount(minor: int, currency: str, rate: Any, base_currency: str) -> int:
    """An amount in the organization's currency, at the document's exchange rate."""
    if currency == base_currency:
        return minor
    return money.to_minor(money.from_minor(minor, currency) * rate, base_currency)


def save_draft(
    org_id: int,
    actor_id: int | None,
    data: InvoiceIn,
    invoice: Invoice | None = None,
    kind: str = "invoice",
) -> Invoice:
    """Create or change a draft invoice (or quote); an issued or void one is refused."""
    if invoice is not None:
        lock_for_update(invoice)
    if invoice is not None and invoice.status != "draft":
        raise FinanceError(_("An issued invoice cannot be changed. Correct it with a credit note."))
    org = db.session.get(Organization, org_id)
    settings = settings_of(org_id)
    company, contact = _customer(org_id, data)
    rates = {t.id: t for t in tax_rates(org_id, include_archived=True)}
    products: dict[int, Product] = {}
    wanted = {line.product_id for line in data.lines if line.product_id is not None}
    if wanted:
        query = db.select(Product).where(Product.id.in_(wanted))
        products = {p.id: p for p in db.session.execute(query).scalars()}
    created = invoice is None
    if invoice is None:
        invoice = Invoice(
            org_id=org_id,
            kind=kind,
            currency=data.currency,
            created_by_id=actor_id,
            round_per_document=settings.round_per_document,
        )
        db.session.add(invoice)
    invoice.company_id = company.id if company else None
    invoice.contact_id = contact.id if contact else None
    invoice.company, invoice.contact = company, contact
    exemption = exemption_of(company.id if company else None, contact.id if contact else None)
    invoice.tax_exemption = exemption.reason if exemption else ""
    invoice.customer_name = customer_name_of(company, contact)  # for lists; fixed when issued
    invoice.search_name = fold(invoice.customer_name)[:300]
    invoice.currency = data.currency
    invoice.exchange_rate = data.exchange_rate if data.currency != org.currency else 1
    invoice.issue_date, invoice.due_date = data.issue_date, data.due_date
    invoice.prices_include_tax = data.prices_include_tax
    invoice.notes, invoice.footer = data.notes, data.footer
    new_lines = []
    for position, line in enumerate(data.lines):
        product = products.get(line.product_id) if line.product_id is not None else None
        if line.product_id is not None and product is None:
            raise FinanceError(_("Choose products of this organization."), f"lines-{position}")
        unknown = set(line.tax_ids) - set(rates)
        if unknown:
            raise FinanceError(_("Choose tax rates of this organization."), f"lines-{position}")
        new_lines.append(
            InvoiceLine(
                org_id=org_id,
                position=position,
                product_id=line.product_id,
                description=line.description or (product.name if product else ""),
                quantity=line.quantity,
                unit=line.unit or (product.unit if product else ""),
                unit_price_minor=line.unit_price,
                discount=line.discount,
                tax_ids=[] if exemption else list(dict.fromkeys(line.tax_ids)),
                expense_id=line.expense_id,
            )
        )
    _check_billed_expenses(invoice, new_lines)
    invoice.lines = new_lines
    apply_totals(invoice, rates)
    invoice.base_total_minor = base_amount(
        invoice.total_minor, invoice.currency, invoice.exchange_rate, org.currency
    )
    invoice.refresh_list_keys()
    db.session.flush()
    audit.record(
        "finance.invoice_created" if created else "finance.invoice_changed",
        org=org_id,
        actor=actor_id,
        target=invoice,
        summary=customer_name_of(company, contact),
    )
    return invoice


def exemption_of(company_id: int | None, contact_id: int | None) -> TaxExemption | None:
    """The customer's tax exemption, if any: the company's when a company is billed."""
    if company_id is not None:
        where = TaxExemption.company_id == company_id
    elif contact_id is not None:
        where = TaxExemption.contact_id == contact_id
    else:
        return None
    return db.session.execute(db.select(TaxExemption).where(where)).scalar_one_or_none()


def save_exemption(
    org_id: int, actor_id: int | None, company_id: int | None, contact_id: int | None, reason: str
) -> TaxExemption | None:
    """Exempt a customer from tax with a printed reason; an empty reason lifts the exemption.
    Drafts take it when next saved; issued documents keep what they were issued with."""
    reason = " ".join(reason.split())[:200]
    if company_id is not None:
        contact_id = None
    exemption = exemption_of(company_id, contact_id)
    if company_id is not None:
        party: Any = db.session.execute(
            db.select(Company).where(Company.id == company_id)
        ).scalar_one_or_none()
    elif contact_id is not None:
        party = db.session.execute(
            db.select(Contact).where(Contact.id == contact_id)
        ).scalar_one_or_none()
    else:
        party = None
    if party is None:
        raise FinanceError(_("Choose a customer of this organization."), "customer")
    if not reason:
        if exemption is not None:
            db.session.delete(exemption)
            audit.record(
                "finance.tax_exemption_lifted", org=org_id, actor=actor_id,
                summary=party.display_name,
            )  # fmt: skip
        db.session.flush()
        return None
    if exemption is None:
        exemption = TaxExemption(org_id=org_id, company_id=company_id, contact_id=contact_id)
        db.session.add(exemption)
    exemption.reason = reason
    db.session.flush()
    audit.record(
        "finance.tax_exemption_saved", org=org_id, actor=actor_id,
        summary=f"{party.display_name}: {reason}",
    )  # fmt: skip
    return exemption


def lift_exemption(org_id: int, actor_id: int | None, exemption: TaxExemption) -> None:
    """Charge a customer tax again (their drafts take it when next saved); works for a
    customer who is in the trash, too."""
    reason = exemption.reason
    db.session.delete(exemption)
    db.session.flush()
    audit.record("finance.tax_exemption_lifted", org=org_id, actor=actor_id, summary=reason)


def _check_billed_expenses(invoice: Invoice, lines: list[InvoiceLine]) -> None:
    """Lines may bill approved billable expenses of the same customer, each on one invoice."""
    from startvora.finance import expenses

    wanted = [line.expense_id for line in lines if line.expense_id is not None]
    if not wanted:
        return
    if len(set(wanted)) != len(wanted):
        raise FinanceError(_("An expense can be billed only once."))
    for expense_id in wanted:
        problem = expenses.billing_problem(expense_id, invoice)
        if problem:
            raise FinanceError(problem)


def customer_name_of(company: Company | None, contact: Contact | None) -> str:
    """The customer as a document names it: the company, else the person."""
    if company is not None:
        return company.name
    return contact.display_name if contact is not None else ""


def address_of(party: Company | Contact | None) -> str:
    """A company's or person's postal address as lines (street, postcode and city, country)."""
    if party is None:
        return ""
    city = " ".join(p for p in (party.postal_code, party.city) if p)
    return "\n".join(p for p in (party.street, city, party.country) if p)


def issue(org_id: int, actor_id: int | None, invoice: Invoice) -> Invoice:
    """Give a draft its number and freeze it. The number is taken in this transaction."""
    lock_for_update(invoice)
    if invoice.status != "draft":
        raise FinanceError(_("This invoice is issued already."))
    if not invoice.lines:
        raise FinanceError(_("Add at least one line before issuing."))
    if invoice.total_minor < 0:
        raise FinanceError(_("An invoice cannot be issued with a negative total."))
    org = db.session.get(Organization, org_id)
    settings = settings_of(org_id)
    day = invoice.issue_date or today_of(org)
    invoice.issue_date = day
    quote = invoice.is_quote
    if invoice.due_date is None:  # a quote's: valid until
        days = settings.quote_valid_days if quote else settings.payment_terms_days
        invoice.due_date = day + dt.timedelta(days=days)
    party = invoice.company or invoice.contact
    invoice.customer_name = customer_name_of(invoice.company, invoice.contact)
    if invoice.company is not None and invoice.contact is not None:
        invoice.customer_name += f"\n{_('Attn.')} {invoice.contact.display_name}"
    invoice.customer_address = address_of(party)
    invoice.customer_email = (invoice.contact.email if invoice.contact else "") or (
        invoice.company.email if invoice.company else ""
    )
    if quote:
        invoice.number = numbering.take(org_id, QUOTE_SEQUENCE, settings.quote_pattern, day)
    else:
        invoice.number = numbering.take(org_id, INVOICE_SEQUENCE, settings.invoice_pattern, day)
    invoice.status = "issued"
    invoice.issued_at = utcnow()
    invoice.search_name = fold(f"{invoice.number} {invoice.customer_name}")[:300]
    invoice.refresh_list_keys()
    db.session.flush()
    audit.record(
        "finance.quote_finalized" if quote else "finance.invoice_issued",
        org=org_id,
        actor=actor_id,
        target=invoice,
        summary=invoice.number,
        total=invoice.total_minor,
        currency=invoice.currency,
    )
    if not quote:
        ledger.post_document(invoice)
    event = "quote.finalized" if quote else "invoice.issued"
    events.emit(event, org_id=org_id, id=invoice.id, number=invoice.number)
    return invoice


def void(org_id: int, actor_id: int | None, invoice: Invoice, reason: str) -> Invoice:
    lock_for_update(invoice)
    if invoice.status != "issued" or invoice.is_credit_note or invoice.converted_to_id:
        raise FinanceError(_("Only an issued invoice can be voided; a draft can be deleted."))
    if invoice.payments or invoice.credited_minor:
        raise FinanceError(
            _(
                "This invoice has payments or credit notes. Correct it with a credit note "
                "instead of voiding it."
            )
        )
    reason = " ".join(reason.split())[:300]
    if not reason:
        raise FinanceError(_("Say why the invoice is void."), "reason")
    invoice.status, invoice.void_reason, invoice.voided_at = "void", reason, utcnow()
    invoice.refresh_list_keys()
    db.session.flush()
    ledger.post_document(invoice, -1)
    audit.record(
        "finance.invoice_voided", org=org_id, actor=actor_id, target=invoice, summary=reason
    )
    events.emit("invoice.voided", org_id=org_id, id=invoice.id, number=invoice.number)
    return invoice


def delete_draft(org_id: int, actor_id: int | None, invoice: Invoice) -> None:
    lock_for_update(invoice)
    if invoice.status != "draft":
        raise FinanceError(_("An issued invoice is kept for good; void it instead."))
    audit.record(
        "finance.invoice_deleted",
        org=org_id,
        actor=actor_id,
        target=invoice,
        summary=f"#{invoice.id}",
    )
    db.session.delete(invoice)
    db.session.flush()


def record_payment(org_id: int, actor_id: int | None, invoice: Invoice, data: PaymentIn) -> Payment:
    """Apply money received to an issued invoice; more than its balance only as credit."""
    lock_for_update(invoice)
    if invoice.is_quote:
        raise FinanceError(_("A quote is not paid: turn it into an invoice first."))
    if invoice.status == "draft":
        raise FinanceError(_("Issue the invoice before recording a payment."))
    if invoice.status == "void":
        raise FinanceError(_("This invoice is void: it cannot be paid."))
    org = db.session.get(Organization, org_id)
    if invoice.is_credit_note and invoice.balance_minor == 0:
        raise FinanceError(_("Nothing is left to refund on this credit note."))
    locale = org.number_locale or org.locale
    balance = invoice.balance_minor
    if balance == 0:
        raise FinanceError(_("This invoice is paid in full."))
    extra = data.amount - balance
    if extra > 0 and invoice.is_credit_note:
        raise FinanceError(
            _(
                "The refund due is %(balance)s: enter at most that.",
                balance=money.format_money(balance, invoice.currency, locale),
            ),
            "amount",
        )
    if extra > 0 and data.overpayment != "credit":
        raise FinanceError(
            _(
                "This is %(extra)s more than the balance of %(balance)s. Enter at most the "
                "balance, or keep the difference as the customer's credit.",
                extra=money.format_money(extra, invoice.currency, locale),
                balance=money.format_money(balance, invoice.currency, locale),
            ),
            "amount",
        )
    payment = Payment(
        org_id=org_id,
        invoice=invoice,
        paid_on=data.paid_on,
        amount_minor=min(data.amount, balance),
        currency=invoice.currency,
        method=data.method,
        reference=data.reference,
        note=data.note,
        recorded_by_id=actor_id,
    )
    db.session.add(payment)
    invoice.paid_minor += payment.amount_minor
    invoice.refresh_list_keys()
    db.session.flush()
    if extra > 0:
        note = _("Overpayment of %(number)s", number=invoice.number)
        _add_credit(invoice, extra, note, source_payment_id=payment.id)
        db.session.flush()
    ledger.post_payment(payment, payment.amount_minor + max(extra, 0))
    audit.record(
        "finance.payment_recorded",
        org=org_id,
        actor=actor_id,
        target=invoice,
        summary=money.format_money(data.amount, invoice.currency, locale),
        credit=max(extra, 0),
    )
    if invoice.balance_minor == 0 and not invoice.is_credit_note:
        invoice.paid_at = utcnow()
        events.emit("invoice.paid", org_id=org_id, id=invoice.id, number=invoice.number)
    db.session.flush()
    return payment


def _add_credit(invoice: Invoice, amount: int, note: str, **links: int | None) -> None:
    """A line of the invoice's customer's credit: + received (an overpayment), - used."""
    db.session.add(
        CustomerCredit(
            org_id=invoice.org_id,
            company_id=invoice.company_id,
            contact_id=None if invoice.company_id else invoice.contact_id,
            currency=invoice.currency,
            amount_minor=amount,
            note=note,
            **links,
        )
    )


def credit_balance(
    org_id: int, company_id: int | None, contact_id: int | None, currency: str
) -> int:
    """The customer's unused credit in a currency."""
    query = db.select(db.func.coalesce(db.func.sum(CustomerCredit.amount_minor), 0)).where(
        CustomerCredit.org_id == org_id, CustomerCredit.currency == currency
    )
    if company_id is not None:
        query = query.where(CustomerCredit.company_id == company_id)
    else:
        query = query.where(CustomerCredit.contact_id == contact_id)
    return int(db.session.execute(query).scalar_one())


# -- credit notes ----------------------------------------------------------------------------------

CREDIT_SEQUENCE = "credit_note"


def _rates_as_issued(document: Invoice) -> dict[int, Any]:
    """The tax rates as a document was issued with (names and rates copied on it)."""
    return {
        t.tax_rate_id: SimpleNamespace(name=t.name, rate=t.rate, compound=t.compound)
        for t in document.taxes
        if t.tax_rate_id is not None
    }


def credited_quantities(invoice: Invoice) -> dict[int, Any]:
    """How much of each of the invoice's lines its credit notes credit already."""
    from decimal import Decimal

    done: dict[int, Decimal] = {}
    notes = db.session.execute(
        db.select(Invoice).where(Invoice.credit_for_id == invoice.id, Invoice.status == "issued")
    ).scalars()
    for note in notes:
        for line in note.lines:
            if line.source_line_id is not None:
                done[line.source_line_id] = (
                    done.get(line.source_line_id, Decimal(0)) + line.quantity
                )
    return done


def create_credit_note(
    org_id: int, actor_id: int | None, invoice: Invoice, quantities: dict[int, Any], reason: str
) -> Invoice:
    """A credit note for some of an invoice's lines (line id -> quantity), issued at once.

    It lowers what the customer owes on the invoice; what they had paid beyond that becomes a
    refund due on the credit note.
    """
    lock_for_update(invoice)
    from decimal import Decimal

    if invoice.kind != "invoice" or invoice.status != "issued":
        raise FinanceError(_("Only an issued invoice can be credited."))
    reason = " ".join(reason.split())[:300]
    if not reason:
        raise FinanceError(_("Say why the invoice is credited."), "reason")
    done = credited_quantities(invoice)
    chosen = []
    for line in invoice.lines:
        quantity = Decimal(quantities.get(line.id, 0))
        if quantity < 0:
            raise FinanceError(_("Enter quantities of zero or more."), f"q-{line.id}")
        left = line.quantity - done.get(line.id, Decimal(0))
        if quantity > left:
            raise FinanceError(
                _("At most %(n)s of this line is left to credit.", n=format(left.normalize(), "f")),
                f"q-{line.id}",
            )
        if quantity > 0:
            chosen.append((line, quantity))
    if not chosen:
        raise FinanceError(_("Choose what to credit: a quantity on at least one line."))
    org = db.session.get(Organization, org_id)
    settings = settings_of(org_id)
    note = Invoice(
        org_id=org_id,
        kind="credit_note",
        credit_for_id=invoice.id,
        credit_reason=reason,
        company_id=invoice.company_id,
        contact_id=invoice.contact_id,
        customer_name=invoice.customer_name,
        customer_address=invoice.customer_address,
        customer_email=invoice.customer_email,
        customer_tax_id=invoice.customer_tax_id,
        currency=invoice.currency,
        exchange_rate=invoice.exchange_rate,
        prices_include_tax=invoice.prices_include_tax,
        round_per_document=invoice.round_per_document,
        created_by_id=actor_id,
        lines=[
            InvoiceLine(
                org_id=org_id,
                position=position,
                product_id=line.product_id,
                description=line.description,
                quantity=quantity,
                unit=line.unit,
                unit_price_minor=line.unit_price_minor,
                discount=line.discount,
                tax_ids=list(line.tax_ids),
                source_line_id=line.id,
            )
            for position, (line, quantity) in enumerate(chosen)
        ],
    )
    db.session.add(note)
    apply_totals(note, _rates_as_issued(invoice))  # a rate changed since changes no credit
    day = today_of(org)
    note.issue_date = note.due_date = day
    note.base_total_minor = base_amount(
        note.total_minor, note.currency, note.exchange_rate, org.currency
    )
    applied = min(note.total_minor, invoice.balance_minor)
    invoice.credited_minor += note.total_minor
    note.paid_minor = applied  # settled by lowering the invoice; the rest is refunded
    note.number = numbering.take(org_id, CREDIT_SEQUENCE, settings.credit_note_pattern, day)
    note.status, note.issued_at = "issued", utcnow()
    note.search_name = fold(f"{note.number} {note.customer_name}")[:300]
    note.refresh_list_keys()
    invoice.refresh_list_keys()
    db.session.flush()
    ledger.post_document(note)
    audit.record(
        "finance.credit_note_issued",
        org=org_id,
        actor=actor_id,
        target=note,
        summary=f"{note.number} / {invoice.number}: {reason}",
        total=note.total_minor,
    )
    audit.record(
        "finance.invoice_credited", org=org_id, actor=actor_id, target=invoice, summary=note.number
    )
    events.emit("credit_note.issued", org_id=org_id, id=note.id, number=note.number)
    if invoice.balance_minor == 0 and invoice.paid_at is None:
        invoice.paid_at = utcnow()
    return note


# -- quotes ------------------------------------------------------------------------------------


def answer_quote(
    org_id: int, quote: Invoice, outcome: str, by: str, actor_id: int | None = None
) -> Invoice:
    """The customer accepts or declines a quote (on its page, or as the staff record it)."""
    lock_for_update(quote)
    if not quote.is_quote or quote.status != "issued":
        raise FinanceError(_("Only a finalized quote can be accepted or declined."))
    if outcome not in ("accepted", "declined"):
        raise FinanceError(_("Accept or decline the quote."))
    if quote.converted_to_id or quote.quote_outcome:
        raise FinanceError(_("This quote was answered already."))
    org = db.session.get(Organization, org_id)
    if actor_id is None and quote.due_date is not None and quote.due_date < today_of(org):
        raise FinanceError(
            _("This quote expired on %(date)s. Ask for a new one.", date=quote.due_date.isoformat())
        )
    by = " ".join(by.split())[:200]
    if outcome == "accepted" and actor_id is None and not by:
        raise FinanceError(_("Type your name to accept the quote."), "name")
    quote.quote_outcome, quote.outcome_at, quote.outcome_by = outcome, utcnow(), by
    db.session.flush()
    audit.record(
        f"finance.quote_{outcome}", org=org_id, actor=actor_id, target=quote,
        summary=f"{quote.number}: {by}" if by else quote.number or "",
    )  # fmt: skip
    events.emit(f"quote.{outcome}", org_id=org_id, id=quote.id, number=quote.number)
    return quote


def convert_quote(org_id: int, actor_id: int | None, quote: Invoice) -> Invoice:
    """A draft invoice with the quote's customer, currency and lines; the quote points to it."""
    lock_for_update(quote)
    if not quote.is_quote or quote.status != "issued":
        raise FinanceError(_("Only a finalized quote can become an invoice."))
    if quote.converted_to_id:
        raise FinanceError(_("This quote is an invoice already."))
    if quote.quote_outcome == "declined":
        raise FinanceError(_("The customer declined this quote."))
    settings = settings_of(org_id)
    exemption = exemption_of(quote.company_id, quote.contact_id)  # as it stands today
    invoice = Invoice(
        org_id=org_id,
        kind="invoice",
        tax_exemption=exemption.reason if exemption else "",
        company_id=quote.company_id,
        contact_id=quote.contact_id,
        company=quote.company,
        contact=quote.contact,
        customer_name=quote.customer_name.split("\n")[0],
        currency=quote.currency,
        exchange_rate=quote.exchange_rate,
        prices_include_tax=quote.prices_include_tax,
        round_per_document=quote.round_per_document,
        notes=quote.notes,
        footer=quote.footer or settings.footer,
        created_by_id=actor_id,
        lines=[
            InvoiceLine(
                org_id=org_id, position=line.position, product_id=line.product_id,
                description=line.description, quantity=line.quantity, unit=line.unit,
                unit_price_minor=line.unit_price_minor, discount=line.discount,
                tax_ids=[] if exemption else list(line.tax_ids),
            )
            for line in quote.lines
        ],
    )  # fmt: skip
    db.session.add(invoice)
    apply_totals(invoice, _rates_as_issued(quote))  # the prices the customer accepted
    org = db.session.get(Organization, org_id)
    invoice.base_total_minor = base_amount(
        invoice.total_minor, invoice.currency, invoice.exchange_rate, org.currency
    )
    invoice.search_name = fold(invoice.customer_name)[:300]
    invoice.refresh_list_keys()
    db.session.flush()
    quote.converted_to_id = invoice.id
    if not quote.quote_outcome:
        quote.quote_outcome, quote.outcome_at = "accepted", utcnow()
    audit.record(
        "finance.quote_invoiced",
        org=org_id,
        actor=actor_id,
        target=quote,
        summary=quote.number or "",
    )
    return invoice


def apply_credit(org_id: int, actor_id: int | None, invoice: Invoice) -> Payment:
    """Pay an invoice (in part) from the customer's credit in its currency."""
    lock_for_update(invoice)
    if invoice.kind != "invoice" or invoice.status != "issued" or not invoice.balance_minor:
        raise FinanceError(_("Nothing is due on this invoice."))
    available = credit_balance(org_id, invoice.company_id, invoice.contact_id, invoice.currency)
    if available <= 0:
        raise FinanceError(
            _("This customer has no credit in %(currency)s.", currency=invoice.currency)
        )
    amount = min(available, invoice.balance_minor)
    payment = Payment(
        org_id=org_id,
        invoice=invoice,
        paid_on=today_of(db.session.get(Organization, org_id)),
        amount_minor=amount,
        currency=invoice.currency,
        method="credit",
        reference=_("Customer credit"),
        recorded_by_id=actor_id,
    )
    db.session.add(payment)
    invoice.paid_minor += amount
    invoice.refresh_list_keys()
    note = _("Used on %(number)s", number=invoice.number)
    _add_credit(invoice, -amount, note, used_on_invoice_id=invoice.id)
    db.session.flush()
    audit.record(
        "finance.credit_applied", org=org_id, actor=actor_id, target=invoice, summary=str(amount)
    )
    if invoice.balance_minor == 0:
        invoice.paid_at = utcnow()
        events.emit("invoice.paid", org_id=org_id, id=invoice.id, number=invoice.number)
    return payment

"""Finance records: settings, tax rates, products and services, invoices with their lines and
tax breakdown, payments, and customer credit. Amounts are integer minor units of `currency`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from startvora.core import fts
from startvora.core.db import DecimalText, TimestampMixin, UTCDateTime, utcnow
from startvora.core.tenancy import TenantMixin
from startvora.core.trash import SoftDeleteMixin
from startvora.extensions import db

INVOICE_STATUSES = ("draft", "issued", "void")  # paid, partly paid and overdue are derived
KINDS = ("invoice", "credit_note", "quote")
QUOTE_OUTCOMES = ("", "accepted", "declined")
LAST_DAY = dt.date(9999, 12, 31)
PAYMENT_METHODS = ("bank_transfer", "card", "cash", "cheque", "direct_debit", "other", "credit")


class FinanceSettings(TenantMixin, TimestampMixin, db.Model):
    """One row per organization: numbering, defaults for new documents, payment instructions."""

    __tablename__ = "finance_settings"
    __table_args__ = (UniqueConstraint("org_id", name="uq_finance_settings_org"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_pattern: Mapped[str] = mapped_column(String(40), default="INV-{YYYY}-{0000}")
    credit_note_pattern: Mapped[str] = mapped_column(String(40), default="CN-{YYYY}-{0000}")
    quote_pattern: Mapped[str] = mapped_column(String(40), default="Q-{YYYY}-{0000}")
    quote_valid_days: Mapped[int] = mapped_column(default=30)
    prices_include_tax: Mapped[bool] = mapped_column(default=False)
    round_per_document: Mapped[bool] = mapped_column(default=False)
    payment_terms_days: Mapped[int] = mapped_column(default=14)
    notes: Mapped[str] = mapped_column(Text, default="")  # printed on new invoices
    footer: Mapped[str] = mapped_column(Text, default="")
    bank_name: Mapped[str] = mapped_column(String(120), default="")
    iban: Mapped[str] = mapped_column(String(40), default="")
    bic: Mapped[str] = mapped_column(String(11), default="")
    paper: Mapped[str] = mapped_column(String(6), default="A4")  # A4 or Letter
    # Payment reminders, in days from the due date: -3 is three days before, 7 a week after.
    reminder_days: Mapped[list[int]] = mapped_column(JSON, default=list)


class TaxRate(TenantMixin, TimestampMixin, db.Model):
    __tablename__ = "finance_tax_rates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    rate: Mapped[Decimal] = mapped_column(DecimalText)  # percent: 19, 7.7, 9.975
    compound: Mapped[bool] = mapped_column(default=False)
    archived: Mapped[bool] = mapped_column(default=False)

    @property
    def label(self) -> str:
        return f"{self.name} ({format(self.rate.normalize(), 'f')} %)"


class Product(TenantMixin, SoftDeleteMixin, TimestampMixin, db.Model):
    """Something sold or bought: a product (inventory adds its stock) or a service."""

    __tablename__ = "finance_products"
    __table_args__ = (
        Index("ix_finance_products_list", "org_id", "deleted_at", "search_name", "id"),
        Index("ix_finance_products_sku", "org_id", "sku"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10), default="product")  # product or service
    sku: Mapped[str] = mapped_column(String(60), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(String(20), default="")
    prices: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # currency -> minor units
    tax_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    income_category: Mapped[str] = mapped_column(String(60), default="")
    expense_category: Mapped[str] = mapped_column(String(60), default="")
    archived: Mapped[bool] = mapped_column(default=False)
    search_name: Mapped[str] = mapped_column(String(300), default="")

    @property
    def display_name(self) -> str:
        return self.name


class Invoice(TenantMixin, TimestampMixin, db.Model):
    """An invoice, or a credit note (kind) that corrects one. Once issued, only payments (for a
    credit note: refunds) and the status move; an invoice is corrected by credit notes."""

    __tablename__ = "finance_invoices"
    __table_args__ = (
        UniqueConstraint("org_id", "number", name="uq_finance_invoices_number"),
        # The list's sorts and filters, each answered from an index (200k invoices and more).
        # `kind` last: the invoices' list and the quotes' list read it from the index.
        Index("ix_finance_invoices_list", "org_id", "sort_date", "id", "kind"),
        Index("ix_finance_invoices_state", "org_id", "status", "sort_date", "id", "kind"),
        Index("ix_finance_invoices_open", "org_id", "is_open", "due_date", "kind", "sort_date"),
        Index("ix_finance_invoices_total", "org_id", "total_minor", "id", "kind"),
        Index("ix_finance_invoices_customer", "org_id", "customer_name", "id", "kind"),
        # Covers what a search checks and sorts on for each id the search index gives.
        Index("ix_finance_invoices_search", "id", "org_id", "sort_date", "kind"),
        # Partial: most invoices name a company and no contact (or the other way round); the
        # NULLs would make the planner think a customer has half the invoices.
        Index(
            "ix_finance_invoices_company", "company_id", sqlite_where=text("company_id IS NOT NULL")
        ),
        Index(
            "ix_finance_invoices_contact", "contact_id", sqlite_where=text("contact_id IS NOT NULL")
        ),
        Index("ix_finance_invoices_kind", "org_id", "kind"),  # counts of a list
        CheckConstraint("status IN ('draft', 'issued', 'void')", name="ck_finance_invoice_status"),
        CheckConstraint(
            "kind IN ('invoice', 'credit_note', 'quote')", name="ck_finance_invoice_kind"
        ),
        # Partial: almost every row has none, and a full index's statistics make the planner
        # shun it for "the credit notes of this invoice" (24 ms for 200k invoices, not 0.05).
        Index(
            "ix_finance_invoices_credit_for",
            "credit_for_id",
            sqlite_where=text("credit_for_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(40))  # given when issued
    kind: Mapped[str] = mapped_column(String(12), default="invoice")
    status: Mapped[str] = mapped_column(String(10), default="draft")
    # A credit note's invoice. Issued invoices are never deleted (only drafts, which have no
    # credit notes); CASCADE lets an organization, or a test's schema, be removed whole.
    credit_for_id: Mapped[int | None] = mapped_column(
        ForeignKey("finance_invoices.id", ondelete="CASCADE")
    )
    credit_reason: Mapped[str] = mapped_column(String(300), default="")
    # A quote: what the customer answered (on its public page, or as the staff recorded it),
    # and the invoice it became.
    quote_outcome: Mapped[str] = mapped_column(String(10), default="")
    outcome_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    outcome_by: Mapped[str] = mapped_column(String(200), default="")
    converted_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("finance_invoices.id", ondelete="SET NULL")
    )
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_companies.id", ondelete="RESTRICT")
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_contacts.id", ondelete="RESTRICT")
    )
    customer_name: Mapped[str] = mapped_column(String(200), default="")  # as issued
    search_name: Mapped[str] = mapped_column(String(300), default="")  # folded number, customer
    customer_address: Mapped[str] = mapped_column(Text, default="")
    customer_email: Mapped[str] = mapped_column(String(320), default="")
    customer_tax_id: Mapped[str] = mapped_column(String(60), default="")
    tax_exemption: Mapped[str] = mapped_column(String(200), default="")  # why no tax is charged
    currency: Mapped[str] = mapped_column(String(3))
    exchange_rate: Mapped[Decimal] = mapped_column(DecimalText, default=Decimal(1))  # base per 1
    issue_date: Mapped[dt.date | None] = mapped_column(Date)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    # Kept by the services: the list's date (a draft's is the far future: drafts come first,
    # newest first) and whether money is still due (issued, with a balance).
    sort_date: Mapped[dt.date] = mapped_column(Date, default=LAST_DAY)
    is_open: Mapped[bool] = mapped_column(default=False)
    prices_include_tax: Mapped[bool] = mapped_column(default=False)
    round_per_document: Mapped[bool] = mapped_column(default=False)
    notes: Mapped[str] = mapped_column(Text, default="")
    footer: Mapped[str] = mapped_column(Text, default="")
    subtotal_minor: Mapped[int] = mapped_column(default=0)
    tax_minor: Mapped[int] = mapped_column(default=0)
    total_minor: Mapped[int] = mapped_column(default=0)
    paid_minor: Mapped[int] = mapped_column(default=0)  # a credit note: settled (applied, refunded)
    credited_minor: Mapped[int] = mapped_column(default=0)  # an invoice: its credit notes' totals
    base_total_minor: Mapped[int] = mapped_column(default=0)  # in the organization's currency
    issued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    viewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    voided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    overdue_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # announced overdue
    void_reason: Mapped[str] = mapped_column(String(300), default="")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("auth_users.id", ondelete="SET NULL")
    )

    company = relationship("Company", lazy="joined")
    contact = relationship("Contact", lazy="joined")
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice",
        order_by="InvoiceLine.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    taxes: Mapped[list[InvoiceTax]] = relationship(
        cascade="all, delete-orphan", order_by="InvoiceTax.id", lazy="selectin"
    )
    payments: Mapped[list[Payment]] = relationship(
        back_populates="invoice", order_by="Payment.paid_on, Payment.id", lazy="selectin"
    )

    @property
    def balance_minor(self) -> int:
        """What is still due: on an invoice from the customer, on a credit note to them."""
        return max(self.total_minor - self.paid_minor - self.credited_minor, 0)

    @property
    def is_credit_note(self) -> bool:
        return self.kind == "credit_note"

    def refresh_list_keys(self) -> None:
        """Keep the list's date and open flag in step with the status, dates and amounts."""
        self.sort_date = self.issue_date or LAST_DAY
        self.is_open = self.kind == "invoice" and self.status == "issued" and self.balance_minor > 0

    @property
    def is_quote(self) -> bool:
        return self.kind == "quote"

    def state(self, today: dt.date | None = None) -> str:
        """What a list shows: draft, void, paid, credited, overdue, partly_paid or issued;
        for a credit note refund_due or settled; for a quote sent, accepted, declined,
        expired or invoiced."""
        if self.status != "issued":
            return self.status
        if self.is_quote:
            if self.converted_to_id:
                return "invoiced"
            if self.quote_outcome:
                return self.quote_outcome
            today = today or utcnow().date()
            return "expired" if self.due_date is not None and self.due_date < today else "sent"
        if self.is_credit_note:
            return "refund_due" if self.balance_minor else "settled"
        if self.balance_minor == 0:
            return "credited" if self.credited_minor >= self.total_minor else "paid"
        today = today or utcnow().date()
        if self.due_date is not None and self.due_date < today:
            return "overdue"
        return "partly_paid" if self.paid_minor > 0 else "issued"

    @property
    def display_name(self) -> str:
        return self.number or f"#{self.id}"


class InvoiceLine(TenantMixin, db.Model):
    __tablename__ = "finance_invoice_lines"
    __table_args__ = (Index("ix_finance_invoice_lines_invoice", "invoice_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("finance_invoices.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("finance_products.id", ondelete="SET NULL")
    )
    description: Mapped[str] = mapped_column(Text, default="")
    quantity: Mapped[Decimal] = mapped_column(DecimalText, default=Decimal(1))
    unit: Mapped[str] = mapped_column(String(20), default="")
    unit_price_minor: Mapped[int] = mapped_column(default=0)
    discount: Mapped[Decimal] = mapped_column(DecimalText, default=Decimal(0))  # percent
    tax_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    net_minor: Mapped[int] = mapped_column(default=0)
    tax_minor: Mapped[int] = mapped_column(default=0)
    total_minor: Mapped[int] = mapped_column(default=0)
    source_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("finance_invoice_lines.id", ondelete="SET NULL")
    )  # a credit note's line: the invoice line it credits
    expense_id: Mapped[int | None] = mapped_column(
        ForeignKey("finance_expenses.id", ondelete="SET NULL"), index=True
    )  # an expense billed to the customer on this line

    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class InvoiceTax(TenantMixin, db.Model):
    """The tax breakdown as issued: name and rate are copied, so renaming a rate changes nothing."""

    __tablename__ = "finance_invoice_taxes"
    __table_args__ = (Index("ix_finance_invoice_taxes_invoice", "invoice_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("finance_invoices.id", ondelete="CASCADE"))
    tax_rate_id: Mapped[int | None] = mapped_column(
        ForeignKey("finance_tax_rates.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(60))
    rate: Mapped[Decimal] = mapped_column(DecimalText)
    compound: Mapped[bool] = mapped_column(default=False)
    base_minor: Mapped[int] = mapped_column(default=0)
    amount_minor: Mapped[int] = mapped_column(default=0)


class InvoiceReminder(TenantMixin, db.Model):
    """A payment reminder sent for an invoice: one per invoice and schedule step, never two."""

    __tablename__ = "finance_invoice_reminders"
    __table_args__ = (UniqueConstraint("invoice_id", "days", name="uq_finance_reminder_step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("finance_invoices.id", ondelete="CASCADE"))
    days: Mapped[int] = mapped_column()  # the schedule step, in days from the due date
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    to_address: Mapped[str] = mapped_column(String(320), default="")


class Payment(TenantMixin, TimestampMixin, db.Model):
    __tablename__ = "finance_payments"
    __table_args__ = (Index("ix_finance_payments_invoice", "invoice_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("finance_invoices.id", ondelete="RESTRICT"))
    paid_on: Mapped[dt.date] = mapped_column(Date)
    amount_minor: Mapped[int] = mapped_column()  # applied to the invoice
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[str] = mapped_column(String(20), default="bank_transfer")
    reference: Mapped[str] = mapped_column(String(120), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("auth_users.id", ondelete="SET NULL")
    )

    invoice: Mapped[Invoice] = relationship(back_populates="payments")


class CustomerCredit(TenantMixin, TimestampMixin, db.Model):
    """Money a customer has with us: an overpayment, to use on a later invoice."""

    __tablename__ = "finance_customer_credits"
    __table_args__ = (Index("ix_finance_credits_customer", "org_id", "company_id", "contact_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_companies.id", ondelete="RESTRICT")
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_contacts.id", ondelete="RESTRICT")
    )
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column()  # positive: received; negative: used
    source_payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("finance_payments.id", ondelete="SET NULL")
    )
    used_on_invoice_id: Mapped[int | None] = mapped_column(
        ForeignKey("finance_invoices.id", ondelete="SET NULL")
    )
    note: Mapped[str] = mapped_column(String(300), default="")


def snapshot(obj: Any) -> dict[str, Any]:
    """A record's columns as plain values (for audit data)."""
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns}


fts.attach(Invoice)  # numbers and customers found by any part, from an index


FREQUENCIES = ("weekly", "monthly", "quarterly", "yearly")


class RecurringInvoice(TenantMixin, TimestampMixin, db.Model):
    """An invoice made again on a schedule from a model: customer, currency and lines."""

    __tablename__ = "finance_recurring_invoices"
    __table_args__ = (
        Index("ix_finance_recurring_due", "active", "next_date"),
        CheckConstraint(
            "frequency IN ('weekly', 'monthly', 'quarterly', 'yearly')",
            name="ck_finance_recurring_frequency",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_invoice_id: Mapped[int | None] = mapped_column(
        ForeignKey("finance_invoices.id", ondelete="SET NULL")
    )
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_companies.id", ondelete="CASCADE")
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_contacts.id", ondelete="CASCADE")
    )
    customer_name: Mapped[str] = mapped_column(String(200), default="")
    currency: Mapped[str] = mapped_column(String(3))
    exchange_rate: Mapped[Decimal] = mapped_column(DecimalText, default=Decimal(1))  # base per 1
    prices_include_tax: Mapped[bool] = mapped_column(default=False)
    notes: Mapped[str] = mapped_column(Text, default="")
    footer: Mapped[str] = mapped_column(Text, default="")
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    frequency: Mapped[str] = mapped_column(String(10), default="monthly")
    start_date: Mapped[dt.date] = mapped_column(Date)
    next_date: Mapped[dt.date | None] = mapped_column(Date)  # None once finished
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    max_count: Mapped[int | None] = mapped_column()
    issued_count: Mapped[int] = mapped_column(default=0)
    auto_send: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    last_invoice_id: Mapped[int | None] = mapped_column(
        ForeignKey("finance_invoices.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("auth_users.id", ondelete="SET NULL")
    )


class TaxExemption(TenantMixin, TimestampMixin, db.Model):
    """A customer charged no tax (a charity, an export, a reseller's certificate): their
    documents carry no tax and print the reason."""

    __tablename__ = "finance_tax_exemptions"
    __table_args__ = (
        Index(
            "uq_finance_tax_exemptions_company", "company_id", unique=True,
            sqlite_where=text("company_id IS NOT NULL"),
        ),
        Index(
            "uq_finance_tax_exemptions_contact", "contact_id", unique=True,
            sqlite_where=text("contact_id IS NOT NULL"),
        ),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_companies.id", ondelete="CASCADE")
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_contacts.id", ondelete="CASCADE")
    )
    reason: Mapped[str] = mapped_column(String(200))  # printed: "Exempt: certificate 123"

"""Money spent: expenses with their receipts and vendor bills, approved before they count, and
expenses repeated on a schedule. Amounts are integer minor units of `currency`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from startvora.core.db import DecimalText, TimestampMixin, UTCDateTime
from startvora.core.tenancy import TenantMixin
from startvora.extensions import db

EXPENSE_KINDS = ("expense", "bill")  # paid on the spot (a receipt), or a vendor's bill to pay
EXPENSE_STATUSES = ("pending", "approved", "rejected")


class _ExpenseFields:
    """What an expense and the schedule that repeats it both say."""

    kind: Mapped[str] = mapped_column(String(10), default="expense")
    vendor_company_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_companies.id", ondelete="SET NULL")
    )
    vendor_contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_contacts.id", ondelete="SET NULL")
    )
    vendor_name: Mapped[str] = mapped_column(String(200), default="")  # kept if the vendor goes
    category: Mapped[str] = mapped_column(String(60), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    currency: Mapped[str] = mapped_column(String(3))
    exchange_rate: Mapped[Decimal] = mapped_column(DecimalText, default=Decimal(1))  # base per 1
    amount_minor: Mapped[int] = mapped_column(default=0)  # as typed: with tax or without
    amount_includes_tax: Mapped[bool] = mapped_column(default=True)
    tax_rate_id: Mapped[int | None] = mapped_column(
        ForeignKey("finance_tax_rates.id", ondelete="SET NULL")
    )
    billable: Mapped[bool] = mapped_column(default=False)
    customer_company_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_companies.id", ondelete="SET NULL")
    )
    customer_contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_contacts.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("auth_users.id", ondelete="SET NULL")
    )


class Expense(_ExpenseFields, TenantMixin, TimestampMixin, db.Model):
    """Money spent, with its receipt. Counted in the reports once approved; an approved expense
    is changed only after it is reopened (which takes it out of the reports again)."""

    __tablename__ = "finance_expenses"
    __table_args__ = (
        Index("ix_finance_expenses_list", "org_id", "spent_on", "id"),
        Index("ix_finance_expenses_status", "org_id", "status", "spent_on", "id"),
        Index(
            "ix_finance_expenses_billable", "org_id", "billable", "customer_company_id",
            "customer_contact_id",
        ),
        CheckConstraint("kind IN ('expense', 'bill')", name="ck_finance_expense_kind"),
        CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')", name="ck_finance_expense_status"
        ),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(primary_key=True)
    spent_on: Mapped[dt.date] = mapped_column(Date)  # a bill: its date
    due_date: Mapped[dt.date | None] = mapped_column(Date)  # a bill: when it is to be paid
    bill_number: Mapped[str] = mapped_column(String(60), default="")  # the vendor's reference
    search_name: Mapped[str] = mapped_column(String(400), default="")  # folded vendor, text
    net_minor: Mapped[int] = mapped_column(default=0)
    tax_minor: Mapped[int] = mapped_column(default=0)
    total_minor: Mapped[int] = mapped_column(default=0)
    tax_name: Mapped[str] = mapped_column(String(60), default="")  # the rate as it was applied
    tax_rate: Mapped[Decimal] = mapped_column(DecimalText, default=Decimal(0))
    base_net_minor: Mapped[int] = mapped_column(default=0)  # in the organization's currency
    base_tax_minor: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("auth_users.id", ondelete="SET NULL")
    )
    rejection_reason: Mapped[str] = mapped_column(String(300), default="")
    paid_on: Mapped[dt.date | None] = mapped_column(Date)
    payment_method: Mapped[str] = mapped_column(String(20), default="")
    receipt_file_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_files.id", ondelete="SET NULL")
    )
    recurring_id: Mapped[int | None] = mapped_column(
        ForeignKey("finance_recurring_expenses.id", ondelete="SET NULL"), index=True
    )

    receipt = relationship("StoredFile", lazy="joined")
    created_by = relationship("User", foreign_keys="Expense.created_by_id")
    decided_by = relationship("User", foreign_keys="Expense.decided_by_id")

    @property
    def display_name(self) -> str:
        return self.bill_number or self.vendor_name or f"#{self.id}"

    def state(self, today: dt.date) -> str:
        """What a list shows: pending, rejected, approved; a bill unpaid, overdue or paid."""
        if self.status != "approved":
            return self.status
        if self.kind == "bill":
            if self.paid_on is not None:
                return "paid"
            return "overdue" if self.due_date and self.due_date < today else "unpaid"
        return "approved"


class RecurringExpense(_ExpenseFields, TenantMixin, TimestampMixin, db.Model):
    """An expense entered again on a schedule (rent, a subscription), approved as it is made."""

    __tablename__ = "finance_recurring_expenses"
    __table_args__ = (
        Index("ix_finance_recurring_expenses_due", "active", "next_date"),
        CheckConstraint(
            "frequency IN ('weekly', 'monthly', 'quarterly', 'yearly')",
            name="ck_finance_recurring_expense_frequency",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    frequency: Mapped[str] = mapped_column(String(10), default="monthly")
    start_date: Mapped[dt.date] = mapped_column(Date)
    next_date: Mapped[dt.date | None] = mapped_column(Date)  # None once finished
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    max_count: Mapped[int | None] = mapped_column()
    made_count: Mapped[int] = mapped_column(default=0)
    due_days: Mapped[int] = mapped_column(default=0)  # a bill: due this many days after its date
    active: Mapped[bool] = mapped_column(default=True)
    last_expense_id: Mapped[int | None] = mapped_column(
        ForeignKey("finance_expenses.id", ondelete="SET NULL", use_alter=True)
    )

    @property
    def display_name(self) -> str:
        return self.vendor_name or self.category or f"#{self.id}"

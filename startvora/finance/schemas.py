"""Validated input of finance: one schema for the form and the API.

Amounts are typed in major units ("1250.50", or "1.250,50" in the organization's number format)
and checked against the currency's decimals; validate with context={"currency": the document's
or the organization's currency, "locale": its number locale}.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from flask_babel import gettext as _
from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from startvora.core import money
from startvora.crm.schemas import PLAIN

MAX_MINOR = 10**15  # a trillion in any currency: beyond it, a typing mistake
MAX_QUANTITY = Decimal(10**9)
MAX_LINES = 200

Line = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200, pattern=PLAIN)]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=PLAIN)
]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]


def _empty_to_none(value: Any) -> Any:
    return None if value is None or (isinstance(value, str) and not value.strip()) else value


MAX_ID = 2**63 - 1  # SQLite's largest integer: a larger id is no record, not a crash
OptionalId = Annotated[
    Annotated[int, Field(ge=1, le=MAX_ID)] | None, BeforeValidator(_empty_to_none)
]
OptionalDate = Annotated[dt.date | None, BeforeValidator(_empty_to_none)]


def minor_of(raw: Any, currency: str, locale: str, negative: bool = False) -> int:
    """A typed amount in minor units; ValueError with a message for the form."""
    amount = money.parse_amount(raw, locale)
    if amount < 0 and not negative:
        raise ValueError(_("Enter an amount of zero or more."))
    digits = money.exponent(currency)
    if amount.normalize().as_tuple().exponent < -digits:  # type: ignore[operator]
        if digits == 0:
            raise ValueError(_("%(currency)s amounts have no decimals.", currency=currency))
        raise ValueError(
            _("%(currency)s amounts have at most %(n)d decimals.", currency=currency, n=digits)
        )
    minor = money.to_minor(amount, currency)
    if abs(minor) >= MAX_MINOR:
        raise ValueError(_("The amount is too large."))
    return minor


def percent_of(raw: Any, locale: str) -> Decimal:
    value = money.parse_amount(raw, locale)
    if value < 0 or value > 100:
        raise ValueError(_("Enter a percentage from 0 to 100."))
    if value.normalize().as_tuple().exponent < -4:  # type: ignore[operator]
        raise ValueError(_("Use at most 4 decimals."))
    return value


def _context(info: ValidationInfo) -> tuple[str, str]:
    ctx = info.context or {}
    return ctx.get("currency", "USD"), ctx.get("locale", "en")


class TaxRateIn(BaseModel):
    name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60, pattern=PLAIN)
    ]
    rate: Decimal
    compound: bool = False

    @field_validator("rate", mode="before")
    @classmethod
    def _rate(cls, raw: Any, info: ValidationInfo) -> Decimal:
        if _empty_to_none(raw) is None:
            raise ValueError(_("Enter the rate in percent, such as 19 or 7.7."))
        return percent_of(raw, _context(info)[1])


class ProductIn(BaseModel):
    name: Name
    kind: str = "product"
    sku: Annotated[str, StringConstraints(strip_whitespace=True, max_length=60, pattern=PLAIN)] = ""
    description: LongText = ""
    unit: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20, pattern=PLAIN)] = (
        ""
    )
    prices: dict[str, int] = Field(default_factory=dict)  # currency -> minor units
    tax_ids: list[int] = Field(default_factory=list)
    income_category: Annotated[str, StringConstraints(strip_whitespace=True, max_length=60)] = ""
    expense_category: Annotated[str, StringConstraints(strip_whitespace=True, max_length=60)] = ""

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value not in ("product", "service"):
            raise ValueError(_("Choose product or service."))
        return value

    @field_validator("prices", mode="before")
    @classmethod
    def _prices(cls, raw: Any, info: ValidationInfo) -> dict[str, int]:
        """{"EUR": "12.50", "USD": 13.5}: amounts typed per currency, empty ones left out."""
        _currency, locale = _context(info)
        prices: dict[str, int] = {}
        for code, amount in dict(raw or {}).items():
            if _empty_to_none(amount) is None:
                continue
            currency = money.check_currency(code)
            prices[currency] = minor_of(amount, currency, locale)
        return prices


class LineIn(BaseModel):
    product_id: OptionalId = None
    description: LongText = ""
    quantity: Decimal = Decimal(1)
    unit: Line = ""
    unit_price: int = 0  # minor units of the document's currency
    discount: Decimal = Decimal(0)
    tax_ids: list[int] = Field(default_factory=list)
    expense_id: OptionalId = None  # the expense this line bills to the customer

    @field_validator("quantity", mode="before")
    @classmethod
    def _quantity(cls, raw: Any, info: ValidationInfo) -> Decimal:
        value = money.parse_amount(
            raw if _empty_to_none(raw) is not None else "1", _context(info)[1]
        )
        if value <= 0:
            raise ValueError(_("Enter a quantity above zero."))
        if value >= MAX_QUANTITY or value.normalize().as_tuple().exponent < -4:  # type: ignore[operator]
            raise ValueError(_("Enter a quantity with at most 4 decimals."))
        return value

    @field_validator("unit_price", mode="before")
    @classmethod
    def _price(cls, raw: Any, info: ValidationInfo) -> int:
        currency, locale = _context(info)
        return minor_of(raw, currency, locale)

    @field_validator("discount", mode="before")
    @classmethod
    def _discount(cls, raw: Any, info: ValidationInfo) -> Decimal:
        return percent_of(raw if _empty_to_none(raw) is not None else "0", _context(info)[1])

    @field_validator("tax_ids", mode="before")
    @classmethod
    def _taxes(cls, raw: Any) -> list[int]:
        if raw in (None, ""):
            return []
        items = raw if isinstance(raw, list) else [raw]
        return [int(i) for i in items if str(i).strip()]

    @model_validator(mode="after")
    def _something(self) -> LineIn:
        if not self.description and self.product_id is None:
            raise ValueError(_("Describe the line or choose a product."))
        return self


class InvoiceIn(BaseModel):
    """A draft invoice. The customer is a CRM company or contact (one of them)."""

    company_id: OptionalId = None
    contact_id: OptionalId = None
    currency: str = Field("", validate_default=True)
    exchange_rate: Decimal = Decimal(1)
    issue_date: OptionalDate = None
    due_date: OptionalDate = None
    prices_include_tax: bool = False
    notes: LongText = ""
    footer: LongText = ""
    lines: list[LineIn] = Field(default_factory=list, max_length=MAX_LINES)

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, value: Any, info: ValidationInfo) -> str:
        if value in (None, ""):
            value = (info.context or {}).get("currency", "")
        return money.check_currency(value)

    @field_validator("exchange_rate", mode="before")
    @classmethod
    def _rate(cls, raw: Any, info: ValidationInfo) -> Decimal:
        if _empty_to_none(raw) is None:
            return Decimal(1)
        value = money.parse_amount(raw, _context(info)[1])
        if value <= 0 or value > 10**9:
            raise ValueError(_("Enter the exchange rate as a positive number."))
        return value

    @model_validator(mode="after")
    def _checks(self) -> InvoiceIn:
        if self.company_id is None and self.contact_id is None:
            raise ValueError(_("Choose the customer."))
        if self.issue_date and self.due_date and self.due_date < self.issue_date:
            raise ValueError(_("The due date cannot be before the invoice date."))
        return self


class PaymentIn(BaseModel):
    paid_on: dt.date
    amount: int  # minor units
    method: str = "bank_transfer"
    reference: Line = ""
    note: LongText = ""
    overpayment: str = ""  # "credit" keeps the extra as customer credit; else it is refused

    @field_validator("paid_on", mode="before")
    @classmethod
    def _date(cls, raw: Any) -> Any:
        if _empty_to_none(raw) is None:
            raise ValueError(_("Enter the date the money arrived."))
        return raw

    @field_validator("amount", mode="before")
    @classmethod
    def _amount(cls, raw: Any, info: ValidationInfo) -> int:
        currency, locale = _context(info)
        minor = minor_of(raw, currency, locale)
        if minor <= 0:
            raise ValueError(_("Enter the amount received."))
        return minor


class SendIn(BaseModel):
    to: str
    subject: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300, pattern=PLAIN)
    ]
    message: LongText = ""

    @field_validator("to")
    @classmethod
    def _to(cls, value: str) -> str:
        from startvora.auth.schemas import check_email

        value = value.strip()
        if not value:
            raise ValueError(_("Enter the customer's email address."))
        return check_email(value)


Category = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60, pattern=PLAIN)
]


class ExpenseIn(BaseModel):
    """An expense (a receipt) or a vendor's bill. The vendor is a CRM company or contact, or just
    a name; a billable expense names the customer it is billed to."""

    kind: str = "expense"
    vendor_company_id: OptionalId = None
    vendor_contact_id: OptionalId = None
    vendor_name: Line = ""
    spent_on: dt.date
    due_date: OptionalDate = None
    bill_number: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=60, pattern=PLAIN)
    ] = ""
    category: Category
    description: LongText = ""
    currency: str = Field("", validate_default=True)
    exchange_rate: Decimal = Decimal(1)
    amount: int  # minor units, as typed
    amount_includes_tax: bool = True
    tax_rate_id: OptionalId = None
    billable: bool = False
    customer_company_id: OptionalId = None
    customer_contact_id: OptionalId = None
    paid_on: OptionalDate = None
    payment_method: str = ""

    _currency = field_validator("currency", mode="before")(InvoiceIn._currency.__func__)  # type: ignore[attr-defined]
    _rate = field_validator("exchange_rate", mode="before")(InvoiceIn._rate.__func__)  # type: ignore[attr-defined]

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value not in ("expense", "bill"):
            raise ValueError(_("Choose an expense or a vendor bill."))
        return value

    @field_validator("spent_on", mode="before")
    @classmethod
    def _date(cls, raw: Any) -> Any:
        if _empty_to_none(raw) is None:
            raise ValueError(_("Enter the date."))
        return raw

    @field_validator("amount", mode="before")
    @classmethod
    def _amount(cls, raw: Any, info: ValidationInfo) -> int:
        if _empty_to_none(raw) is None:
            raise ValueError(_("Enter the amount."))
        currency, locale = _context(info)
        minor = minor_of(raw, currency, locale)
        if minor <= 0:
            raise ValueError(_("Enter an amount above zero."))
        return minor

    @field_validator("payment_method")
    @classmethod
    def _method(cls, value: str) -> str:
        from startvora.finance.models import PAYMENT_METHODS

        if value and (value not in PAYMENT_METHODS or value == "credit"):
            raise ValueError(_("Choose how it was paid."))
        return value

    @model_validator(mode="after")
    def _checks(self) -> ExpenseIn:
        if (
            not self.vendor_name
            and self.vendor_company_id is None
            and self.vendor_contact_id is None
        ) and self.kind == "bill":
            raise ValueError(_("Choose the vendor of the bill."))
        if self.due_date and self.due_date < self.spent_on:
            raise ValueError(_("The due date cannot be before the bill's date."))
        if self.billable and self.customer_company_id is None and self.customer_contact_id is None:
            raise ValueError(_("Choose the customer the expense is billed to."))
        if self.paid_on and (self.paid_on - self.spent_on).days > 3660:
            raise ValueError(_("Check the date it was paid."))
        return self


class RecurringExpenseIn(ExpenseIn):
    """An expense to enter again on a schedule, starting on `spent_on`."""

    frequency: str = "monthly"
    end_date: OptionalDate = None
    max_count: OptionalId = None
    due_days: int = 0

    @field_validator("frequency")
    @classmethod
    def _frequency(cls, value: str) -> str:
        if value not in ("weekly", "monthly", "quarterly", "yearly"):
            raise ValueError(_("Choose how often."))
        return value

    @field_validator("max_count")
    @classmethod
    def _count(cls, value: int | None) -> int | None:
        if value is not None and not 1 <= value <= 1000:
            raise ValueError(_("Enter a number of times from 1 to 1000."))
        return value

    @field_validator("due_days", mode="before")
    @classmethod
    def _due(cls, raw: Any) -> int:
        value = int(raw) if _empty_to_none(raw) is not None else 0
        if not 0 <= value <= 365:
            raise ValueError(_("Enter a number of days from 0 to 365."))
        return value

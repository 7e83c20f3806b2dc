"""Rules of the catalog and the finance settings that services.py leaves out: archiving and
trashing products, archiving tax rates, unique rate names, and the settings form's schema
(invoice number pattern, rounding, payment terms, bank details with IBAN and BIC checks)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, StringConstraints, field_validator

from startvora.core import audit, money, numbering
from startvora.core import trash as trashcan
from startvora.extensions import db
from startvora.finance import services
from startvora.finance.models import FinanceSettings, Product, TaxRate
from startvora.finance.schemas import PLAIN, LongText, TaxRateIn

KINDS = {"product": _l("Product"), "service": _l("Service")}
IBAN_MIN, IBAN_MAX = 15, 34
BIC = re.compile(r"^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$")
MAX_TERMS_DAYS = 365
SETTINGS_FIELDS = (
    "invoice_pattern",
    "prices_include_tax",
    "round_per_document",
    "payment_terms_days",
    "notes",
    "footer",
    "bank_name",
    "iban",
    "bic",
    "paper",
    "reminder_days",
    "quote_pattern",
    "credit_note_pattern",
    "quote_valid_days",
)
MAX_REMINDERS, MAX_REMINDER_DAYS = 6, 365


# -- bank details -------------------------------------------------------------------------------


def check_iban(raw: str) -> str:
    """An IBAN without spaces, in capitals, checked by ISO 13616 (mod 97); "" stays ""."""
    iban = "".join(str(raw or "").split()).upper()
    if not iban:
        return ""
    if not iban.isascii() or not iban.isalnum():
        raise ValueError(_("An IBAN has only letters and digits (spaces are fine)."))
    if not (iban[:2].isalpha() and iban[2:4].isdigit()):
        raise ValueError(
            _("An IBAN starts with a country code and two check digits, like DE89 3704 …")
        )
    if not IBAN_MIN <= len(iban) <= IBAN_MAX:
        raise ValueError(
            _(
                "An IBAN has %(min)d to %(max)d characters; this one has %(n)d.",
                min=IBAN_MIN,
                max=IBAN_MAX,
                n=len(iban),
            )
        )
    # The first four characters move to the end; letters count as 10 (A) to 35 (Z).
    digits = "".join(str(int(c, 36)) for c in iban[4:] + iban[:4])
    if int(digits) % 97 != 1:
        raise ValueError(_("This IBAN's check digits do not match: look for a typing mistake."))
    return iban


def check_bic(raw: str) -> str:
    """A BIC (SWIFT code) of 8 or 11 characters, in capitals; "" stays ""."""
    bic = "".join(str(raw or "").split()).upper()
    if bic and not BIC.match(bic):
        raise ValueError(_("A BIC has 8 or 11 letters and digits, like DEUTDEFF or DEUTDEFF500."))
    return bic


def format_iban(iban: str) -> str:
    """An IBAN in groups of four, as printed."""
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


# -- settings -----------------------------------------------------------------------------------


class FinanceSettingsIn(BaseModel):
    """The finance settings form (and the API's settings document)."""

    invoice_pattern: str
    prices_include_tax: bool = False
    rounding: Literal["line", "document"] = "line"
    payment_terms_days: int = 14
    notes: LongText = ""
    footer: LongText = ""
    bank_name: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=120, pattern=PLAIN)
    ] = ""
    iban: str = ""
    bic: str = ""
    paper: Literal["A4", "Letter"] = "A4"
    reminder_days: list[int] = []
    quote_pattern: str = "Q-{YYYY}-{0000}"
    credit_note_pattern: str = "CN-{YYYY}-{0000}"
    quote_valid_days: int = 30

    @field_validator("reminder_days", mode="before")
    @classmethod
    def _reminders(cls, raw: Any) -> list[int]:
        """ "-3, 7, 14" (or a list): days from the due date, before (-) or after."""
        items = raw if isinstance(raw, list) else str(raw or "").replace(";", ",").split(",")
        days = []
        for item in items:
            text = str(item).strip().replace("+", "")
            if not text:
                continue
            if not text.lstrip("-").isdigit() or abs(int(text)) > MAX_REMINDER_DAYS:
                raise ValueError(
                    _("Enter days from the due date, such as -3, 7, 14 (at most a year away).")
                )
            days.append(int(text))
        days = sorted(set(days))
        if len(days) > MAX_REMINDERS:
            raise ValueError(_("At most %(n)d reminders.", n=MAX_REMINDERS))
        return days

    @field_validator("invoice_pattern", "quote_pattern", "credit_note_pattern", mode="before")
    @classmethod
    def _pattern(cls, raw: Any) -> str:
        try:
            return numbering.check_pattern(str(raw or ""))
        except ValueError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("payment_terms_days", "quote_valid_days", mode="before")
    @classmethod
    def _terms(cls, raw: Any) -> int:
        text = str(raw if raw is not None else "").strip()
        if isinstance(raw, bool) or not (text.isascii() and text.isdigit()):
            raise ValueError(_("Enter a number of days from 0 to %(n)d.", n=MAX_TERMS_DAYS))
        days = int(text)
        if days > MAX_TERMS_DAYS:
            raise ValueError(_("Enter a number of days from 0 to %(n)d.", n=MAX_TERMS_DAYS))
        return days

    @field_validator("iban", mode="before")
    @classmethod
    def _iban(cls, raw: Any) -> str:
        return check_iban(str(raw or ""))

    @field_validator("bic", mode="before")
    @classmethod
    def _bic(cls, raw: Any) -> str:
        return check_bic(str(raw or ""))


def settings_values(settings: FinanceSettings) -> dict[str, Any]:
    """The settings as the form shows them."""
    values: dict[str, Any] = {name: getattr(settings, name) for name in SETTINGS_FIELDS}
    values["rounding"] = "document" if settings.round_per_document else "line"
    values["iban"] = format_iban(settings.iban)
    values["reminder_days"] = ", ".join(
        f"{d:+d}" if d < 0 else str(d) for d in settings.reminder_days or []
    )
    return values


def save_settings(org_id: int, actor_id: int | None, data: FinanceSettingsIn) -> list[str]:
    """Store the finance settings; the names of the fields that changed (audited)."""
    settings = services.settings_to_change(org_id)
    new = data.model_dump(exclude={"rounding"})
    new["round_per_document"] = data.rounding == "document"
    changed = [name for name in SETTINGS_FIELDS if getattr(settings, name) != new[name]]
    for name in changed:
        setattr(settings, name, new[name])
    db.session.flush()
    if changed:
        audit.record(
            "finance.settings_changed",
            org=org_id,
            actor=actor_id,
            target=settings,
            summary=", ".join(changed),
            fields=changed,
        )
    return changed


# -- tax rates ----------------------------------------------------------------------------------


def save_tax_rate(
    org_id: int, actor_id: int | None, data: TaxRateIn, rate: TaxRate | None = None
) -> TaxRate:
    """services.save_tax_rate, refusing a second rate in use with the same name."""
    query = db.select(TaxRate.id).where(
        TaxRate.org_id == org_id,
        TaxRate.archived.is_(False),
        db.func.lower(TaxRate.name) == data.name.lower(),
    )
    if rate is not None:
        query = query.where(TaxRate.id != rate.id)
    if db.session.execute(query.limit(1)).first() is not None:
        raise services.FinanceError(
            _("A rate called %(name)s exists already; give this one another name.", name=data.name),
            "name",
        )
    return services.save_tax_rate(org_id, actor_id, data, rate)


def set_tax_rate_archived(
    org_id: int, actor_id: int | None, rate: TaxRate, archived: bool
) -> TaxRate:
    """Archive a rate (new lines and products no longer offer it; issued invoices keep their
    copy of it) or bring it back."""
    if rate.archived == archived:
        return rate
    if not archived:
        clash = db.session.execute(
            db.select(TaxRate.id).where(
                TaxRate.org_id == org_id,
                TaxRate.archived.is_(False),
                db.func.lower(TaxRate.name) == rate.name.lower(),
                TaxRate.id != rate.id,
            )
        ).first()
        if clash is not None:
            raise services.FinanceError(
                _(
                    "Another rate in use is called %(name)s; rename one of them first.",
                    name=rate.name,
                )
            )
    rate.archived = archived
    db.session.flush()
    audit.record(
        "finance.tax_rate_archived" if archived else "finance.tax_rate_restored",
        org=org_id,
        actor=actor_id,
        target=rate,
        summary=rate.label,
    )
    return rate


# -- products -----------------------------------------------------------------------------------


def set_product_archived(
    org_id: int, actor_id: int | None, product: Product, archived: bool
) -> Product:
    """Archive a product (new invoices no longer offer it) or bring it back."""
    if product.archived != archived:
        product.archived = archived
        db.session.flush()
        audit.record(
            "finance.product_archived" if archived else "finance.product_restored",
            org=org_id,
            actor=actor_id,
            target=product,
            summary=product.name,
        )
    return product


def trash_product(org_id: int, actor_id: int | None, product: Product) -> None:
    """Move a product to the trash; invoice lines keep their own copy of its description."""
    trashcan.trash(product, actor_id)
    audit.record(
        "finance.product_deleted", org=org_id, actor=actor_id, target=product, summary=product.name
    )


def categories(org_id: int) -> tuple[list[str], list[str]]:
    """The income and expense categories in use, to suggest while typing."""

    def used(column: Any) -> list[str]:
        return list(
            db.session.execute(
                db.select(column)
                .where(Product.org_id == org_id, column != "")
                .distinct()
                .order_by(column)
                .limit(100)
            ).scalars()
        )

    return used(Product.income_category), used(Product.expense_category)


def export_table(
    base_currency: str, products: list[Product], rates: dict[int, TaxRate]
) -> tuple[list[Any], list[list[Any]]]:
    """Header and rows of a products export: a price column per currency, the base first."""
    currencies = [base_currency, *sorted({c for p in products for c in p.prices} - {base_currency})]
    header = [_("Name"), _("Type"), _("SKU"), _("Unit"), _("Description")]
    header += [_("Price %(currency)s", currency=c) for c in currencies]
    header += [_("Taxes"), _("Income category"), _("Expense category"), _("Archived")]
    rows = [
        [
            p.name,
            str(KINDS.get(p.kind, p.kind)),
            p.sku,
            p.unit,
            p.description,
            *(str(money.from_minor(p.prices[c], c)) if c in p.prices else "" for c in currencies),
            ", ".join(rates[i].label for i in p.tax_ids if i in rates),
            p.income_category,
            p.expense_category,
            _("Yes") if p.archived else "",
        ]
        for p in products
    ]
    return header, rows

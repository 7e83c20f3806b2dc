"""Money: integer minor units plus an ISO 4217 code; Decimal arithmetic; Babel formatting."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from babel.numbers import (
    NumberFormatError,
    format_currency,
    format_decimal,
    get_currency_precision,
    list_currencies,
    parse_decimal,
)
from flask_babel import gettext as _

MAX_AMOUNT = Decimal(10) ** 24  # far past any real amount; minor units stay within 28 digits


def exponent(currency: str) -> int:
    """Digits after the decimal point for a currency (JPY 0, USD 2, KWD 3)."""
    return get_currency_precision(currency)


def round_half_up(value: Decimal) -> int:
    """A Decimal rounded to a whole number, half away from zero: the one rounding rule."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def to_minor(amount: Decimal | str | int, currency: str) -> int:
    """Convert a decimal amount to integer minor units, rounding half up (the one rounding rule)."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise ValueError(f"not an amount: {amount!r}") from None
    if not value.is_finite():
        raise ValueError(f"not an amount: {amount!r}")
    return round_half_up(value.scaleb(exponent(currency)))


def typed_number(value: Decimal | int, locale: str) -> str:
    """A number as someone types it in a locale, every decimal kept and no grouping ("7,7"):
    what parse_amount reads back to the same value."""
    return format_decimal(
        Decimal(value).normalize(), locale=locale, decimal_quantization=False,
        group_separator=False,
    )  # fmt: skip


def typed_amount(minor: int, currency: str, locale: str) -> str:
    """An amount as typed in a locale with the currency's decimals ("1250,50")."""
    digits = exponent(currency)
    pattern = "0" + ("." + "0" * digits if digits else "")
    return format_decimal(
        from_minor(minor, currency), pattern, locale=locale, group_separator=False
    )


def from_minor(minor: int, currency: str) -> Decimal:
    """Integer minor units back to an exact Decimal."""
    return Decimal(minor).scaleb(-exponent(currency))


def format_money(minor: int, currency: str, locale: str) -> str:
    """Format minor units for a locale, e.g. 123456 USD in en -> $1,234.56."""
    return format_currency(from_minor(minor, currency), currency, locale=locale)


def parse_amount(raw: Any, locale: str = "en") -> Decimal:
    """A typed amount as a Decimal: "1250.5", "1 250,50" (in `locale`), or a JSON number."""
    if isinstance(raw, bool):
        raise ValueError(_("Enter an amount like 1250.00."))
    if isinstance(raw, int | Decimal):
        return Decimal(raw)
    if isinstance(raw, float):
        return Decimal(str(raw))
    text = "".join(str(raw or "").split()).replace("_", "")
    if not text:
        return Decimal(0)
    try:  # the locale's own way first: "1.250,50" in German is 1250.50, "1.250" is 1250
        value = parse_decimal(text, locale=locale, strict=True)
    except (NumberFormatError, ValueError):
        try:  # else the plain form any program writes: "1250.50"
            value = Decimal(text)
        except InvalidOperation:
            raise ValueError(_("Enter an amount like 1250.00.")) from None
    if not value.is_finite():
        raise ValueError(_("Enter an amount like 1250.00."))
    if abs(value) >= MAX_AMOUNT:  # 1e400: a typing mistake, and past exact arithmetic
        raise ValueError(_("The amount is too large."))
    if value and value.adjusted() < -12:
        raise ValueError(_("Enter an amount like 1250.00."))
    return value


def check_currency(value: Any) -> str:
    code = str(value or "").strip().upper()
    if code not in list_currencies():
        raise ValueError(_("Choose a currency such as EUR or USD."))
    return code

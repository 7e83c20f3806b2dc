"""Money: integer minor units plus an ISO 4217 code; Decimal arithmetic; Babel formatting."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import format_currency, get_currency_precision


def exponent(currency: str) -> int:
    """Digits after the decimal point for a currency (JPY 0, USD 2, KWD 3)."""
    return get_currency_precision(currency)


def to_minor(amount: Decimal | str | int, currency: str) -> int:
    """Convert a decimal amount to integer minor units, rounding half up (the one rounding rule)."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise ValueError(f"not an amount: {amount!r}") from None
    if not value.is_finite():
        raise ValueError(f"not an amount: {amount!r}")
    quantum = Decimal(1).scaleb(-exponent(currency))
    return int((value.quantize(quantum, rounding=ROUND_HALF_UP)).scaleb(exponent(currency)))


def from_minor(minor: int, currency: str) -> Decimal:
    """Integer minor units back to an exact Decimal."""
    return Decimal(minor).scaleb(-exponent(currency))


def format_money(minor: int, currency: str, locale: str) -> str:
    """Format minor units for a locale, e.g. 123456 USD in en -> $1,234.56."""
    return format_currency(from_minor(minor, currency), currency, locale=locale)

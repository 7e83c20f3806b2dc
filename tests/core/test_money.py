"""Money in integer minor units with the currency's own exponent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from startvora.core import money
from startvora.core.money import exponent, format_money, from_minor, to_minor


def test_exponents():
    assert (exponent("JPY"), exponent("USD"), exponent("KWD")) == (0, 2, 3)


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("12.345", "USD", 1235),
        ("12.344", "USD", 1234),
        ("-0.005", "EUR", -1),
        ("99.5", "JPY", 100),
        ("1.0005", "KWD", 1001),
        (7, "USD", 700),
    ],
)
def test_to_minor_rounds_half_up(amount, currency, minor):
    assert to_minor(amount, currency) == minor


def test_round_trip_is_exact():
    assert from_minor(123456789, "USD") == Decimal("1234567.89")
    assert from_minor(to_minor("0.1", "USD") + to_minor("0.2", "USD"), "USD") == Decimal("0.30")


@pytest.mark.parametrize("bad", ["abc", "NaN", "Infinity", ""])
def test_bad_amounts(bad):
    with pytest.raises(ValueError):
        to_minor(bad, "USD")


def test_format_for_locale():
    assert format_money(123456, "USD", "en_US") == "$1,234.56"
    assert format_money(123456, "EUR", "de_DE") == "1.234,56\xa0€"
    assert format_money(1234, "JPY", "ja_JP") == "￥1,234"


@pytest.mark.parametrize("locale", ["en", "de", "fr", "de_CH"])
@pytest.mark.parametrize(
    ("minor", "currency"), [(1250, "KWD"), (125050, "EUR"), (1250, "JPY"), (5, "EUR")]
)
def test_a_prefilled_amount_reads_back_as_itself(locale, minor, currency):
    typed = money.typed_amount(minor, currency, locale)
    assert money.parse_amount(typed, locale) == money.from_minor(minor, currency)
    assert money.parse_amount(money.typed_number(Decimal("7.7"), locale), locale) == Decimal("7.7")

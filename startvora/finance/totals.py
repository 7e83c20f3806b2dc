"""Document totals: lines, discounts, simple and compound taxes, prices with or without tax,
rounding per line or per document. Pure functions on Decimals and integer minor units.

The rules, in one place:
- A line's amount is quantity x unit price x (1 - discount %), exact until rounded.
- A simple tax is charged on the net amount; a compound tax on the net amount plus the line's
  simple taxes (Quebec's QST on top of GST, for example).
- Prices without tax (exclusive): the net is the line's amount and taxes are added to it.
  Prices with tax (inclusive): the line's amount is what the customer pays; net and taxes are
  taken out of it, and the document's total is the sum of what its lines say.
- Rounding per line: each line's net and each of its taxes are rounded to the currency's minor
  unit, and the document adds up the rounded figures. Rounding per document: line nets are
  rounded, and each tax rate is rounded once, on the exact sum of the lines it applies to.
- Rounding is half up, to the currency's exponent (JPY 0, EUR 2, KWD 3), by core.money.
Either way, total = subtotal + tax, and the tax breakdown adds up to the tax.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from decimal import Decimal

from startvora.core import money

HUNDRED = Decimal(100)


@dataclasses.dataclass(frozen=True)
class Tax:
    """A tax as a line uses it: its id (for the breakdown), name, rate in percent, compound."""

    id: int
    name: str
    rate: Decimal
    compound: bool = False


@dataclasses.dataclass(frozen=True)
class LineIn:
    quantity: Decimal
    unit_price_minor: int
    discount: Decimal = Decimal(0)  # percent
    taxes: tuple[Tax, ...] = ()


@dataclasses.dataclass(frozen=True)
class LineOut:
    net_minor: int  # without tax, after discount
    tax_minor: int  # the line's taxes (rounding per document: this line's share, for display)
    total_minor: int
    taxes: dict[int, int]  # tax id -> amount (minor units)


@dataclasses.dataclass(frozen=True)
class TaxLine:
    tax: Tax
    base_minor: int  # what the tax was charged on
    amount_minor: int


@dataclasses.dataclass(frozen=True)
class Totals:
    lines: list[LineOut]
    taxes: list[TaxLine]  # one per tax, in the order first used
    subtotal_minor: int
    tax_minor: int
    total_minor: int


def _minor_exact(amount: Decimal, currency: str) -> Decimal:
    """An exact amount in minor units (not rounded)."""
    return amount.scaleb(money.exponent(currency))


def _round(minor_exact: Decimal) -> int:
    """Exact minor units rounded to whole ones, by the one rounding rule."""
    return money.round_half_up(minor_exact)


def _taxes_of(net: Decimal, taxes: Sequence[Tax]) -> dict[int, Decimal]:
    """Each tax on an exact net amount: simple taxes on the net, compound on net + simple."""
    out: dict[int, Decimal] = {}
    simple_total = Decimal(0)
    for t in taxes:
        if not t.compound:
            out[t.id] = out.get(t.id, Decimal(0)) + net * t.rate / HUNDRED
            simple_total += net * t.rate / HUNDRED
    for t in taxes:
        if t.compound:
            out[t.id] = out.get(t.id, Decimal(0)) + (net + simple_total) * t.rate / HUNDRED
    return out


def _gross_factor(taxes: Sequence[Tax]) -> Decimal:
    """What 1 of net becomes with the taxes on it."""
    simple = sum((t.rate for t in taxes if not t.compound), Decimal(0)) / HUNDRED
    compound = sum((t.rate for t in taxes if t.compound), Decimal(0)) / HUNDRED
    return (1 + simple) * (1 + compound)


def compute(
    lines: Sequence[LineIn],
    currency: str,
    inclusive: bool = False,
    per_document: bool = False,
) -> Totals:
    """The totals of a document's lines (see the module's rules)."""
    outs: list[LineOut] = []
    order: dict[int, Tax] = {}
    exact_taxes: dict[int, Decimal] = {}  # tax id -> exact tax (per document)
    rounded_bases: dict[int, int] = {}
    rounded_taxes: dict[int, int] = {}
    gross_by_taxes: dict[tuple[int, ...], tuple[Decimal, tuple[Tax, ...]]] = {}
    for line in lines:
        amount = _minor_exact(
            line.quantity * money.from_minor(line.unit_price_minor, currency), currency
        ) * (1 - line.discount / HUNDRED)
        unique = tuple({t.id: t for t in line.taxes}.values())
        for t in unique:
            order.setdefault(t.id, t)
        if inclusive:
            gross = _round(amount)
            net_exact = Decimal(gross) / _gross_factor(unique)
            taxes_exact = _taxes_of(net_exact, unique)
            line_taxes = {i: _round(v) for i, v in taxes_exact.items()}
            if per_document:
                key = tuple(t.id for t in unique)
                sum_gross, _t = gross_by_taxes.get(key, (Decimal(0), unique))
                gross_by_taxes[key] = (sum_gross + gross, unique)
            # The net is what is left, so that net + taxes is exactly the price asked.
            net = gross - sum(line_taxes.values())
            outs.append(LineOut(net, sum(line_taxes.values()), gross, line_taxes))
        else:
            net = _round(amount)
            taxes_exact = _taxes_of(Decimal(net), unique)
            line_taxes = {i: _round(v) for i, v in taxes_exact.items()}
            outs.append(
                LineOut(net, sum(line_taxes.values()), net + sum(line_taxes.values()), line_taxes)
            )
        for i, v in line_taxes.items():
            rounded_taxes[i] = rounded_taxes.get(i, 0) + v
            rounded_bases[i] = rounded_bases.get(i, 0) + outs[-1].net_minor
        if not inclusive:
            for i, v in taxes_exact.items():
                exact_taxes[i] = exact_taxes.get(i, Decimal(0)) + v

    if not per_document:
        breakdown = [TaxLine(t, rounded_bases[i], rounded_taxes[i]) for i, t in order.items()]
        subtotal = sum(o.net_minor for o in outs)
        tax = sum(o.tax_minor for o in outs)
        return Totals(outs, breakdown, subtotal, tax, subtotal + tax)

    if not inclusive:
        # Each rate rounded once, on the exact taxes of the (rounded) line nets it applies to.
        breakdown = [
            TaxLine(t, rounded_bases.get(i, 0), _round(exact_taxes.get(i, Decimal(0))))
            for i, t in order.items()
        ]
        subtotal = sum(o.net_minor for o in outs)
        tax = sum(b.amount_minor for b in breakdown)
        return Totals(outs, breakdown, subtotal, tax, subtotal + tax)

    # Inclusive, per document: the total is what the lines ask; each group of lines with the same
    # taxes has its taxes taken out once, and the net is what remains.
    total = sum(o.total_minor for o in outs)
    amounts: dict[int, int] = {}
    bases: dict[int, int] = {}
    for gross, taxes in gross_by_taxes.values():
        net_exact = gross / _gross_factor(taxes)
        group = {i: _round(v) for i, v in _taxes_of(net_exact, taxes).items()}
        group_net = int(gross) - sum(group.values())
        for i, v in group.items():
            amounts[i] = amounts.get(i, 0) + v
            bases[i] = bases.get(i, 0) + group_net
    breakdown = [TaxLine(t, bases.get(i, 0), amounts.get(i, 0)) for i, t in order.items()]
    tax = sum(b.amount_minor for b in breakdown)
    return Totals(outs, breakdown, total - tax, tax, total)

"""Document totals: exact examples, then properties over random documents (hypothesis) in
currencies with 0, 2 and 3 decimals."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from startvora.core import money
from startvora.finance.totals import LineIn, Tax, compute

VAT = Tax(1, "VAT 19%", Decimal("19"))
REDUCED = Tax(2, "VAT 7%", Decimal("7"))
GST = Tax(3, "GST", Decimal("5"))
QST = Tax(4, "QST", Decimal("9.975"), compound=True)


def test_exclusive_prices_rounded_per_line():
    lines = [
        LineIn(Decimal("3"), 1999, taxes=(VAT,)),  # 59.97 + 11.3943 -> 11.39
        LineIn(Decimal("1.5"), 1000, Decimal("10"), taxes=(REDUCED,)),  # 13.50 + 0.945 -> 0.95
    ]
    t = compute(lines, "EUR")
    assert [(o.net_minor, o.tax_minor, o.total_minor) for o in t.lines] == [
        (5997, 1139, 7136),
        (1350, 95, 1445),
    ]
    assert (t.subtotal_minor, t.tax_minor, t.total_minor) == (7347, 1234, 8581)
    assert [(b.tax.id, b.base_minor, b.amount_minor) for b in t.taxes] == [
        (1, 5997, 1139),
        (2, 1350, 95),
    ]


def test_rounding_per_document_rounds_each_rate_once():
    # Ten lines of 0.05 at 7%: per line 0.0035 -> 0.00 each; per document 0.035 -> 0.04.
    lines = [LineIn(Decimal(1), 5, taxes=(REDUCED,))] * 10
    assert compute(lines, "EUR").tax_minor == 0
    assert compute(lines, "EUR", per_document=True).tax_minor == 4


def test_compound_tax_is_charged_on_net_plus_simple_taxes():
    t = compute([LineIn(Decimal(1), 10000, taxes=(GST, QST))], "CAD")
    # GST 5.00; QST 9.975% of 105.00 = 10.47375 -> 10.47
    assert t.lines[0].taxes == {3: 500, 4: 1047}
    assert t.total_minor == 10000 + 500 + 1047


def test_inclusive_prices_keep_what_the_customer_pays():
    t = compute(
        [LineIn(Decimal(1), 11900, taxes=(VAT,)), LineIn(Decimal(3), 333, taxes=(VAT,))],
        "EUR",
        inclusive=True,
    )
    assert t.total_minor == 11900 + 999
    assert t.lines[0].net_minor == 10000 and t.lines[0].tax_minor == 1900
    assert t.subtotal_minor + t.tax_minor == t.total_minor


def test_zero_decimal_and_three_decimal_currencies():
    assert compute([LineIn(Decimal(1), 1000, taxes=(VAT,))], "JPY").total_minor == 1190
    # 1.234 KWD x 3 = 3.702, VAT 0.70338 -> 0.703
    t = compute([LineIn(Decimal(3), 1234, taxes=(VAT,))], "KWD")
    assert (t.subtotal_minor, t.tax_minor) == (3702, 703)


TAXES = [VAT, REDUCED, GST, QST, Tax(5, "Zero", Decimal(0)), Tax(6, "High", Decimal("27.5"))]
line_strategy = st.builds(
    LineIn,
    quantity=st.decimals(min_value=Decimal("0.001"), max_value=Decimal(10000), places=3),
    unit_price_minor=st.integers(min_value=0, max_value=10**9),
    discount=st.decimals(min_value=Decimal(0), max_value=Decimal(100), places=2),
    taxes=st.lists(st.sampled_from(TAXES), max_size=3).map(tuple),
)
documents = st.tuples(
    st.lists(line_strategy, min_size=1, max_size=12),
    st.sampled_from(["JPY", "EUR", "USD", "KWD", "BHD", "CLP"]),
    st.booleans(),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(documents)
def test_totals_add_up_under_the_rounding_rule(document):
    lines, currency, inclusive, per_document = document
    t = compute(lines, currency, inclusive=inclusive, per_document=per_document)
    assert t.total_minor == t.subtotal_minor + t.tax_minor
    assert t.tax_minor == sum(b.amount_minor for b in t.taxes)
    if not (inclusive and per_document):  # then the lines' gross prices are what add up
        assert t.subtotal_minor == sum(o.net_minor for o in t.lines)
    for line, out in zip(lines, t.lines, strict=True):
        assert out.total_minor == out.net_minor + out.tax_minor
        assert out.tax_minor == sum(out.taxes.values())
        exact = (
            line.quantity
            * money.from_minor(line.unit_price_minor, currency)
            * (1 - line.discount / 100)
        )
        # The line's amount is rounded once, half up, to the currency's minor unit.
        asked = money.to_minor(exact, currency)
        assert (out.total_minor if inclusive else out.net_minor) == asked
    if inclusive:
        assert t.total_minor == sum(o.total_minor for o in t.lines)  # what the lines ask
    if not per_document:
        assert t.total_minor == sum(o.total_minor for o in t.lines)
        assert t.tax_minor == sum(o.tax_minor for o in t.lines)
    # Rounding per document or per line differs by at most half a minor unit per line and tax.
    other = compute(lines, currency, inclusive=inclusive, per_document=not per_document)
    assert abs(other.tax_minor - t.tax_minor) <= len(lines) * 3


@settings(max_examples=200, deadline=None)
@given(documents)
def test_exclusive_tax_per_document_is_each_rate_rounded_once(document):
    lines, currency, _inclusive, _per_document = document
    t = compute(lines, currency, per_document=True)
    for b in t.taxes:
        nets = [
            Decimal(o.net_minor)
            for line, o in zip(lines, t.lines, strict=True)
            if b.tax in line.taxes
        ]
        if b.tax.compound:
            continue  # charged on net + simple taxes, checked by the sum above
        assert b.amount_minor == money.round_half_up(sum(nets, Decimal(0)) * b.tax.rate / 100)

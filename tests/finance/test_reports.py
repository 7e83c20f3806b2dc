"""Finance reports: exact figures of each report for a small known set of documents (base and
foreign currency, a credit note, a void invoice, an overpayment, a refund, approved and pending
expenses, tax on both sides), aging on past days, and the rules of ranges."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import event

from startvora.core import trash
from startvora.core.tenancy import org_context
from startvora.extensions import db as _db
from startvora.finance import ledger, reports, services
from startvora.finance.ledger import PeriodTotal
from startvora.finance.schemas import PaymentIn
from tests import factories

D = dt.date
TODAY = D(2026, 4, 15)
Q1 = (D(2026, 1, 1), D(2026, 3, 31))
DASH = "\u2009–\u2009"  # Babel puts thin spaces around the dash of a range of months


def set_clock(monkeypatch) -> dict[str, dt.date]:
    """The organization's today, as the services and the reports see it, set by the test."""
    now = {"day": TODAY}
    monkeypatch.setattr(services, "today_of", lambda org: now["day"])
    return now


@pytest.fixture
def clock(monkeypatch):
    return set_clock(monkeypatch)


def pay(invoice, day: str, minor: int, method: str, overpayment: str = "") -> None:
    data = PaymentIn.model_construct(
        paid_on=D.fromisoformat(day), amount=minor, method=method, reference="", note="",
        overpayment=overpayment,
    )  # fmt: skip
    services.record_payment(invoice.org_id, None, invoice, data)


@pytest.fixture
def books(people, clock):
    return known_set(people, clock)


def known_set(people, clock):
    """Q1 2026 of a EUR business (figures in the comments are in EUR), for org A."""
    org = people.org_a
    org.currency = "EUR"
    with org_context(org.id):
        vat = factories.make_tax_rate(org, "VAT", "19")
        reduced = factories.make_tax_rate(org, "Reduced", "7")
        globex = factories.make_company(org, name="Globex")
        initech = factories.make_company(org, name="Initech")
        pat = factories.make_contact(org, first_name="Pat", last_name="Jones")
        chair = factories.make_product(org, name="Chair")
        desk = factories.make_product(org, name="Desk")

        def invoice(customer, lines, issued, due, **fields):
            return factories.make_invoice(
                org, customer, lines, issue=True, issue_date=D.fromisoformat(issued),
                due_date=D.fromisoformat(due), **fields,
            )  # fmt: skip

        # 4 chairs at 50 and delivery 30, 19 % VAT: 230.00 + 43.70; paid 300.00 by card
        chairs = {"product_id": chair.id, "description": "Chair", "unit_price": "50",
                  "tax_ids": [vat.id]}  # fmt: skip
        inv1 = invoice(globex, [{**chairs, "quantity": "4"},
                                {"description": "Delivery", "unit_price": "30",
                                 "tax_ids": [vat.id]}], "2026-01-10", "2026-01-24")  # fmt: skip
        pay(inv1, "2026-01-20", 30000, "card", overpayment="credit")  # 26.30 kept as credit
        # a desk for 1000 USD + 7 %, at 0.9 EUR per USD: 900.00 + 63.00; 500 USD paid
        inv2 = invoice(pat, [{"product_id": desk.id, "description": "Desk", "unit_price": "1000",
                              "tax_ids": [reduced.id]}], "2026-02-05", "2026-02-19",
                       currency="USD", exchange_rate="0.9")  # fmt: skip
        pay(inv2, "2026-02-25", 50000, "bank_transfer")  # 450.00 EUR
        inv3 = invoice(initech, [{"description": "Consulting", "quantity": "10",
                                  "unit_price": "100"}], "2026-02-20", "2026-03-06")  # fmt: skip
        services.void(org.id, None, inv3, "Wrong customer")
        inv4 = invoice(globex, [{**chairs, "quantity": "2"}], "2026-03-01", "2026-04-30")
        invoice(initech, [{"description": "Setup", "unit_price": "200"}], "2026-01-02",
                "2026-01-05")  # fmt: skip
        # one chair back from each Globex invoice: -50.00 - 9.50 each; the first is refunded
        clock["day"] = D(2026, 3, 10)
        cn1 = services.create_credit_note(
            org.id, None, inv1, {inv1.lines[0].id: Decimal(1)}, "Returned"
        )
        pay(cn1, "2026-03-12", 5950, "bank_transfer")
        clock["day"] = D(2026, 3, 20)
        services.create_credit_note(org.id, None, inv4, {inv4.lines[0].id: Decimal(1)}, "Returned")
        clock["day"] = TODAY
        # rent 1190 with 19 % VAT in it (1000.00 + 190.00), travel 42.50; one still pending
        factories.make_expense(org, approve=True, spent_on="2026-01-15", category="Rent",
                               amount="1190", tax_rate_id=vat.id)  # fmt: skip
        factories.make_expense(org, approve=True, spent_on="2026-02-10", category="Travel")
        factories.make_expense(org, spent_on="2026-02-11", category="Travel", amount="100")
        trash.trash(desk, None)  # deleted ones keep their names in the reports
        trash.trash(pat, None)
        _db.session.commit()
    people.ids = {"globex": globex.id, "initech": initech.id, "pat": pat.id, "desk": desk.id,
                  "chair": chair.id}  # fmt: skip
    return people


def test_profit_and_loss_by_month(books):
    with org_context(books.org_a.id):
        report = reports.profit_and_loss(books.org_a.id, *Q1)
    assert [p.label for p in report.periods] == ["Jan 2026", "Feb 2026", "Mar 2026"]
    assert not report.has_cogs and report.currency == "EUR"
    assert [(line.key, line.label, line.amounts, line.total) for line in report.lines] == [
        ("sales", "Sales", (43000, 90000, 0), 133000),  # March: 100.00 less two credit notes
        ("expense", "Rent", (100000, 0, 0), 100000),
        ("expense", "Travel", (0, 4250, 0), 4250),  # the pending one is not counted
        ("total_expenses", "Total expenses", (100000, 4250, 0), 104250),
        ("net_profit", "Net profit", (-57000, 85750, 0), 28750),
    ]


@pytest.mark.parametrize(
    ("start", "end", "by", "labels", "sales", "net"),
    [
        (D(2026, 1, 1), D(2026, 12, 31), "quarter", ["Q1 2026", "Q2 2026", "Q3 2026", "Q4 2026"],
         (133000, 0, 0, 0), 28750),
        # days inside months count the whole months; cut quarters are named by their months
        (D(2026, 2, 14), D(2026, 5, 2), "quarter", [f"Feb{DASH}Mar 2026", f"Apr{DASH}May 2026"],
         (90000, 0), 85750),
        (D(2025, 1, 1), D(2026, 12, 31), "year", ["2025", "2026"], (0, 133000), 28750),
        (D(2026, 1, 1), D(2026, 3, 31), "year", [f"Jan{DASH}Mar 2026"], (133000,), 28750),
    ],
)  # fmt: skip
def test_profit_and_loss_columns(books, start, end, by, labels, sales, net):
    with org_context(books.org_a.id):
        report = reports.profit_and_loss(books.org_a.id, start, end, by)
    assert [p.label for p in report.periods] == labels
    assert report.line("sales").amounts == sales
    assert report.line("net_profit").total == net


def test_cost_of_goods_sold_shows_only_when_it_has_figures(books):
    org_id = books.org_a.id
    with org_context(org_id):
        _db.session.add(PeriodTotal(org_id=org_id, measure="cogs", month=D(2026, 2, 1), key="",
                                    amount_minor=30000, count=1))  # fmt: skip
        _db.session.flush()
        report = reports.profit_and_loss(org_id, *Q1)
        april = reports.profit_and_loss(org_id, D(2026, 4, 1), D(2026, 4, 30))
    assert report.has_cogs and not april.has_cogs
    assert [(line.key, line.amounts, line.total) for line in report.lines[:3]] == [
        ("sales", (43000, 90000, 0), 133000),
        ("cogs", (0, 30000, 0), 30000),
        ("gross_profit", (43000, 60000, 0), 103000),
    ]
    assert report.line("gross_profit").label == "Gross profit"
    assert report.line("net_profit").amounts == (-57000, 55750, 0)
    assert [line.key for line in april.lines] == ["sales", "total_expenses", "net_profit"]


def test_tax_summary(books):
    with org_context(books.org_a.id):
        report = reports.tax_summary(books.org_a.id, *Q1)
    rows = [(r.name, r.rate, r.sales_basis, r.collected, r.purchases_basis, r.paid, r.net)
            for r in report.rows]  # fmt: skip
    assert rows == [
        ("Reduced", Decimal(7), 90000, 6300, 0, 0, 6300),  # converted from USD
        ("VAT", Decimal(19), 23000, 4370, 100000, 19000, -14630),  # less two credit notes
    ]
    t = report.total
    assert (t.sales_basis, t.collected, t.purchases_basis, t.paid, t.net) == (
        113000, 10670, 100000, 19000, -8330,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("build", "expected", "total", "count"),
    [
        (reports.revenue_by_customer,
         [("Pat Jones", 90000, 1, "0.6767"), ("Globex", 23000, 0, "0.1729"),
          ("Initech", 20000, 1, "0.1504")], 133000, 2),
        (reports.revenue_by_product,
         [("Desk", 90000, 0, "0.6767"), ("Other lines", 23000, 0, "0.1729"),
          ("Chair", 20000, 0, "0.1504")], 133000, 0),
        (reports.expenses_by_category,
         [("Rent", 100000, 1, "0.9592"), ("Travel", 4250, 1, "0.0408")], 104250, 2),
    ],
)  # fmt: skip
def test_shares(books, build, expected, total, count):
    with org_context(books.org_a.id):
        report = build(books.org_a.id, *Q1)
    assert [(r.label, r.amount, r.count, str(r.share)) for r in report.rows] == expected
    assert (report.total, report.count, report.others) == (total, count, None)


def test_a_limit_adds_the_rest_up(books):
    with org_context(books.org_a.id):
        report = reports.revenue_by_customer(books.org_a.id, *Q1, limit=1)
    assert [r.label for r in report.rows] == ["Pat Jones"]
    assert report.others is not None and report.others_count == 2
    assert (report.others.amount, str(report.others.share), report.total) == (
        43000,
        "0.3233",
        133000,
    )


def test_cash_received(books):
    with org_context(books.org_a.id):
        report = reports.cash_received(books.org_a.id, *Q1)
    # the card payment counts with its overpayment; the refund of the credit note subtracts
    assert [(m.key, m.label, m.amount, m.count, str(m.share)) for m in report.methods] == [
        ("bank_transfer", "Bank transfer", 39050, 0, "0.5655"),
        ("card", "Card", 30000, 1, "0.4345"),
    ]
    assert [(m.label, m.amounts, m.total) for m in report.months] == [
        ("Jan 2026", (0, 30000), 30000),
        ("Feb 2026", (45000, 0), 45000),
        ("Mar 2026", (-5950, 0), -5950),
    ]
    assert (report.total, report.count) == (69050, 1)


AGING = {
    # as of: [(customer, buckets, total)], totals
    TODAY: ([("Pat Jones", (0, 0, 51300, 0, 0)), ("Initech", (0, 0, 0, 0, 20000)),
             ("Globex", (5950, 0, 0, 0, 0))], (5950, 0, 51300, 0, 20000)),
    # before the second credit note: Globex owes the whole 119.00, not yet due
    D(2026, 3, 15): ([("Pat Jones", (0, 51300, 0, 0, 0)), ("Initech", (0, 0, 0, 20000, 0)),
                      ("Globex", (11900, 0, 0, 0, 0))], (11900, 51300, 0, 20000, 0)),
    D(2026, 2, 1): ([("Initech", (0, 20000, 0, 0, 0))], (0, 20000, 0, 0, 0)),
    # before the card payment of the 20th
    D(2026, 1, 15): ([("Globex", (27370, 0, 0, 0, 0)), ("Initech", (0, 20000, 0, 0, 0))],
                     (27370, 20000, 0, 0, 0)),
    D(2025, 12, 31): ([], (0, 0, 0, 0, 0)),
}  # fmt: skip


@pytest.mark.parametrize("as_of", list(AGING))
def test_receivables_aging(books, as_of):
    with org_context(books.org_a.id):
        report = reports.receivables_aging(books.org_a.id, as_of)
    rows, totals = AGING[as_of]
    assert [(r.label, r.buckets) for r in report.rows] == rows
    assert all(r.total == sum(r.buckets) and r.count == 1 for r in report.rows)
    assert (report.totals, report.total, report.count) == (totals, sum(totals), len(rows))


def test_aging_today_reads_the_open_index_and_agrees_with_a_recount(books, clock):
    seen: list[tuple[str, object]] = []

    def keep(_conn, _cursor, statement, parameters, _context, _many):
        seen.append((statement, parameters))

    org_id = books.org_a.id
    engine = _db.engine
    with org_context(org_id):
        event.listen(engine, "before_cursor_execute", keep)
        try:
            today = reports.receivables_aging(org_id, TODAY)
        finally:
            event.remove(engine, "before_cursor_execute", keep)
        statement, parameters = next((s, p) for s, p in seen if "is_open" in s)
        plan = _db.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                                          parameters).all()  # fmt: skip
        assert "ix_finance_invoices_open" in " ".join(str(row[-1]) for row in plan)
        assert not any("finance_invoice_lines" in s for s, _p in seen)
        clock["day"] = TODAY + dt.timedelta(days=1)  # TODAY is now a past day: recounted
        recount = reports.receivables_aging(org_id, TODAY)
    assert recount == today


@pytest.mark.parametrize(
    "build",
    [
        lambda o: reports.profit_and_loss(o, *Q1, by="quarter"),
        lambda o: reports.tax_summary(o, *Q1),
        lambda o: reports.revenue_by_customer(o, *Q1),
        lambda o: reports.revenue_by_product(o, *Q1),
        lambda o: reports.expenses_by_category(o, *Q1),
        lambda o: reports.cash_received(o, *Q1),
    ],
)
def test_range_reports_read_the_monthly_totals_only(books, build):
    seen: list[str] = []

    def keep(_conn, _cursor, statement, *_args):
        seen.append(statement)

    with org_context(books.org_a.id):
        event.listen(_db.engine, "before_cursor_execute", keep)
        try:
            build(books.org_a.id)
        finally:
            event.remove(_db.engine, "before_cursor_execute", keep)
    assert any("finance_period_totals" in s for s in seen)
    assert not any(
        table in s
        for s in seen
        for table in ("finance_invoices", "finance_invoice_lines", "finance_payments",
                      "finance_expenses")
    )  # fmt: skip


def test_another_organizations_documents_are_not_counted(books):
    with org_context(books.org_b.id):
        factories.make_invoice(books.org_b, issue=True, issue_date=D(2026, 2, 2))
        _db.session.commit()
        assert reports.profit_and_loss(books.org_b.id, *Q1).line("sales").total == 20000
    with org_context(books.org_a.id):
        assert reports.profit_and_loss(books.org_a.id, *Q1).line("sales").total == 133000


def test_ensure_built_fills_the_totals_of_an_older_database_once(books):
    org_id = books.org_a.id
    with org_context(org_id):
        kept = ledger.stored(org_id)
        assert not reports.ensure_built(org_id)  # totals are there: nothing to do
        _db.session.execute(_db.delete(PeriodTotal))
        assert reports.ensure_built(org_id)
        assert ledger.stored(org_id) == kept
        assert reports.profit_and_loss(org_id, *Q1).line("net_profit").total == 28750
        assert not reports.ensure_built(org_id)


def test_ensure_built_counts_an_organization_without_documents_once(people):
    with org_context(people.org_b.id):
        factories.make_invoice(people.org_b)  # a draft counts for nothing
        assert reports.ensure_built(people.org_b.id)
        assert ledger.stored(people.org_b.id) == {}
        assert not reports.ensure_built(people.org_b.id)


# -- ranges ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fiscal", "kind", "start", "end", "errors"),
    [
        ({}, 1, "range", D(2026, 1, 1), D(2026, 12, 31), {}),
        ({"range": "this_month"}, 1, "range", D(2026, 4, 1), D(2026, 4, 30), {}),
        ({"range": "last_month"}, 1, "range", D(2026, 3, 1), D(2026, 3, 31), {}),
        ({"range": "this_quarter"}, 1, "range", D(2026, 4, 1), D(2026, 6, 30), {}),
        ({"range": "last_year"}, 1, "range", D(2025, 1, 1), D(2025, 12, 31), {}),
        ({"range": "this_year"}, 4, "range", D(2026, 4, 1), D(2027, 3, 31), {}),
        ({"range": "last_year"}, 4, "range", D(2025, 4, 1), D(2026, 3, 31), {}),
        ({"range": "this_quarter"}, 2, "range", D(2026, 2, 1), D(2026, 4, 30), {}),
        ({"start": "2026-01-15", "end": "2026-03-10"}, 1, "range", D(2026, 1, 1),
         D(2026, 3, 31), {}),
        ({"start": "2016-01-01", "end": "2025-12-31"}, 1, "range", D(2016, 1, 1),
         D(2025, 12, 31), {}),
        ({"start": "2016-01-01", "end": "2026-01-01"}, 1, "range", None, None,
         {"end": "Choose at most 10 years."}),
        ({"start": "2026-03-01", "end": "2026-01-31"}, 1, "range", None, None,
         {"end": "The end is before the start."}),
        ({"start": "2026-13-01", "end": "2026-03-31"}, 1, "range", None, None,
         {"start": "Enter a date like 2026-03-31."}),
        ({"start": "2026-01-01"}, 1, "range", None, None,
         {"end": "Enter the last day of the period."}),
        ({"range": "next_decade"}, 1, "range", None, None,
         {"range": "Choose one of the periods offered, or enter dates."}),
        ({"by": "week"}, 1, "pnl", None, None, {"by": "Choose months, quarters or years."}),
        ({"by": "week"}, 1, "range", D(2026, 1, 1), D(2026, 12, 31), {}),  # not read there
    ],
)  # fmt: skip
def test_read_filters(app, args, fiscal, kind, start, end, errors):
    with app.test_request_context():
        filters, found = reports.read_filters(args, TODAY, fiscal, kind)
    assert found == errors
    if not errors:
        assert (filters.start, filters.end) == (start, end)
        assert filters.reshaped == (args.get("start") == "2026-01-15")


@pytest.mark.parametrize(
    ("raw", "as_of", "errors"),
    [
        ("", None, {}),
        ("2026-04-15", None, {}),  # today: follows today in a bookmark
        ("2026-03-31", D(2026, 3, 31), {}),
        ("2026-04-16", None, {"as_of": "Choose today or an earlier date."}),
        ("31/03/2026", None, {"as_of": "Enter a date like 2026-03-31."}),
    ],
)
def test_read_the_aging_day(app, raw, as_of, errors):
    with app.test_request_context():
        filters, found = reports.read_filters({"as_of": raw}, TODAY, 1, "aging")
    assert found == errors
    if not errors:
        assert filters.as_of == as_of and filters.params("aging") == (
            {"as_of": raw} if as_of else {}
        )


def test_fiscal_quarters_and_years(app):
    with app.test_request_context():
        quarters = reports.periods_of(D(2025, 4, 1), D(2026, 6, 30), "quarter", fiscal_start=4)
        years = reports.periods_of(D(2025, 1, 1), D(2026, 12, 31), "year", fiscal_start=4)
        label = reports.range_label(D(2026, 1, 1), D(2026, 3, 31))
    assert [(p.label, p.start, p.end) for p in quarters] == [
        ("Q1 2025/26", D(2025, 4, 1), D(2025, 6, 30)),
        ("Q2 2025/26", D(2025, 7, 1), D(2025, 9, 30)),
        ("Q3 2025/26", D(2025, 10, 1), D(2025, 12, 31)),
        ("Q4 2025/26", D(2026, 1, 1), D(2026, 3, 31)),
        ("Q1 2026/27", D(2026, 4, 1), D(2026, 6, 30)),
    ]
    assert [(p.label, p.partial) for p in years] == [
        (f"Jan{DASH}Mar 2025", True), ("2025/26", False), (f"Apr{DASH}Dec 2026", True),
    ]  # fmt: skip
    assert label == f"Jan 1{DASH}Mar 31, 2026"

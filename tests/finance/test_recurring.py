"""Recurring invoices: dates that keep their day, a run after downtime that catches up each
missed invoice once, an end by date or count, the form's refusals, stop and resume."""

from __future__ import annotations

import datetime as dt

import pytest

from startvora.core.tenancy import org_context
from startvora.extensions import db as _db
from startvora.finance import recurring, services
from startvora.finance.models import Invoice, RecurringInvoice
from tests import factories

BASE = "/o/acme/finance"
D = dt.date


@pytest.mark.parametrize(
    ("start", "frequency", "n", "expected"),
    [
        (D(2027, 1, 31), "monthly", 1, D(2027, 2, 28)),
        (D(2027, 1, 31), "monthly", 2, D(2027, 3, 31)),
        (D(2028, 2, 29), "yearly", 1, D(2029, 2, 28)),
        (D(2027, 11, 30), "quarterly", 1, D(2028, 2, 29)),
        (D(2027, 1, 1), "weekly", 3, D(2027, 1, 22)),
    ],
)
def test_dates_keep_the_first_ones_day(start, frequency, n, expected):
    assert recurring.nth_date(start, frequency, n) == expected
    assert recurring.first_on_or_after(start, frequency, expected) == (n, expected)


def _schedule(org, **changes):
    invoice = factories.make_invoice(org, issue=True)
    today = services.today_of(org)
    schedule = recurring.make_recurring(org.id, None, invoice, "monthly", today, None, None, False)
    for name, value in changes.items():
        setattr(schedule, name, value)
    _db.session.commit()
    return schedule


def test_a_run_after_downtime_catches_up_once_each(people):
    org = people.org_a
    with org_context(org.id):
        today = services.today_of(org)
        start = recurring.nth_date(today, "monthly", -3)  # as if the server slept three months
        schedule = _schedule(org, start_date=start, next_date=start)
        assert recurring.run_schedules(org) == 4  # three missed months and today's
        assert recurring.run_schedules(org) == 0  # a second run adds nothing
        dates = sorted(
            _db.session.execute(
                _db.select(Invoice.issue_date).where(Invoice.id != schedule.source_invoice_id)
            ).scalars()
        )
        assert dates == [recurring.nth_date(start, "monthly", n) for n in range(4)]
        assert schedule.issued_count == 4 and schedule.next_date == recurring.nth_date(
            start, "monthly", 4
        )
        numbers = _db.session.execute(_db.select(Invoice.number)).scalars().all()
        assert len(set(numbers)) == len(numbers) == 5


def test_a_schedule_ends_by_count_or_by_date(people):
    org = people.org_a
    with org_context(org.id):
        today = services.today_of(org)
        start = recurring.nth_date(today, "monthly", -5)
        by_count = _schedule(org, start_date=start, next_date=start, max_count=2)
        end = recurring.nth_date(start, "monthly", 2)
        by_date = _schedule(org, start_date=start, next_date=start, end_date=end)
        recurring.run_schedules(org)
        assert (by_count.issued_count, by_count.next_date, by_count.active) == (2, None, False)
        assert (by_date.issued_count, by_date.next_date, by_date.active) == (3, None, False)


def test_the_form_the_list_and_stop_resume(client, people, login, csrf_token):
    with org_context(people.org_a.id):
        invoice = factories.make_invoice(people.org_a, issue=True)
        _db.session.commit()
    login(people.carol)
    token = csrf_token()
    url = f"{BASE}/invoices/{invoice.id}/repeat"
    assert "Repeat this invoice" in client.get(url).get_data(as_text=True)
    today = D.today()
    for bad, message in (
        ({"start_date": "2020-01-01"}, "Start today or later."),
        ({"start_date": (today + dt.timedelta(days=40)).isoformat(), "end_date": today.isoformat()},
         "The end date cannot be before the first date."),
        ({"start_date": today.isoformat(), "max_count": "many"}, "Enter a number of invoices"),
        ({"start_date": ""}, "Enter the date of the first invoice."),
    ):  # fmt: skip
        response = client.post(url, data={"csrf_token": token, "frequency": "monthly", **bad})
        assert response.status_code == 422 and message in response.get_data(as_text=True), bad
    start = (today + dt.timedelta(days=3)).isoformat()
    made = client.post(
        url, data={"csrf_token": token, "frequency": "quarterly", "start_date": start}
    )
    assert made.status_code == 303
    listing = client.get(f"{BASE}/recurring").get_data(as_text=True)
    assert "Every quarter" in listing
    with org_context(people.org_a.id):
        schedule = _db.session.execute(_db.select(RecurringInvoice)).scalar_one()
        schedule_id = schedule.id
    client.post(f"{BASE}/recurring/{schedule_id}/toggle", data={"csrf_token": token})
    with org_context(people.org_a.id):
        stopped = _db.session.get(RecurringInvoice, schedule_id)
        assert stopped.active is False
        stopped.next_date = D(2020, 1, 1)  # it was stopped long ago
        _db.session.commit()
    client.post(f"{BASE}/recurring/{schedule_id}/toggle", data={"csrf_token": token})
    with org_context(people.org_a.id):
        resumed = _db.session.get(RecurringInvoice, schedule_id)
        assert resumed.active is True and resumed.next_date >= today  # missed dates skipped


def test_a_foreign_currency_schedule_keeps_its_rate_and_a_broken_one_stops_no_other(people):
    from decimal import Decimal

    from startvora.finance import ledger

    org = people.org_a
    org.currency = "EUR"
    with org_context(org.id):
        source = factories.make_invoice(
            org, issue=True, currency="USD", exchange_rate="0.9"
        )  # 200.00 USD
        today = services.today_of(org)
        schedule = recurring.make_recurring(org.id, None, source, "monthly", today, None, 1, False)
        _db.session.commit()
        assert schedule.exchange_rate == Decimal("0.9")
        assert recurring.run_schedules(org) == 1
        made = _db.session.get(Invoice, schedule.last_invoice_id)
        assert (made.currency, made.exchange_rate, made.base_total_minor) == (
            "USD",
            Decimal("0.9"),
            18000,
        )
        assert ledger.stored(org.id) == ledger.compute(org.id)
    with org_context(org.id):  # a schedule whose model no longer makes sense
        broken = recurring.make_recurring(org.id, None, source, "monthly", today, None, 3, False)
        broken.lines = [{"description": "x", "quantity": "not a number", "unit_price_minor": 1}]
        _db.session.commit()
    other = people.org_b
    with org_context(other.id):
        healthy = factories.make_invoice(other, issue=True)
        recurring.make_recurring(other.id, None, healthy, "monthly", today, None, 1, False)
        _db.session.commit()
    recurring.recurring_invoices()  # the hourly job, over every organization
    with org_context(other.id):
        assert len(_db.session.execute(_db.select(Invoice.id)).scalars().all()) == 2

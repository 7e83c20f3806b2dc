"""Tenancy, fail-closed: the query hook, explicit contexts, and a walk over every route."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import pytest

from startvora.auth import tokens
from startvora.auth.models import ApiToken
from startvora.core import live, mail, notify
from startvora.core.customfields import CustomField
from startvora.core.db import utcnow
from startvora.core.files import StoredFile
from startvora.core.imports import ImportRun
from startvora.core.numbering import Sequence
from startvora.core.savedviews import SavedView
from startvora.core.tenancy import TenancyError, TenantMixin, org_context, system_context
from startvora.crm import models as crm
from startvora.extensions import db as _db
from startvora.finance import models as fin
from startvora.finance.expense_models import Expense, RecurringExpense
from startvora.finance.ledger import PeriodTotal
from startvora.orgs.models import Invitation
from tests import factories


def _tenant_models() -> set[type]:
    found, todo = set(), list(TenantMixin.__subclasses__())
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo.extend(cls.__subclasses__())
    return {c for c in found if hasattr(c, "__table__")}


def _make_invitation(org, owner):
    invitation = Invitation(
        org_id=org.id,
        email="x@y.test",
        role="member",
        token_hash=secrets.token_hex(32),
        invited_by_id=owner.id,
        expires_at=utcnow() + dt.timedelta(days=7),
    )
    _db.session.add(invitation)
    return invitation


def _make_token(org, owner):
    return tokens.create_token(owner, org.id, "theirs")[0]


def _add(row):
    _db.session.add(row)
    return row


def _make_file(org, owner):
    return factories.make_file(org, created_by_id=owner.id)


# One row of every tenant model: a new model without a factory here fails the walk below.
def _make_paid_invoice(org: Any) -> None:
    from startvora.finance import services
    from startvora.finance.schemas import PaymentIn

    tax = factories.make_tax_rate(org)
    invoice = factories.make_invoice(
        org,
        lines=[{"description": "Work", "quantity": "1", "unit_price": "10", "tax_ids": [tax.id]}],
        issue=True,
    )
    payment = PaymentIn(
        paid_on=dt.date(2026, 1, 2), amount=invoice.total_minor + 100, overpayment="credit"
    )
    services.record_payment(org.id, None, invoice, payment)


def _first_invoice(org: Any) -> int:
    return _db.session.execute(
        _db.select(fin.Invoice.id).where(fin.Invoice.org_id == org.id).limit(1)
    ).scalar_one()


FACTORIES = {
    Invitation: _make_invitation,
    ApiToken: _make_token,
    StoredFile: _make_file,
    notify.Notification: lambda org, owner: factories.make_notification(org, owner),
    notify.Channel: lambda org, owner: factories.make_channel(org),
    notify.Preference: lambda org, owner: _add(
        notify.Preference(org_id=org.id, user_id=owner.id, event="x", channel="app", enabled=True)
    ),
    notify.HandledEvent: lambda org, owner: _add(notify.HandledEvent(org_id=org.id, event_id="e")),
    live.LiveEvent: lambda org, owner: _add(live.LiveEvent(org_id=org.id, topic="x")),
    mail.MailServer: lambda org, owner: _add(
        mail.MailServer(org_id=org.id, host="smtp.test", from_address="a@b.test")
    ),
    Sequence: lambda org, owner: _add(Sequence(org_id=org.id, key="invoice", period="", last=1)),
    fin.FinanceSettings: lambda org, owner: _add(fin.FinanceSettings(org_id=org.id)),
    fin.TaxRate: lambda org, owner: factories.make_tax_rate(org),
    fin.Product: lambda org, owner: factories.make_product(org),
    # An issued invoice with lines, a tax breakdown, a payment and an overpayment's credit.
    fin.Invoice: lambda org, owner: _make_paid_invoice(org),
    fin.InvoiceLine: lambda org, owner: None,
    fin.InvoiceTax: lambda org, owner: None,
    fin.Payment: lambda org, owner: None,
    fin.RecurringInvoice: lambda org, owner: _add(
        fin.RecurringInvoice(
            org_id=org.id,
            currency="USD",
            start_date=dt.date(2030, 1, 1),
            frequency="monthly",
            source_invoice_id=_first_invoice(org),
        )
    ),
    fin.InvoiceReminder: lambda org, owner: _add(
        fin.InvoiceReminder(org_id=org.id, invoice_id=_first_invoice(org), days=7)
    ),
    fin.CustomerCredit: lambda org, owner: None,
    fin.TaxExemption: lambda org, owner: _add(
        fin.TaxExemption(org_id=org.id, company_id=factories.make_company(org).id, reason="Export")
    ),
    Expense: lambda org, owner: factories.make_expense(org, approve=True),
    RecurringExpense: lambda org, owner: _add(
        RecurringExpense(
            org_id=org.id,
            category="Rent",
            currency=org.currency,
            amount_minor=100000,
            frequency="monthly",
            start_date=dt.date(2026, 1, 1),
            next_date=dt.date(2026, 1, 1),
        )
    ),
    PeriodTotal: lambda org, owner: None,
    crm.Company: lambda org, owner: factories.make_company(org),
    crm.Contact: lambda org, owner: factories.make_contact(org),
    crm.Lead: lambda org, owner: factories.make_lead(org),
    crm.Pipeline: lambda org, owner: factories.make_pipeline(org),  # and its stages
    crm.Stage: lambda org, owner: None,
    crm.Deal: lambda org, owner: factories.make_deal(org),
    crm.Activity: lambda org, owner: factories.make_activity(org),
    CustomField: lambda org, owner: _add(
        CustomField(org_id=org.id, entity="contact", key="k", label="K", kind="text")
    ),
    SavedView: lambda org, owner: _add(
        SavedView(org_id=org.id, user_id=owner.id, list_name="contacts", name="v", query="")
    ),
    ImportRun: lambda org, owner: _add(
        ImportRun(
            org_id=org.id, user_id=owner.id, entity="contacts", filename="a.csv", file_key="k"
        )
    ),
}


@pytest.fixture
def other_org_first(db):
    """Org B and one row of every tenant table are created first: they hold every id 1."""
    org_b = factories.make_org(name="Bravo", slug="bravo")
    charlie = factories.make_member(org_b, "owner", name="Charlie")
    with org_context(org_b.id):
        for make in FACTORIES.values():
            make(org_b, charlie)
        _db.session.commit()
    org_a = factories.make_org(name="Acme", slug="acme")
    alice = factories.make_member(org_a, "owner", name="Alice")
    _db.session.commit()
    return org_a, alice, org_b


def test_every_tenant_model_has_a_factory():
    assert _tenant_models() == set(FACTORIES), "add the new tenant model to FACTORIES"


def test_every_route_refuses_another_orgs_ids(app, client, login, csrf_token, other_org_first):
    org_a, alice, _org_b = other_org_first
    login(alice)
    token = csrf_token()
    with org_context(org_a.id):
        _, api_token = tokens.create_token(alice, org_a.id, "walk")
        _db.session.commit()
    walked = 0
    for rule in app.url_map.iter_rules():
        others = set(rule.arguments) - {"org_slug"}
        kinds = {rule._converters[a].__class__.__name__ for a in others}
        if "org_slug" in rule.arguments or rule.rule.startswith("/api/"):
            assert kinds <= {"IntegerConverter", "AnyConverter"}, (
                f"{rule}: teach this walk its argument types"
            )
        elif kinds - {"IntegerConverter"}:
            continue  # /static/<path> and the like hold no organization's rows
        ids = [
            a
            for a in rule.arguments
            if rule._converters[a].__class__.__name__ == "IntegerConverter"
        ]
        if not ids:
            continue
        # One URL per choice of each <any(...)> part (contacts, companies...).
        combos: list[dict[str, object]] = [{arg: 1 for arg in ids}]
        for arg in others - set(ids):
            combos = [
                {**c, arg: item} for c in combos for item in sorted(rule._converters[arg].items)
            ]
        for values in combos:
            if "org_slug" in rule.arguments:
                values["org_slug"] = org_a.slug
            if set(values) != set(rule.arguments):
                continue
            url = rule.build(values, append_unknown=False)[1]
            # API routes are called with the organization's own token, pages with the session.
            headers = {"Authorization": f"Bearer {api_token}"} if url.startswith("/api/") else {}
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = client.open(
                    url, method=method, headers=headers, data={"csrf_token": token}
                )
                assert response.status_code == 404, (
                    f"{method} {url} answered {response.status_code}"
                )
                walked += 1
    assert walked >= 5


def test_outsiders_get_404_on_every_org_page(app, client, people, login, csrf_token):
    login(people.charlie)
    token = csrf_token()
    for rule in app.url_map.iter_rules():
        if "org_slug" not in rule.arguments:
            continue
        values = {
            arg: (
                sorted(rule._converters[arg].items)[0]
                if rule._converters[arg].__class__.__name__ == "AnyConverter"
                else 1
            )
            for arg in rule.arguments
            if arg != "org_slug"
        }
        url = rule.build({"org_slug": "acme", **values}, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, data={"csrf_token": token})
            assert response.status_code == 404, f"{method} {url}"


def test_queries_without_an_org_raise(app, db, people):
    with pytest.raises(TenancyError):
        _db.session.execute(_db.select(Invitation)).all()
    with pytest.raises(TenancyError):
        _db.session.add(
            Invitation(
                org_id=people.org_a.id,
                email="a@b.c",
                role="member",
                token_hash="t" * 64,
                expires_at=utcnow(),
            )
        )
        _db.session.flush()
    _db.session.rollback()


def test_contexts_scope_and_unscope(db, people):
    with org_context(people.org_a.id):
        _make_invitation(people.org_a, people.alice)
        _db.session.commit()
    with org_context(people.org_b.id):
        _make_invitation(people.org_b, people.charlie).email = "b@y.test"
        _db.session.commit()
        assert [i.email for i in _db.session.execute(_db.select(Invitation)).scalars()] == [
            "b@y.test"
        ]
        with pytest.raises(TenancyError):
            _db.session.add(
                Invitation(
                    org_id=people.org_a.id,
                    email="z@y.test",
                    role="member",
                    token_hash="z" * 64,
                    expires_at=utcnow(),
                )
            )
            _db.session.flush()
        _db.session.rollback()
    with system_context("test: both organizations"):
        assert _db.session.execute(_db.select(_db.func.count(Invitation.id))).scalar_one() == 2


def test_bulk_updates_are_scoped_too(db, people):
    with org_context(people.org_a.id):
        _make_invitation(people.org_a, people.alice)
        _db.session.commit()
    with org_context(people.org_b.id):
        _make_invitation(people.org_b, people.charlie)
        _db.session.commit()
        _db.session.execute(_db.update(Invitation).values(role="viewer"))
        _db.session.commit()
    with system_context("test"):
        roles = sorted(_db.session.execute(_db.select(Invitation.role)).scalars())
    assert roles == ["member", "viewer"]


def test_list_totals_count_only_this_organizations_rows(client, people, login):
    with org_context(people.org_b.id):
        factories.make_contact(people.org_b)
        factories.make_contact(people.org_b)
        _db.session.commit()
    with org_context(people.org_a.id):
        mine = factories.make_contact(people.org_a)
        trashed = factories.make_contact(people.org_a)
        trashed.deleted_at = utcnow()
        _db.session.commit()
    login(people.alice)
    page = client.get("/o/acme/crm/contacts").get_data(as_text=True)
    assert "1 result" in page and mine.display_name in page
    with org_context(people.org_a.id):
        _, plain = tokens.create_token(people.alice, people.org_a.id, "count")
        _db.session.commit()
    body = client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {plain}"}).get_json()
    assert body["total"] == 1

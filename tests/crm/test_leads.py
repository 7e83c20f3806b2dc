"""Leads: capture, qualify, disqualify with a reason, convert in one step reusing records."""

from __future__ import annotations

import pytest

from startvora.core.tenancy import org_context
from startvora.crm.models import Company, Contact, Deal, Lead
from startvora.extensions import db as _db
from tests import factories

BASE = "/o/acme/crm/leads"


def test_capture_then_convert_into_contact_company_and_deal(client, people, login, csrf_token):
    login(people.carol)
    token = csrf_token()
    response = client.post(
        f"{BASE}/new",
        data={
            "csrf_token": token,
            "title": "50 office chairs",
            "first_name": "Mia",
            "last_name": "Muster",
            "email": "mia@muster.test",
            "company_name": "Muster GmbH",
            "value": "12500.50",
            "currency": "eur",
        },
    )
    assert response.status_code == 303
    with org_context(people.org_a.id):
        lead = _db.session.execute(_db.select(Lead)).scalar_one()
        assert (lead.value_minor, lead.currency, lead.status) == (1250050, "EUR", "new")
    page = client.get(f"{BASE}/{lead.id}").get_data(as_text=True)
    assert "A new contact is made." in page and "A new company is made." in page
    response = client.post(
        f"{BASE}/{lead.id}/convert", data={"csrf_token": token, "make_deal": "on"}
    )
    assert response.status_code == 303
    with org_context(people.org_a.id):
        lead = _db.session.get(Lead, lead.id)
        contact = _db.session.get(Contact, lead.contact_id)
        company = _db.session.get(Company, lead.company_id)
        deal = _db.session.get(Deal, lead.deal_id)
        assert lead.status == "converted"
        assert contact.company_id == company.id and company.name == "Muster GmbH"
        assert (deal.value_minor, deal.contact_id, deal.stage.kind) == (1250050, contact.id, "open")
    again = client.post(f"{BASE}/{lead.id}/convert", data={"csrf_token": token})
    assert again.status_code == 303  # refused with a message, nothing new
    with org_context(people.org_a.id):
        assert len(_db.session.execute(_db.select(Deal)).all()) == 1


def test_convert_reuses_an_existing_contact_and_company(client, people, login, csrf_token):
    with org_context(people.org_a.id):
        company = factories.make_company(people.org_a, name="Muster GmbH")
        contact = factories.make_contact(people.org_a, email="mia@muster.test")
        lead = factories.make_lead(
            people.org_a, email="MIA@muster.test", company_name="muster gmbh"
        )
        _db.session.commit()
    login(people.alice)
    client.post(f"{BASE}/{lead.id}/convert", data={"csrf_token": csrf_token()})
    with org_context(people.org_a.id):
        assert _db.session.execute(_db.select(_db.func.count(Contact.id))).scalar() == 1
        assert _db.session.execute(_db.select(_db.func.count(Company.id))).scalar() == 1
        assert _db.session.get(Contact, contact.id).company_id == company.id
        assert _db.session.get(Lead, lead.id).contact_id == contact.id


def test_disqualify_needs_a_reason(client, people, login, csrf_token):
    with org_context(people.org_a.id):
        lead = factories.make_lead(people.org_a)
        _db.session.commit()
    login(people.alice)
    token = csrf_token()
    client.post(f"{BASE}/{lead.id}/status", data={"csrf_token": token, "status": "disqualified"})
    with org_context(people.org_a.id):
        assert _db.session.get(Lead, lead.id).status == "new"
    client.post(
        f"{BASE}/{lead.id}/status",
        data={"csrf_token": token, "status": "disqualified", "reason": "No budget"},
    )
    with org_context(people.org_a.id):
        stored = _db.session.get(Lead, lead.id)
        assert (stored.status, stored.disqualify_reason) == ("disqualified", "No budget")
    assert "Disqualified: No budget" in client.get(f"{BASE}/{lead.id}").get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "nope"}, "email address"),
        ({"first_name": "A", "value": "a lot"}, "amount"),
        ({"first_name": "A", "currency": "XYZ"}, "currency"),
        ({}, "Enter a name, a company or an email address"),
    ],
)
def test_bad_lead_input(client, people, login, csrf_token, data, message):
    login(people.alice)
    response = client.post(f"{BASE}/new", data={"csrf_token": csrf_token(), **data})
    assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_leads_list_filters_and_permissions(client, people, login, csrf_token):
    with org_context(people.org_a.id):
        factories.make_lead(people.org_a, first_name="Quinn", status="qualified")
        factories.make_lead(people.org_a, first_name="Nora")
        _db.session.commit()
    login(people.bob)
    page = client.get(f"{BASE}?f_status=qualified").get_data(as_text=True)
    assert "Quinn" in page and "Nora" not in page
    assert client.post(f"{BASE}/new", data={"csrf_token": csrf_token()}).status_code == 403

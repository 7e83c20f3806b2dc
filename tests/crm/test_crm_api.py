"""Contacts, companies, leads and activities through /api/v1, in the OpenAPI document."""

from __future__ import annotations

import pytest

from startvora.auth import tokens
from startvora.core import customfields as cf
from startvora.core.tenancy import org_context
from startvora.crm.models import Contact
from startvora.extensions import db as _db
from tests import factories


@pytest.fixture
def token_for(db):
    def make(user, org):
        with org_context(org.id):
            _, plain = tokens.create_token(user, org.id, "test")
            _db.session.commit()
        return {"Authorization": f"Bearer {plain}"}

    return make


def test_contacts_crud_with_custom_fields(client, people, token_for):
    headers = token_for(people.carol, people.org_a)
    with org_context(people.org_a.id):
        company = factories.make_company(people.org_a, name="Nordwind AG")
        _db.session.add(
            cf.CustomField(
                org_id=people.org_a.id, entity="contact", key="size", label="Size", kind="choice",
                choices=["S", "M", "L"],
            )
        )  # fmt: skip
        _db.session.commit()
    created = client.post(
        "/api/v1/contacts",
        json={
            "first_name": "Zoë",
            "last_name": "Ångström",
            "email": "ZOE@x.test",
            "company_id": company.id,
            "tags": ["vip"],
            "custom": {"size": "m"},
        },
        headers=headers,
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["email"], body["company_id"], body["custom"]) == (
        "zoe@x.test",
        company.id,
        {"size": "M"},
    )
    changed = client.patch(
        f"/api/v1/contacts/{body['id']}", json={"job_title": "CTO"}, headers=headers
    ).get_json()
    assert (changed["job_title"], changed["first_name"], changed["custom"]) == (
        "CTO",
        "Zoë",
        {"size": "M"},
    )
    found = client.get(
        "/api/v1/contacts?q=zoe&sort=-created_at&limit=5", headers=headers
    ).get_json()
    assert found["total"] == 1 and found["items"][0]["id"] == body["id"]
    bad = client.post(
        "/api/v1/contacts", json={"email": "nope", "custom": {"size": "XXL"}}, headers=headers
    )
    assert bad.status_code == 422
    problem = bad.get_json()
    assert bad.mimetype == "application/problem+json"
    assert "email" in problem["errors"] and "custom.size" in problem["errors"]
    assert client.get("/api/v1/contacts?sort=bogus", headers=headers).status_code == 400
    gone = client.delete(f"/api/v1/contacts/{body['id']}", headers=headers)
    assert gone.status_code == 403  # a member may not delete
    admin = token_for(people.alice, people.org_a)
    assert client.delete(f"/api/v1/contacts/{body['id']}", headers=admin).get_json() == {
        "id": body["id"],
        "deleted": True,
    }
    assert client.get(f"/api/v1/contacts/{body['id']}", headers=admin).status_code == 404


def test_list_totals_and_pages(client, people, token_for):
    with org_context(people.org_a.id):
        for i in range(7):
            factories.make_contact(people.org_a, owner_id=people.carol.id if i % 2 else None)
        _db.session.commit()
    headers = token_for(people.bob, people.org_a)
    page = client.get("/api/v1/contacts?limit=3&offset=3", headers=headers).get_json()
    assert (page["total"], len(page["items"]), page["offset"]) == (7, 3, 3)
    mine = client.get(f"/api/v1/contacts?owner_id={people.carol.id}", headers=headers).get_json()
    assert mine["total"] == 3
    assert (
        client.post("/api/v1/contacts", json={"first_name": "X"}, headers=headers).status_code
        == 403
    )


def test_other_orgs_records_are_404(client, people, token_for):
    with org_context(people.org_b.id):
        theirs = factories.make_contact(people.org_b)
        _db.session.commit()
    headers = token_for(people.alice, people.org_a)
    assert client.get(f"/api/v1/contacts/{theirs.id}", headers=headers).status_code == 404
    assert (
        client.patch(f"/api/v1/contacts/{theirs.id}", json={}, headers=headers).status_code == 404
    )
    with org_context(people.org_b.id):
        assert _db.session.get(Contact, theirs.id).deleted_at is None


def test_leads_capture_and_convert(client, people, token_for):
    headers = token_for(people.alice, people.org_a)
    lead = client.post(
        "/api/v1/leads",
        json={"first_name": "Web", "last_name": "Form", "email": "web@form.test", "value": "99.90"},
        headers=headers,
    )
    assert lead.status_code == 201
    body = lead.get_json()
    assert (body["value_minor"], body["currency"], body["status"]) == (9990, "USD", "new")
    converted = client.post(
        f"/api/v1/leads/{body['id']}/convert", json={}, headers=headers
    ).get_json()
    assert converted["status"] == "converted" and converted["contact_id"] and converted["deal_id"]
    again = client.post(f"/api/v1/leads/{body['id']}/convert", json={}, headers=headers)
    assert again.status_code == 422


def test_activities(client, people, token_for):
    with org_context(people.org_a.id):
        contact = factories.make_contact(people.org_a)
        _db.session.commit()
    headers = token_for(people.carol, people.org_a)
    made = client.post(
        "/api/v1/activities",
        json={"kind": "call", "subject": "Intro", "contact_id": contact.id},
        headers=headers,
    )
    assert made.status_code == 201
    listed = client.get(f"/api/v1/activities?contact_id={contact.id}", headers=headers).get_json()
    assert listed["total"] == 1 and listed["items"][0]["subject"] == "Intro"
    two = client.post(
        "/api/v1/activities",
        json={"kind": "call", "subject": "x", "contact_id": contact.id, "company_id": 1},
        headers=headers,
    )
    assert two.status_code == 422


def test_openapi_describes_the_crm(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert {"get", "post"} <= set(doc["paths"]["/api/v1/contacts"])
    assert {"get", "patch", "delete"} <= set(doc["paths"]["/api/v1/contacts/{contact_id}"])
    post = doc["paths"]["/api/v1/contacts"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "ContactBody"
    )
    assert "201" in post["responses"] and "422" in post["responses"]
    assert "/api/v1/leads/{lead_id}/convert" in doc["paths"]
    assert "/api/v1/activities" in doc["paths"]

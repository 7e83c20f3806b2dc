"""Finance through /api/v1: tax rates, products, a draft with lines, issue, pay, credit, and the
refusals as 422 problems with the field named."""

from __future__ import annotations

import pytest

from startvora.auth import tokens
from startvora.core.tenancy import org_context
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


def test_a_draft_issued_paid_and_credited(client, people, token_for):
    people.org_a.currency = "EUR"
    with org_context(people.org_a.id):
        company = factories.make_company(people.org_a, name="Globex")
        _db.session.commit()
    admin = token_for(people.alice, people.org_a)
    rate = client.post("/api/v1/tax-rates", json={"name": "VAT", "rate": "19"}, headers=admin)
    assert rate.status_code == 201 and rate.get_json()["rate"] == "19"
    product = client.post(
        "/api/v1/products",
        json={
            "name": "Chair",
            "sku": "CH-1",
            "prices": {"EUR": "50.00"},
            "tax_ids": [rate.get_json()["id"]],
        },
        headers=admin,
    )
    assert product.status_code == 201 and product.get_json()["prices"] == {"EUR": "50.00"}
    headers = token_for(people.carol, people.org_a)
    body = {
        "company_id": company.id,
        "lines": [
            {"product_id": product.get_json()["id"], "quantity": "4", "unit_price": "50",
             "tax_ids": [rate.get_json()["id"]]},
            {"description": "Delivery", "unit_price": "30"},
        ],
    }  # fmt: skip
    draft = client.post("/api/v1/invoices", json=body, headers=headers)
    assert draft.status_code == 201, draft.get_json()
    invoice = draft.get_json()
    assert (invoice["status"], invoice["total"], invoice["total_minor"]) == (
        "draft",
        "268.00",
        26800,
    )
    assert [line["description"] for line in invoice["lines"]] == ["Chair", "Delivery"]
    changed = client.patch(
        f"/api/v1/invoices/{invoice['id']}", json={"notes": "Thanks"}, headers=headers
    )
    assert changed.get_json()["notes"] == "Thanks" and len(changed.get_json()["lines"]) == 2
    issued = client.post(f"/api/v1/invoices/{invoice['id']}/issue", headers=headers).get_json()
    assert issued["number"].startswith("INV-") and issued["state"] in ("issued", "overdue")
    refused = client.patch(
        f"/api/v1/invoices/{invoice['id']}", json={"notes": "x"}, headers=headers
    )
    assert refused.status_code == 422 and "credit note" in refused.get_json()["errors"]["__all__"]
    paid = client.post(
        f"/api/v1/invoices/{invoice['id']}/payments",
        json={"paid_on": "2026-04-01", "amount": "100"},
        headers=headers,
    )
    assert paid.status_code == 201 and paid.get_json()["balance"] == "168.00"
    too_much = client.post(
        f"/api/v1/invoices/{invoice['id']}/payments",
        json={"paid_on": "2026-04-01", "amount": "500"},
        headers=headers,
    )
    assert too_much.status_code == 422 and "amount" in too_much.get_json()["errors"]
    delivery = issued["lines"][1]["id"]
    note = client.post(
        f"/api/v1/invoices/{invoice['id']}/credit-notes",
        json={"lines": {str(delivery): "1"}, "reason": "Picked up"},
        headers=headers,
    )
    assert note.status_code == 201 and note.get_json()["kind"] == "credit_note"
    assert note.get_json()["total"] == "30.00"
    again = client.get(f"/api/v1/invoices/{invoice['id']}", headers=headers).get_json()
    assert (again["credited"], again["balance"]) == ("30.00", "138.00")
    listing = client.get("/api/v1/invoices?kind=credit_note", headers=headers).get_json()
    assert listing["total"] == 1 and listing["items"][0]["number"].startswith("CN-")
    found = client.get("/api/v1/invoices?q=globex&state=unpaid", headers=headers).get_json()
    assert found["total"] == 1
    assert client.delete(f"/api/v1/invoices/{invoice['id']}", headers=admin).status_code == 422


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lines": [{"description": "x", "unit_price": "1.999"}]}, "lines.0.unit_price"),
        ({"lines": [{"description": "x", "quantity": "-1"}]}, "lines.0.quantity"),
        ({"currency": "XYZ", "lines": []}, "currency"),
        ({"lines": "nope"}, "lines"),
    ],
)
def test_bad_bodies_name_the_field(client, people, token_for, body, field):
    people.org_a.currency = "EUR"
    with org_context(people.org_a.id):
        company = factories.make_company(people.org_a)
        _db.session.commit()
    headers = token_for(people.carol, people.org_a)
    response = client.post(
        "/api/v1/invoices", json={"company_id": company.id, **body}, headers=headers
    )
    assert response.status_code == 422 and field in response.get_json()["errors"], (
        response.get_json()
    )


def test_viewers_read_but_do_not_write_and_other_orgs_are_404(client, people, token_for):
    with org_context(people.org_b.id):
        theirs = factories.make_invoice(people.org_b)
        _db.session.commit()
    viewer = token_for(people.bob, people.org_a)
    assert client.get("/api/v1/invoices", headers=viewer).status_code == 200
    assert client.post("/api/v1/invoices", json={}, headers=viewer).status_code == 403
    assert client.get(f"/api/v1/invoices/{theirs.id}", headers=viewer).status_code == 404
    assert "/invoices" in client.get("/api/v1/openapi.json").get_data(as_text=True)


def test_tax_exemptions_through_the_api(client, people, token_for):
    people.org_a.currency = "EUR"
    with org_context(people.org_a.id):
        charity = factories.make_company(people.org_a, name="Helping Hands")
        vat = factories.make_tax_rate(people.org_a, "VAT", "19")
        _db.session.commit()
    with org_context(people.org_b.id):
        foreign = factories.make_company(people.org_b)
        _db.session.commit()
    admin = token_for(people.alice, people.org_a)
    member = token_for(people.carol, people.org_a)
    body = {"company_id": charity.id, "reason": "Charity"}
    assert client.put("/api/v1/tax-exemptions", json=body, headers=member).status_code == 403
    missing = client.put("/api/v1/tax-exemptions", json={"company_id": charity.id, "reason": " "},
                         headers=admin)  # fmt: skip
    assert missing.status_code == 422
    other = client.put("/api/v1/tax-exemptions", json={"company_id": foreign.id, "reason": "X"},
                       headers=admin)  # fmt: skip
    assert other.status_code == 422
    saved = client.put("/api/v1/tax-exemptions", json=body, headers=admin)
    assert saved.status_code == 200 and saved.get_json()["reason"] == "Charity"
    listed = client.get("/api/v1/tax-exemptions", headers=member).get_json()["items"]
    assert [e["company_id"] for e in listed] == [charity.id]
    draft = client.post(
        "/api/v1/invoices",
        json={"company_id": charity.id,
              "lines": [{"description": "Chairs", "unit_price": "100", "tax_ids": [vat.id]}]},
        headers=member,
    ).get_json()  # fmt: skip
    assert (draft["tax"], draft["total"], draft["tax_exemption"]) == ("0.00", "100.00", "Charity")
    assert draft["attachments"] == [] and draft["lines"][0]["expense_id"] is None
    exemption_id = saved.get_json()["id"]
    assert client.delete(f"/api/v1/tax-exemptions/{exemption_id}", headers=admin).status_code == 200
    assert client.delete(f"/api/v1/tax-exemptions/{exemption_id}", headers=admin).status_code == 404

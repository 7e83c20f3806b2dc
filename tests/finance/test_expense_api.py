"""Expenses through /api/v1: enter, change, approve, reject, reopen, pay, bill to the customer,
upload receipts, recurring expenses, and the refusals as problem documents."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from startvora.auth import tokens
from startvora.core.files import StoredFile
from startvora.core.tenancy import org_context
from startvora.extensions import db as _db
from startvora.finance.expense_models import Expense
from startvora.finance.models import Invoice
from tests import factories


def image_bytes(fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (80, 40), "orange").save(out, fmt)
    return out.getvalue()


@pytest.fixture
def token_for(db):
    def make(user, org):
        with org_context(org.id):
            _, plain = tokens.create_token(user, org.id, "test")
            _db.session.commit()
        return {"Authorization": f"Bearer {plain}"}

    return make


@pytest.fixture
def acme(people):
    people.org_a.currency = "EUR"
    with org_context(people.org_a.id):
        people.vat = factories.make_tax_rate(people.org_a, "VAT", "19")
        people.customer = factories.make_company(people.org_a, name="Globex GmbH")
    _db.session.commit()
    return people


def rows(org, model=Expense):
    with org_context(org.id):
        return list(_db.session.execute(_db.select(model).order_by(model.id)).scalars())


def body(acme, **changes):
    data = {
        "spent_on": "2026-03-10",
        "category": "Travel",
        "vendor_name": "Rail Co",
        "amount": "59.50",
        "tax_rate_id": acme.vat.id,
        "description": "Train to the Globex workshop",
    }
    data.update(changes)
    return data


def test_enter_change_approve_and_bill_an_expense(client, acme, token_for):
    member = token_for(acme.carol, acme.org_a)
    owner = token_for(acme.alice, acme.org_a)
    made = client.post("/api/v1/expenses", json=body(acme), headers=member)
    assert made.status_code == 201, made.get_json()
    expense = made.get_json()
    assert (expense["status"], expense["state"], expense["total"], expense["total_minor"]) == (
        "pending", "pending", "59.50", 5950,
    )  # fmt: skip
    assert (expense["net"], expense["tax"], expense["base_currency"]) == ("50.00", "9.50", "EUR")
    url = f"/api/v1/expenses/{expense['id']}"
    changed = client.patch(
        url,
        json={"billable": True, "customer_company_id": acme.customer.id, "amount": 119},
        headers=member,
    ).get_json()
    assert (changed["billable"], changed["total"], changed["category"]) == (
        True,
        "119.00",
        "Travel",
    )
    assert client.post(f"{url}/approve", headers=member).status_code == 403  # no finance:approve
    approved = client.post(f"{url}/approve", headers=owner)
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    refused = client.patch(url, json={"amount": "1"}, headers=member)
    assert refused.status_code == 422
    assert refused.mimetype == "application/problem+json"
    assert "Reopen it" in refused.get_json()["errors"]["__all__"]
    billed = client.post(f"{url}/bill", headers=member)
    assert billed.status_code == 200, billed.get_json()
    (invoice,) = rows(acme.org_a, Invoice)
    assert billed.get_json()["billed_invoice_id"] == invoice.id
    assert invoice.status == "draft" and invoice.lines[0].expense_id == expense["id"]
    assert invoice.lines[0].unit_price_minor == 10000  # billed at cost, without the tax
    again = client.post(f"{url}/bill", headers=member)
    assert again.status_code == 422 and "billed on" in again.get_json()["detail"]
    got = client.get(url, headers=member).get_json()
    assert got["billed_invoice_id"] == invoice.id and got["receipt"] is None


def test_reject_reopen_and_pay_a_bill(client, acme, token_for):
    owner = token_for(acme.alice, acme.org_a)
    bill = client.post(
        "/api/v1/expenses",
        json=body(acme, kind="bill", bill_number="B-1", due_date="2026-04-09"),
        headers=owner,
    ).get_json()
    url = f"/api/v1/expenses/{bill['id']}"
    no_reason = client.post(f"{url}/reject", json={"reason": " "}, headers=owner)
    assert no_reason.status_code == 422 and "reason" in no_reason.get_json()["errors"]
    rejected = client.post(f"{url}/reject", json={"reason": "Wrong amount"}, headers=owner)
    assert rejected.get_json()["rejection_reason"] == "Wrong amount"
    assert client.post(f"{url}/approve", headers=owner).get_json()["state"] in ("unpaid", "overdue")
    early = client.post(
        f"{url}/pay", json={"paid_on": "2026-03-01", "payment_method": "card"}, headers=owner
    )
    assert early.status_code == 422 and "paid_on" in early.get_json()["errors"]
    paid = client.post(
        f"{url}/pay", json={"paid_on": "2026-03-20", "payment_method": "card"}, headers=owner
    ).get_json()
    assert (paid["state"], paid["paid_on"], paid["payment_method"]) == (
        "paid",
        "2026-03-20",
        "card",
    )
    reopened = client.post(f"{url}/reopen", headers=owner).get_json()
    assert reopened["status"] == "pending"
    assert client.delete(url, headers=owner).get_json() == {"id": bill["id"], "deleted": True}
    assert rows(acme.org_a) == []


@pytest.mark.parametrize(
    ("fmt", "name", "kind"), [("JPEG", "r.jpg", "image/jpeg"), ("PDF", "r.pdf", "application/pdf")]
)
def test_upload_a_receipt(client, acme, token_for, fmt, name, kind):
    headers = token_for(acme.carol, acme.org_a)
    expense = client.post("/api/v1/expenses", json=body(acme), headers=headers).get_json()
    response = client.post(
        f"/api/v1/expenses/{expense['id']}/receipt",
        data={"file": (io.BytesIO(image_bytes(fmt)), name)},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.get_json()
    receipt = response.get_json()["receipt"]
    assert (receipt["filename"], receipt["content_type"], receipt["has_preview"]) == (
        name, kind, True,
    )  # fmt: skip
    (stored,) = rows(acme.org_a, StoredFile)
    assert stored.thumbnail_key and stored.owner_kind == "expense"


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [(b"a note\n", "note.txt", "not a file type accepted here"),
     (image_bytes(), "scan.pdf", "is really a PNG image")],
)  # fmt: skip
def test_a_receipt_of_another_type_is_refused(client, acme, token_for, data, name, message):
    headers = token_for(acme.carol, acme.org_a)
    expense = client.post("/api/v1/expenses", json=body(acme), headers=headers).get_json()
    response = client.post(
        f"/api/v1/expenses/{expense['id']}/receipt",
        data={"file": (io.BytesIO(data), name)},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert message in response.get_json()["errors"]["file"]
    assert rows(acme.org_a, StoredFile) == [] and rows(acme.org_a)[0].receipt_file_id is None
    missing = client.post(f"/api/v1/expenses/{expense['id']}/receipt", headers=headers)
    assert missing.status_code == 422 and "file" in missing.get_json()["errors"]


def test_the_list_filters_sorts_and_pages(client, acme, token_for):
    with org_context(acme.org_a.id):
        factories.make_expense(acme.org_a, vendor_name="Café Central", category="Meals",
                               amount="12", spent_on="2026-01-05")  # fmt: skip
        factories.make_expense(acme.org_a, approve=True, vendor_name="Rail Co", amount="80",
                               spent_on="2026-02-05")  # fmt: skip
        factories.make_expense(acme.org_a, approve=True, kind="bill", vendor_name="Lindenhof",
                               category="Rent", amount="1850", billable=True,
                               customer_company_id=acme.customer.id)  # fmt: skip
        _db.session.commit()
    headers = token_for(acme.bob, acme.org_a)

    def names(**query):
        answer = client.get("/api/v1/expenses", query_string=query, headers=headers)
        assert answer.status_code == 200, answer.get_json()
        return [e["vendor_name"] for e in answer.get_json()["items"]], answer.get_json()["total"]

    assert names() == (["Lindenhof", "Rail Co", "Café Central"], 3)
    assert names(status="approved", sort="amount") == (["Rail Co", "Lindenhof"], 2)
    assert names(kind="bill") == (["Lindenhof"], 1)
    assert names(category="Meals") == (["Café Central"], 1)
    assert names(date_from="2026-02-01", date_to="2026-02-28") == (["Rail Co"], 1)
    assert names(billable="yes") == (["Lindenhof"], 1)
    assert names(q="cafe") == (["Café Central"], 1)
    assert names(sort="-vendor", limit="1", offset="1") == (["Lindenhof"], 3)
    for bad in ({"status": "paid"}, {"sort": "size"}, {"date_from": "yesterday"}):
        answer = client.get("/api/v1/expenses", query_string=bad, headers=headers)
        assert answer.status_code == 400 and answer.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": "1.999"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"category": ""}, "category"),
        ({"kind": "gift"}, "kind"),
        ({"currency": "XYZ"}, "currency"),
        ({"tax_rate_id": 999}, "tax_rate_id"),
        ({"billable": True}, "__all__"),
    ],
)
def test_bad_bodies_name_the_field(client, acme, token_for, changes, field):
    headers = token_for(acme.carol, acme.org_a)
    response = client.post("/api/v1/expenses", json=body(acme, **changes), headers=headers)
    assert response.status_code == 422 and field in response.get_json()["errors"], (
        response.get_json()
    )
    assert rows(acme.org_a) == []


def test_recurring_expenses(client, acme, token_for):
    headers = token_for(acme.carol, acme.org_a)
    made = client.post(
        "/api/v1/recurring-expenses",
        json=body(
            acme,
            kind="bill",
            vendor_name="Lindenhof",
            category="Rent",
            amount="1850",
            spent_on="2030-01-01",
            frequency="quarterly",
            due_days=10,
        ),
        headers=headers,
    )
    assert made.status_code == 201, made.get_json()
    schedule = made.get_json()
    assert (schedule["frequency"], schedule["next_date"], schedule["amount"]) == (
        "quarterly", "2030-01-01", "1850.00",
    )  # fmt: skip
    listing = client.get("/api/v1/recurring-expenses?active=yes", headers=headers).get_json()
    assert listing["total"] == 1 and listing["items"][0]["id"] == schedule["id"]
    stopped = client.post(f"/api/v1/recurring-expenses/{schedule['id']}/stop", headers=headers)
    assert stopped.status_code == 200 and stopped.get_json()["active"] is False
    assert (
        client.get("/api/v1/recurring-expenses?active=yes", headers=headers).get_json()["total"]
        == 0
    )
    bad = client.post(
        "/api/v1/recurring-expenses", json=body(acme, frequency="daily"), headers=headers
    )
    assert bad.status_code == 422 and "frequency" in bad.get_json()["errors"]


WRITES = [
    ("post", "/expenses"),
    ("patch", "/expenses/{id}"),
    ("delete", "/expenses/{id}"),
    ("post", "/expenses/{id}/approve"),
    ("post", "/expenses/{id}/reject"),
    ("post", "/expenses/{id}/reopen"),
    ("post", "/expenses/{id}/pay"),
    ("post", "/expenses/{id}/bill"),
    ("post", "/expenses/{id}/receipt"),
    ("post", "/recurring-expenses"),
]


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_a_viewer_reads_but_cannot_write(client, acme, token_for, method, path):
    with org_context(acme.org_a.id):
        expense_id = factories.make_expense(acme.org_a).id
        _db.session.commit()
    headers = token_for(acme.bob, acme.org_a)
    assert client.get(f"/api/v1/expenses/{expense_id}", headers=headers).status_code == 200
    response = getattr(client, method)(
        "/api/v1" + path.format(id=expense_id), json={"reason": "x"}, headers=headers
    )
    assert response.status_code == 403 and response.mimetype == "application/problem+json"
    (expense,) = rows(acme.org_a)
    assert expense.status == "pending"


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/expenses/{id}"), *[w for w in WRITES if "{id}" in w[1]],
     ("post", "/recurring-expenses/{schedule}/stop")],
)  # fmt: skip
def test_another_organizations_ids_are_404(client, acme, token_for, method, path):
    with org_context(acme.org_b.id):
        theirs = factories.make_expense(acme.org_b, vendor_name="Theirs")
        from startvora.finance import expenses
        from startvora.finance.schemas import RecurringExpenseIn

        schedule = expenses.save_recurring(
            acme.org_b.id, None,
            RecurringExpenseIn.model_validate(
                {"spent_on": "2030-01-01", "category": "Rent", "amount": "10"},
                context={"currency": "USD", "locale": "en"},
            ),
        )  # fmt: skip
        _db.session.commit()
        ids = {"id": theirs.id, "schedule": schedule.id}
    headers = token_for(acme.alice, acme.org_a)
    response = getattr(client, method)(
        "/api/v1" + path.format(**ids), json={"reason": "x", "paid_on": "2026-04-01"},
        headers=headers,
    )  # fmt: skip
    assert response.status_code == 404
    (expense,) = rows(acme.org_b)
    assert (expense.status, expense.vendor_name) == ("pending", "Theirs")


def test_the_openapi_document_lists_the_expense_endpoints(client, db):
    doc = client.get("/api/v1/openapi.json").get_json()
    paths = doc["paths"]
    assert set(paths["/api/v1/expenses"]) == {"get", "post"}
    assert set(paths["/api/v1/expenses/{expense_id}"]) == {"get", "patch", "delete"}
    for action in ("approve", "reject", "reopen", "pay", "bill", "receipt"):
        assert "post" in paths[f"/api/v1/expenses/{{expense_id}}/{action}"]
    assert paths["/api/v1/expenses/{expense_id}/approve"]["post"]["x-permission"] == (
        "finance:approve"
    )
    assert {"ExpenseOut", "ExpenseBody", "RecurringExpenseBody"} <= set(
        doc["components"]["schemas"]
    )

"""Expenses through their pages: the form with its receipt upload, the list with filters and
export, the expense page's actions (approve, reject, reopen, pay, bill to the customer, replace
the receipt, delete), recurring expenses, and who may do what."""

from __future__ import annotations

import csv
import io
import re

import pytest
from PIL import Image

from startvora.core.audit import AuditEvent
from startvora.core.files import StoredFile
from startvora.core.tenancy import org_context
from startvora.extensions import db as _db
from startvora.finance.expense_models import Expense, RecurringExpense
from startvora.finance.models import Invoice
from tests import factories

BASE = "/o/acme/finance/expenses"


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (60, 90)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "teal").save(out, fmt)
    return out.getvalue()


def upload(data: bytes, name: str) -> tuple[io.BytesIO, str]:
    return io.BytesIO(data), name


@pytest.fixture
def shop(people):
    """Acme in EUR with a 19 % rate, a vendor and a customer in the CRM."""
    people.org_a.currency = "EUR"
    with org_context(people.org_a.id):
        people.vat = factories.make_tax_rate(people.org_a, "VAT", "19")
        people.vendor = factories.make_company(people.org_a, name="Rail Express")
        people.customer = factories.make_company(people.org_a, name="Globex GmbH")
    _db.session.commit()
    return people


def form(shop, token, **changes):
    data = {
        "csrf_token": token,
        "kind": "expense",
        "vendor": "Café Central",
        "spent_on": "2026-03-10",
        "category": "Meals",
        "description": "Lunch with Globex",
        "currency": "EUR",
        "amount": "119.00",
        "amount_includes_tax": "on",
        "tax_rate_id": str(shop.vat.id),
        "payment_method": "card",
        "action": "save",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def rows(org, model=Expense):
    with org_context(org.id):
        return list(_db.session.execute(_db.select(model).order_by(model.id)).scalars())


def make(shop, approve=False, **fields):
    with org_context(shop.org_a.id):
        expense = factories.make_expense(shop.org_a, approve=approve, **fields)
        _db.session.commit()
        return expense.id


def test_enter_an_expense_with_a_receipt_photo(client, shop, login, csrf_token):
    login(shop.carol)
    token = csrf_token()
    assert client.get(f"{BASE}/new").status_code == 200
    response = client.post(
        f"{BASE}/new",
        data=form(shop, token, receipt=upload(image_bytes("JPEG"), "lunch.jpg")),
        content_type="multipart/form-data",
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    (expense,) = rows(shop.org_a)
    assert (expense.kind, expense.vendor_name, expense.category, expense.status) == (
        "expense", "Café Central", "Meals", "pending",
    )  # fmt: skip
    assert (expense.net_minor, expense.tax_minor, expense.total_minor) == (10000, 1900, 11900)
    assert (expense.paid_on.isoformat(), expense.payment_method) == ("2026-03-10", "card")
    receipt = expense.receipt
    assert receipt.content_type == "image/jpeg" and receipt.thumbnail_key
    assert (receipt.width, receipt.height) == (60, 90)
    assert response.headers["Location"].endswith(f"/expenses/{expense.id}")
    page = client.get(f"{BASE}/{expense.id}").get_data(as_text=True)
    assert "Café Central" in page and "€119.00" in page and "Waiting for approval" in page
    assert f"/files/{receipt.id}/thumbnail" in page and "lunch.jpg" in page
    thumb = client.get(f"/o/acme/files/{receipt.id}/thumbnail")
    assert thumb.status_code == 200 and thumb.mimetype.startswith("image/")
    listing = client.get(BASE).get_data(as_text=True)
    assert f"/files/{receipt.id}/thumbnail" in listing and "1 expense waits for approval" in listing


def test_a_vendor_bill_from_a_crm_company_with_a_pdf(client, shop, login, csrf_token):
    login(shop.carol)
    pdf = image_bytes("PDF", (200, 280))
    response = client.post(
        f"{BASE}/new",
        data=form(
            shop,
            csrf_token(),
            kind="bill",
            vendor="Rail Express",
            bill_number="RE-2026-118",
            due_date="2026-04-09",
            paid_on="",
            payment_method="bank_transfer",
            amount="250",
            amount_includes_tax=None,
            receipt=upload(pdf, "bill.pdf"),
        ),
        content_type="multipart/form-data",
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    (bill,) = rows(shop.org_a)
    assert (bill.kind, bill.vendor_company_id, bill.bill_number) == (
        "bill", shop.vendor.id, "RE-2026-118",
    )  # fmt: skip
    assert (bill.due_date.isoformat(), bill.paid_on) == ("2026-04-09", None)
    assert (bill.net_minor, bill.tax_minor, bill.total_minor) == (25000, 4750, 29750)
    assert bill.receipt.content_type == "application/pdf" and bill.receipt.thumbnail_key
    thumb = client.get(f"/o/acme/files/{bill.receipt.id}/thumbnail")
    assert thumb.status_code == 200 and thumb.mimetype.startswith("image/")


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"Just some notes\n", "notes.txt", "is not a file type accepted here"),
        (image_bytes("PNG"), "scan.pdf", "scan.pdf is really a PNG image"),
    ],
)
def test_a_receipt_that_is_not_an_image_or_pdf_is_refused_and_nothing_saved(
    client, shop, login, csrf_token, data, name, message
):
    login(shop.carol)
    response = client.post(
        f"{BASE}/new",
        data=form(shop, csrf_token(), description="Team lunch", receipt=upload(data, name)),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = re.search(r'id="f-receipt-error">.*?<span>(.*?)</span>', page, re.S)
    assert error and message in error.group(1)
    # What was typed stays in the form.
    assert 'value="Café Central"' in page and "Team lunch" in page and 'value="119.00"' in page
    assert rows(shop.org_a) == [] and rows(shop.org_a, StoredFile) == []


def test_form_errors_are_inline_kept_and_a_fragment_for_htmx(client, shop, login, csrf_token):
    login(shop.carol)
    response = client.post(
        f"{BASE}/new",
        data=form(shop, csrf_token(), kind="bill", vendor="", amount="12.345", category=""),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "<html" not in page and "Nothing is saved yet" in page
    assert 'id="f-amount-error"' in page and "at most 2 decimals" in page
    assert 'id="f-category-error"' in page
    response = client.post(
        f"{BASE}/new", data=form(shop, csrf_token(), kind="bill", vendor="", amount="10")
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" in page
    error = re.search(r'id="f-vendor-error">.*?<span>(.*?)</span>', page, re.S)
    assert error and "Choose the vendor of the bill." in error.group(1)
    billable = client.post(
        f"{BASE}/new", data=form(shop, csrf_token(), billable="on", customer="Nobody Inc")
    ).get_data(as_text=True)
    assert re.search(r'id="f-customer-error">.*?No company or contact', billable, re.S)
    assert rows(shop.org_a) == []


def test_changing_the_kind_currency_or_billing_shows_their_fields(client, shop, login, csrf_token):
    login(shop.carol)
    refresh = client.post(
        f"{BASE}/new",
        data=form(shop, csrf_token(), kind="bill", currency="USD", billable="on", action="refresh"),
        headers={"HX-Request": "true"},
    )
    page = refresh.get_data(as_text=True)
    assert refresh.status_code == 200 and "<form" not in page  # only the fields, not the receipt
    for name in ("bill_number", "due_date", "exchange_rate", "customer"):
        assert f'name="{name}"' in page
    assert "$119.00" in page and "$100.00" in page  # the amount's total and net, live
    plain = client.post(f"{BASE}/new", data=form(shop, csrf_token(), action="refresh"))
    assert 'name="bill_number"' not in plain.get_data(as_text=True)
    assert rows(shop.org_a) == []


def test_reject_edit_approve_and_reopen(client, shop, login, csrf_token):
    expense_id = make(shop)
    login(shop.carol)  # a member enters expenses but does not approve them
    token = csrf_token()
    for action in ("approve", "reject", "reopen"):
        assert (
            client.post(f"{BASE}/{expense_id}/{action}", data={"csrf_token": token}).status_code
            == 403
        )
    assert "/approve" not in client.get(f"{BASE}/{expense_id}").get_data(as_text=True)
    login(shop.alice)
    token = csrf_token()
    response = client.post(
        f"{BASE}/{expense_id}/reject", data={"csrf_token": token, "reason": "No receipt"}
    )
    assert response.status_code == 303
    (expense,) = rows(shop.org_a)
    assert (expense.status, expense.rejection_reason, expense.decided_by_id) == (
        "rejected", "No receipt", shop.alice.id,
    )  # fmt: skip
    assert "No receipt" in client.get(f"{BASE}/{expense_id}").get_data(as_text=True)
    login(shop.carol)
    edited = client.post(f"{BASE}/{expense_id}/edit", data=form(shop, csrf_token(), amount="20"))
    assert edited.status_code == 303
    (expense,) = rows(shop.org_a)
    assert (expense.status, expense.total_minor, expense.rejection_reason) == ("pending", 2000, "")
    login(shop.alice)
    approved = client.post(
        f"{BASE}/{expense_id}/approve",
        data={"csrf_token": csrf_token()},
        headers={"HX-Request": "true"},
    )
    assert approved.status_code == 200 and "<html" not in approved.get_data(as_text=True)
    assert (
        "showToast" in approved.headers["HX-Trigger"]
        and "Approved" in approved.headers["HX-Trigger"]
    )
    (expense,) = rows(shop.org_a)
    assert expense.status == "approved"
    # An approved expense is changed only after it is reopened.
    assert client.get(f"{BASE}/{expense_id}/edit").status_code == 303
    again = client.post(
        f"{BASE}/{expense_id}/approve",
        data={"csrf_token": csrf_token()},
        headers={"HX-Request": "true"},
    )
    assert "approved already" in again.headers["HX-Trigger"]
    client.post(f"{BASE}/{expense_id}/reopen", data={"csrf_token": csrf_token()})
    (expense,) = rows(shop.org_a)
    assert expense.status == "pending"
    with org_context(shop.org_a.id):
        actions = (
            _db.session.execute(
                _db.select(AuditEvent.action).where(AuditEvent.target_id == expense_id)
            )
            .scalars()
            .all()
        )
    assert {"finance.expense_rejected", "finance.expense_approved"} <= set(actions)
    history = client.get(f"{BASE}/{expense_id}").get_data(as_text=True)
    assert "Reopened" in history and "Alice Owner" in history


def test_mark_an_approved_bill_paid(client, shop, login, csrf_token):
    bill_id = make(shop, approve=True, kind="bill", due_date="2026-04-01")
    login(shop.carol)
    token = csrf_token()
    page = client.get(f"{BASE}/{bill_id}").get_data(as_text=True)
    assert "Mark paid" in page and ("Unpaid" in page or "Overdue" in page)
    early = client.post(
        f"{BASE}/{bill_id}/pay",
        data={"csrf_token": token, "paid_on": "2026-03-01", "payment_method": "bank_transfer"},
    )
    assert early.status_code == 303
    assert rows(shop.org_a)[0].paid_on is None
    client.post(
        f"{BASE}/{bill_id}/pay",
        data={"csrf_token": token, "paid_on": "2026-03-20", "payment_method": "bank_transfer"},
    )
    (bill,) = rows(shop.org_a)
    assert (bill.paid_on.isoformat(), bill.payment_method) == ("2026-03-20", "bank_transfer")
    assert "paid on" in client.get(f"{BASE}/{bill_id}").get_data(as_text=True)


def test_bill_to_the_customer_lands_on_a_draft_invoice(client, shop, login, csrf_token):
    with org_context(shop.org_a.id):
        expense_id = factories.make_expense(
            shop.org_a, approve=True, billable=True, customer_company_id=shop.customer.id,
            description="Train to the Globex workshop", amount="59.50",
        ).id  # fmt: skip
        _db.session.commit()
    login(shop.carol)
    token = csrf_token()
    assert "Bill to the customer" in client.get(f"{BASE}/{expense_id}").get_data(as_text=True)
    response = client.post(f"{BASE}/{expense_id}/bill", data={"csrf_token": token})
    assert response.status_code == 303
    (invoice,) = rows(shop.org_a, Invoice)
    assert response.headers["Location"].endswith(f"/finance/invoices/{invoice.id}")
    assert (invoice.status, invoice.company_id) == ("draft", shop.customer.id)
    (line,) = invoice.lines
    assert line.expense_id == expense_id and line.unit_price_minor == 5950
    assert "Train to the Globex workshop" in line.description
    page = client.get(f"{BASE}/{expense_id}").get_data(as_text=True)
    assert f"/finance/invoices/{invoice.id}" in page and "Bill to the customer" not in page
    twice = client.post(f"{BASE}/{expense_id}/bill", data={"csrf_token": token})
    assert twice.status_code == 303 and len(rows(shop.org_a, Invoice)) == 1


def test_replace_the_receipt(client, shop, login, csrf_token):
    expense_id = make(shop)
    login(shop.carol)
    token = csrf_token()
    url = f"{BASE}/{expense_id}/receipt"
    first = client.post(
        url, data={"csrf_token": token, "receipt": upload(image_bytes(), "a.png")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert first.status_code == 303
    old_id = rows(shop.org_a)[0].receipt_file_id
    refused = client.post(
        url, data={"csrf_token": token, "receipt": upload(b"plain text", "b.txt")},
        content_type="multipart/form-data", headers={"HX-Request": "true"},
    )  # fmt: skip
    assert refused.status_code == 422 and 'id="f-receipt-error"' in refused.get_data(as_text=True)
    assert rows(shop.org_a)[0].receipt_file_id == old_id
    second = client.post(
        url, data={"csrf_token": token, "receipt": upload(image_bytes("PDF"), "b.pdf")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert second.status_code == 303
    (expense,) = rows(shop.org_a)
    assert expense.receipt.filename == "b.pdf" and expense.receipt_file_id != old_id
    assert [f.id for f in rows(shop.org_a, StoredFile)] == [expense.receipt_file_id]


def test_delete_an_expense_with_its_receipt(client, shop, login, csrf_token):
    expense_id = make(shop)
    approved_id = make(shop, approve=True)
    login(shop.alice)
    token = csrf_token()
    client.post(
        f"{BASE}/{expense_id}/receipt",
        data={"csrf_token": token, "receipt": upload(image_bytes(), "a.png")},
        content_type="multipart/form-data",
    )
    response = client.post(f"{BASE}/{expense_id}/delete", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"].endswith(BASE)
    assert [e.id for e in rows(shop.org_a)] == [approved_id]
    assert rows(shop.org_a, StoredFile) == []
    client.post(f"{BASE}/{approved_id}/delete", data={"csrf_token": token})
    assert [e.id for e in rows(shop.org_a)] == [approved_id]  # approved: reopen it first


def test_the_list_searches_filters_sorts_and_exports(client, shop, login):
    make(shop, vendor_name="Zoë's Bistro", category="Meals", amount="30")
    make(shop, approve=True, vendor_name="Rail Co", category="Travel", amount="120",
         spent_on="2026-02-01")  # fmt: skip
    make(shop, approve=True, kind="bill", vendor_name="Lindenhof", category="Rent",
         bill_number="R-7", amount="1850", due_date="2026-03-20")  # fmt: skip
    login(shop.bob)
    found = client.get(BASE, query_string={"q": "zoe"}).get_data(as_text=True)
    assert "Zoë&#39;s Bistro" in found and "Rail Co" not in found
    assert "R-7" in client.get(BASE, query_string={"q": "r-7"}).get_data(as_text=True)
    pending = client.get(BASE, query_string={"f_state": "pending"}).get_data(as_text=True)
    assert "Zoë" in pending and "Lindenhof" not in pending and "1 result" in pending
    bills = client.get(BASE, query_string={"f_kind": "bill"}).get_data(as_text=True)
    assert "Lindenhof" in bills and "Rail Co" not in bills
    travel = client.get(BASE, query_string={"f_category": "Travel"}).get_data(as_text=True)
    assert "Rail Co" in travel and "Lindenhof" not in travel
    dated = client.get(BASE, query_string={"from": "2026-02-01", "to": "2026-02-28"})
    assert "Rail Co" in dated.get_data(as_text=True) and "1 result" in dated.get_data(as_text=True)
    by_amount = client.get(
        BASE, query_string={"sort": "amount", "dir": "desc"}, headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "<html" not in by_amount
    assert by_amount.index("Lindenhof") < by_amount.index("Rail Co") < by_amount.index("Zoë")
    export = client.get(f"{BASE}/export", query_string={"format": "csv", "f_state": "approved"})
    assert export.status_code == 200 and export.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(export.get_data(as_text=True))))
    assert table[0][:3] == ["Date", "Type", "Vendor"]
    assert sorted(r[2] for r in table[1:]) == ["Lindenhof", "Rail Co"]
    assert {r[2]: r[10] for r in table[1:]}["Lindenhof"] == "1850.00"
    xlsx = client.get(f"{BASE}/export", query_string={"format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    menu = client.get(
        f"{BASE}/export-menu",
        headers={"HX-Request": "true", "HX-Current-URL": f"http://localhost{BASE}?f_kind=bill"},
    ).get_data(as_text=True)
    assert "f_kind=bill" in menu and "format=xlsx" in menu


def test_an_empty_list_says_what_to_do(client, shop, login):
    login(shop.carol)
    page = client.get(BASE).get_data(as_text=True)
    assert "No expenses yet" in page and f"{BASE}/new" in page


def test_recurring_expenses_set_up_changed_and_stopped(client, shop, login, csrf_token):
    login(shop.carol)
    token = csrf_token()
    assert client.get(f"{BASE}/recurring/new").status_code == 200
    data = form(shop, token, kind="bill", vendor="Lindenhof Properties", category="Rent",
                amount="1850", spent_on="2030-01-01", frequency="monthly", max_count="12",
                due_days="10")  # fmt: skip
    response = client.post(f"{BASE}/recurring/new", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    (schedule,) = rows(shop.org_a, RecurringExpense)
    assert (schedule.kind, schedule.frequency, schedule.max_count, schedule.due_days) == (
        "bill", "monthly", 12, 10,
    )  # fmt: skip
    assert (schedule.amount_minor, schedule.next_date.isoformat()) == (185000, "2030-01-01")
    listing = client.get(f"{BASE}/recurring").get_data(as_text=True)
    assert "Lindenhof Properties" in listing and "Every month" in listing
    bad = client.post(
        f"{BASE}/recurring/{schedule.id}/edit", data={**data, "end_date": "2029-01-01"}
    )
    assert bad.status_code == 422 and 'id="f-end_date-error"' in bad.get_data(as_text=True)
    changed = client.post(f"{BASE}/recurring/{schedule.id}/edit", data={**data, "amount": "1900"})
    assert changed.status_code == 303
    assert rows(shop.org_a, RecurringExpense)[0].amount_minor == 190000
    client.post(f"{BASE}/recurring/{schedule.id}/stop", data={"csrf_token": token})
    assert rows(shop.org_a, RecurringExpense)[0].active is False
    assert "Stopped" in client.get(f"{BASE}/recurring").get_data(as_text=True)


# -- who may do what ---------------------------------------------------------------------------

ROUTES = [
    ("get", "", None),
    ("get", "/export", None),
    ("get", "/export-menu", None),
    ("get", "/lookup?field=vendor&vendor=ra", None),
    ("get", "/recurring", None),
    ("get", "/new", "finance:edit"),
    ("post", "/new", "finance:edit"),
    ("get", "/recurring/new", "finance:edit"),
    ("post", "/recurring/new", "finance:edit"),
    ("get", "/recurring/{schedule}/edit", "finance:edit"),
    ("post", "/recurring/{schedule}/edit", "finance:edit"),
    ("post", "/recurring/{schedule}/stop", "finance:edit"),
    ("get", "/{id}", None),
    ("get", "/{id}/edit", "finance:edit"),
    ("post", "/{id}/edit", "finance:edit"),
    ("post", "/{id}/approve", "finance:approve"),
    ("post", "/{id}/reject", "finance:approve"),
    ("post", "/{id}/reopen", "finance:approve"),
    ("post", "/{id}/pay", "finance:edit"),
    ("post", "/{id}/bill", "finance:edit"),
    ("post", "/{id}/receipt", "finance:edit"),
    ("post", "/{id}/delete", "finance:delete"),
]
POST_ONLY = [
    "/recurring/{schedule}/stop", "/{id}/approve", "/{id}/reject", "/{id}/reopen", "/{id}/pay",
    "/{id}/bill", "/{id}/receipt", "/{id}/delete",
]  # fmt: skip


def ids_in(org):
    """An expense and a schedule of the organization: their ids for the routes."""
    with org_context(org.id):
        expense = factories.make_expense(org, kind="bill", vendor_name="Theirs")
        schedule = RecurringExpense(
            org_id=org.id, category="Rent", currency=org.currency, amount_minor=100,
            frequency="monthly", start_date=expense.spent_on, next_date=expense.spent_on,
        )  # fmt: skip
        _db.session.add(schedule)
        _db.session.commit()
        return {"id": expense.id, "schedule": schedule.id}


def url_of(path, ids):
    return BASE + path.format(**ids)


@pytest.mark.parametrize(("method", "path", "permission"), ROUTES)
def test_sign_in_is_needed(client, shop, method, path, permission):
    response = getattr(client, method)(url_of(path, ids_in(shop.org_a)))
    assert response.status_code in (302, 400)  # a POST without a session fails CSRF first
    if response.status_code == 302:
        assert "/sign-in" in response.headers["Location"]


@pytest.mark.parametrize(("method", "path", "permission"), [r for r in ROUTES if r[2]])
def test_a_viewer_cannot_change_anything(client, shop, login, csrf_token, method, path, permission):
    ids = ids_in(shop.org_a)
    login(shop.bob)
    url = url_of(path, ids)
    if method == "get":
        response = client.get(url)
    else:
        response = client.post(url, data={**form(shop, csrf_token()), "reason": "x"})
    assert response.status_code == 403
    (expense,) = rows(shop.org_a)
    assert (expense.status, expense.vendor_name, expense.receipt_file_id) == (
        "pending", "Theirs", None,
    )  # fmt: skip
    assert rows(shop.org_a, RecurringExpense)[0].active is True


def test_a_viewer_sees_no_change_buttons(client, shop, login):
    ids = ids_in(shop.org_a)
    login(shop.bob)
    page = client.get(url_of("/{id}", ids)).get_data(as_text=True)
    for action in ("/edit", "/approve", "/reject", "/receipt", "/delete", "/pay"):
        assert action not in page
    listing = client.get(BASE).get_data(as_text=True)
    assert "New expense" not in listing


@pytest.mark.parametrize(("method", "path", "permission"), [r for r in ROUTES if "{" in r[1]])
def test_another_organizations_expense_is_404(
    client, shop, login, csrf_token, method, path, permission
):
    theirs = ids_in(shop.org_b)
    login(shop.alice)
    url = url_of(path, theirs)
    response = (
        client.get(url)
        if method == "get"
        else client.post(
            url, data={**form(shop, csrf_token()), "reason": "x", "paid_on": "2026-04-01"}
        )
    )
    assert response.status_code == 404
    (expense,) = rows(shop.org_b)
    assert (expense.status, expense.vendor_name) == ("pending", "Theirs")


@pytest.mark.parametrize("path", POST_ONLY)
def test_actions_refuse_get(client, shop, login, path):
    ids = ids_in(shop.org_a)
    login(shop.alice)
    assert client.get(url_of(path, ids)).status_code == 405


@pytest.mark.parametrize("path", ["", "/{id}", "/new", "/recurring/new", "/{id}/edit"])
def test_htmx_gets_a_fragment(client, shop, login, path):
    ids = ids_in(shop.org_a)
    login(shop.alice)
    response = client.get(url_of(path, ids), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.get_data(as_text=True)
    assert "HX-Request" in response.headers["Vary"]

"""Files attached to a draft: kept with it, emailed with the PDF, offered on the signed page;
an issued document keeps its files."""

from __future__ import annotations

import io
import re
import time

import pytest

from startvora.core import files
from startvora.core.tenancy import org_context
from startvora.extensions import db as _db
from startvora.finance import services
from tests import factories
from tests.conftest import csrf_of, text_part

BASE = "/o/acme/finance"
TIMESHEET = b"date,hours\n2026-03-02,7.5\n"


@pytest.fixture
def draft(people):
    with org_context(people.org_a.id):
        invoice = factories.make_invoice(people.org_a)
        _db.session.commit()
        people.invoice_id = invoice.id
    return people


def attach(client, token, invoice_id, data=TIMESHEET, name="timesheet.csv"):
    return client.post(
        f"{BASE}/invoices/{invoice_id}/attachments",
        data={"csrf_token": token, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_attach_then_remove_on_a_draft(client, draft, login, csrf_token):
    login(draft.carol)
    token = csrf_token()
    assert attach(client, token, draft.invoice_id).status_code == 303
    with org_context(draft.org_a.id):
        (stored,) = files.attached_to("invoice", draft.invoice_id)
    page = client.get(f"{BASE}/invoices/{draft.invoice_id}").get_data(as_text=True)
    assert "timesheet.csv" in page and f"/files/{stored.id}" in page
    assert client.get(f"/o/acme/files/{stored.id}").data == TIMESHEET
    removed = client.post(
        f"{BASE}/invoices/{draft.invoice_id}/attachments/{stored.id}/remove",
        data={"csrf_token": token},
    )
    assert removed.status_code == 303
    with org_context(draft.org_a.id):
        assert files.attached_to("invoice", draft.invoice_id) == []


def test_a_refused_file_or_an_issued_invoice_changes_nothing(client, draft, login, csrf_token):
    login(draft.carol)
    token = csrf_token()
    lying = attach(client, token, draft.invoice_id, b"\x7fELF\x02\x01\x01" + b"\x00" * 80, "a.pdf")
    assert lying.status_code == 303
    assert "not a file type Startvora accepts" in client.get(
        f"{BASE}/invoices/{draft.invoice_id}"
    ).get_data(as_text=True)
    assert attach(client, token, draft.invoice_id).status_code == 303
    with org_context(draft.org_a.id):
        invoice = services.issue(
            draft.org_a.id, None, _db.session.get(services.Invoice, draft.invoice_id)
        )
        _db.session.commit()
        (stored,) = files.attached_to("invoice", invoice.id)
    attach(client, token, draft.invoice_id, b"more", "more.txt")
    client.post(
        f"{BASE}/invoices/{draft.invoice_id}/attachments/{stored.id}/remove",
        data={"csrf_token": token},
    )
    with org_context(draft.org_a.id):
        assert [f.filename for f in files.attached_to("invoice", invoice.id)] == ["timesheet.csv"]


def test_viewers_and_other_organizations_cannot_attach(client, draft, login, csrf_token):
    login(draft.bob)  # a viewer
    assert attach(client, csrf_token(), draft.invoice_id).status_code == 403
    login(draft.charlie)  # owner of another organization
    response = client.post(
        f"/o/bravo/finance/invoices/{draft.invoice_id}/attachments",
        data={"csrf_token": csrf_token(), "file": (io.BytesIO(TIMESHEET), "t.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 404
    assert client.get(f"{BASE}/invoices/{draft.invoice_id}/attachments").status_code in (404, 405)


def test_attached_files_go_out_with_the_email_and_on_the_signed_page(mail_app):
    box = mail_app.config["TEST_MAILBOX"]
    client = mail_app.test_client()
    with mail_app.app_context():
        from startvora.auth.models import User
        from startvora.orgs.models import Organization

        org = _db.session.execute(_db.select(Organization)).scalar_one()
        with org_context(org.id):
            customer = factories.make_company(org, name="Globex GmbH", email="billing@globex.test")
            invoice = factories.make_invoice(org, customer=customer)
            other = factories.make_invoice(org, customer=customer)
            _db.session.commit()
            invoice_id, other_id = invoice.id, other.id
        owner = _db.session.get(User, mail_app.config["TEST_OWNER_ID"])
        with client.session_transaction() as session:
            session["_user_id"] = owner.get_id()
            session["_fresh"] = True
    token = csrf_of(client, f"{BASE}/invoices/{invoice_id}/send")
    attach(client, token, invoice_id)
    attach(client, token, other_id, b"not for Globex", "secret.txt")
    with mail_app.app_context(), org_context(org.id):
        invoice = _db.session.get(services.Invoice, invoice_id)
        services.issue(org.id, None, invoice)
        _db.session.commit()
        number = invoice.number
        secret = files.attached_to("invoice", other_id)[0].id
    sent = client.post(
        f"{BASE}/invoices/{invoice_id}/send",
        data={"csrf_token": token, "to": "billing@globex.test", "subject": f"Invoice {number}"},
    )
    assert sent.status_code == 303
    deadline = time.monotonic() + 5
    while not box and time.monotonic() < deadline:
        time.sleep(0.05)
    message = box[0]
    parts = {p.get_filename(): p.get_payload(decode=True) for p in message.walk()
             if p.get_filename()}  # fmt: skip
    assert set(parts) == {f"{number}.pdf", "timesheet.csv"} and parts["timesheet.csv"] == TIMESHEET
    link = re.search(r"https?://[^/\s]+(/p/invoices/\S+)", text_part(message)).group(1)
    anonymous = mail_app.test_client()
    page = anonymous.get(link).get_data(as_text=True)
    file_link = re.search(r'href="(/p/invoices/[^"]+/files/\d+)"', page).group(1)
    assert anonymous.get(file_link).data == TIMESHEET
    assert anonymous.get(re.sub(r"/files/\d+$", f"/files/{secret}", file_link)).status_code == 404

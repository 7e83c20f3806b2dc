"""An invoice by email to a real SMTP server (PDF attached, link inside), and the signed
public page: viewed once recorded, a changed link refused, drafts never shown."""

from __future__ import annotations

import re
import time

from startvora.core.tenancy import org_context
from startvora.extensions import db as _db
from startvora.finance.models import Invoice
from tests import factories
from tests.conftest import csrf_of, text_part


def wait_for_mail(box, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not box and time.monotonic() < deadline:
        time.sleep(0.05)
    assert box, "no email arrived"
    return box[0]


def test_send_by_email_then_the_customer_opens_the_link(mail_app):
    box = mail_app.config["TEST_MAILBOX"]
    client = mail_app.test_client()
    with mail_app.app_context():
        from startvora.auth.models import User
        from startvora.orgs.models import Organization

        org = _db.session.execute(_db.select(Organization)).scalar_one()
        org.currency = "EUR"
        with org_context(org.id):
            customer = factories.make_company(org, name="Globex GmbH", email="billing@globex.test")
            invoice = factories.make_invoice(org, customer=customer, issue=True)
            draft = factories.make_invoice(org, customer=customer)
            _db.session.commit()
            invoice_id, draft_id, number = invoice.id, draft.id, invoice.number
        owner = _db.session.get(User, mail_app.config["TEST_OWNER_ID"])
        with client.session_transaction() as session:
            session["_user_id"] = owner.get_id()
            session["_fresh"] = True
    url = f"/o/acme/finance/invoices/{invoice_id}/send"
    form = client.get(url).get_data(as_text=True)
    assert 'value="billing@globex.test"' in form and f"Invoice {number} from Acme Trading" in form
    token = csrf_of(client, url)
    bad = client.post(url, data={"csrf_token": token, "to": "not-an-email", "subject": "x"})
    assert bad.status_code == 422 and "Enter an email address" in bad.get_data(as_text=True)
    draft_send = client.post(
        f"/o/acme/finance/invoices/{draft_id}/send",
        data={"csrf_token": token, "to": "a@b.test", "subject": "x"},
    )
    assert (
        draft_send.status_code == 422
        and "Issue the invoice before sending it." in draft_send.get_data(as_text=True)
    )
    sent = client.post(
        url,
        data={"csrf_token": token, "to": "billing@globex.test", "subject": f"Invoice {number}",
              "message": "Hello Globex,\nhere it is."},
    )  # fmt: skip
    assert sent.status_code == 303
    message = wait_for_mail(box)
    assert message["To"] == "billing@globex.test" and message["Subject"] == f"Invoice {number}"
    body = text_part(message)
    assert "Hello Globex," in body and "€200.00" in body
    attachments = [p for p in message.walk() if p.get_filename()]
    assert [a.get_filename() for a in attachments] == [f"{number}.pdf"]
    assert attachments[0].get_payload(decode=True).startswith(b"%PDF")

    link = re.search(r"https?://[^/\s]+(/p/invoices/\S+)", body).group(1)
    anonymous = mail_app.test_client()
    page = anonymous.get(link)
    assert page.status_code == 200 and number in page.get_data(as_text=True)
    assert page.headers["Referrer-Policy"] == "no-referrer"
    pdf = anonymous.get(link + "/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    with mail_app.app_context(), org_context(org.id):
        seen = _db.session.get(Invoice, invoice_id)
        assert seen.sent_at is not None and seen.viewed_at is not None
        first_view = seen.viewed_at
    anonymous.get(link)
    with mail_app.app_context(), org_context(org.id):
        assert _db.session.get(Invoice, invoice_id).viewed_at == first_view  # the first time only

    tampered = link[:-3] + ("abc" if not link.endswith("abc") else "xyz")
    refused = anonymous.get(tampered)
    assert refused.status_code == 404 and "not valid" in refused.get_data(as_text=True)
    with mail_app.app_context(), org_context(org.id):
        from startvora.finance import sending

        with mail_app.test_request_context():
            draft_link = sending.public_token(_db.session.get(Invoice, draft_id))
    assert anonymous.get(f"/p/invoices/{draft_link}").status_code == 404

"""Outgoing email through real SMTP servers on 127.0.0.1: the message, whose server, refusals,
retries, and the Email and Outbox settings pages."""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import html
import socket
import time
from collections.abc import Iterator
from email.header import decode_header, make_header
from email.utils import parsedate_to_datetime

import pytest
from aiosmtpd.controller import Controller

from startvora.core import mail, tasks
from startvora.core.tenancy import org_context
from startvora.extensions import db as _db
from startvora.orgs.models import Organization
from tests import factories

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n\x00\xff\x10 trailer\n%%EOF\n"
CSV = "number,customer,total\r\n2024-001,Müller GmbH,1.234,50\r\n".encode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Keep:
    """An SMTP handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.received: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(email.message_from_bytes(envelope.original_content or b""))
        return "250 Message accepted for delivery"


class RefuseRecipients(Keep):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return "550 5.1.1 No such mailbox here"


@contextlib.contextmanager
def smtp(handler: Keep) -> Iterator[int]:
    """A real aiosmtpd server on 127.0.0.1 for the block; yields its port."""
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A socket that accepts connections and never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(4)
        yield sock.getsockname()[1]


def wait_for(box: list, count: int = 1, timeout: float = 5.0) -> list:
    deadline = time.monotonic() + timeout
    while len(box) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(box) >= count, f"{len(box)} of {count} emails arrived"
    return box


def header(message: email.message.Message, name: str) -> str:
    return str(make_header(decode_header(message[name])))


def scheduled_retries(message_id: int) -> list:
    return [t for t in tasks.huey.scheduled() if tuple(t.args)[1:] == (message_id,)]


def send(to: str = "bob@example.com", **kwargs):
    kwargs.setdefault("context", {"title": "Invoice 2024-001", "body": "Due in 14 days."})
    kwargs["context"].setdefault("org_name", "Acme Trading")
    return mail.send_email(to, kwargs.pop("subject", "Your invoice"), "notification", **kwargs)


# -- the message --------------------------------------------------------------------------------


def test_alternatives_and_attachments_arrive_whole(mail_app):
    box = mail_app.config["TEST_MAILBOX"]
    with mail_app.app_context():
        message = send(
            subject="Rechnung für März",
            context={"title": "Invoice 2024-001", "body": "Due in 14 days.", "link": "https://x"},
            attachments=[
                mail.Attachment("invoice-2024-001.pdf", PDF),
                mail.Attachment("items.csv", CSV, "text/csv"),
            ],
            reply_to="Billing <billing@acme.test>",
        )
        _db.session.commit()
        message_id = message.id
        stored = _db.session.get(mail.OutboxMessage, message_id)
        assert (stored.status, stored.attempts, stored.to_address) == ("sent", 1, "bob@example.com")
        assert [(a.filename, a.content_type, a.size) for a in stored.attachments] == [
            ("invoice-2024-001.pdf", "application/pdf", len(PDF)),
            ("items.csv", "text/csv", len(CSV)),
        ]
    [received] = wait_for(box)

    assert received["From"] == "Startvora <office@example.com>"
    assert received["To"] == "bob@example.com"
    assert header(received, "Subject") == "Rechnung für März"
    sent_at = parsedate_to_datetime(received["Date"])
    assert abs(sent_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    assert received["Message-ID"].startswith("<")
    assert received["Message-ID"].endswith(f".outbox-{message_id}@example.com>")
    assert received["Reply-To"] == "Billing <billing@acme.test>"
    assert received["Auto-Submitted"] == "auto-generated"

    assert received.get_content_type() == "multipart/mixed"
    alternative, pdf, csv = received.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    text, rich = alternative.get_payload()
    assert text.get_content_type() == "text/plain" and rich.get_content_type() == "text/html"
    assert "Invoice 2024-001" in text.get_payload(decode=True).decode()
    assert "Due in 14 days." in text.get_payload(decode=True).decode()
    page = rich.get_payload(decode=True).decode()
    assert "<p" in page and "Invoice 2024-001" in page and 'href="https://x"' in page

    assert (pdf.get_filename(), pdf.get_content_type()) == (
        "invoice-2024-001.pdf",
        "application/pdf",
    )
    assert pdf.get_payload(decode=True) == PDF
    assert (csv.get_filename(), csv.get_content_type()) == ("items.csv", "text/csv")
    assert csv.get_payload(decode=True) == CSV


def test_an_org_with_its_own_server_sends_through_it(mail_app):
    instance_box = mail_app.config["TEST_MAILBOX"]
    own = Keep()
    with smtp(own) as port, mail_app.app_context():
        acme_id = _db.session.execute(
            _db.select(Organization.id).where(Organization.slug == "acme")
        ).scalar_one()
        bravo = factories.make_org(name="Bravo Goods", slug="bravo")
        with org_context(bravo.id):
            _db.session.add(
                mail.MailServer(
                    org_id=bravo.id,
                    host="127.0.0.1",
                    port=port,
                    security="none",
                    from_address="Bravo Goods <mail@bravo.test>",
                    reply_to="help@bravo.test",
                )
            )
            _db.session.commit()
            send("carla@example.com", org_id=bravo.id)
            _db.session.commit()
        [received] = wait_for(own.received)
        assert received["From"] == "Bravo Goods <mail@bravo.test>"
        assert received["Reply-To"] == "help@bravo.test"  # the server's default reply address
        assert received["Message-ID"].endswith("@bravo.test>")
        assert instance_box == []  # the instance's server saw nothing (sending is synchronous)

        with org_context(acme_id):  # no server of its own: the instance's
            send("dave@example.com", org_id=acme_id)
            _db.session.commit()
        [plain] = wait_for(instance_box)
        assert (
            plain["From"] == "Startvora <office@example.com>" and plain["To"] == "dave@example.com"
        )
        assert plain["Reply-To"] is None
        assert len(own.received) == 1


# -- refusals, retries, giving up -----------------------------------------------------------------


@contextlib.contextmanager
def refusing_recipient() -> Iterator[int]:
    with smtp(RefuseRecipients()) as port:
        yield port


@contextlib.contextmanager
def plain_server() -> Iterator[int]:
    with smtp(Keep()) as port:
        yield port


@contextlib.contextmanager
def nobody_listening() -> Iterator[int]:
    yield free_port()


@pytest.mark.parametrize(
    ("server", "security", "reason"),
    [
        (
            refusing_recipient,
            "none",
            "The server refused the recipient: bob@example.com: 550 5.1.1 No such mailbox here",
        ),
        (silent_server, "none", "The server did not answer in time."),
        (
            nobody_listening,
            "none",
            "The server refused the connection (is the host and port right?).",
        ),
        (plain_server, "tls", "The secure connection failed: WRONG_VERSION_NUMBER"),
    ],
    ids=["recipient-refused", "timeout", "nothing-listening", "tls-to-a-plain-server"],
)
def test_a_refused_message_stays_queued_with_the_reason(make_app, server, security, reason):
    with server() as port:
        app = make_app(
            mail__host="127.0.0.1",
            mail__port=port,
            mail__security=security,
            mail__from_address="office@example.com",
            mail__timeout=1,
        )
        with app.app_context():
            _db.create_all()
            message_id = send().id
            _db.session.commit()  # delivered now (immediate mode): refused
            stored = _db.session.get(mail.OutboxMessage, message_id)
            assert (stored.status, stored.attempts, stored.last_error) == ("queued", 1, reason)
            [retry] = scheduled_retries(message_id)  # the queue tries again later
            assert retry.retries == mail.MAX_ATTEMPTS - 2 and retry.retry_delay == 120
            assert 50 < (retry.eta - tasks.huey._get_timestamp()).total_seconds() <= 60


def test_after_the_last_attempt_it_fails_and_a_retry_sends_it_once(make_app):
    port = free_port()
    app = make_app(
        mail__host="127.0.0.1",
        mail__port=port,
        mail__security="none",
        mail__from_address="office@example.com",
        mail__timeout=1,
    )
    with app.app_context():
        _db.create_all()
        message_id = send().id
        _db.session.commit()  # attempt 1
        for _attempt in range(2, mail.MAX_ATTEMPTS + 1):
            with pytest.raises(mail.DeliveryFailed, match="refused the connection"):
                mail.deliver_email.call_local(None, message_id)  # what each retry runs
        stored = _db.session.get(mail.OutboxMessage, message_id)
        assert (stored.status, stored.attempts) == ("failed", mail.MAX_ATTEMPTS)
        assert "refused the connection" in stored.last_error

        keep = Keep()
        controller = Controller(keep, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            mail.retry_message(stored)
            _db.session.commit()  # a fresh round: sent now
            mail.deliver_email.call_local(None, message_id)  # a duplicate run
            mail.attempt_delivery(message_id)
        finally:
            controller.stop()
        _db.session.expire_all()
        stored = _db.session.get(mail.OutboxMessage, message_id)
        assert (stored.status, stored.attempts, stored.last_error) == ("sent", 1, "")
        assert len(keep.received) == 1


def test_describe_error_speaks_plainly():
    import smtplib

    assert mail.describe_error(smtplib.SMTPAuthenticationError(535, b"bad")) == (
        "The server refused the user name or password (535)."
    )
    assert mail.describe_error(smtplib.SMTPDataError(554, b"Spam")) == (
        "The server answered 554: Spam"
    )
    assert mail.describe_error(socket.gaierror(-2, "Name unknown")) == (
        "The server's name could not be resolved."
    )


# -- the Email settings page ----------------------------------------------------------------------

EMAIL = "/o/acme/settings/email"


def server_form(token: str, **changes: str) -> dict[str, str]:
    values = {
        "csrf_token": token,
        "host": "smtp.acme.test",
        "port": "587",
        "security": "starttls",
        "username": "mailer",
        "password": "hunter2-very-secret",
        "from_address": "Acme <billing@acme.test>",
        "reply_to": "",
    }
    values.update(changes)
    return values


def own_server(org) -> mail.MailServer | None:
    with org_context(org.id):
        return mail.org_server(org.id)


def page(client, url: str) -> str:
    return html.unescape(client.get(url).get_data(as_text=True))


def test_own_server_is_saved_and_its_password_never_shown(client, people, login, csrf_token):
    login(people.alice)
    response = client.post(EMAIL, data=server_form(csrf_token()))
    assert response.status_code == 303 and response.headers["Location"] == EMAIL
    saved = own_server(people.org_a)
    assert (saved.host, saved.port, saved.security, saved.username, saved.password) == (
        "smtp.acme.test",
        587,
        "starttls",
        "mailer",
        "hunter2-very-secret",
    )
    assert saved.from_address == "Acme <billing@acme.test>"
    shown = page(client, EMAIL)
    assert "Email settings saved." in shown and "smtp.acme.test:587" in shown
    assert "hunter2-very-secret" not in shown
    assert "A password is stored; leave empty to keep it." in shown

    token = csrf_token()
    kept = client.post(EMAIL, data=server_form(token, host="mail.acme.test", password=""))
    assert kept.status_code == 303
    saved = own_server(people.org_a)
    assert (saved.host, saved.password) == ("mail.acme.test", "hunter2-very-secret")
    client.post(EMAIL, data=server_form(token, username="", password=""))
    assert own_server(people.org_a).password == ""  # no user name: no password either
    assert "org.mail_server_changed" in page(client, "/o/acme/audit")
    assert own_server(people.org_b) is None


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"port": "0"}, "port", "Enter a number in the allowed range."),
        ({"port": "smtp"}, "port", "Enter a whole number."),
        ({"from_address": "billing at acme"}, "from_address", "Enter an address like"),
        ({"reply_to": "<@>"}, "reply_to", "Enter an address like"),
        ({"host": ""}, "host", "This field is required."),
        ({"host": "smtp.acme.test/evil"}, "host", "not allowed here"),
        ({"security": "ssl3"}, "security", "Choose one of the listed options."),
        ({"password": ""}, "password", "Enter the password for this user name."),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_invalid_settings_are_refused_with_the_reason(
    client, people, login, csrf_token, changes, field, message
):
    login(people.alice)
    response = client.post(EMAIL, data=server_form(csrf_token(), **changes))
    assert response.status_code == 422
    body = html.unescape(response.get_data(as_text=True))
    assert f'id="f-{field}-error"' in body and message in body
    assert "hunter2-very-secret" not in body  # not even sent back on an error
    assert own_server(people.org_a) is None


def test_htmx_gets_the_form_fragment(client, people, login, csrf_token):
    login(people.alice)
    response = client.post(
        EMAIL, data=server_form(csrf_token(), port="0"), headers={"HX-Request": "true"}
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in body
    assert (
        "Enter a number in the allowed range." in body and "HX-Request" in response.headers["Vary"]
    )
    saved = client.post(EMAIL, data=server_form(csrf_token()), headers={"HX-Request": "true"})
    assert saved.status_code == 204 and saved.headers["HX-Redirect"] == EMAIL


def test_removing_the_own_server_falls_back_to_the_instance(client, people, login, csrf_token):
    login(people.alice)
    client.post(EMAIL, data=server_form(csrf_token()))
    response = client.post(f"{EMAIL}/remove", data={"csrf_token": csrf_token()})
    assert response.status_code == 303
    assert own_server(people.org_a) is None
    shown = page(client, EMAIL)
    assert "The instance's email server is used." in shown
    assert "No email server is set up yet" in shown and "org.mail_server_removed" in page(
        client, "/o/acme/audit"
    )


def test_test_email_goes_out_now(client, people, login, csrf_token, smtp_server):
    port, received = smtp_server
    login(people.alice)
    client.post(
        EMAIL,
        data=server_form(
            csrf_token(),
            host="127.0.0.1",
            port=str(port),
            security="none",
            username="",
            password="",
        ),
    )
    response = client.post(f"{EMAIL}/test", data={"csrf_token": csrf_token()})
    assert response.status_code == 303
    [message] = wait_for(received)
    assert message["To"] == people.alice.email and message["From"] == "Acme <billing@acme.test>"
    assert "Test email from Acme Trading" in header(message, "Subject")
    assert f"127.0.0.1:{port}" in message.get_payload()[0].get_payload(decode=True).decode()
    assert f"A test email was sent to {people.alice.email}." in page(client, EMAIL)
    [stored] = mail.outbox_for(people.org_a.id)
    assert (stored.status, stored.attempts) == ("sent", 1)


def test_a_failed_test_email_says_why_and_waits_in_the_outbox(client, people, login, csrf_token):
    login(people.alice)
    client.post(
        EMAIL,
        data=server_form(
            csrf_token(),
            host="127.0.0.1",
            port=str(free_port()),
            security="none",
            username="",
            password="",
        ),
    )
    response = client.post(f"{EMAIL}/test", data={"csrf_token": csrf_token()})
    assert response.status_code == 303
    shown = page(client, EMAIL)
    assert "The test email was not sent: The server refused the connection" in shown
    assert "It waits in the outbox and is retried." in shown
    [stored] = mail.outbox_for(people.org_a.id)
    assert (stored.status, stored.attempts) == ("queued", 1)
    assert len(scheduled_retries(stored.id)) == 1


def test_test_email_without_any_server_says_so(client, people, login, csrf_token):
    login(people.alice)
    response = client.post(f"{EMAIL}/test", data={"csrf_token": csrf_token()})
    assert response.status_code == 422
    assert "Email is not set up: enter a server first." in response.get_data(as_text=True)
    assert mail.outbox_for(people.org_a.id) == []


# -- the Outbox page ------------------------------------------------------------------------------

OUTBOX = "/o/acme/settings/outbox"


def outbox_message(org, **values) -> mail.OutboxMessage:
    fields = {
        "org_id": org.id,
        "to_address": "someone@example.com",
        "subject": "Hello",
        "text_body": "Hello\n",
    }
    fields.update(values)
    message = mail.OutboxMessage(**fields)
    _db.session.add(message)
    _db.session.flush()
    return message


def test_outbox_lists_status_and_reason(client, people, login):
    outbox_message(people.org_a, subject="Welcome aboard", status="sent", attempts=1)
    outbox_message(
        people.org_a,
        subject="Invoice 7",
        status="failed",
        attempts=6,
        last_error="The server refused the recipient: x@y.z: 550 No such mailbox",
    )
    outbox_message(
        people.org_a,
        subject="Reminder",
        attempts=2,
        last_error="The server did not answer in time.",
    )
    outbox_message(people.org_b, subject="Bravo secret plans")
    _db.session.commit()
    login(people.alice)
    shown = page(client, OUTBOX)
    for text in (
        "Welcome aboard",
        "Sent",
        "Invoice 7",
        "Failed",
        "after 6 attempts",
        "550 No such mailbox",
        "Reminder",
        "Queued",
        "2 attempts so far",
        "The server did not answer in time.",
    ):
        assert text in shown
    assert "Bravo secret plans" not in shown
    assert shown.count("/retry") == 1  # only the failed one can be retried


def test_retry_requeues_a_failed_message(client, people, login, csrf_token, smtp_server):
    port, received = smtp_server
    with org_context(people.org_a.id):
        _db.session.add(
            mail.MailServer(
                org_id=people.org_a.id,
                host="127.0.0.1",
                port=port,
                security="none",
                from_address="billing@acme.test",
            )
        )
        _db.session.flush()
    failed = outbox_message(people.org_a, status="failed", attempts=6, last_error="timed out")
    _db.session.commit()
    login(people.alice)
    response = client.post(f"{OUTBOX}/{failed.id}/retry", data={"csrf_token": csrf_token()})
    assert response.status_code == 303 and response.headers["Location"] == OUTBOX
    wait_for(received)
    stored = _db.session.get(mail.OutboxMessage, failed.id)
    assert (stored.status, stored.attempts, stored.last_error) == ("sent", 1, "")
    again = client.post(f"{OUTBOX}/{failed.id}/retry", data={"csrf_token": csrf_token()})
    assert "This email was sent already." in page(client, again.headers["Location"])
    assert len(received) == 1


def test_another_orgs_message_is_not_found(client, people, login, csrf_token):
    other = outbox_message(people.org_b, status="failed", attempts=6)
    _db.session.commit()
    login(people.alice)
    response = client.post(f"{OUTBOX}/{other.id}/retry", data={"csrf_token": csrf_token()})
    assert response.status_code == 404
    assert _db.session.get(mail.OutboxMessage, other.id).status == "failed"
    missing = client.post(f"{OUTBOX}/999999/retry", data={"csrf_token": csrf_token()})
    assert missing.status_code == 404


# -- who may do what ------------------------------------------------------------------------------

GETS = [EMAIL, OUTBOX]
POSTS = [EMAIL, f"{EMAIL}/remove", f"{EMAIL}/test", f"{OUTBOX}/1/retry"]


@pytest.mark.parametrize("who", ["carol", "bob"])
def test_only_admins_see_or_change_email_settings(client, people, login, csrf_token, who):
    outbox_message(people.org_a, status="failed")
    _db.session.commit()
    login(getattr(people, who))
    token = csrf_token()
    for url in GETS:
        assert client.get(url).status_code == 403, url
    for url in POSTS:
        assert client.post(url, data=server_form(token)).status_code == 403, url
    assert own_server(people.org_a) is None


def test_other_organizations_and_strangers_are_kept_out(client, people, login, csrf_token):
    for url in GETS:
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")
    login(people.charlie)
    token = csrf_token()
    for url in GETS:
        assert client.get(url).status_code == 404, url
    for url in POSTS:
        assert client.post(url, data=server_form(token)).status_code == 404, url


@pytest.mark.parametrize("url", [f"{EMAIL}/remove", f"{EMAIL}/test", f"{OUTBOX}/1/retry"])
def test_actions_are_post_only(client, people, login, url):
    login(people.alice)
    assert client.get(url).status_code == 405

"""Password reset by an emailed, single-use link that expires after one hour (real SMTP)."""

from __future__ import annotations

import re
import time

from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from startvora.auth.models import User
from startvora.extensions import db
from tests.conftest import csrf_of, text_part
from tests.factories import PASSWORD

NEW = "a brand new passphrase"


def wait_for_mail(box, count=1, timeout=5.0):
    deadline = time.monotonic() + timeout
    while len(box) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(box) >= count, "no email arrived"
    return box[count - 1]


def request_reset(client, email):
    return client.post("/forgot-password", data={"csrf_token": csrf_of(client), "email": email})


def link_path(message) -> str:
    body = text_part(message)
    return re.search(r"https?://[^/\s]+(/reset-password\?t=\S+)", body).group(1)


def test_reset_by_email_then_the_link_is_dead(mail_app):
    client = mail_app.test_client()
    box = mail_app.config["TEST_MAILBOX"]
    response = request_reset(client, "ALICE@acme.test")
    assert response.status_code == 200 and "on its way" in response.get_data(as_text=True)
    message = wait_for_mail(box)
    assert message["To"] == "alice@acme.test" and "Reset" in message["Subject"]
    path = link_path(message)

    assert client.get(path).status_code == 200
    weak = client.post(
        path,
        data={
            "csrf_token": csrf_of(client, path),
            "password": "password1234",
            "confirm": "password1234",
        },
    )
    assert weak.status_code == 422 and "too common" in weak.get_data(as_text=True)
    done = client.post(
        path, data={"csrf_token": csrf_of(client, path), "password": NEW, "confirm": NEW}
    )
    assert done.status_code == 303
    with mail_app.app_context():
        user = db.session.execute(db.select(User)).scalar_one()
        assert user.check_password(NEW) and not user.check_password(PASSWORD)

    used = client.get(path)
    assert used.status_code == 410 and "used already" in used.get_data(as_text=True)


def test_unknown_email_gets_the_same_answer_and_no_mail(mail_app):
    client = mail_app.test_client()
    response = request_reset(client, "nobody@acme.test")
    assert response.status_code == 200 and "on its way" in response.get_data(as_text=True)
    time.sleep(0.3)
    assert mail_app.config["TEST_MAILBOX"] == []


def test_expired_and_tampered_links_are_refused(mail_app):
    client = mail_app.test_client()

    class LongAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 3601

    with mail_app.app_context():
        user = db.session.execute(db.select(User)).scalar_one()
        from startvora.auth import services

        fresh = services.make_reset_token(user)
        old = URLSafeTimedSerializer(
            mail_app.secret_key, salt="startvora.password-reset", signer=LongAgo
        ).dumps({"u": user.id, "f": services._reset_fingerprint(user)})
    expired = client.get(f"/reset-password?t={old}")
    assert expired.status_code == 410 and "expired" in expired.get_data(as_text=True)
    tampered = client.get(f"/reset-password?t={fresh[:-2]}xx")
    assert tampered.status_code == 410 and "not valid" in tampered.get_data(as_text=True)
    assert client.get(f"/reset-password?t={fresh}").status_code == 200


def test_reset_requests_are_rate_limited(mail_app):
    client = mail_app.test_client()
    for _ in range(3):
        assert request_reset(client, "alice@acme.test").status_code == 200
    limited = request_reset(client, "alice@acme.test")
    assert limited.status_code == 429 and "Try again in" in limited.get_data(as_text=True)


def test_without_mail_the_page_says_so(client, people, csrf_token):
    response = client.post(
        "/forgot-password", data={"csrf_token": csrf_token(), "email": people.alice.email}
    )
    assert response.status_code == 422 and "Email is not set up" in response.get_data(as_text=True)


def test_outbox_keeps_a_message_until_the_server_takes_it(make_app):
    """SMTP down: the message waits in the outbox with the reason, then goes out exactly once."""
    import socket

    from aiosmtpd.controller import Controller

    from startvora.core import mail

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = make_app(
        mail__host="127.0.0.1",
        mail__port=port,
        mail__security="none",
        mail__from_address="office@example.com",
        mail__timeout=2,
    )
    with app.app_context():
        db.create_all()
        message = mail.send_email(
            "someone@example.com",
            "Hello\r\nBcc: evil",
            "test",
            context={"org_name": "Acme", "requested_by": "Alice", "server": "127.0.0.1"},
        )
        db.session.commit()  # delivery runs now (immediate mode) and finds nobody listening
        stored = db.session.get(mail.OutboxMessage, message.id)
        assert (stored.status, stored.attempts) == ("queued", 1)
        assert "refused the connection" in stored.last_error
        assert stored.subject == "Hello Bcc: evil"  # no header injection through the subject

        received = []

        class Keep:
            async def handle_DATA(self, server, session, envelope):
                received.append(envelope.content)
                return "250 OK"

        controller = Controller(Keep(), hostname="127.0.0.1", port=port)
        controller.start()
        try:
            mail.deliver_email.call_local(None, message.id)  # the retry
            mail.deliver_email.call_local(None, message.id)  # a duplicate run changes nothing
        finally:
            controller.stop()
        db.session.expire_all()
        stored = db.session.get(mail.OutboxMessage, message.id)
        assert (stored.status, stored.attempts, stored.last_error) == ("sent", 2, "")
        assert len(received) == 1

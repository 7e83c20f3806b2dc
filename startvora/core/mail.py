"""Outgoing email: every message goes into an outbox table, then a task hands it to SMTP.

The task gets only the message's id, so nothing of the message sits in the queue; a message
that cannot be sent stays in the outbox with the reason, and is retried.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app, request
from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from startvora.core.db import UTCDateTime, after_commit, utcnow
from startvora.core.tasks import task
from startvora.extensions import db

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6  # the first try and five retries


class MailNotConfigured(RuntimeError):
    """No SMTP server is set; callers show links on screen instead."""


class OutboxMessage(db.Model):
    """One email to send (or sent, or given up on, with the reason)."""

    __tablename__ = "core_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int | None] = mapped_column(
        ForeignKey("orgs_organizations.id", ondelete="CASCADE"), index=True
    )
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="queued")  # queued, sent, failed
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


def external_url(path: str) -> str:
    """A full URL for emails: the configured public URL, else the address the request used."""
    public = current_app.extensions["startvora.settings"].server.public_url.rstrip("/")
    return (public or request.host_url.rstrip("/")) + path


def mail_configured() -> bool:
    settings = current_app.extensions["startvora.settings"].mail
    return bool(settings.host and settings.from_address)


def send_email(to: str, subject: str, text: str, org_id: int | None = None) -> OutboxMessage:
    """Put one plain-text email in the outbox; it is sent once the transaction commits."""
    if not mail_configured():
        raise MailNotConfigured("email is not set up ([mail] host and from_address)")
    message = OutboxMessage(
        org_id=org_id, to_address=to, subject=" ".join(subject.split())[:300], text_body=text
    )
    db.session.add(message)
    db.session.flush()
    after_commit(deliver_email, message.id)
    return message


def _smtp_send(to: str, subject: str, text: str) -> None:
    settings = current_app.extensions["startvora.settings"].mail
    message = EmailMessage()
    message["From"] = settings.from_address
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=settings.host)
    message.set_content(text)
    context = ssl.create_default_context()
    smtp_class = smtplib.SMTP_SSL if settings.security == "tls" else smtplib.SMTP
    kwargs = {"context": context} if settings.security == "tls" else {}
    with smtp_class(settings.host, settings.port, timeout=settings.timeout, **kwargs) as smtp:
        if settings.security == "starttls":
            smtp.starttls(context=context)
        if settings.username:
            smtp.login(settings.username, settings.password)
        smtp.send_message(message)


@task(retries=MAX_ATTEMPTS - 1, retry_delay=60)
def deliver_email(message_id: int) -> None:
    """Send one outbox message; a message already sent is not sent again."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.status == "sent":
        return
    message.attempts += 1
    try:
        _smtp_send(message.to_address, message.subject, message.text_body)
    except (OSError, smtplib.SMTPException) as exc:
        message.last_error = f"{type(exc).__name__}: {exc}"[:500]
        message.status = "failed" if message.attempts >= MAX_ATTEMPTS else "queued"
        db.session.commit()
        log.warning("email %s not sent (attempt %d): %s", message.id, message.attempts, exc)
        raise  # Huey retries it later
    message.status, message.sent_at, message.last_error = "sent", utcnow(), ""
    db.session.commit()
    log.info("email %s sent", message.id)

"""Outgoing email: every message goes into an outbox table, then a task hands it to SMTP.

Messages are written from two templates, `templates/email/<name>.txt` and `.html`. The task gets
only the message's id, so nothing of the message sits in the queue; a message that cannot be
sent stays in the outbox with the reason, and is retried with growing delays. An organization
may use its own SMTP server (Settings, Email); otherwise the instance's [mail] server sends.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import mimetypes
import secrets
import smtplib
import socket
import ssl
from collections.abc import Iterable
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any

from flask import current_app, has_request_context, render_template, request
from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from startvora.core.db import UTCDateTime, after_commit, utcnow
from startvora.core.storage import StorageError, storage
from startvora.core.tasks import task
from startvora.core.tenancy import TenantMixin
from startvora.extensions import db

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6  # the first try and five retries (after 1, 2, 4, 8 and 16 minutes)
SECURITY = ("none", "starttls", "tls")


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
    html_body: Mapped[str] = mapped_column(Text, default="", server_default="")
    reply_to: Mapped[str] = mapped_column(String(320), default="", server_default="")
    status: Mapped[str] = mapped_column(String(10), default="queued")  # queued, sent, failed
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    attachments: Mapped[list[OutboxAttachment]] = relationship(
        back_populates="message", cascade="all, delete-orphan", order_by="OutboxAttachment.id"
    )


class OutboxAttachment(db.Model):
    """A file sent with an outbox message; its bytes live in the file storage."""

    __tablename__ = "core_outbox_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("core_outbox.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column()
    storage_key: Mapped[str] = mapped_column(String(300))
    message: Mapped[OutboxMessage] = relationship(back_populates="attachments")


class MailServer(TenantMixin, db.Model):
    """An organization's own SMTP server; without one the instance's [mail] server sends."""

    __tablename__ = "core_mail_servers"
    __table_args__ = (UniqueConstraint("org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(default=587)
    security: Mapped[str] = mapped_column(String(10), default="starttls")
    username: Mapped[str] = mapped_column(String(255), default="")
    password: Mapped[str] = mapped_column(String(500), default="")  # never shown again
    from_address: Mapped[str] = mapped_column(String(320))
    reply_to: Mapped[str] = mapped_column(String(320), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


@dataclasses.dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes
    content_type: str = ""


@dataclasses.dataclass(frozen=True)
class Server:
    """Where and how one message is sent."""

    host: str
    port: int
    security: str
    username: str
    password: str
    from_address: str
    reply_to: str
    timeout: int


def external_url(path: str) -> str:
    """A full URL for emails: the configured public URL, else the address the request used."""
    server = current_app.extensions["startvora.settings"].server
    if server.public_url:
        return server.public_url.rstrip("/") + path
    if has_request_context():
        return request.host_url.rstrip("/") + path
    return f"http://{server.host}:{server.port}{path}"  # a task, and no public URL set


def org_server(org_id: int) -> MailServer | None:
    return db.session.execute(
        db.select(MailServer).where(MailServer.org_id == org_id)
    ).scalar_one_or_none()


def server_for(org_id: int | None) -> Server | None:
    """The organization's own server when it has one, else the instance's, else None."""
    settings = current_app.extensions["startvora.settings"].mail
    own = org_server(org_id) if org_id is not None else None
    if own is not None:
        return Server(
            own.host,
            own.port,
            own.security,
            own.username,
            own.password,
            own.from_address,
            own.reply_to,
            settings.timeout,
        )
    if settings.host and settings.from_address:
        return Server(
            settings.host,
            settings.port,
            settings.security,
            settings.username,
            settings.password,
            settings.from_address,
            "",
            settings.timeout,
        )
    return None


def mail_configured(org_id: int | None = None) -> bool:
    return server_for(org_id) is not None


def render_email(template: str, **context: Any) -> tuple[str, str]:
    """The plain-text and HTML bodies from templates/email/<template>.txt and .html."""
    context.setdefault("sender_name", "Startvora")
    text = render_template(f"email/{template}.txt", **context)
    html = render_template(f"email/{template}.html", **context)
    return text.strip() + "\n", html


def send_email(
    to: str,
    subject: str,
    template: str,
    *,
    org_id: int | None = None,
    context: dict[str, Any] | None = None,
    attachments: Iterable[Attachment] = (),
    reply_to: str = "",
    deliver: bool = True,
) -> OutboxMessage:
    """Put one email in the outbox; it is sent by a task once the transaction commits.

    With deliver=False nothing is enqueued: the caller sends it now with `attempt_delivery`.
    """
    if not mail_configured(org_id):
        raise MailNotConfigured("email is not set up ([mail] host and from_address)")
    subject = " ".join(subject.split())[:300]
    text, html = render_email(template, subject=subject, **(context or {}))
    message = OutboxMessage(
        org_id=org_id,
        to_address=to,
        subject=subject,
        text_body=text,
        html_body=html,
        reply_to=reply_to,
    )
    db.session.add(message)
    db.session.flush()
    for item in attachments:
        _attach(message, item)
    if deliver:
        after_commit(deliver_email, org_id, message.id)
    return message


def _attach(message: OutboxMessage, item: Attachment) -> None:
    content_type = (
        item.content_type or mimetypes.guess_type(item.filename)[0] or "application/octet-stream"
    )
    owner = f"org-{message.org_id}" if message.org_id else "instance"
    key = f"{owner}/mail/{message.id}-{secrets.token_hex(8)}"
    storage().put(key, item.data, content_type)
    # The file is stored before the row is; a rollback leaves an orphan file, never a lost one.
    message.attachments.append(
        OutboxAttachment(
            filename=item.filename[:255] or "attachment",
            content_type=content_type,
            size=len(item.data),
            storage_key=key,
        )
    )


def build_message(message: OutboxMessage, server: Server) -> EmailMessage:
    """The MIME message: text and HTML alternatives, then the attachments."""
    email = EmailMessage()
    email["From"] = server.from_address
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Date"] = format_datetime(utcnow())  # "+0000": UTC ("-0000" would mean unknown)
    domain = parseaddr(server.from_address)[1].rpartition("@")[2] or server.host
    email["Message-ID"] = make_msgid(f"outbox-{message.id}", domain=domain)
    reply_to = message.reply_to or server.reply_to
    if reply_to:
        email["Reply-To"] = reply_to
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.text_body)
    if message.html_body:
        email.add_alternative(message.html_body, subtype="html")
    for item in message.attachments:
        maintype, _, subtype = item.content_type.partition("/")
        email.add_attachment(
            storage().get(item.storage_key),
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=item.filename,
        )
    return email


def smtp_send(server: Server, email: EmailMessage) -> None:
    """Hand one message to an SMTP server; raises what the server or network says."""
    context = ssl.create_default_context()
    if server.security == "tls":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            server.host, server.port, timeout=server.timeout, context=context
        )
    else:
        smtp = smtplib.SMTP(server.host, server.port, timeout=server.timeout)
    with smtp:
        if server.security == "starttls":
            smtp.starttls(context=context)
        if server.username:
            smtp.login(server.username, server.password)
        smtp.send_message(email)


def describe_error(exc: BaseException) -> str:
    """A reason a person can act on, from what smtplib or the network raised."""
    if isinstance(exc, smtplib.SMTPServerDisconnected) and isinstance(
        exc.__context__, TimeoutError
    ):
        exc = exc.__context__  # smtplib reports a server that never answers as a closed connection
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"The server refused the user name or password ({exc.smtp_code})."
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = "; ".join(
            f"{addr}: {code} {msg.decode(errors='replace')}"
            for addr, (code, msg) in exc.recipients.items()
        )
        return f"The server refused the recipient: {codes}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"The server answered {exc.smtp_code}: {exc.smtp_error.decode(errors='replace')}"
    if isinstance(exc, socket.timeout | TimeoutError):
        return "The server did not answer in time."
    if isinstance(exc, ConnectionRefusedError):
        return "The server refused the connection (is the host and port right?)."
    if isinstance(exc, socket.gaierror):
        return "The server's name could not be resolved."
    if isinstance(exc, ssl.SSLError):
        return f"The secure connection failed: {exc.reason or exc}"
    return f"{type(exc).__name__}: {exc}"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return "An attachment is missing from the file storage."
    if isinstance(exc, StorageError | MailNotConfigured):
        return str(exc)
    return describe_error(exc)


class DeliveryFailed(RuntimeError):
    """The message stays queued; `str()` is the reason."""

    user_facing = True


def attempt_delivery(message_id: int) -> OutboxMessage | None:
    """Try to send one outbox message now and record the outcome (commits)."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.status == "sent":
        return message  # a duplicate run sends nothing twice
    server = server_for(message.org_id)
    message.attempts += 1
    try:
        if server is None:
            raise MailNotConfigured("email is not set up any more")
        smtp_send(server, build_message(message, server))
    except (OSError, smtplib.SMTPException, MailNotConfigured, KeyError, StorageError) as exc:
        reason = _reason(exc)
        message.last_error = reason[:500]
        message.status = "failed" if message.attempts >= MAX_ATTEMPTS else "queued"
        db.session.commit()
        log.warning("email %s not sent (attempt %d): %s", message.id, message.attempts, reason)
        raise DeliveryFailed(reason) from exc
    message.status, message.sent_at, message.last_error = "sent", utcnow(), ""
    db.session.commit()
    log.info("email %s sent", message.id)
    return message


@task(label="Send email", retries=MAX_ATTEMPTS - 1, retry_delay=60, retry_backoff=2)
def deliver_email(org_id: int | None, message_id: int) -> None:
    """Send one outbox message; a message already sent is not sent again."""
    attempt_delivery(message_id)


def retry_message(message: OutboxMessage) -> None:
    """Send a failed message again, with a fresh round of retries (after commit)."""
    message.status, message.attempts = "queued", 0
    after_commit(deliver_email, message.org_id, message.id)


def retry_later(org_id: int | None, message_id: int) -> None:
    """Hand a message that failed to send now to the queue, which retries it with backoff."""
    deliver_email.schedule((org_id, message_id), delay=60)


def outbox_for(org_id: int, limit: int = 100) -> list[OutboxMessage]:
    return list(
        db.session.execute(
            db.select(OutboxMessage)
            .where(OutboxMessage.org_id == org_id)
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
        ).scalars()
    )


def valid_address(value: str) -> bool:
    """An address with a display name or not: "Acme <billing@acme.test>" or "x@y.z"."""
    name, addr = parseaddr(value)
    if not addr or "@" not in addr:
        return False
    try:
        Address(display_name=name, addr_spec=addr)
    except (ValueError, IndexError):
        return False
    return True

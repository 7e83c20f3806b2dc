"""Outgoing email over SMTP, sent by a background task after the transaction commits."""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app, request

from startvora.core.db import after_commit
from startvora.core.tasks import task

log = logging.getLogger(__name__)


class MailNotConfigured(RuntimeError):
    """No SMTP server is set; callers show links on screen instead."""


def external_url(path: str) -> str:
    """A full URL for emails: the configured public URL, else the address the request used."""
    public = current_app.extensions["startvora.settings"].server.public_url.rstrip("/")
    return (public or request.host_url.rstrip("/")) + path


def mail_configured() -> bool:
    settings = current_app.extensions["startvora.settings"].mail
    return bool(settings.host and settings.from_address)


def send_email(to: str, subject: str, text: str) -> None:
    """Queue one plain-text email, sent once the current transaction has committed."""
    if not mail_configured():
        raise MailNotConfigured("email is not set up ([mail] host and from_address)")
    after_commit(deliver_email, to, subject, text)


@task(retries=5, retry_delay=60)
def deliver_email(to: str, subject: str, text: str) -> None:
    """Hand one email to the SMTP server (retried when the server is away)."""
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
    log.info("email %r sent", subject)

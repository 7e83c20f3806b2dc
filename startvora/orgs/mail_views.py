"""Email settings: the organization's own SMTP server, a test email, and the outbox."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, g, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from startvora.core import audit, mail
from startvora.core.forms import FORM_ERROR, FormErrors, form_data, parse
from startvora.core.htmx import redirect_to, render
from startvora.core.permissions import require
from startvora.extensions import db
from startvora.orgs import schemas
from startvora.orgs.blueprints import bp

FIELDS = ("host", "port", "security", "username", "password", "from_address", "reply_to")


def _page(errors: FormErrors, values: dict[str, Any], status: int = 200) -> Any:
    own = mail.org_server(g.org.id)
    instance = current_app.extensions["startvora.settings"].mail
    return render(
        "orgs/email.html",
        block="form",
        status=status,
        errors=errors,
        values=values,
        own=own,
        instance_ready=bool(instance.host and instance.from_address),
        instance_from=instance.from_address,
        securities=[
            ("starttls", _("STARTTLS (port 587)")),
            ("tls", _("TLS from the start (port 465)")),
            ("none", _("None (only inside a trusted network)")),
        ],
    )


@bp.route("/settings/email", methods=["GET", "POST"])
@require("org:admin")
def settings_email() -> Any:
    """Which SMTP server sends this organization's email."""
    own = mail.org_server(g.org.id)
    values: dict[str, Any] = {
        name: getattr(own, name) for name in FIELDS if own is not None and name != "password"
    }
    values.setdefault("port", 587)
    values.setdefault("security", "starttls")
    if request.method == "GET":
        return _page(FormErrors(), values)
    values = form_data(request.form, FIELDS)
    data, errors = parse(schemas.MailServerIn, values)
    if data is not None and not data.password and data.username and own is None:
        errors = FormErrors({"password": _("Enter the password for this user name.")})
    if errors or data is None:
        return _page(errors, values, 422)
    if own is None:
        own = mail.MailServer(org_id=g.org.id)
        db.session.add(own)
    for name in FIELDS:
        if name != "password":
            setattr(own, name, getattr(data, name))
    if data.password or not data.username:
        own.password = data.password  # empty keeps the stored one, unless no user name at all
    audit.record(
        "org.mail_server_changed", org=g.org, actor=current_user, summary=f"{data.host}:{data.port}"
    )
    db.session.commit()
    return redirect_to(url_for("orgs.settings_email"), _("Email settings saved."))


@bp.post("/settings/email/remove")
@require("org:admin")
def settings_email_remove() -> Any:
    """Stop using an own SMTP server: the instance's server sends again."""
    own = mail.org_server(g.org.id)
    if own is not None:
        db.session.delete(own)
        audit.record("org.mail_server_removed", org=g.org, actor=current_user)
        db.session.commit()
    return redirect_to(url_for("orgs.settings_email"), _("The instance's email server is used."))


@bp.post("/settings/email/test")
@require("org:admin")
def settings_email_test() -> Any:
    """Send a test email to the person asking, now, and say what the server answered."""
    server = mail.server_for(g.org.id)
    if server is None:
        return _page(
            FormErrors({FORM_ERROR: _("Email is not set up: enter a server first.")}), {}, 422
        )
    message = mail.send_email(
        current_user.email,
        _("Test email from %(org)s", org=g.org.name),
        "test",
        org_id=g.org.id,
        context={
            "org_name": g.org.name,
            "sender_name": g.org.name,
            "requested_by": current_user.name,
            "server": f"{server.host}:{server.port}",
        },
        deliver=False,
    )
    db.session.commit()
    try:
        mail.attempt_delivery(message.id)
    except mail.DeliveryFailed as exc:
        mail.retry_later(g.org.id, message.id)
        return redirect_to(
            url_for("orgs.settings_email"),
            _(
                "The test email was not sent: %(reason)s It waits in the outbox and is retried.",
                reason=str(exc),
            ),
            "error",
        )
    return redirect_to(
        url_for("orgs.settings_email"),
        _("A test email was sent to %(email)s.", email=current_user.email),
    )


@bp.get("/settings/outbox")
@require("org:admin")
def settings_outbox() -> Any:
    """Every email of this organization: queued, sent, or failed with the reason."""
    return render("orgs/outbox.html", messages=mail.outbox_for(g.org.id))


@bp.post("/settings/outbox/<int:message_id>/retry")
@require("org:admin")
def settings_outbox_retry(message_id: int) -> Any:
    """Send a failed email again."""
    message = db.session.get(mail.OutboxMessage, message_id)
    if message is None or message.org_id != g.org.id:
        abort(404)
    if message.status == "sent":
        return redirect_to(url_for("orgs.settings_outbox"), _("This email was sent already."))
    mail.retry_message(message)
    db.session.commit()
    return redirect_to(url_for("orgs.settings_outbox"), _("The email is queued again."))

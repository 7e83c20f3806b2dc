"""Notification channels of an organization: apprise URLs for Slack, Telegram, ntfy and more."""

from __future__ import annotations

from typing import Any

from flask import g, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from startvora.core import audit, notify
from startvora.core.forms import FormErrors, parse
from startvora.core.htmx import redirect_to, render
from startvora.core.permissions import require
from startvora.core.tenancy import get_scoped_or_404
from startvora.extensions import db
from startvora.orgs import schemas
from startvora.orgs.blueprints import bp


def _kinds() -> list[notify.Kind]:
    return sorted(notify.kinds().values(), key=lambda k: str(k.label))


def _page(errors: FormErrors, values: dict[str, Any], status: int = 200) -> Any:
    channels = list(
        db.session.execute(
            db.select(notify.Channel)
            .where(notify.Channel.org_id == g.org.id)
            .order_by(notify.Channel.name)
        ).scalars()
    )
    return render(
        "orgs/channels.html",
        block="add",
        status=status,
        errors=errors,
        values=values,
        channels=channels,
        kinds=_kinds(),
        labels={k.event: str(k.label) for k in _kinds()},
    )


@bp.get("/settings/channels")
@require("org:admin")
def settings_channels() -> Any:
    """The organization's channels and a form to add one."""
    return _page(FormErrors(), {"events": []})


@bp.post("/settings/channels")
@require("org:admin")
def settings_channels_create() -> Any:
    """Add a channel; the URL is checked by apprise and then never shown in full again."""
    known = {k.event for k in _kinds()}
    values = {
        "name": request.form.get("name", ""),
        "url": request.form.get("url", ""),
        "events": [e for e in request.form.getlist("events") if e in known],
    }
    data, errors = parse(schemas.ChannelIn, values)
    service = display = ""
    if data is not None:
        try:
            service, display = notify.check_url(data.url)
        except ValueError:
            errors = FormErrors(
                {
                    "url": _(
                        "This is not a channel URL Startvora can use. It looks like "
                        "slack://…, tgram://…, ntfy://…, discord://… or mailto://…"
                    )
                }
            )
    values["url"] = ""  # a secret: never sent back to the browser
    if errors or data is None:
        return _page(errors, values, 422)
    channel = notify.Channel(
        org_id=g.org.id,
        name=data.name,
        url=data.url,
        display_url=display,
        service=service,
        events=data.events,
    )
    db.session.add(channel)
    db.session.flush()
    audit.record(
        "org.channel_added", org=g.org, actor=current_user, target=channel, summary=data.name
    )
    db.session.commit()
    return redirect_to(url_for("orgs.settings_channels"), _("Channel added."))


@bp.post("/settings/channels/<int:channel_id>/test")
@require("org:admin")
def settings_channels_test(channel_id: int) -> Any:
    """Send a test message through a channel now and say what the service answered."""
    channel = get_scoped_or_404(notify.Channel, channel_id)
    try:
        notify.post_to_channel(
            channel,
            _("Test from %(org)s", org=g.org.name),
            _("%(name)s sent this test from Startvora.", name=current_user.name),
        )
    except notify.ChannelError as exc:
        channel.last_error = str(exc)
        db.session.commit()
        return redirect_to(
            url_for("orgs.settings_channels"),
            _("The test message was not delivered: %(reason)s", reason=str(exc)),
            "error",
        )
    channel.last_error = ""
    db.session.commit()
    return redirect_to(
        url_for("orgs.settings_channels"), _("Test message sent to %(name)s.", name=channel.name)
    )


@bp.post("/settings/channels/<int:channel_id>/toggle")
@require("org:admin")
def settings_channels_toggle(channel_id: int) -> Any:
    """Pause or resume a channel."""
    channel = get_scoped_or_404(notify.Channel, channel_id)
    channel.enabled = not channel.enabled
    db.session.commit()
    message = _("Channel resumed.") if channel.enabled else _("Channel paused.")
    return redirect_to(url_for("orgs.settings_channels"), message)


@bp.post("/settings/channels/<int:channel_id>/delete")
@require("org:admin")
def settings_channels_delete(channel_id: int) -> Any:
    """Remove a channel and its stored URL."""
    channel = get_scoped_or_404(notify.Channel, channel_id)
    audit.record(
        "org.channel_removed", org=g.org, actor=current_user, target=channel, summary=channel.name
    )
    db.session.delete(channel)
    db.session.commit()
    return redirect_to(url_for("orgs.settings_channels"), _("Channel removed."))

"""What deals notify about: a deal won, a deal lost (its owner and the administrators)."""

from __future__ import annotations

from flask import Flask
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from startvora.core import money, notify
from startvora.core.events import Event
from startvora.core.permissions import role_allows
from startvora.crm.models import Deal
from startvora.extensions import db


def _recipients(event: Event) -> list[int]:
    """The deal's owner and the organization's administrators, except whoever closed it."""
    from startvora.orgs.models import Membership

    deal = db.session.get(Deal, event.payload["deal_id"])
    rows = db.session.execute(
        db.select(Membership.user_id, Membership.role).where(Membership.org_id == event.org_id)
    )
    admins = [user_id for user_id, role in rows if role_allows(role, "org:admin")]
    owner = [deal.owner_id] if deal is not None and deal.owner_id else []
    actor = event.payload.get("actor_id")
    return [u for u in dict.fromkeys(owner + admins) if u != actor]


def _path(event: Event, deal: Deal) -> str:
    from startvora.orgs.models import Organization

    org = db.session.get(Organization, event.org_id)
    slug = org.slug if org else ""
    return notify.path_for("crm.deals_show", org_slug=slug, deal_id=deal.id)


def _value(deal: Deal) -> str:
    return money.format_money(deal.value_minor, deal.currency, str(get_locale() or "en"))


def _won(event: Event) -> notify.Message | None:
    deal = db.session.get(Deal, event.payload["deal_id"])
    if deal is None:
        return None
    return notify.Message(
        _("Deal won: %(title)s (%(value)s)", title=deal.title, value=_value(deal)),
        path=_path(event, deal),
    )


def _lost(event: Event) -> notify.Message | None:
    deal = db.session.get(Deal, event.payload["deal_id"])
    if deal is None:
        return None
    return notify.Message(
        _("Deal lost: %(title)s (%(value)s)", title=deal.title, value=_value(deal)),
        body=deal.lost_reason,
        path=_path(event, deal),
    )


def register(app: Flask) -> None:
    """Declare the deal notifications (called from the CRM's register)."""
    for kind in (
        notify.Kind("deal.won", _l("A deal is won"), _recipients, _won, permission="crm:view"),
        notify.Kind("deal.lost", _l("A deal is lost"), _recipients, _lost, permission="crm:view"),
    ):
        notify.declare(app, kind)

"""CRM: contacts and companies, leads, deals on pipelines, activities and their timeline."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from startvora.core import customfields as cf
from startvora.core import notify, trash
from startvora.core.db import utcnow
from startvora.core.events import Event
from startvora.core.registry import DemoGenerator, NavItem, add_demo, add_nav

# Each view module adds its routes to the one blueprint (api modules: to /api/v1).
VIEW_MODULES: tuple[str, ...] = (
    "views",
    "lead_views",
    "activity_views",
    "import_views",
    "deal_views",
    "pipeline_views",
    "deal_api",
    "api",
)


def register(app: Flask) -> None:
    from startvora.crm import activities, models, search_index  # noqa: F401 (its DDL hooks)
    from startvora.crm.blueprints import bp

    for name in VIEW_MODULES:
        import_module(f"startvora.crm.{name}")
    app.register_blueprint(bp)
    for key, label, endpoint, icon, order, match in (
        ("contacts", _l("Contacts"), "crm.contacts_index", "users", 100, "crm.contacts_"),
        ("companies", _l("Companies"), "crm.companies_index", "building-2", 110, "crm.companies_"),
        ("deals", _l("Deals"), "crm.deals_board", "kanban", 115, "crm.deals_"),
        ("leads", _l("Leads"), "crm.leads_index", "target", 120, "crm.leads_"),
        ("agenda", _l("My activities"), "crm.agenda", "list-todo", 140, "crm.agenda"),
    ):
        add_nav(app, NavItem(key, label, endpoint, icon, "crm:view", order=order, match=match))
    for key, label, model in (
        ("crm.contact", _l("Contacts"), models.Contact),
        ("crm.company", _l("Companies"), models.Company),
        ("crm.lead", _l("Leads"), models.Lead),
        ("crm.deal", _l("Deals"), models.Deal),
    ):
        trash.register(app, trash.TrashKind(key, label, model, _title, "crm:delete"))
    from startvora.crm import deal_notifications, demo

    deal_notifications.register(app)

    add_demo(app, DemoGenerator("crm", demo.run, order=20))
    app.jinja_env.globals.update(
        has_endpoint=lambda endpoint: endpoint in app.view_functions,
        custom_display=cf.display,
        timeline=activities.timeline_for,
        activity_labels=activities.KIND_LABELS,
        activity_icons=activities.KIND_ICONS,
        change_label=_change_label,
        now_utc=utcnow,
    )
    notify.declare(
        app,
        notify.Kind(
            "crm.activity_due",
            _l("A reminder of mine is due"),
            _reminder_recipients,
            _reminder,
            permission="crm:view",
            defaults=frozenset({"app", "email"}),
        ),
    )


def _title(obj: Any) -> str:
    return obj.display_name


def _change_label(event: Any) -> str:
    """A timeline line for a recorded change."""
    verb = event.action.rsplit("_", 1)[-1]
    labels = {
        "created": _("Created"),
        "changed": _("Changed: %(fields)s", fields=event.summary),
        "deleted": _("Moved to the trash"),
        "merged": event.summary,
        "restored": _("Restored from the trash"),
        "reminded": _("Reminder sent: %(subject)s", subject=event.summary),
    }
    return labels.get(verb, event.summary or event.action)


def _reminder_recipients(event: Event) -> list[int]:
    from startvora.crm.models import Activity
    from startvora.extensions import db

    activity = db.session.get(Activity, event.payload["id"])
    return [activity.owner_id] if activity and activity.owner_id else []


def _reminder(event: Event) -> notify.Message | None:
    from startvora.crm.models import Activity
    from startvora.extensions import db
    from startvora.orgs.models import Organization

    activity = db.session.get(Activity, event.payload["id"])
    org = db.session.get(Organization, event.org_id)
    if activity is None or org is None:
        return None
    if activity.deal_id:
        path = notify.path_for("crm.deals_show", org_slug=org.slug, deal_id=activity.deal_id)
    elif activity.contact_id:
        path = notify.path_for(
            "crm.contacts_show", org_slug=org.slug, contact_id=activity.contact_id
        )
    elif activity.company_id:
        path = notify.path_for(
            "crm.companies_show", org_slug=org.slug, company_id=activity.company_id
        )
    else:
        path = notify.path_for("crm.agenda", org_slug=org.slug)
    return notify.Message(_("Reminder: %(subject)s", subject=activity.subject), activity.body, path)

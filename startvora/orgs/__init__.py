"""Organizations: the home dashboard, members, switching between organizations."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from startvora.core.registry import DemoGenerator, NavItem, Widget, add_demo, add_nav, add_widget


def register(app: Flask) -> None:
    # Importing a view module adds its routes to the blueprints; api declares its endpoints.
    from startvora.orgs import (  # noqa: F401
        api,
        audit_views,
        channel_views,
        demo,
        field_views,
        invitation_views,
        jobs_views,
        mail_views,
        notification_views,
        notifications,
        services,
        settings_views,
        trash_views,
        views,
        widgets,
    )

    app.register_blueprint(views.bp)
    notifications.register(app)
    app.extensions["startvora.find_membership"] = services.membership_by_slug
    app.extensions["startvora.find_membership_by_id"] = services.membership_of
    app.register_blueprint(views.home_bp)
    add_nav(app, NavItem("home", _l("Home"), "orgs.dashboard", "house", "org:view", order=0))
    add_nav(
        app,
        NavItem(
            "members",
            _l("Members"),
            "orgs.members_index",
            "users",
            "org:view",
            order=900,
            section="admin",
            match="orgs.members_",
        ),
    )
    add_nav(
        app,
        NavItem(
            "settings",
            _l("Settings"),
            "orgs.settings",
            "settings",
            "org:admin",
            order=910,
            section="admin",
            match="orgs.settings",
        ),
    )
    add_nav(
        app,
        NavItem(
            "trash",
            _l("Trash"),
            "orgs.trash_index",
            "trash-2",
            "crm:delete",
            order=930,
            section="admin",
            match="orgs.trash_",
        ),
    )
    add_nav(
        app,
        NavItem(
            "audit",
            _l("Audit log"),
            "orgs.audit_index",
            "activity",
            "org:admin",
            order=920,
            section="admin",
            match="orgs.audit_",
        ),
    )
    add_widget(
        app,
        Widget(
            "orgs.overview",
            _l("Your organization"),
            "orgs/widgets/_overview.html",
            "org:view",
            widgets.overview,
            order=0,
        ),
    )
    add_widget(
        app,
        Widget(
            "orgs.team",
            _l("Team"),
            "orgs/widgets/_team.html",
            "org:view",
            widgets.team,
            order=10,
        ),
    )
    add_widget(
        app,
        Widget(
            "orgs.system",
            _l("System"),
            "orgs/widgets/_system.html",
            "org:admin",
            widgets.system,
            order=20,
        ),
    )
    add_demo(app, DemoGenerator("orgs.members", demo.members, order=0))

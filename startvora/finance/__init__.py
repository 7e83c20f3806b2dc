"""Finance: products and services, tax rates, invoices with PDF, payments, customer credit."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l

from startvora.core import trash
from startvora.core.registry import (
    DemoGenerator,
    NavItem,
    add_currency_guard,
    add_demo,
    add_nav,
)

VIEW_MODULES: tuple[str, ...] = (
    "invoice_views",
    "expense_views",
    "report_views",
    "product_views",
    "settings_views",
    "exemption_views",
    "public_views",
    "api",
)


def register(app: Flask) -> None:
    from startvora.finance import expense_models, ledger, models  # noqa: F401 (tables)
    from startvora.finance.blueprints import bp, public_bp

    for name in VIEW_MODULES:
        import_module(f"startvora.finance.{name}")
    app.register_blueprint(bp)
    app.register_blueprint(public_bp)
    for key, label, endpoint, icon, order, match in (
        ("quotes", _l("Quotes"), "finance.quotes_index", "file-text", 195, "finance.quotes_"),
        ("invoices", _l("Invoices"), "finance.invoices_index", "receipt", 200, "finance.invoices_"),
        ("expenses", _l("Expenses"), "finance.expenses_index", "wallet", 205, "finance.expenses_"),
        ("products", _l("Products"), "finance.products_index", "package", 210, "finance.products_"),
        (
            "reports",
            _l("Reports"),
            "finance.reports_index",
            "chart-column",
            215,
            "finance.reports_",
        ),
    ):
        if endpoint in app.view_functions:
            add_nav(
                app, NavItem(key, label, endpoint, icon, "finance:view", order=order, match=match)
            )
    from startvora.finance import demo, expenses, notifications, recurring, reminders  # noqa: F401

    notifications.register(app)
    from startvora.crm.activities import add_timeline_source
    from startvora.finance.timeline import customer_documents

    add_timeline_source(customer_documents)

    add_demo(app, DemoGenerator("finance", demo.run, order=30))
    add_currency_guard(app, _currency_in_use)
    trash.register(
        app,
        trash.TrashKind(
            "finance.product", _l("Products"), models.Product, _title, "finance:delete"
        ),
    )


def _title(obj: Any) -> str:
    return obj.display_name


def _currency_in_use(org_id: int) -> str | None:
    """Reports, invoices and expenses keep amounts in the organization's currency."""
    from flask_babel import gettext as _

    from startvora.extensions import db
    from startvora.finance.expense_models import Expense
    from startvora.finance.models import Invoice

    used = db.session.execute(
        db.select(Invoice.id).where(Invoice.org_id == org_id, Invoice.status != "draft").limit(1)
    ).first() or db.session.execute(
        db.select(Expense.id).where(Expense.org_id == org_id).limit(1)
    ).first()  # fmt: skip
    if used:
        return _(
            "Invoices and expenses are kept in this currency, so it cannot change. Invoices "
            "in another currency can still be issued."
        )
    return None

"""Take screenshots of the main pages at laptop and phone width, light and dark.

    .venv/bin/python scripts/screenshots.py [OUT_DIR]

Starts Startvora on a free loopback port with a throw-away data folder and small demo data,
signs in as the demo owner, and writes PNG files to OUT_DIR (default ./screenshots).
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from startvora import create_app  # noqa: E402
from startvora.auth import services as auth  # noqa: E402
from startvora.core import tasks  # noqa: E402
from startvora.core.registry import registry  # noqa: E402
from startvora.extensions import db  # noqa: E402
from startvora.orgs import services as orgs  # noqa: E402

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "screenshot-password"


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as data:
        app = create_app({"data_dir": data, "queue.immediate": True})
        with app.app_context():
            from flask_migrate import upgrade

            upgrade(directory=app.extensions["migrate"].directory)
            owner = auth.create_user("owner@demo.example.com", "Dana Owner", PASSWORD)
            org = orgs.create_organization(
                "Northwind Supplies", owner, "en", "Europe/Berlin", "EUR"
            )
            for gen in registry(app).demo:
                gen.run(org, owner, "small", random.Random(1))
            db.session.commit()
            slug = org.slug
            tasks.heartbeat()  # as a running consumer would
            from startvora.core.tenancy import org_context

            with org_context(org.id):
                _notification_examples(app, org.id, owner.id)
                public_path, note_id, quote_id, quote_path = _finance_examples(
                    app, org.id, owner.id
                )
                from startvora.finance.expense_models import Expense
                from startvora.ops import snapshots

                snapshots.create(app.extensions["startvora.settings"], "nightly")
                from startvora.finance.models import TaxExemption

                exempt_id = db.session.execute(
                    db.select(TaxExemption.company_id).limit(1)
                ).scalar_one()
                receipt_id = db.session.execute(
                    db.select(Expense.id).where(Expense.receipt_file_id.is_not(None)).limit(1)
                ).scalar_one()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        pages = {
            "dashboard": f"/o/{slug}/",
            "members": f"/o/{slug}/members",
            "member": f"/o/{slug}/members/2",
            "settings": f"/o/{slug}/settings",
            "audit": f"/o/{slug}/audit",
            "notifications": f"/o/{slug}/notifications",
            "notification-prefs": f"/o/{slug}/notifications/preferences",
            "email-settings": f"/o/{slug}/settings/email",
            "outbox": f"/o/{slug}/settings/outbox",
            "channels": f"/o/{slug}/settings/channels",
            "jobs": f"/o/{slug}/settings/jobs",
            "backups": f"/o/{slug}/settings/backups",
            "contacts": f"/o/{slug}/crm/contacts",
            "contact": f"/o/{slug}/crm/contacts/7",
            "contact-new": f"/o/{slug}/crm/contacts/new",
            "companies": f"/o/{slug}/crm/companies",
            "company": f"/o/{slug}/crm/companies/3",
            "leads": f"/o/{slug}/crm/leads",
            "lead": f"/o/{slug}/crm/leads/2",
            "agenda": f"/o/{slug}/crm/agenda",
            "trash": f"/o/{slug}/trash",
            "custom-fields": f"/o/{slug}/settings/fields",
            "deals": f"/o/{slug}/crm/deals",
            "invoices": f"/o/{slug}/finance/invoices",
            "invoice": f"/o/{slug}/finance/invoices/5",
            "invoice-recent": f"/o/{slug}/finance/invoices/231",
            "invoice-draft": f"/o/{slug}/finance/invoices/240",
            "invoice-edit": f"/o/{slug}/finance/invoices/240/edit",
            "invoice-new": f"/o/{slug}/finance/invoices/new",
            "invoice-payment": f"/o/{slug}/finance/invoices/231/payments/new",
            "credit-note-form": f"/o/{slug}/finance/invoices/231/credit",
            "credit-note": f"/o/{slug}/finance/invoices/{note_id}",
            "invoice-public": public_path,
            "invoice-send": f"/o/{slug}/finance/invoices/231/send",
            "quotes": f"/o/{slug}/finance/quotes",
            "quote-new": f"/o/{slug}/finance/quotes/new",
            "quote": f"/o/{slug}/finance/invoices/{quote_id}",
            "quote-public": quote_path,
            "invoice-repeat": f"/o/{slug}/finance/invoices/231/repeat",
            "recurring": f"/o/{slug}/finance/recurring",
            "products": f"/o/{slug}/finance/products",
            "finance-settings": f"/o/{slug}/finance/settings",
            "tax-rates": f"/o/{slug}/finance/tax-rates",
            "tax-exemptions": f"/o/{slug}/finance/tax-exemptions",
            "invoice-exempt": f"/o/{slug}/finance/invoices/new?company={exempt_id}",
            "expenses": f"/o/{slug}/finance/expenses",
            "expense": f"/o/{slug}/finance/expenses/{receipt_id}",
            "expense-new": f"/o/{slug}/finance/expenses/new?kind=bill",
            "expenses-recurring": f"/o/{slug}/finance/expenses/recurring",
            "reports": f"/o/{slug}/finance/reports",
            "profit-and-loss": f"/o/{slug}/finance/reports/profit-and-loss?range=this_year",
            "aging": f"/o/{slug}/finance/reports/receivables-aging",
            "profile": "/profile/",
            "two-factor": "/profile/two-factor",
            "api-docs": "/api-docs",
            "not-found": f"/o/{slug}/no-such-page",
        }
        wanted = os.environ.get("SCREENSHOTS", "")  # e.g. SCREENSHOTS=invoices,invoice
        if wanted:
            pages = {k: v for k, v in pages.items() if k in wanted.split(",")}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for width, height, label in ((1280, 800, "laptop"), (390, 844, "phone")):
                for scheme in ("light", "dark"):
                    ctx = browser.new_context(
                        viewport={"width": width, "height": height}, color_scheme=scheme
                    )
                    page = ctx.new_page()
                    page.goto(base + "/sign-in")
                    page.screenshot(path=str(out / f"sign-in-{label}-{scheme}.png"))
                    page.fill("#f-email", "owner@demo.example.com")
                    page.fill("#f-password", PASSWORD)
                    page.click("button[type=submit]")
                    page.wait_for_url(f"**/o/{slug}/")
                    for name, path in pages.items():
                        page.goto(base + path)
                        page.screenshot(
                            path=str(out / f"{name}-{label}-{scheme}.png"), full_page=True
                        )
                    if label == "phone":
                        page.goto(base + f"/o/{slug}/")
                        page.click("[data-nav-toggle]")
                        page.wait_for_timeout(300)
                        page.screenshot(path=str(out / f"nav-open-{label}-{scheme}.png"))
                    ctx.close()
            browser.close()
        server.shutdown()
    print(f"screenshots written to {out}/")


def _finance_examples(app, org_id: int, user_id: int) -> tuple[str, int, int, str]:
    """A credit note on an earlier invoice, the customer's link to an unpaid one, a quote."""
    from startvora.finance import sending, services
    from startvora.finance.models import Invoice

    paid = db.session.get(Invoice, 5)
    note = services.create_credit_note(
        org_id, user_id, paid, {paid.lines[0].id: paid.lines[0].quantity}, "Returned, unused"
    )
    source = db.session.get(Invoice, 231)
    offer = Invoice(
        org_id=org_id, kind="quote", company_id=source.company_id, currency=source.currency,
        customer_name=source.customer_name, created_by_id=user_id,
    )  # fmt: skip
    db.session.add(offer)
    for line in source.lines:
        offer.lines.append(
            type(line)(org_id=org_id, position=line.position, description=line.description,
                       quantity=line.quantity, unit=line.unit,
                       unit_price_minor=line.unit_price_minor, tax_ids=list(line.tax_ids))
        )  # fmt: skip
    services.apply_totals(offer, {t.id: t for t in services.tax_rates(org_id)})
    services.issue(org_id, user_id, offer)
    from startvora.finance import recurring
    from startvora.orgs.models import Organization

    today = services.today_of(db.session.get(Organization, org_id))
    monthly = db.session.get(Invoice, 230)
    recurring.make_recurring(org_id, user_id, monthly, "monthly", today, None, 12, True)
    _expense_examples(org_id, user_id, db.session.get(Invoice, 240))
    db.session.commit()
    with app.test_request_context():
        token = sending.public_token(db.session.get(Invoice, 231))
        quote_token = sending.public_token(offer)
    return f"/p/invoices/{token}", note.id, offer.id, f"/p/invoices/{quote_token}"


def _expense_examples(org_id: int, user_id: int, draft) -> None:
    """A customer exempt from tax; a billable expense and an attached file on a draft invoice."""
    from startvora.core import files
    from startvora.crm.models import Company
    from startvora.finance import expenses, services
    from startvora.finance.schemas import ExpenseIn

    charity = db.session.execute(
        db.select(Company).where(Company.id != draft.company_id).limit(1)
    ).scalar_one()
    services.save_exemption(org_id, user_id, charity.id, None, "Charity, certificate 12-345")
    data = ExpenseIn.model_validate(
        {"spent_on": draft.created_at.date().isoformat(), "category": "Travel",
         "vendor_name": "Rail Express", "amount": "86.40", "description": "Train to the site",
         "billable": True, "customer_company_id": draft.company_id},
        context={"currency": draft.currency, "locale": "en"},
    )  # fmt: skip
    expenses.approve(org_id, user_id, expenses.save_expense(org_id, user_id, data))
    files.store_bytes(
        org_id, "timesheet-march.csv", b"date,hours\n2026-03-02,7.5\n", "text/csv",
        created_by_id=user_id, owner=("invoice", draft.id),
    )  # fmt: skip


def _notification_examples(app, org_id: int, user_id: int) -> None:
    """A few notifications, emails, a channel and a failed job, so those pages show content."""
    import datetime as dt

    from startvora.core import mail, notify
    from startvora.core.db import utcnow

    now = utcnow()
    for i, (title, body) in reversed(
        list(
            enumerate(
                [
                    ("Sam Seller joined as member", ""),
                    ("Dana Owner invited pat@northwind.example as manager", ""),
                    ("A background job failed: Send email", "The server refused the connection."),
                ]
            )
        )
    ):
        db.session.add(
            notify.Notification(
                org_id=org_id,
                user_id=user_id,
                event="example",
                title=title,
                body=body,
                path=f"/o/{org_id}",
                created_at=now - dt.timedelta(hours=i * 5),
                read_at=now if i == 2 else None,
            )
        )
    db.session.add(
        notify.Channel(
            org_id=org_id,
            name="Sales team on Slack",
            url="slack://T000/B000/XXXX",
            display_url="slack://T...0/B...0/X...X/",
            service="Slack",
            events=["member.joined"],
            last_sent_at=now,
        )
    )
    for to, status, error in (
        ("pat@northwind.example", "sent", ""),
        ("lee@northwind.example", "queued", "The server did not answer in time."),
        ("kim@northwind.example", "failed", "The server answered 550: mailbox unavailable"),
    ):
        db.session.add(
            mail.OutboxMessage(
                org_id=org_id,
                to_address=to,
                subject="Dana Owner invites you to Northwind Supplies on Startvora",
                text_body="...",
                status=status,
                attempts=0 if status == "sent" else 6 if status == "failed" else 2,
                last_error=error,
                sent_at=now if status == "sent" else None,
            )
        )
    db.session.commit()
    tasks.tracker.book.execute(
        "INSERT INTO startvora_jobs (id, name, org_id, args, state, attempts, error, enqueued_at,"
        " finished_at) VALUES ('example', 'startvora.core.mail.deliver_email', ?, '', 'failed',"
        " 6, 'DeliveryFailed: The server answered 550: mailbox unavailable', ?, ?)",
        (org_id, now.timestamp(), now.timestamp()),
    )


if __name__ == "__main__":
    main()

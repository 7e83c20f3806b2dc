"""Finance demo data: tax rates, a catalog, and 18 months of invoices to the CRM's companies:
most paid, some waiting, some overdue, a few partly paid, drafts and void ones; 18 months of
expenses and vendor bills with a recurring rent; the reports' totals. `large` (200k
invoices) is written with bulk inserts; every total comes from the same rules as the forms."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from startvora.core import files
from startvora.core.db import fold, insert_rows, next_id, utcnow
from startvora.core.numbering import Sequence
from startvora.core.tenancy import org_context
from startvora.crm.models import Company
from startvora.extensions import db
from startvora.finance import ledger, services, totals
from startvora.finance.expense_models import Expense, RecurringExpense
from startvora.finance.models import (
    LAST_DAY,
    Invoice,
    InvoiceLine,
    InvoiceTax,
    Payment,
    Product,
    TaxRate,
)

SIZES = {
    "small": {"products": 40, "invoices": 240, "expenses": 160},
    "large": {"products": 2000, "invoices": 200_000, "expenses": 20_000},
}
# Category, typical vendors, amount range (major units), share of all expenses.
SPENDING = (
    ("Travel", ("Rail Express", "City Cabs", "SkyHop Airlines", "Hotel Lindenhof"), (18, 640), 24),
    ("Meals", ("Café Central", "Bistro Nord", "Pizzeria Roma"), (9, 180), 18),
    ("Software", ("CloudDesk", "MailWave", "CodeHost"), (12, 480), 14),
    ("Office supplies", ("Paper & Co", "OfficeWorld"), (6, 260), 14),
    ("Marketing", ("PrintShop 24", "AdReach"), (80, 2400), 10),
    ("Equipment", ("TechStore", "Werkzeug Müller"), (90, 3200), 8),
    ("Phone and internet", ("TeleNet",), (39, 120), 6),
    ("Professional fees", ("Berger Tax Advisors", "Klein Legal"), (250, 2800), 6),
)  # fmt: skip
RENT = 185000  # minor units a month, a recurring bill
RATES = {
    "EUR": [("VAT", "19"), ("VAT reduced", "7")],
    "GBP": [("VAT", "20"), ("VAT reduced", "5")],
    "CHF": [("MWST", "8.1"), ("MWST reduced", "2.6")],
}
SERVICES = (
    ("Consulting", "h", 12000), ("Workshop day", "day", 140000), ("Support plan", "month", 49000),
    ("Installation", "h", 9500), ("Training", "h", 11000), ("Project management", "h", 10500),
)  # fmt: skip
GOODS = (
    "Cable kit", "Sensor", "Control unit", "Mounting frame", "Display panel", "Power supply",
    "Router", "Label printer", "Scanner", "Battery pack", "Tool case", "Safety gloves",
)  # fmt: skip
BATCH = 4000


def run(org: Any, owner: Any, size: str, rng: random.Random) -> dict[str, int]:
    counts = SIZES[size]
    now = utcnow()
    today = now.date()
    currency = org.currency
    with org_context(org.id):
        settings = services.settings_to_change(org.id)  # loaded twice: there already
        settings.iban, settings.bank_name = _iban(currency), "Demo Bank"
        rates = []
        for name, rate in RATES.get(currency, [("Sales tax", "8.25")]):
            tax = TaxRate(org_id=org.id, name=name, rate=Decimal(rate))
            db.session.add(tax)
            rates.append(tax)
        db.session.flush()
        taxes = [totals.Tax(t.id, t.name, t.rate, t.compound) for t in rates]

        products = []
        first_product = next_id(Product.__table__)
        for i in range(counts["products"]):
            if i < len(SERVICES):
                name, unit, price = SERVICES[i]
                kind = "service"
            else:
                name = f"{rng.choice(GOODS)} {chr(65 + i % 26)}{i}"
                unit, price, kind = "pc", rng.randrange(500, 90000, 5), "product"
            sku = f"{'SRV' if kind == 'service' else 'PRD'}-{i + 1:05d}"
            products.append(
                {
                    "id": first_product + i, "org_id": org.id, "name": name, "kind": kind,
                    "sku": sku, "unit": unit, "prices": {currency: price}, "tax_ids": [rates[0].id],
                    "search_name": fold(f"{name} {sku}"), "created_at": now, "updated_at": now,
                    "deleted_at": None, "deleted_by_id": None,
                }
            )  # fmt: skip
        insert_rows(Product.__table__, products)

        companies = list(
            db.session.execute(db.select(Company.id, Company.name, Company.city).limit(5000))
        )
        if not companies:
            return {"products": len(products), "invoices": 0}
        # Numbers go on from what the organization has issued already (a demo loaded twice).
        rows = db.session.execute(
            db.select(Sequence).where(Sequence.org_id == org.id, Sequence.key == "invoice")
        ).scalars()
        kept = {row.period: row for row in rows}
        sequence: dict[str, int] = {period: row.last for period, row in kept.items()}
        invoice_rows: list[dict[str, Any]] = []
        line_rows: list[dict[str, Any]] = []
        tax_rows: list[dict[str, Any]] = []
        payment_rows: list[dict[str, Any]] = []
        next_invoice = next_id(Invoice.__table__)
        n = counts["invoices"]
        days = [today - dt.timedelta(days=int(540 * (n - i) / n)) for i in range(n)]
        for i, day in enumerate(days):
            invoice_id = next_invoice + i
            company_id, name, city = rng.choice(companies)
            roll = rng.random()
            status = "draft" if i >= n - max(3, n // 50) else ("void" if roll < 0.03 else "issued")
            lines_in, lines = [], []
            for position in range(rng.choice((1, 1, 2, 3, 4))):
                product = rng.choice(products)
                quantity = Decimal(rng.choice((1, 1, 2, 3, 5, 10, 12, "1.5", "0.5")))
                price = product["prices"][currency]
                line_taxes = tuple(taxes[:1] if rng.random() < 0.85 else taxes[-1:])
                lines_in.append(totals.LineIn(quantity, price, Decimal(0), line_taxes))
                lines.append((position, product, quantity, price, [t.id for t in line_taxes]))
            result = totals.compute(lines_in, currency)
            for (position, product, quantity, price, tax_ids), out in zip(
                lines, result.lines, strict=True
            ):
                line_rows.append(
                    {"org_id": org.id, "invoice_id": invoice_id, "position": position,
                     "product_id": product["id"], "description": product["name"],
                     "quantity": quantity, "unit": product["unit"], "unit_price_minor": price,
                     "discount": Decimal(0), "tax_ids": tax_ids, "net_minor": out.net_minor,
                     "tax_minor": out.tax_minor, "total_minor": out.total_minor}
                )  # fmt: skip
            for t in result.taxes:
                tax_rows.append(
                    {"org_id": org.id, "invoice_id": invoice_id, "tax_rate_id": t.tax.id,
                     "name": t.tax.name, "rate": t.tax.rate, "compound": False,
                     "base_minor": t.base_minor, "amount_minor": t.amount_minor}
                )  # fmt: skip
            number = None
            due = day + dt.timedelta(days=14)
            paid, paid_on = 0, None
            if status != "draft":
                year = f"{day.year}"
                sequence[year] = sequence.get(year, 0) + 1
                number = f"INV-{year}-{sequence[year]:04d}"
                if status == "issued":
                    age = (today - day).days
                    chance = 0.97 if age > 60 else (0.75 if age > 20 else 0.35)
                    if rng.random() < chance:
                        paid = result.total_minor
                    elif rng.random() < 0.15:
                        paid = result.total_minor // 2
                if paid:
                    paid_on = min(day + dt.timedelta(days=rng.randint(2, 30)), today)
                    payment_rows.append(
                        {"org_id": org.id, "invoice_id": invoice_id, "paid_on": paid_on,
                         "amount_minor": paid, "currency": currency, "method": "bank_transfer",
                         "reference": number, "note": "", "recorded_by_id": owner.id,
                         "created_at": now, "updated_at": now}
                    )  # fmt: skip
            issued_at = dt.datetime.combine(day, dt.time(9), dt.UTC) if number else None
            invoice_rows.append(
                {"id": invoice_id, "org_id": org.id, "number": number, "status": status,
                 "company_id": company_id, "contact_id": None, "customer_name": name,
                 "search_name": fold(f"{number or ''} {name}")[:300],
                 "customer_address": city, "customer_email": "", "customer_tax_id": "",
                 "currency": currency, "exchange_rate": Decimal(1),
                 "issue_date": day if number else None, "due_date": due if number else None,
                 "sort_date": day if number else LAST_DAY,
                 "is_open": status == "issued" and paid < result.total_minor,
                 "prices_include_tax": False, "round_per_document": False, "notes": "",
                 "footer": "", "subtotal_minor": result.subtotal_minor,
                 "tax_minor": result.tax_minor, "total_minor": result.total_minor,
                 "paid_minor": paid, "base_total_minor": result.total_minor,
                 "issued_at": issued_at, "sent_at": issued_at, "viewed_at": None,
                 "paid_at": dt.datetime.combine(paid_on, dt.time(12), dt.UTC)
                 if paid_on and paid >= result.total_minor else None,
                 "voided_at": issued_at if status == "void" else None,
                 "void_reason": "Sent to the wrong customer" if status == "void" else "",
                 "created_by_id": owner.id, "created_at": issued_at or now,
                 "updated_at": issued_at or now}
            )  # fmt: skip
            if len(invoice_rows) >= BATCH:
                _flush(invoice_rows, line_rows, tax_rows, payment_rows)
        _flush(invoice_rows, line_rows, tax_rows, payment_rows)
        for year, last in sequence.items():
            if year in kept:
                kept[year].last = last
            else:
                db.session.add(Sequence(org_id=org.id, key="invoice", period=year, last=last))
        db.session.flush()
        expenses_made = _expenses(org, owner, counts["expenses"], rng, companies, rates, today)
        ledger.rebuild(org.id)  # the reports' totals, from what was just written
    return {"products": len(products), "invoices": n, "expenses": expenses_made}


def _expenses(
    org: Any, owner: Any, n: int, rng: random.Random, companies: list[Any], rates: list[Any],
    today: dt.date,
) -> int:  # fmt: skip
    """18 months of expenses: most approved, recent ones waiting, a few rejected; bills from
    vendors, some still to pay; some billed on to customers; rent as a recurring bill."""
    now = utcnow()
    start = today - dt.timedelta(days=540)
    schedule = RecurringExpense(
        org_id=org.id, kind="bill", vendor_name="Lindenhof Properties", category="Rent",
        description="Office rent", currency=org.currency, amount_minor=RENT,
        amount_includes_tax=False, frequency="monthly", start_date=start.replace(day=1),
        next_date=start.replace(day=1), due_days=10, created_by_id=owner.id, tax_rate_id=None,
    )  # fmt: skip
    db.session.add(schedule)
    db.session.flush()
    rows: list[dict[str, Any]] = []
    weights = [w for *_rest, w in SPENDING]
    first = next_id(Expense.__table__)
    tax = rates[0]
    tax_of = (totals.Tax(tax.id, tax.name, tax.rate, tax.compound),)
    month = schedule.start_date
    made = 0
    while month <= today:  # the rent: what the schedule made so far
        rows.append(_expense_row(org, owner, first + len(rows), "bill", "Lindenhof Properties",
                                 "Rent", "Office rent", month, RENT, False, (), now, today,
                                 rng, recurring_id=schedule.id, due_days=10))  # fmt: skip
        made += 1
        month = (month + dt.timedelta(days=32)).replace(day=1)
    schedule.made_count, schedule.next_date = made, month
    for i in range(n):
        category, vendors, (low, high), _weight = rng.choices(SPENDING, weights)[0]
        day = start + dt.timedelta(days=int(540 * i / n))
        amount = rng.randrange(low * 100, high * 100, 5)
        kind = "bill" if category in ("Professional fees", "Marketing", "Equipment") else "expense"
        row = _expense_row(org, owner, first + len(rows), kind, rng.choice(vendors), category,
                           "", day, amount, True, tax_of, now, today, rng)  # fmt: skip
        if category in ("Travel", "Meals") and rng.random() < 0.12:
            company_id = rng.choice(companies)[0]
            row.update(billable=True, customer_company_id=company_id)
        rows.append(row)
    insert_rows(Expense.__table__, rows)
    if n < 1000:  # the small demo: a few photographed receipts to look at
        for row in rows[-6:]:
            receipt = files.store_bytes(
                org.id, f"receipt-{row['id']}.png", _receipt_image(row, org.currency), "image/png",
                created_by_id=owner.id, owner=("expense", row["id"]),
            )  # fmt: skip
            db.session.execute(
                db.update(Expense).where(Expense.id == row["id"]).values(receipt_file_id=receipt.id)
            )
    return len(rows)


def _expense_row(
    org: Any, owner: Any, expense_id: int, kind: str, vendor: str, category: str,
    description: str, day: dt.date, amount: int, inclusive: bool, taxes: tuple[Any, ...],
    now: dt.datetime, today: dt.date, rng: random.Random, recurring_id: int | None = None,
    due_days: int = 30,
) -> dict[str, Any]:  # fmt: skip
    line = totals.compute(
        [totals.LineIn(Decimal(1), amount, Decimal(0), taxes)], org.currency, inclusive=inclusive
    ).lines[0]
    age = (today - day).days
    status = "approved" if recurring_id or age > 21 or rng.random() < 0.3 else "pending"
    if status == "approved" and rng.random() < 0.02:
        status = "rejected"
    due = day + dt.timedelta(days=due_days) if kind == "bill" else None
    paid_on = day if kind == "expense" else None
    if kind == "bill" and status == "approved" and (age > 45 or rng.random() < 0.5):
        paid_on = min(day + dt.timedelta(days=rng.randint(3, due_days + 10)), today)
    return {
        "id": expense_id, "org_id": org.id, "kind": kind, "vendor_name": vendor,
        "category": category, "description": description, "currency": org.currency,
        "exchange_rate": Decimal(1), "amount_minor": amount, "amount_includes_tax": inclusive,
        "tax_rate_id": taxes[0].id if taxes else None, "billable": False,
        "customer_company_id": None, "spent_on": day, "due_date": due,
        "bill_number": f"{vendor[:3].upper()}-{expense_id:06d}" if kind == "bill" else "",
        "search_name": fold(f"{vendor} {category} {description}")[:400],
        "net_minor": line.net_minor, "tax_minor": line.tax_minor, "total_minor": line.total_minor,
        "tax_name": taxes[0].name if taxes else "", "tax_rate": taxes[0].rate if taxes else 0,
        "base_net_minor": line.net_minor, "base_tax_minor": line.tax_minor, "status": status,
        "decided_at": now if status != "pending" else None,
        "decided_by_id": owner.id if status != "pending" else None,
        "rejection_reason": "No receipt" if status == "rejected" else "",
        "paid_on": paid_on, "payment_method": "card" if paid_on else "",
        "recurring_id": recurring_id, "created_by_id": owner.id, "created_at": now,
        "updated_at": now,
    }  # fmt: skip


def _receipt_image(row: dict[str, Any], currency: str) -> bytes:
    """A till receipt drawn for the demo: vendor, date, total."""
    import io

    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (360, 520), "white")
    draw = ImageDraw.Draw(image)
    try:  # a monospaced till font with accents; Pillow's own font has no "é"
        font: Any = ImageFont.truetype("DejaVuSansMono.ttf", 22)
    except OSError:
        font = ImageFont.load_default(size=22)
    total = f"{row['total_minor'] / 100:.2f} {currency}"
    lines = [row["vendor_name"], row["spent_on"].isoformat(), "", row["category"], "",
             f"TOTAL  {total}", "", "Thank you!"]  # fmt: skip
    for i, text in enumerate(lines):
        draw.text((30, 40 + i * 48), text, fill="black", font=font)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _flush(*tables: list[dict[str, Any]]) -> None:
    for model, rows in zip((Invoice, InvoiceLine, InvoiceTax, Payment), tables, strict=True):
        insert_rows(model.__table__, rows)
        rows.clear()


def _iban(currency: str) -> str:
    """A valid-looking demo IBAN for euro organizations (checksum correct), else none."""
    return "DE89370400440532013000" if currency == "EUR" else ""

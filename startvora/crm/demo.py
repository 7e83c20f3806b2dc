"""CRM demo data: companies and their people, leads, a pipeline spread over its stages, and 18
months of activities. `large` (100k contacts, 20k deals) is written with bulk inserts."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from startvora.core.db import fold, utcnow
from startvora.core.tenancy import org_context
from startvora.core.text import slugify
from startvora.crm.models import Activity, Company, Contact, Deal, Lead
from startvora.extensions import db
from startvora.orgs.demo import FIRST, LAST

SIZES = {
    "small": {"companies": 60, "contacts": 300, "leads": 60, "deals": 120, "activities": 1500},
    "large": {
        "companies": 20000,
        "contacts": 100000,
        "leads": 5000,
        "deals": 20000,
        "activities": 150000,
    },
}
WORDS = (
    "Alpine", "Atlas", "Blue", "Bright", "Cedar", "Coastal", "Delta", "Evergreen", "Falcon",
    "Golden", "Harbor", "Iron", "Juniper", "Keystone", "Linden", "Maple", "Meridian", "North",
    "Oak", "Pioneer", "Quarry", "River", "Summit", "Tidal", "Union", "Vertex", "West", "Zenith",
)  # fmt: skip
TRADES = (
    ("Logistics", "Transport"), ("Foods", "Food and drink"), ("Textiles", "Manufacturing"),
    ("Software", "Software"), ("Dental", "Health care"), ("Builders", "Construction"),
    ("Print", "Printing"), ("Farms", "Agriculture"), ("Motors", "Automotive"),
    ("Consulting", "Professional services"), ("Hotels", "Hospitality"), ("Energy", "Energy"),
)  # fmt: skip
FORMS = ("GmbH", "Ltd", "SARL", "BV", "AB", "Inc.", "S.L.", "Oy", "AS", "SRL")
CITIES = (
    ("Berlin", "DE"), ("Hamburg", "DE"), ("Lyon", "FR"), ("Paris", "FR"), ("Madrid", "ES"),
    ("Porto", "PT"), ("Milano", "IT"), ("Wien", "AT"), ("Zürich", "CH"), ("Utrecht", "NL"),
    ("Göteborg", "SE"), ("Oslo", "NO"), ("Leeds", "GB"), ("Dublin", "IE"), ("Austin", "US"),
)  # fmt: skip
TITLES = ("CEO", "Buyer", "Head of Purchasing", "Office Manager", "CFO", "Owner", "Engineer")
SOURCES = ("Website", "Referral", "Trade fair", "Cold call", "Newsletter", "LinkedIn")
TAGS = ("vip", "newsletter", "partner", "reseller", "prospect", "key account")
SUBJECTS = {
    "call": ("Intro call", "Follow-up call", "Pricing questions", "Called about the delivery"),
    "meeting": ("Demo at their office", "Quarterly review", "Site visit", "Kick-off meeting"),
    "email": ("Sent the offer", "Sent the catalogue", "Answered the questions", "Thanked them"),
    "note": ("Prefers email", "Budget approved in Q3", "Decision by the board", "Met at the fair"),
    "todo": ("Send the quote", "Call back", "Prepare the contract", "Book the demo"),
}
DEAL_KINDS = ("Renewal", "Pilot", "Rollout", "Order", "Upgrade", "Framework contract")
BATCH = 5000


def _insert(model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        db.session.execute(db.insert(model.__table__), rows[start : start + BATCH])


def _ids(model: Any, org_id: int) -> list[int]:
    return list(db.session.execute(db.select(model.id).where(model.org_id == org_id)).scalars())


def run(org: Any, owner: Any, size: str, rng: random.Random) -> dict[str, int]:
    """Load the CRM demo data into an organization (bulk, deterministic for a seed)."""
    from startvora.crm import deals as deal_rules
    from startvora.orgs.models import Membership

    counts = SIZES[size]
    now = utcnow()
    with org_context(org.id):
        owners = list(
            db.session.execute(
                db.select(Membership.user_id).where(
                    Membership.org_id == org.id,
                    Membership.role.in_(("owner", "admin", "manager", "member")),
                )
            ).scalars()
        ) or [owner.id]
        base = {"org_id": org.id, "deleted_at": None, "deleted_by_id": None}

        def phone() -> str:
            return f"+{rng.randint(30, 49)} {rng.randint(100, 999)} {rng.randint(100000, 999999)}"

        def stamp(days_back: int) -> dt.datetime:
            return now - dt.timedelta(days=days_back, minutes=rng.randint(0, 1440))

        companies = []
        for i in range(counts["companies"]):
            trade, industry = rng.choice(TRADES)
            name = f"{rng.choice(WORDS)} {trade} {rng.choice(FORMS)}"
            if i >= len(WORDS) * len(TRADES):
                name = f"{name} {i}"
            city, country = rng.choice(CITIES)
            created = stamp(rng.randint(30, 900))
            domain = f"{slugify(name)[:40]}.example"
            companies.append(
                {
                    **base,
                    "name": name,
                    "industry": industry,
                    "email": f"info@{domain}",
                    "phone": phone(),
                    "website": domain,
                    "street": f"{rng.choice(WORDS)}straße {rng.randint(1, 120)}",
                    "city": city,
                    "postal_code": str(rng.randint(10000, 99999)),
                    "country": country,
                    "tags": rng.sample(TAGS, rng.randint(0, 2)),
                    "source": rng.choice(SOURCES),
                    "notes": "",
                    "custom": {},
                    "search_name": fold(f"{name} info@{domain}"),
                    "email_key": f"info@{domain}",
                    "owner_id": rng.choice(owners),
                    "created_at": created,
                    "updated_at": created,
                }
            )
        _insert(Company, companies)
        company_ids = _ids(Company, org.id)

        contacts = []
        for i in range(counts["contacts"]):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            email = f"{slugify(first)}.{slugify(last)}.{i}@mail.example"
            created = stamp(rng.randint(1, 900))
            city, country = rng.choice(CITIES)
            contacts.append(
                {
                    **base,
                    "first_name": first,
                    "last_name": last,
                    "job_title": rng.choice(TITLES),
                    "email": email,
                    "phone": phone(),
                    "mobile": "",
                    "website": "",
                    "street": "",
                    "city": city,
                    "postal_code": "",
                    "country": country,
                    "tags": rng.sample(TAGS, rng.randint(0, 2)),
                    "source": rng.choice(SOURCES),
                    "notes": "",
                    "custom": {},
                    "search_name": fold(f"{first} {last} {email}"),
                    "email_key": email,
                    "company_id": rng.choice(company_ids) if rng.random() < 0.85 else None,
                    "owner_id": rng.choice(owners),
                    "created_at": created,
                    "updated_at": created,
                }
            )
        _insert(Contact, contacts)
        contact_rows = db.session.execute(
            db.select(Contact.id, Contact.company_id).where(Contact.org_id == org.id)
        ).all()

        leads = []
        for i in range(counts["leads"]):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            trade, _industry = rng.choice(TRADES)
            company = f"{rng.choice(WORDS)} {trade} {rng.choice(FORMS)}"
            status = rng.choices(("new", "qualified", "disqualified"), (6, 3, 1))[0]
            created = stamp(rng.randint(0, 120))
            leads.append(
                {
                    **base,
                    "title": f"{rng.randint(5, 200)} units for {company}",
                    "first_name": first,
                    "last_name": last,
                    "email": f"{slugify(first)}.{i}@lead.example",
                    "phone": "",
                    "company_name": company,
                    "source": rng.choice(SOURCES),
                    "status": status,
                    "disqualify_reason": "No budget this year" if status == "disqualified" else "",
                    "value_minor": rng.randint(5, 500) * 10000,
                    "currency": org.currency,
                    "notes": "",
                    "tags": [],
                    "custom": {},
                    "search_name": fold(f"{first} {last} {company}"),
                    "owner_id": rng.choice(owners),
                    "created_at": created,
                    "updated_at": created,
                }
            )
        _insert(Lead, leads)

        pipeline = deal_rules.ensure_default_pipeline(org.id)
        stages = pipeline.stages
        weights = [8, 6, 5, 3, 4, 3][: len(stages)]
        deals = []
        for i in range(counts["deals"]):
            stage = rng.choices(stages, weights)[0]
            contact_id, company_id = rng.choice(contact_rows)
            created = stamp(rng.randint(1, 540))
            closed = stage.kind != "open"
            title = f"{rng.choice(DEAL_KINDS)} {i + 1}"
            deals.append(
                {
                    **base,
                    "title": title,
                    "pipeline_id": pipeline.id,
                    "stage_id": stage.id,
                    "value_minor": rng.randint(1, 400) * 25000,
                    "currency": org.currency,
                    "expected_close": (now + dt.timedelta(days=rng.randint(-60, 180))).date(),
                    "owner_id": rng.choice(owners),
                    "contact_id": contact_id,
                    "company_id": company_id,
                    "rank": i,
                    "closed_at": created + dt.timedelta(days=rng.randint(5, 60))
                    if closed
                    else None,
                    "lost_reason": "Went with a cheaper offer" if stage.kind == "lost" else "",
                    "tags": [],
                    "custom": {},
                    "search_name": fold(title),
                    "created_at": created,
                    "updated_at": created,
                }
            )
        _insert(Deal, deals)

        activities = []
        kinds = list(SUBJECTS)
        for _i in range(counts["activities"]):
            kind = rng.choices(kinds, (5, 2, 4, 3, 2))[0]
            contact_id, company_id = rng.choice(contact_rows)
            days = rng.randint(-14, 540)  # 18 months back, and the next two weeks
            when = stamp(days)
            open_todo = kind == "todo" and days < 20 and rng.random() < 0.6
            activities.append(
                {
                    **base,
                    "kind": kind,
                    "subject": rng.choice(SUBJECTS[kind]),
                    "body": "",
                    "happened_at": when,
                    "due_at": when if kind in ("todo", "call", "meeting") else None,
                    "done_at": None if open_todo else when,
                    "remind_at": None,
                    "reminded_at": None,
                    "owner_id": rng.choice(owners),
                    "created_by_id": owner.id,
                    "contact_id": contact_id,
                    "company_id": company_id,
                    "deal_id": None,
                    "lead_id": None,
                    "created_at": when,
                    "updated_at": when,
                }
            )
        _insert(Activity, activities)
    return {
        "companies": len(companies),
        "contacts": len(contacts),
        "leads": len(leads),
        "deals": len(deals),
        "activities": len(activities),
    }

"""Server time of the CRM's busiest pages on `demo --size large` (100k contacts, 20k deals).

    .venv/bin/python scripts/bench/crm.py [--data DIR] [--runs 200]

Loads the large demo into a throw-away data folder (or reuses DIR when it holds one), then
requests each page in-process through the full Flask stack (routing, sessions, tenancy, SQL,
Jinja rendering) as the demo owner and prints p50/p95 in milliseconds: the contacts list
(default, filtered by owner, sorted by date, searched), a contact page, the companies list, and
the deal board when the deals module is there. Goals: lists and record pages p95 <= 30 ms,
board p95 <= 100 ms.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def ensure_demo(data: Path) -> None:
    if (data / "startvora.db").exists():
        return
    env = {**os.environ, "STARTVORA_DATA": str(data)}
    startvora = [sys.executable, "-m", "startvora"]
    subprocess.run([*startvora, "init"], env=env, check=True, capture_output=True)
    started = time.perf_counter()
    subprocess.run([*startvora, "demo", "--size", "large"], env=env, check=True)
    print(f"demo --size large loaded in {time.perf_counter() - started:.1f} s")


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return statistics.median(ordered), p95


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    data = args.data or Path(tempfile.mkdtemp(prefix="startvora-crm-bench-"))
    ensure_demo(data)

    from startvora import create_app
    from startvora.auth.models import User
    from startvora.core.tenancy import org_context
    from startvora.crm.models import Contact
    from startvora.extensions import db
    from startvora.orgs.models import Organization

    app = create_app({"data_dir": str(data), "queue.immediate": True}, migrations=False)
    gc.freeze()  # as startvora.wsgi does in each web worker
    with app.app_context():
        org = db.session.execute(
            db.select(Organization).where(Organization.slug == "demo")
        ).scalar_one()
        owner = db.session.execute(
            db.select(User).where(User.email == "owner@demo.example.com")
        ).scalar_one()
        with org_context(org.id):
            contact_ids = list(db.session.execute(db.select(Contact.id).limit(5000)).scalars())
            total = db.session.execute(db.select(db.func.count(Contact.id))).scalar_one()
        owner_id, user_cookie = owner.id, owner.get_id()
    print(f"{total} contacts in the demo organization")
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user_cookie
        session["_fresh"] = True
    rng = random.Random(1)
    base = "/o/demo/crm"
    pages = {
        "contacts list": lambda: f"{base}/contacts",
        "contacts, filtered by owner": lambda: f"{base}/contacts?f_owner={owner_id}",
        "contacts, sorted by date": lambda: f"{base}/contacts?sort=created&dir=desc",
        "contacts, searched": lambda: (
            f"{base}/contacts?q={rng.choice(('maria', 'berger', 'lena co', 'yusuf'))}"
        ),
        "contacts, htmx fragment": lambda: f"{base}/contacts?q=sara",
        "contact page": lambda: f"{base}/contacts/{rng.choice(contact_ids)}",
        "companies list": lambda: f"{base}/companies",
    }
    if "crm.deals_board" in app.view_functions:
        pages["deal board"] = lambda: f"{base}/deals"
    print(f"{'page':32} {'p50 ms':>8} {'p95 ms':>8}   ({args.runs} requests each)")
    for name, url in pages.items():
        headers = {"HX-Request": "true"} if "htmx" in name else {}
        for _ in range(5):  # warm caches
            client.get(url(), headers=headers)
        samples = []
        for _ in range(args.runs):
            target = url()
            started = time.perf_counter()
            response = client.get(target, headers=headers)
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (target, response.status_code)
        p50, p95 = percentiles(samples)
        print(f"{name:32} {p50:8.1f} {p95:8.1f}")


if __name__ == "__main__":
    main()

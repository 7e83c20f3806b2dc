"""Server time of the finance reports on a demo data folder: pages and the API.

    .venv/bin/python scripts/bench/finance_reports.py --data DIR [--runs 50]

DIR is a data folder made by `startvora init` then `startvora demo --size large` (or small). The
requests go in-process through the full Flask stack as the demo owner; the API ones with a
personal access token made for the run and revoked after it. Prints p50/p95 in milliseconds of:
the profit and loss of the last 12 months by month, the receivables aging as of today, the tax
summary and revenue by customer for a year, and the profit and loss through the API.

The first request computes the monthly totals when the folder has none yet (a demo loaded
before they were kept); that time is printed on its own, not counted in the percentiles.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a data folder with demo data")
    parser.add_argument("--runs", type=int, default=50, help="requests per report (default 50)")
    args = parser.parse_args()
    if not (args.data / "startvora.db").exists():
        parser.error(
            f"{args.data} holds no startvora.db: run `startvora init` and `startvora demo`"
        )

    from startvora import create_app
    from startvora.auth import tokens
    from startvora.auth.models import User
    from startvora.core.tenancy import org_context
    from startvora.extensions import db
    from startvora.finance import services
    from startvora.finance.ledger import PeriodTotal
    from startvora.finance.models import Invoice
    from startvora.orgs.models import Organization

    app = create_app({"data_dir": str(args.data), "queue.immediate": True}, migrations=False)
    gc.freeze()  # as startvora.wsgi does in each web worker
    with app.app_context():
        org = db.session.execute(
            db.select(Organization).where(Organization.slug == "demo")
        ).scalar_one()
        owner = db.session.execute(
            db.select(User).where(User.email == "owner@demo.example.com")
        ).scalar_one()
        with org_context(org.id):
            invoices = db.session.execute(db.select(db.func.count(Invoice.id))).scalar_one()
            open_now = db.session.execute(
                db.select(db.func.count(Invoice.id)).where(Invoice.is_open.is_(True))
            ).scalar_one()
            totals = db.session.execute(db.select(db.func.count(PeriodTotal.id))).scalar_one()
            token, plain = tokens.create_token(owner, org.id, "finance reports benchmark")
            db.session.commit()
            token_id = token.id
        today = services.today_of(org)
        cookie = owner.get_id()
    print(f"{invoices} invoices ({open_now} open), {totals} monthly totals, today {today}")

    year_ago = (today.replace(day=1) - dt.timedelta(days=335)).replace(day=1)
    last_12 = f"start={year_ago.isoformat()}&end={today.isoformat()}"
    base = "/o/demo/finance/reports"
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = cookie
        session["_fresh"] = True
    api = {"Authorization": f"Bearer {plain}"}
    cases = {
        "P&L, last 12 months by month": (f"{base}/profit-and-loss?{last_12}&by=month", {}),
        "receivables aging, today": (f"{base}/receivables-aging", {}),
        "tax summary, this year": (f"{base}/tax-summary?range=this_year", {}),
        "revenue by customer, this year": (f"{base}/revenue-by-customer?range=this_year", {}),
        "API: P&L, last 12 months": (f"/api/v1/reports/profit-and-loss?{last_12}", api),
    }
    started = time.perf_counter()
    first = client.get(cases["P&L, last 12 months by month"][0])
    assert first.status_code == 200, first.status_code
    elapsed = (time.perf_counter() - started) * 1000
    print(f"first request (totals computed if missing): {elapsed:.0f} ms")
    try:
        print(f"{'request':34} {'p50 ms':>8} {'p95 ms':>8}   ({args.runs} requests each)")
        for name, (url, headers) in cases.items():
            for _ in range(3):
                client.get(url, headers=headers)
            samples = []
            for _ in range(args.runs):
                started = time.perf_counter()
                response = client.get(url, headers=headers)
                samples.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (url, response.status_code)
            p50, p95 = percentiles(samples)
            print(f"{name:34} {p50:8.1f} {p95:8.1f}")
    finally:
        with app.app_context(), org_context(org.id):
            tokens.revoke(db.session.get(type(token), token_id))
            db.session.commit()


if __name__ == "__main__":
    main()

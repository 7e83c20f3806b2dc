"""Server time of the finance pages on `demo --size large` (200k invoices), and PDF rendering.

    .venv/bin/python scripts/bench/finance.py [--data DIR] [--runs 200] [--pdfs 50]

Loads the large demo into a throw-away data folder (or reuses DIR when it holds one), then
requests pages in-process through the full Flask stack as the demo owner and prints p50/p95 in
milliseconds: the invoices list (default, filtered by state, searched, sorted by total), an
invoice page; then renders one-page invoices to PDF and prints p50/p95 per invoice. Goals:
list p95 <= 30 ms, PDF p95 <= 250 ms.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts" / "bench"))

from crm import ensure_demo  # noqa: E402  (the same throw-away large demo)


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--pdfs", type=int, default=50)
    args = parser.parse_args()
    data = args.data or Path(tempfile.mkdtemp(prefix="startvora-finance-bench-"))
    ensure_demo(data)

    from startvora import create_app
    from startvora.auth.models import User
    from startvora.core.tenancy import org_context
    from startvora.extensions import db
    from startvora.finance import pdf, services
    from startvora.finance.models import Invoice
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
            total = db.session.execute(db.select(db.func.count(Invoice.id))).scalar_one()
            ids = list(
                db.session.execute(
                    db.select(Invoice.id).where(Invoice.status == "issued").limit(5000)
                ).scalars()
            )
        cookie = owner.get_id()
    print(f"{total} invoices in the demo organization")
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = cookie
        session["_fresh"] = True
    rng = random.Random(1)
    base = "/o/demo/finance/invoices"
    pages = {
        "invoices list": lambda: base,
        "invoices, overdue": lambda: f"{base}?f_state=overdue",
        "invoices, searched": lambda: f"{base}?q={rng.choice(('summit', 'harbor', 'inv-2026-01'))}",
        "invoices, sorted by total": lambda: f"{base}?sort=total&dir=desc",
        "invoice page": lambda: f"{base}/{rng.choice(ids)}",
    }
    print(f"{'page':32} {'p50 ms':>8} {'p95 ms':>8}   ({args.runs} requests each)")
    for name, url in pages.items():
        for _ in range(30):  # warm: templates compiled, the connection's page cache filled
            client.get(url())
        samples = []
        for _ in range(args.runs):
            target = url()
            started = time.perf_counter()
            response = client.get(target)
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (target, response.status_code)
        p50, p95 = percentiles(samples)
        print(f"{name:32} {p50:8.1f} {p95:8.1f}")

    with app.app_context(), org_context(org.id), app.test_request_context():
        org = db.session.get(Organization, org.id)
        settings = services.settings_of(org.id)
        chosen = rng.sample(ids, min(args.pdfs, len(ids)))
        pdf.invoice_pdf(db.session.get(Invoice, chosen[0]), org, settings)  # warm up
        samples = []
        for invoice_id in chosen:
            invoice = db.session.get(Invoice, invoice_id)
            started = time.perf_counter()
            body = pdf.invoice_pdf(invoice, org, settings)
            samples.append((time.perf_counter() - started) * 1000)
            assert body.startswith(b"%PDF")
        p50, p95 = percentiles(samples)
        print(f"{'invoice PDF (one page)':32} {p50:8.1f} {p95:8.1f}   ({len(samples)} invoices)")


if __name__ == "__main__":
    main()

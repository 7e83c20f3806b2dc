"""Import speed of contacts: a 50k-row CSV through the same code path as the import page.

    .venv/bin/python scripts/bench/crm_import.py [--rows 50000] [--profile]

Builds a CSV of contacts (names, emails, phones, companies, tags, a custom field; 2 % of the
rows invalid and 1 % duplicates of earlier rows), reads it with core.importer and runs the
import job (`run_import`) on a fresh database in a temporary data folder. Prints the time to
read the file, the job's rows per second, and the outcome counts. The goal is >= 20,000 rows/s.
With --profile, prints the functions that take the most time.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import gc
import io
import pstats
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

FIRST = ["Ada", "Björn", "Chloé", "Dmitri", "Emma", "Farah", "Giulia", "Hiro", "Ines", "Jonas"]
LAST = ["Lovelace", "Müller", "Dubois", "Ivanov", "Smith", "Haddad", "Rossi", "Tanaka", "Silva"]
COMPANIES = [f"Company {n} Ltd" for n in range(200)]


def build_csv(rows: int, seed: int = 7) -> bytes:
    rnd = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["First name", "Last name", "E-mail", "Phone", "Company", "City", "Tags", "Segment"]
    )
    for n in range(rows):
        email = f"person{n}@example{n % 97}.test"
        phone = f"+49 30 {rnd.randrange(1000000, 9999999)}"
        if n % 50 == 7:
            email = "not-an-email"  # 2 % invalid
        if n % 100 == 11:
            email = f"person{n - 1}@example{(n - 1) % 97}.test"  # 1 % duplicates
        writer.writerow(
            [
                rnd.choice(FIRST),
                rnd.choice(LAST),
                email,
                phone,
                rnd.choice(COMPANIES),
                rnd.choice(["Berlin", "Paris", "Lisbon", "Kyoto"]),
                rnd.choice(["", "vip", "newsletter, vip", "partner"]),
                rnd.choice(["Retail", "Wholesale"]),
            ]
        )
    return out.getvalue().encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    from startvora import create_app
    from startvora.core import importer
    from startvora.core.customfields import CustomField
    from startvora.core.imports import ImportRun
    from startvora.core.storage import storage
    from startvora.core.tenancy import org_context, system_context
    from startvora.extensions import db
    from tests import factories

    data = build_csv(args.rows)
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"data_dir": folder, "queue.immediate": True})
        with app.app_context():
            with system_context("benchmark set-up"):
                db.create_all()
                org = factories.make_org(name="Bench", slug="bench")
                owner = factories.make_member(org, "owner", name="Olivia Owner")
                db.session.add(
                    CustomField(
                        org_id=org.id,
                        entity="contact",
                        key="segment",
                        label="Segment",
                        kind="choice",
                        choices=["Retail", "Wholesale"],
                    )
                )
                db.session.commit()
                org_id, user_id = org.id, owner.id

            # The job runs as the worker runs it: scoped to the organization, not unscoped.
            started = time.perf_counter()
            table = importer.read_table(data, "contacts.csv")
            read_s = time.perf_counter() - started
            with org_context(org_id):
                target = importer.get_target("contacts")
                assert target is not None, "the CRM's import targets are not registered"
                mapping = importer.suggest_mapping(table.columns, target(org_id, user_id).fields())
                storage().put(f"org-{org_id}/imports/bench.csv", data, "text/csv")
                run = ImportRun(
                    org_id=org_id,
                    user_id=user_id,
                    entity="contacts",
                    filename="contacts.csv",
                    file_key=f"org-{org_id}/imports/bench.csv",
                    encoding=table.encoding,
                    columns=table.columns,
                    mapping=mapping,
                    total=len(table.rows),
                    status="queued",
                )
                db.session.add(run)
                db.session.commit()
                run_id = run.id

            gc.freeze()  # as `startvora worker` does once started
            profiler = cProfile.Profile() if args.profile else None
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            importer.run_import.call_local(org_id, run_id)
            if profiler:
                profiler.disable()
            job_s = time.perf_counter() - started

            with org_context(org_id):
                run = db.session.get(ImportRun, run_id)
                print(f"rows: {run.total:,} ({len(data) / 1e6:.1f} MB, {table.encoding})")
                print(f"read the file: {read_s:.2f} s ({run.total / read_s:,.0f} rows/s)")
                print(f"import job: {job_s:.2f} s -> {run.total / job_s:,.0f} rows/s")
                print(
                    f"created {run.created:,}, updated {run.updated:,}, skipped {run.skipped:,}, "
                    f"failed {run.failed:,}; status {run.status}"
                )
            if profiler:
                stats = pstats.Stats(profiler)
                stats.sort_stats("cumulative").print_stats("startvora|sqlite3|commit", 40)


if __name__ == "__main__":
    main()

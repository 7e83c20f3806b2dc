"""Two processes changing the same records at the same moment: each change happens once, the
other is refused, and the report totals still equal a recount."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from startvora.core.tenancy import org_context
from startvora.extensions import db as _db
from startvora.finance import expenses, ledger
from startvora.finance.expense_models import Expense
from startvora.finance.models import Invoice, InvoiceLine
from tests import factories

RACER = textwrap.dedent(
    """
    import sys
    import time
    from pathlib import Path
    from startvora import create_app
    from startvora.core.tenancy import org_context
    from startvora.extensions import db
    from startvora.finance import expenses, services
    from startvora.finance.expense_models import Expense
    from startvora.finance.models import Invoice

    data, org_id, me = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    expense_ids = [int(i) for i in sys.argv[4].split(",")]
    draft_ids = [int(i) for i in sys.argv[5].split(",")]
    mine = int(sys.argv[6])  # this process's own draft, to bill the expenses on
    app = create_app({"data_dir": data, "queue.immediate": True}, migrations=False)
    Path(data, f"ready-{me}").touch()
    while not Path(data, "go").exists():
        time.sleep(0.01)
    done = refused = 0
    with app.app_context(), org_context(org_id):
        steps = [("approve", i) for i in expense_ids] + [("issue", i) for i in draft_ids]
        steps += [("bill", i) for i in expense_ids]
        for action, record_id in steps:
            try:
                if action == "approve":
                    expenses.approve(org_id, None, db.session.get(Expense, record_id))
                elif action == "issue":
                    services.issue(org_id, None, db.session.get(Invoice, record_id))
                else:
                    expense = db.session.get(Expense, record_id)
                    expenses.add_to_invoice(org_id, None, db.session.get(Invoice, mine), [expense])
                db.session.commit()
                done += 1
            except services.FinanceError:
                db.session.rollback()
                refused += 1
    Path(data, f"result-{me}").write_text(f"{done} {refused}")
    """
)


def test_two_processes_approving_issuing_and_billing_the_same_records(app, people):
    org = people.org_a
    with org_context(org.id):
        customer = factories.make_company(org)
        expense_ids = [
            factories.make_expense(org, billable=True, customer_company_id=customer.id).id
            for _ in range(15)
        ]
        draft_ids = [factories.make_invoice(org, customer).id for _ in range(15)]
        own = [factories.make_invoice(org, customer).id for _ in range(2)]
        _db.session.commit()
    data = Path(app.extensions["startvora.settings"].data_dir)
    joined = ",".join(map(str, expense_ids)), ",".join(map(str, draft_ids))
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(data), str(org.id), me, *joined, str(draft)]
        )
        for me, draft in (("a", own[0]), ("b", own[1]))
    ]
    deadline = time.monotonic() + 60
    while not all((data / f"ready-{me}").exists() for me in "ab") and time.monotonic() < deadline:
        time.sleep(0.05)
    (data / "go").touch()
    try:
        assert [w.wait(timeout=180) for w in workers] == [0, 0]
        results = [(data / f"result-{me}").read_text().split() for me in "ab"]
    finally:
        for name in ("ready-a", "ready-b", "go", "result-a", "result-b"):
            (data / name).unlink(missing_ok=True)
    done = sum(int(r[0]) for r in results)
    refused = sum(int(r[1]) for r in results)
    assert (done, refused) == (45, 45)  # each of 45 changes once; each second attempt refused
    _db.session.expire_all()
    with org_context(org.id):
        approved = _db.session.execute(
            _db.select(Expense.status).where(Expense.id.in_(expense_ids))
        ).scalars()
        assert set(approved) == {"approved"}
        numbers = sorted(
            _db.session.execute(_db.select(Invoice.number).where(Invoice.id.in_(draft_ids)))
            .scalars()
        )  # fmt: skip
        assert numbers == [f"INV-2026-{n:04d}" for n in range(1, 16)]  # no gap, none twice
        billed = list(
            _db.session.execute(
                _db.select(InvoiceLine.expense_id).where(InvoiceLine.expense_id.is_not(None))
            ).scalars()
        )
        assert sorted(billed) == sorted(expense_ids)  # every expense on exactly one draft
        assert expenses.unbilled(customer.id, None) == []
        assert ledger.stored(org.id) == ledger.compute(org.id)

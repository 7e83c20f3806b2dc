"""Gapless numbering: patterns, periods, and two processes issuing at the same moment."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from startvora.core import numbering
from startvora.core.tenancy import org_context
from startvora.extensions import db as _db
from startvora.finance import services
from startvora.finance.models import Invoice
from tests import factories


@pytest.mark.parametrize(
    ("pattern", "day", "value", "expected"),
    [
        ("INV-{YYYY}-{0000}", dt.date(2026, 3, 5), 7, "INV-2026-0007"),
        ("Q{YY}{MM}-{000}", dt.date(2026, 3, 5), 12, "Q2603-012"),
        ("{DD}.{MM}.{YYYY}/{00}", dt.date(2026, 3, 5), 123, "05.03.2026/123"),  # never cut
        ("CN{0}", dt.date(2026, 3, 5), 5, "CN5"),
    ],
)
def test_patterns_fill_in_the_date_and_the_counter(pattern, day, value, expected):
    assert numbering.check_pattern(pattern) == pattern
    assert numbering.render(pattern, day, value) == expected


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("INV-{YYYY}", "exactly one counter"),
        ("{000}-{000}", "exactly one counter"),
        ("INV {0000}", "spaces"),
        ("INV-{Year}-{000}", "Use only"),
        ("", "1 to 40 characters"),
        ("X" * 41 + "{0}", "1 to 40 characters"),
    ],
)
def test_bad_patterns_are_refused_with_a_reason(pattern, message):
    with pytest.raises(ValueError, match=message):
        numbering.check_pattern(pattern)


def test_a_yearly_pattern_starts_again_each_year_and_a_rollback_gives_the_number_back(people):
    org = people.org_a
    with org_context(org.id):
        take = lambda day: numbering.take(org.id, "invoice", "INV-{YYYY}-{000}", day)  # noqa: E731
        assert take(dt.date(2026, 12, 31)) == "INV-2026-001"
        assert take(dt.date(2026, 12, 31)) == "INV-2026-002"
        _db.session.commit()
        assert take(dt.date(2026, 12, 31)) == "INV-2026-003"
        _db.session.rollback()  # the issuing failed: the number was never used
        assert take(dt.date(2027, 1, 1)) == "INV-2027-001"
        assert take(dt.date(2026, 6, 1)) == "INV-2026-003"
        assert (
            numbering.peek(org.id, "invoice", "INV-{YYYY}-{000}", dt.date(2026, 6, 1))
            == "INV-2026-004"
        )
        _db.session.commit()
    with org_context(people.org_b.id):  # another organization counts on its own
        assert (
            numbering.take(people.org_b.id, "invoice", "INV-{YYYY}-{000}", dt.date(2026, 1, 1))
            == "INV-2026-001"
        )


ISSUER = textwrap.dedent(
    """
    import sys
    import time
    from pathlib import Path
    from startvora import create_app
    from startvora.core.tenancy import org_context
    from startvora.extensions import db
    from startvora.finance import services
    from startvora.finance.models import Invoice

    data, org_id, ids = sys.argv[1], int(sys.argv[2]), [int(i) for i in sys.argv[3].split(",")]
    app = create_app({"data_dir": data, "queue.immediate": True}, migrations=False)
    Path(data, f"ready-{ids[0]}").touch()
    while not Path(data, "go").exists():  # both start issuing at the same moment
        time.sleep(0.01)
    with app.app_context(), org_context(org_id):
        for invoice_id in ids:
            invoice = db.session.get(Invoice, invoice_id)
            services.issue(org_id, None, invoice)
            db.session.commit()
    """
)


def test_two_processes_issuing_at_once_never_share_or_skip_a_number(app, people):
    org = people.org_a
    with org_context(org.id):
        customer = factories.make_company(org)
        ids = [
            factories.make_invoice(org, customer=customer, issue_date="2026-02-01").id
            for _ in range(40)
        ]
        _db.session.commit()
    data = str(app.extensions["startvora.settings"].data_dir)
    halves = [",".join(map(str, ids[0::2])), ",".join(map(str, ids[1::2]))]
    workers = [
        subprocess.Popen([sys.executable, "-c", ISSUER, data, str(org.id), half]) for half in halves
    ]
    ready = [Path(data, f"ready-{ids[0]}"), Path(data, f"ready-{ids[1]}")]
    deadline = time.monotonic() + 60
    while not all(r.exists() for r in ready) and time.monotonic() < deadline:
        time.sleep(0.05)
    Path(data, "go").touch()
    try:
        assert [w.wait(timeout=120) for w in workers] == [0, 0]
    finally:
        for path in (*ready, Path(data, "go")):
            path.unlink(missing_ok=True)
    _db.session.expire_all()
    with org_context(org.id):
        numbers = sorted(
            _db.session.execute(_db.select(Invoice.number).where(Invoice.id.in_(ids))).scalars()
        )
    assert numbers == [f"INV-2026-{n:04d}" for n in range(1, 41)]
    with org_context(org.id):
        assert services.settings_of(org.id).invoice_pattern == "INV-{YYYY}-{0000}"

"""SQLite pragmas on every connection, after-commit callbacks, aware timestamps."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest
from sqlalchemy import text

from startvora.core.db import UTCDateTime, after_commit, fold
from startvora.extensions import db as _db


def test_pragmas_on_every_connection(app, db):
    for _ in range(2):
        with _db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 5000
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL


def test_foreign_keys_are_enforced(db):
    from sqlalchemy.exc import IntegrityError

    from startvora.orgs.models import Membership

    _db.session.add(Membership(org_id=999, user_id=999, role="member"))
    with pytest.raises(IntegrityError):
        _db.session.flush()
    _db.session.rollback()


def test_after_commit_runs_only_after_commit(db):
    seen: list[str] = []
    after_commit(seen.append, "first")
    _db.session.rollback()
    assert seen == []
    after_commit(seen.append, "second")
    _db.session.execute(text("SELECT 1"))
    assert seen == []
    _db.session.commit()
    assert seen == ["second"]


def test_a_failing_callback_does_not_break_the_commit(db, caplog):
    def boom() -> None:
        raise RuntimeError("side effect failed")

    after_commit(boom)
    _db.session.commit()
    assert "after-commit callback boom failed" in caplog.text


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive datetime"):
        UTCDateTime().process_bind_param(dt.datetime(2026, 1, 1), None)
    aware = dt.datetime(2026, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    stored = UTCDateTime().process_bind_param(aware, None)
    assert stored == dt.datetime(2026, 1, 1, 10)


@pytest.mark.parametrize(
    "text",
    [
        "Ada  Lovelace",
        "ADA@Example.COM",
        " tabs\tand\nlines ",
        "Zoë Ångström",
        "ﬁne Straße",
        "Δήμητρα",
        "𝔸da",
    ],
)
def test_fold_gives_the_same_keys_for_plain_and_accented_text(text):
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    slow = " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())
    assert fold(text) == slow

"""Safe upgrades: a snapshot is taken before migrating; a migration that fails puts the data
back as it was and says so."""

from __future__ import annotations

import shutil
import sqlite3
import textwrap

import pytest

from startvora import create_app
from startvora.core import schema
from startvora.ops import snapshots
from startvora.ops.upgrade import UpgradeError, safe_upgrade
from startvora.paths import PACKAGE_DIR

FAILING = textwrap.dedent(
    '''
    """A migration that fails half-way (for the test)."""
    import sqlalchemy as sa
    from alembic import op

    revision = "ffff00000001"
    down_revision = "{head}"
    branch_labels = None
    depends_on = None


    def upgrade() -> None:
        op.create_table("half_done", sa.Column("id", sa.Integer, primary_key=True))
        op.execute("UPDATE orgs_organizations SET name = 'changed by a broken upgrade'")
        op.execute("SELECT no_such_function()")


    def downgrade() -> None:
        pass
    '''
)


@pytest.fixture
def instance(tmp_path):
    app = create_app({"data_dir": str(tmp_path / "data"), "queue.immediate": True})
    before, after, snapshot = safe_upgrade(app)  # a new database: no snapshot needed
    assert before is None and snapshot is None and after in schema.heads()
    db = tmp_path / "data" / "startvora.db"
    con = sqlite3.connect(db)
    con.execute(
        "INSERT INTO orgs_organizations (slug, name, locale, timezone, currency, legal_name,"
        " address, tax_id, fiscal_year_start, date_format, require_2fa, created_at, updated_at)"
        " VALUES ('acme', 'Acme', 'en', 'UTC', 'EUR', '', '', '', 1, 'locale', 0,"
        " '2026-01-01', '2026-01-01')"
    )
    con.commit()
    con.close()
    return app, db


def test_a_failing_migration_puts_the_data_back(instance, tmp_path):
    app, db = instance
    (head,) = schema.heads()
    migrations = tmp_path / "migrations"
    shutil.copytree(
        PACKAGE_DIR / "migrations", migrations, ignore=shutil.ignore_patterns("__pycache__")
    )
    (migrations / "versions" / "20991231_ffff00000001_broken.py").write_text(
        FAILING.format(head=head)
    )
    with pytest.raises(UpgradeError, match="put back") as failed:
        safe_upgrade(app, directory=str(migrations))
    assert "no_such_function" in str(failed.value)
    con = sqlite3.connect(db)
    assert con.execute("SELECT name FROM orgs_organizations").fetchall() == [("Acme",)]
    assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [(head,)]
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "half_done" not in tables
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    settings = app.extensions["startvora.settings"]
    assert [s.reason for s in snapshots.snapshots(settings)] == ["pre-upgrade"]


def test_an_up_to_date_database_is_left_alone(instance):
    app, _db = instance
    before, after, snapshot = safe_upgrade(app)
    assert before == after and snapshot is None

"""Migrations upgrade an empty database, agree with the models, and downgrade again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect

from startvora import create_app
from startvora.extensions import db


def test_upgrade_from_empty_matches_models(tmp_path):
    app = create_app({"TESTING": True, "data_dir": str(tmp_path), "queue.immediate": True})
    with app.app_context():
        directory = app.extensions["migrate"].directory
        upgrade(directory=directory)
        engine = create_engine(f"sqlite:///{tmp_path / 'startvora.db'}")
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    # The full-text indexes are virtual tables the models do not describe.
                    "include_object": lambda obj, name, type_, *_: (
                        not (type_ == "table" and "_fts" in (name or ""))
                    ),
                },
            )
            assert compare_metadata(context, db.metadata) == []
        assert {"auth_users", "orgs_organizations", "orgs_memberships"} <= set(
            inspect(engine).get_table_names()
        )
        downgrade(directory=directory, revision="base")
        assert inspect(engine).get_table_names() == ["alembic_version"]
        engine.dispose()

"""Alembic environment: runs inside the Flask app, in batch mode so SQLite can ALTER."""

from __future__ import annotations

import logging

from alembic import context
from flask import current_app

log = logging.getLogger("alembic.env")
config = context.config
target_db = current_app.extensions["migrate"].db


def _skip_empty(ctx, revision, directives):  # type: ignore[no-untyped-def]
    # `db revision --autogenerate` with no model change writes no empty file.
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        log.info("No changes in schema detected.")


def _render_item(kind, obj, autogen_context):  # type: ignore[no-untyped-def]
    # Migrations must not import application code: UTCDateTime is stored as a plain DateTime,
    # DecimalText as a plain string.
    from startvora.core.db import DecimalText, UTCDateTime

    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    if kind == "type" and isinstance(obj, DecimalText):
        return "sa.String(length=40)"
    return False


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    # Full-text indexes (FTS5 virtual tables and their shadow tables) are made by hand.
    return not (type_ == "table" and "_fts" in (name or ""))


def run_offline() -> None:
    context.configure(
        url=str(target_db.engine.url),
        target_metadata=target_db.metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    options = dict(current_app.extensions["migrate"].configure_args)
    options.setdefault("process_revision_directives", _skip_empty)
    options.setdefault("render_as_batch", True)
    options.setdefault("compare_type", True)
    options.setdefault("render_item", _render_item)
    options.setdefault("include_object", include_object)
    with target_db.engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_db.metadata, **options)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()

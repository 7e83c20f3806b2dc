"""Soft deletion to a trash with restore, for every module.

A model with SoftDeleteMixin is never deleted by people: `trash(obj, user)` stamps it, and from
then on queries do not see it (a session hook adds `deleted_at IS NULL`), unless they ask with
`execution_options(include_deleted=True)`. Each module registers its kinds, and the one Trash
page lists what was deleted, restores it, or removes it for good.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column, with_loader_criteria

from startvora.core.db import UTCDateTime, utcnow
from startvora.extensions import db


class SoftDeleteMixin:
    """Rows that go to the trash first."""

    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    deleted_by_id: Mapped[int | None] = mapped_column()


@event.listens_for(Session, "do_orm_execute")
def _hide_deleted(state: ORMExecuteState) -> None:
    if (
        state.is_select
        and not state.is_column_load
        and not state.is_relationship_load
        and not state.execution_options.get("include_deleted", False)
    ):
        state.statement = state.statement.options(
            with_loader_criteria(
                SoftDeleteMixin,
                lambda cls: cls.deleted_at.is_(None),
                include_aliases=True,
            )
        )


@dataclasses.dataclass(frozen=True)
class TrashKind:
    """What the Trash page shows of one model."""

    key: str
    label: Any
    model: type
    title: Callable[[Any], str]
    permission: str  # needed to restore or remove for good
    purge: Callable[[Any], None] | None = None  # removes dependants first, when there are some


def kinds(app: Flask | None = None) -> dict[str, TrashKind]:
    return (app or current_app).extensions.setdefault("startvora.trash_kinds", {})


def register(app: Flask, kind: TrashKind) -> None:
    kinds(app)[kind.key] = kind


def trash(obj: Any, user_id: int | None) -> None:
    """Move a row to the trash (flushes)."""
    obj.deleted_at, obj.deleted_by_id = utcnow(), user_id
    db.session.flush()


def restore(obj: Any) -> None:
    obj.deleted_at, obj.deleted_by_id = None, None
    db.session.flush()


def get_deleted(model: type, object_id: int) -> Any:
    """A trashed row by id (None when absent or not in the trash)."""
    obj = db.session.get(model, object_id, execution_options={"include_deleted": True})
    return obj if obj is not None and obj.deleted_at is not None else None


def deleted_rows(kind: TrashKind, org_id: int, limit: int = 200) -> list[Any]:
    model: Any = kind.model
    return list(
        db.session.execute(
            db.select(model)
            .where(model.org_id == org_id, model.deleted_at.is_not(None))
            .order_by(model.deleted_at.desc())
            .limit(limit)
            .execution_options(include_deleted=True)
        ).scalars()
    )

"""Tenancy, fail-closed.

The organization is in the URL (/o/<org_slug>/...); a non-member gets 404, never 403. Every
business table has org_id through TenantMixin, and a session hook adds `org_id = current org`
to every query of a tenant model and fills it on insert. Code that runs with no organization
in context (tasks, the CLI) must say which one with `org_context(org_id)`, or open a named
`system_context("why")` for deliberate cross-organization work; otherwise it raises.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    has_app_context,
    jsonify,
    redirect,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import ForeignKey, event
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)

from startvora.core.htmx import from_htmx
from startvora.extensions import db, login_manager

log = logging.getLogger(__name__)
M = TypeVar("M")

_org_id: ContextVar[int | None] = ContextVar("startvora_org_id", default=None)
_system: ContextVar[str | None] = ContextVar("startvora_system_context", default=None)


class TenancyError(RuntimeError):
    """A tenant table was touched with no organization in context."""


class TenantMixin:
    """Rows that belong to one organization."""

    @declared_attr
    def org_id(cls) -> Mapped[int]:
        return mapped_column(
            ForeignKey("orgs_organizations.id", ondelete="CASCADE"), index=True, nullable=False
        )


def current_org_id() -> int | None:
    """The organization queries are scoped to: an explicit context, else the request's."""
    org_id = _org_id.get()
    if org_id is None and has_app_context():
        org = g.get("org")
        org_id = org.id if org is not None else None
    return org_id


@contextlib.contextmanager
def org_context(org_id: int) -> Iterator[None]:
    """Scope every tenant query in this block to one organization (tasks, the CLI)."""
    token = _org_id.set(org_id)
    try:
        yield
    finally:
        _org_id.reset(token)


@contextlib.contextmanager
def system_context(reason: str) -> Iterator[None]:
    """Deliberately unscoped work across organizations (migrations, admin, demo data)."""
    log.debug("system context: %s", reason)
    token = _system.set(reason)
    try:
        yield
    finally:
        _system.reset(token)


def _is_tenant(mapper: Any) -> bool:
    return isinstance(mapper.class_, type) and issubclass(mapper.class_, TenantMixin)


_TENANT_TABLES: tuple[int, frozenset[Any]] = (-1, frozenset())


def _tenant_tables() -> frozenset[Any]:
    """The tables of tenant models, worked out again only when a model was added (this runs
    for every query that selects no tenant entity)."""
    global _TENANT_TABLES
    known = len(db.Model.registry.mappers)
    if _TENANT_TABLES[0] != known:
        tables = set()
        todo = list(TenantMixin.__subclasses__())
        while todo:
            cls = todo.pop()
            todo.extend(cls.__subclasses__())
            if hasattr(cls, "__table__"):
                tables.add(cls.__table__)
        _TENANT_TABLES = (known, frozenset(tables))
    return _TENANT_TABLES[1]


def _touches_tenant_table(statement: Any) -> bool:
    """A tenant table anywhere in the statement, also where no entity is selected (a count)."""
    from sqlalchemy.sql.util import find_tables

    found = find_tables(statement, include_aliases=True, include_joins=True, include_selects=True)
    tenant = _tenant_tables()
    return any(t in tenant or getattr(t, "element", None) in tenant for t in found)


@event.listens_for(Session, "do_orm_execute")
def _scope_queries(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        return  # already scoped by the statement that loaded the parent
    if _system.get() is not None:
        return
    if not any(_is_tenant(m) for m in state.all_mappers) and not _touches_tenant_table(
        state.statement
    ):
        return
    org_id = current_org_id()
    if org_id is None:
        raise TenancyError(
            "a tenant table was queried with no organization in context; "
            "use org_context(org_id) or system_context(reason)"
        )
    state.statement = state.statement.options(
        with_loader_criteria(TenantMixin, lambda cls: cls.org_id == org_id, include_aliases=True)
    )


@event.listens_for(Session, "before_flush")
def _scope_inserts(session: Session, _context: Any, _instances: Any) -> None:
    if _system.get() is not None:
        return
    for obj in session.new:
        if not isinstance(obj, TenantMixin):
            continue
        org_id = current_org_id()
        if org_id is None:
            raise TenancyError(f"{type(obj).__name__} added with no organization in context")
        if obj.org_id is None:
            obj.org_id = org_id
        elif obj.org_id != org_id:
            raise TenancyError(f"{type(obj).__name__} added to another organization")


def unauthorized() -> Any:
    """HTML gets the sign-in page, htmx an HX-Redirect, JSON a 401."""
    target = url_for("auth.sign_in", next=request.full_path.rstrip("?"))
    if from_htmx():
        response = jsonify(error="sign-in required")
        response.status_code = 401
        response.headers["HX-Redirect"] = target
        return response
    if request.accept_mimetypes.best == "application/json" or request.path.startswith("/api/"):
        response = jsonify(
            type="about:blank", title="Unauthorized", status=401, detail="Sign in first."
        )
        response.status_code = 401
        response.mimetype = "application/problem+json"
        return response
    return redirect(target)


def load_org(slug: str) -> None:
    """Put the organization and the current user's membership on g, or answer 404/401.

    The organizations module registers how a membership is found
    (app.extensions["startvora.find_membership"]), so core stays free of domain imports.
    """
    if not current_user.is_authenticated:
        abort(login_manager.unauthorized())
    find_membership = current_app.extensions["startvora.find_membership"]
    membership = find_membership(slug, current_user.id)
    if membership is None:
        abort(404)
    g.org = membership.org
    g.membership = membership
    for guard in current_app.extensions.get("startvora.org_guards", ()):
        response = guard(membership.org, current_user)
        if response is not None:
            abort(response)


def org_blueprint(name: str, import_name: str, url_prefix: str = "") -> Blueprint:
    """A blueprint whose every route lives under /o/<org_slug>/ and needs membership."""
    bp = Blueprint(name, import_name, url_prefix=f"/o/<org_slug>{url_prefix}")

    @bp.url_value_preprocessor
    def _pull(_endpoint: str | None, values: dict[str, Any] | None) -> None:
        g.org_slug = (values or {}).pop("org_slug", None)

    @bp.before_request
    def _load() -> None:
        load_org(g.org_slug)

    return bp


def get_scoped_or_404(model: type[M], object_id: int) -> M:
    """Load a row of the current organization by id; any other organization's row is a 404."""
    obj = db.session.get(model, object_id)
    if obj is None or getattr(obj, "org_id", None) != g.org.id:
        abort(404)
    return obj


def init_app(app: Flask) -> None:
    login_manager.unauthorized_handler(unauthorized)

    @app.url_defaults
    def _org_slug(endpoint: str, values: dict[str, Any]) -> None:
        org = g.get("org")
        if (
            org is not None
            and "org_slug" not in values
            and app.url_map.is_endpoint_expecting(endpoint, "org_slug")
        ):
            values["org_slug"] = org.slug

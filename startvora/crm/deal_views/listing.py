"""The list of deals: search, filters, sort, saved views, bulk actions, CSV export."""

from __future__ import annotations

from typing import Any

from flask import g, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from startvora.core import audit, listview, money
from startvora.core.htmx import redirect_to, render
from startvora.core.permissions import require
from startvora.core.savedviews import views_for
from startvora.crm import deals, services
from startvora.crm.blueprints import bp
from startvora.crm.deal_views.common import STATUS_LABELS
from startvora.crm.models import Company, Contact, Deal, Stage
from startvora.crm.schemas import check_tags
from startvora.crm.services import CrmError
from startvora.extensions import db


def _of(column: Any, key: Any, link: Any) -> Any:
    """A column of the deal's stage, company or contact, without joining it to every row."""
    return select(column).where(key == link).scalar_subquery()


def deal_list_spec() -> listview.ListSpec:
    all_pipelines = deals.pipelines(g.org.id)
    several = len(all_pipelines) > 1
    stage_choices = [
        (str(s.id), f"{p.name} · {s.name}" if several else s.name)
        for p in all_pipelines
        for s in p.stages
    ]
    owners = [("me", _("Me"))] + [(str(i), n) for i, n in services.members_of(g.org.id)]

    def by_stage(stmt: Any, value: str) -> Any:
        return stmt.where(Deal.stage_id == int(value))

    def by_pipeline(stmt: Any, value: str) -> Any:
        return stmt.where(Deal.pipeline_id == int(value))

    def by_status(stmt: Any, value: str) -> Any:
        return stmt.where(Deal.stage_id.in_(select(Stage.id).where(Stage.kind == value)))

    def by_owner(stmt: Any, value: str) -> Any:
        if value == "none":
            return stmt.where(Deal.owner_id.is_(None))
        return stmt.where(Deal.owner_id == (current_user.id if value == "me" else int(value)))

    def query() -> Any:
        # Deals alone, their stage, people and owner loaded for the page's rows only: sorting
        # thousands of deals must not carry every joined column along.
        return (
            select(Deal)
            # Explicit, not only the session hooks: the list's count runs on a subquery.
            .where(Deal.org_id == g.org.id, Deal.deleted_at.is_(None))
            .options(
                selectinload(Deal.stage),
                selectinload(Deal.company),
                selectinload(Deal.contact),
                selectinload(Deal.owner),
            )
        )

    filters = [
        listview.Filter("status", _l("Status"), list(STATUS_LABELS.items()), by_status),
        listview.Filter("stage", _l("Stage"), stage_choices, by_stage),
        listview.Filter("owner", _l("Owner"), [*owners, ("none", _("No owner"))], by_owner),
    ]
    if several:
        pipeline_choices = [(str(p.id), p.name) for p in all_pipelines]
        filters.insert(
            0, listview.Filter("pipeline", _l("Pipeline"), pipeline_choices, by_pipeline)
        )
    return listview.ListSpec(
        name="deals",
        query=query,
        id=Deal.id,
        columns=[
            listview.Column("title", _l("Deal"), sort=Deal.search_name),
            listview.Column(
                "stage", _l("Stage"), sort=_of(Stage.position, Stage.id, Deal.stage_id)
            ),
            listview.Column("value", _l("Value"), sort=Deal.value_minor, align="end"),
            listview.Column(
                "close",
                _l("Expected close"),
                sort=func.coalesce(Deal.expected_close, "9999-12-31"),
                hide_on_phone=True,
            ),
            listview.Column("owner", _l("Owner"), hide_on_phone=True),
            listview.Column(
                "updated", _l("Updated"), sort=Deal.updated_at, align="end", hide_on_phone=True
            ),
        ],
        search_folded=[
            Deal.search_name,
            _of(Company.search_name, Company.id, Deal.company_id),
            _of(Contact.search_name, Contact.id, Deal.contact_id),
        ],
        filters=filters,
        default_sort="updated",
        default_desc=True,
        bulk=True,
        per_page=50,
    )


@bp.get("/deals/list")
@require("crm:view")
def deals_index() -> Any:
    """Every deal as a list: search, filters (status, stage, owner), sort, saved views."""
    page = listview.run(deal_list_spec())
    return render(
        "crm/deals/index.html",
        block="listing",
        page=page,
        owners=services.members_of(g.org.id),
        saved_views=views_for(g.org.id, current_user.id, "deals"),
        kind="deals",
        status_labels=STATUS_LABELS,
    )


def _selected() -> list[Deal]:
    ids = listview.selected_ids(request.form)
    if not ids:
        return []
    return list(db.session.execute(select(Deal).where(Deal.id.in_(ids))).scalars())


def _list_back() -> str:
    return url_for(
        "crm.deals_index", **listview.read_state(deal_list_spec(), request.form).params()
    )


@bp.post("/deals/bulk/<any(tag, assign):action>")
@require("crm:edit")
def deals_bulk(action: str) -> Any:
    """Add a tag to, or give an owner to, the ticked deals."""
    rows = _selected()
    if not rows:
        return redirect_to(_list_back(), _("Tick some rows first."), "warning")
    try:
        if action == "tag":
            tags = check_tags(request.form.get("tag", ""))
            if not tags:
                raise CrmError(_("Type a tag first."))
            changed = deals.tag_deals(g.org.id, rows, tags)
        else:
            raw = request.form.get("owner_id", "")
            changed = deals.assign_deals(g.org.id, rows, int(raw) if raw.isdigit() else None)
    except (CrmError, ValueError) as exc:
        db.session.rollback()
        return redirect_to(_list_back(), str(getattr(exc, "message", exc)), "error")
    db.session.commit()
    return redirect_to(
        _list_back(), ngettext("Changed %(num)d deal.", "Changed %(num)d deals.", changed)
    )


@bp.post("/deals/bulk/delete")
@require("crm:delete")
def deals_bulk_delete() -> Any:
    """Move the ticked deals to the trash."""
    count = deals.trash_deals(g.org.id, current_user.id, _selected())
    db.session.commit()
    return redirect_to(
        _list_back(),
        ngettext("%(num)d deal is in the trash.", "%(num)d deals are in the trash.", count),
    )


@bp.post("/deals/export")
@require("crm:view")
def deals_export() -> Any:
    """CSV of the ticked deals, or of every deal matching the list's filters."""
    spec = deal_list_spec()
    rows = _selected() or list(
        db.session.execute(
            listview.filtered(spec, listview.read_state(spec, request.form)).order_by(Deal.id)
        ).scalars()
    )
    audit.record(
        "crm.deals_exported", org=g.org, actor=current_user, summary=f"{len(rows)} deals to CSV"
    )
    db.session.commit()
    return listview.csv_response(
        f"{g.org.slug}-deals.csv",
        [
            _("Deal"),
            _("Stage"),
            _("Status"),
            _("Value"),
            _("Currency"),
            _("Expected close"),
            _("Owner"),
            _("Company"),
            _("Contact"),
            _("Tags"),
            _("Added"),
        ],
        (
            [
                d.title,
                d.stage.name,
                str(STATUS_LABELS[d.stage.kind]),
                str(money.from_minor(d.value_minor, d.currency)),
                d.currency,
                d.expected_close.isoformat() if d.expected_close else "",
                d.owner.name if d.owner else "",
                d.company.name if d.company else "",
                d.contact.display_name if d.contact else "",
                ", ".join(d.tags or []),
                d.created_at.date().isoformat(),
            ]
            for d in rows
        ),
    )

"""The pipeline board, and moving deals on it (a drag, or the Move dialog)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from flask import g, make_response, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from startvora.core.forms import form_data, parse
from startvora.core.htmx import is_htmx, redirect_to, render, trigger
from startvora.core.permissions import require
from startvora.core.tenancy import get_scoped_or_404
from startvora.crm import deals
from startvora.crm.blueprints import bp
from startvora.crm.deal_schemas import MoveIn
from startvora.crm.deal_views.common import pipeline_or_first
from startvora.crm.models import Deal, Pipeline, Stage
from startvora.crm.services import CrmError
from startvora.extensions import db


@bp.get("/deals")
@require("crm:view")
def deals_board() -> Any:
    """The pipeline board: a column per stage with its count, total and weighted value."""
    pipeline = pipeline_or_first(request.args.get("pipeline", type=int))
    mine = request.args.get("owner") == "me"
    board = deals.board(
        g.org.id, pipeline, g.org.currency, owner_id=current_user.id if mine else None
    )
    return render(
        "crm/deals/board.html",
        block="board",
        board=board,
        pipelines=deals.pipelines(g.org.id),
        mine=mine,
        today=dt.datetime.now(ZoneInfo(g.org.timezone)).date(),  # overdue in the org's day
    )


@bp.post("/deals/<int:deal_id>/move")
@require("crm:edit")
def deals_move(deal_id: int) -> Any:
    """Put a deal in another stage or place (a drag on the board, or the Move menu)."""
    deal = get_scoped_or_404(Deal, deal_id)
    back = _back_url(deal)
    data, errors = parse(
        MoveIn, form_data(request.form, ("stage_id", "before_id", "place", "lost_reason"))
    )
    try:
        if data is None:
            raise CrmError(next(iter(errors.values())))
        stage = db.session.get(Stage, data.stage_id)
        if stage is None or stage.org_id != g.org.id:
            raise CrmError(_("Choose a stage of the deal's pipeline."), "stage_id")
        deals.move_deal(
            g.org.id,
            current_user.id,
            deal,
            stage,
            data.before_id,
            place=data.place,
            lost_reason=data.lost_reason,
        )
    except CrmError as exc:
        db.session.rollback()
        if is_htmx():
            response = make_response("", 422)
            trigger(response, "dealsChanged")  # the board shows the deal where it really is
            return trigger(response, "showToast", {"message": str(exc.message), "level": "error"})
        return redirect_to(back, str(exc.message), "error")
    db.session.commit()
    if is_htmx():
        response = make_response("", 204)
        # The board refreshes itself (keeping its filters); the Move dialog closes after.
        trigger(response, "dealsChanged")
        return trigger(response, "closeModal")
    return redirect_to(
        back, _("%(title)s is now in %(stage)s.", title=deal.title, stage=stage.name)
    )


def _back_url(deal: Deal) -> str:
    if request.form.get("back") == "deal":
        return url_for("crm.deals_show", deal_id=deal.id)
    return url_for("crm.deals_board", pipeline=deal.pipeline_id)


@bp.get("/deals/<int:deal_id>/move-to")
@require("crm:edit")
def deals_move_form(deal_id: int) -> Any:
    """The keyboard and menu alternative to dragging: choose the deal's new stage."""
    deal = get_scoped_or_404(Deal, deal_id)
    stages = get_scoped_or_404(Pipeline, deal.pipeline_id).stages
    return render("crm/deals/move.html", block="dialog", deal=deal, stages=stages)

"""The deal page: details, won and lost, reopening, the trash."""

from __future__ import annotations

from typing import Any

from flask import g, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from startvora.core import customfields as cf
from startvora.core.forms import FormErrors, form_data, parse
from startvora.core.htmx import redirect_to, render
from startvora.core.permissions import require
from startvora.core.tenancy import get_scoped_or_404
from startvora.crm import deals
from startvora.crm.blueprints import bp
from startvora.crm.deal_schemas import LostIn
from startvora.crm.deal_views.common import STATUS_LABELS
from startvora.crm.models import Deal, Pipeline
from startvora.crm.services import CrmError
from startvora.extensions import db


def _show_page(deal: Deal, errors: FormErrors, status: int = 200) -> Any:
    return render(
        "crm/deals/show.html",
        status=status,
        deal=deal,
        pipeline=get_scoped_or_404(Pipeline, deal.pipeline_id),
        fields=cf.fields_for(g.org.id, "deal"),
        weighted=deals.weighted(deal.value_minor, deal.stage.probability, deal.currency),
        status_labels=STATUS_LABELS,
        errors=errors,
        timeline_kind="deal",
        timeline_id=deal.id,
    )


@bp.get("/deals/<int:deal_id>")
@require("crm:view")
def deals_show(deal_id: int) -> Any:
    """One deal: its stage, value, people, custom fields, won/lost, and the timeline."""
    return _show_page(get_scoped_or_404(Deal, deal_id), FormErrors())


@bp.post("/deals/<int:deal_id>/<any(won, reopen):action>")
@require("crm:edit")
def deals_close(deal_id: int, action: str) -> Any:
    """Mark a deal won, or reopen a won or lost one."""
    deal = get_scoped_or_404(Deal, deal_id)
    back = url_for("crm.deals_show", deal_id=deal.id)
    try:
        (deals.mark_won if action == "won" else deals.reopen_deal)(g.org.id, current_user.id, deal)
    except CrmError as exc:
        db.session.rollback()
        return redirect_to(back, str(exc.message), "error")
    db.session.commit()
    return redirect_to(
        back, _("Won. Well done!") if action == "won" else _("The deal is open again.")
    )


@bp.post("/deals/<int:deal_id>/lost")
@require("crm:edit")
def deals_lost(deal_id: int) -> Any:
    """Mark a deal lost, with the reason."""
    deal = get_scoped_or_404(Deal, deal_id)
    data, errors = parse(LostIn, form_data(request.form, ("reason",)))
    if data is not None:
        try:
            deals.mark_lost(g.org.id, current_user.id, deal, data.reason)
        except CrmError as exc:
            db.session.rollback()
            errors["reason"] = str(exc.message)
        else:
            db.session.commit()
            return redirect_to(url_for("crm.deals_show", deal_id=deal.id), _("Marked as lost."))
    return _show_page(deal, errors, 422)


@bp.post("/deals/<int:deal_id>/delete")
@require("crm:delete")
def deals_delete(deal_id: int) -> Any:
    """Move a deal to the trash."""
    deal = get_scoped_or_404(Deal, deal_id)
    deals.trash_deal(g.org.id, current_user.id, deal)
    db.session.commit()
    return redirect_to(
        url_for("crm.deals_board", pipeline=deal.pipeline_id),
        _("%(name)s is in the trash; restore it from there.", name=deal.title),
    )

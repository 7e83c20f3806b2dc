"""Leads: list, form, page, qualify or disqualify, and convert in one step."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from startvora.core import customfields as cf
from startvora.core import listview, live
from startvora.core.forms import FORM_ERROR, FormErrors, form_data, parse
from startvora.core.htmx import redirect_to, render
from startvora.core.permissions import require
from startvora.core.tenancy import get_scoped_or_404
from startvora.crm import leads, schemas, services
from startvora.crm.blueprints import bp
from startvora.crm.models import Lead
from startvora.crm.views import members, owner_choices
from startvora.extensions import db

INPUTS = (*leads.FIELDS, "value", "currency")
STATUS_LABELS = {
    "new": _l("New"),
    "qualified": _l("Qualified"),
    "disqualified": _l("Disqualified"),
    "converted": _l("Converted"),
}


def lead_list_spec() -> listview.ListSpec:
    def by_status(stmt: Any, value: str) -> Any:
        return stmt.where(Lead.status == value)

    def by_owner(stmt: Any, value: str) -> Any:
        return stmt.where(Lead.owner_id == int(value)) if value.isdigit() else stmt

    return listview.ListSpec(
        name="leads",
        query=lambda: db.select(Lead),
        id=Lead.id,
        columns=[
            listview.Column("name", _l("Lead"), sort=Lead.search_name),
            listview.Column("company", _l("Company"), hide_on_phone=True),
            listview.Column("status", _l("Status"), sort=Lead.status),
            listview.Column(
                "value", _l("Value"), sort=Lead.value_minor, align="end", hide_on_phone=True
            ),
            listview.Column(
                "created", _l("Added"), sort=Lead.created_at, align="end", hide_on_phone=True
            ),
        ],
        search_folded=[Lead.search_name],
        filters=[
            listview.Filter("status", _l("Status"), list(STATUS_LABELS.items()), by_status),
            listview.Filter(
                "owner", _l("Owner"), [(str(i), n) for i, n in owner_choices()], by_owner
            ),
        ],
        default_sort="created",
        default_desc=True,
        per_page=50,
    )


@bp.get("/leads")
@require("crm:view")
def leads_index() -> Any:
    """Every lead, newest first, with status and owner filters."""
    return render(
        "crm/leads/index.html",
        block="listing",
        page=listview.run(lead_list_spec()),
        statuses=STATUS_LABELS,
    )


def _form(lead: Lead | None, values: dict[str, Any], errors: FormErrors, status: int = 200) -> Any:
    return render(
        "crm/leads/form.html",
        block="form",
        status=status,
        obj=lead,
        values=values,
        errors=errors,
        owners=members(),
        fields=cf.fields_for(g.org.id, "lead"),
    )


def _save(lead: Lead | None) -> Any:
    values = form_data(request.form, INPUTS)
    fields = cf.fields_for(g.org.id, "lead")
    for field in fields:
        values[f"{cf.PREFIX}{field.key}"] = request.form.get(f"{cf.PREFIX}{field.key}", "")
    data, errors = parse(schemas.LeadIn, values)
    custom, custom_errors = cf.parse_values(fields, values)
    errors.update(custom_errors)
    if data is not None and not errors:
        try:
            saved = leads.save_lead(g.org.id, current_user.id, data, g.org.currency, lead, custom)
        except services.CrmError as exc:  # the amount itself was checked by LeadIn
            db.session.rollback()
            errors = FormErrors({exc.field or FORM_ERROR: str(exc.message)})
        else:
            live.publish(g.org.id, "leads")
            db.session.commit()
            return redirect_to(url_for("crm.leads_show", lead_id=saved.id), _("Saved."))
    return _form(lead, values, errors, 422)


@bp.route("/leads/new", methods=["GET", "POST"])
@require("crm:edit")
def leads_new() -> Any:
    """Capture a lead."""
    if request.method == "POST":
        return _save(None)
    return _form(None, {"owner_id": current_user.id, "currency": g.org.currency}, FormErrors())


@bp.route("/leads/<int:lead_id>/edit", methods=["GET", "POST"])
@require("crm:edit")
def leads_edit(lead_id: int) -> Any:
    """Change a lead."""
    lead = get_scoped_or_404(Lead, lead_id)
    if request.method == "POST":
        return _save(lead)
    from startvora.core import money

    values = {name: getattr(lead, name) for name in leads.FIELDS}
    values["tags"] = ", ".join(lead.tags or [])
    values["owner_id"] = lead.owner_id or ""
    values["currency"] = lead.currency
    values["value"] = (
        str(money.from_minor(lead.value_minor, lead.currency)) if lead.value_minor else ""
    )
    return _form(lead, values, FormErrors())


@bp.get("/leads/<int:lead_id>")
@require("crm:view")
def leads_show(lead_id: int) -> Any:
    """One lead: details, what converting would reuse, status actions, timeline."""
    lead = get_scoped_or_404(Lead, lead_id)
    return render(
        "crm/leads/show.html",
        obj=lead,
        statuses=STATUS_LABELS,
        fields=cf.fields_for(g.org.id, "lead"),
        reuse=leads.describe(lead),
        errors=FormErrors(),
        timeline_kind="lead",
        timeline_id=lead.id,
    )


@bp.post("/leads/<int:lead_id>/status")
@require("crm:edit")
def leads_status(lead_id: int) -> Any:
    """Qualify, disqualify (with a reason) or reopen a lead."""
    lead = get_scoped_or_404(Lead, lead_id)
    status = request.form.get("status", "")
    if status not in ("new", "qualified", "disqualified"):
        return redirect_to(
            url_for("crm.leads_show", lead_id=lead.id), _("Unknown status."), "error"
        )
    try:
        leads.set_status(g.org.id, current_user.id, lead, status, request.form.get("reason", ""))
    except services.CrmError as exc:
        db.session.rollback()
        return redirect_to(url_for("crm.leads_show", lead_id=lead.id), str(exc.message), "error")
    live.publish(g.org.id, "leads")
    db.session.commit()
    return redirect_to(
        url_for("crm.leads_show", lead_id=lead.id),
        _("Status: %(status)s.", status=STATUS_LABELS[status]),
    )


@bp.post("/leads/<int:lead_id>/convert")
@require("crm:edit")
def leads_convert(lead_id: int) -> Any:
    """Convert the lead into contact, company and (optionally) a deal, reusing what exists."""
    lead = get_scoped_or_404(Lead, lead_id)
    try:
        contact, _company, deal = leads.convert(
            g.org.id,
            current_user.id,
            lead,
            make_deal=request.form.get("make_deal") == "on",
            deal_title=request.form.get("deal_title", ""),
        )
    except services.CrmError as exc:
        db.session.rollback()
        return redirect_to(url_for("crm.leads_show", lead_id=lead.id), str(exc.message), "error")
    for topic in ("leads", "contacts", "companies", "deals"):
        live.publish(g.org.id, topic)
    db.session.commit()
    if deal is not None and "crm.deals_show" in current_app.view_functions:
        target = url_for("crm.deals_show", deal_id=deal.id)
    elif contact is not None:
        target = url_for("crm.contacts_show", contact_id=contact.id)
    else:
        target = url_for("crm.leads_show", lead_id=lead.id)
    return redirect_to(target, _("Converted."))


@bp.post("/leads/<int:lead_id>/delete")
@require("crm:delete")
def leads_delete(lead_id: int) -> Any:
    """Move a lead to the trash."""
    lead = get_scoped_or_404(Lead, lead_id)
    services.trash(g.org.id, current_user.id, lead)
    live.publish(g.org.id, "leads")
    db.session.commit()
    return redirect_to(url_for("crm.leads_index"), _("The lead is in the trash."))

"""The deal form: new and edit, with company and contact picked by name."""

from __future__ import annotations

from typing import Any

from flask import g, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from startvora.core import customfields as cf
from startvora.core import money
from startvora.core.db import fold
from startvora.core.forms import FORM_ERROR, FormErrors, form_data, parse
from startvora.core.htmx import redirect_to, render
from startvora.core.permissions import require
from startvora.core.tenancy import get_scoped_or_404
from startvora.crm import deals, services
from startvora.crm.blueprints import bp
from startvora.crm.deal_schemas import DealIn
from startvora.crm.deal_views.common import (
    CURRENCIES,
    DEAL_INPUTS,
    EMAIL_IN_NAME,
    pipeline_or_first,
    schema_context,
)
from startvora.crm.models import Company, Contact, Deal
from startvora.crm.services import CrmError, companies_named
from startvora.extensions import db


def _contact_label(contact: Contact) -> str:
    name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
    return f"{name} <{contact.email}>" if name and contact.email else contact.display_name


def _resolve(model: Any, text: str, field: str) -> tuple[int | None, str | None]:
    """The one company or contact a typed name stands for, or an error for the field."""
    text = " ".join(text.split())
    if not text:
        return None, None
    email = EMAIL_IN_NAME.search(text) if model is Contact else None
    if email:
        stmt = select(model.id).where(Contact.email_key == email.group(1).lower())
    else:
        stmt = select(model.id).where(model.search_name.like(fold(text).replace("%", "") + "%"))
    if model is Company and not email:
        found = [c.id for c in companies_named(text)]
    else:
        found = list(db.session.execute(stmt.limit(2)).scalars())
    if len(found) == 1:
        return found[0], None
    if not found:
        what = _("company") if model is Company else _("contact")
        return None, _(
            "No %(what)s is called %(name)s: pick one from the suggestions.", what=what, name=text
        )
    return None, _("Several records match %(name)s: pick one from the suggestions.", name=text)


@bp.get("/deals/contacts-lookup")
@require("crm:view")
def deals_contacts_lookup() -> Any:
    """Contacts matching what is typed, for the deal form's suggestions."""
    term = fold(request.args.get("contact_name", ""))[:100].replace("%", "").replace("_", "")
    found: list[Contact] = []
    if term:
        found = list(
            db.session.execute(
                select(Contact)
                .where(Contact.search_name.like(term + "%"))
                .order_by(Contact.search_name)
                .limit(15)
            ).scalars()
        )
    return Markup("").join(
        Markup('<option value="{}"></option>').format(_contact_label(c)) for c in found
    )


def _form_values(deal: Deal) -> dict[str, Any]:
    values: dict[str, Any] = {
        "title": deal.title,
        "stage_id": deal.stage_id,
        "value": str(money.from_minor(deal.value_minor, deal.currency)),
        "currency": deal.currency,
        "expected_close": deal.expected_close.isoformat() if deal.expected_close else "",
        "owner_id": deal.owner_id or "",
        "company_name": deal.company.name if deal.company else "",
        "contact_name": _contact_label(deal.contact) if deal.contact else "",
        "tags": ", ".join(deal.tags or []),
    }
    for key, value in (deal.custom or {}).items():
        values[f"{cf.PREFIX}{key}"] = (
            ("on" if value else "") if isinstance(value, bool) else str(value)
        )
    return values


def _save(deal: Deal | None) -> Any:
    """Validate the posted form (fields and custom fields) and save, or show the errors."""
    fields = cf.fields_for(g.org.id, "deal")
    values = form_data(request.form, DEAL_INPUTS)
    for f in fields:
        values[f"{cf.PREFIX}{f.key}"] = request.form.get(f"{cf.PREFIX}{f.key}", "")
    errors = FormErrors()
    parsed = dict(values)
    for model, name, key in (
        (Company, "company_name", "company_id"),
        (Contact, "contact_name", "contact_id"),
    ):
        parsed[key], problem = _resolve(model, values.get(name, ""), name)
        if problem:
            errors[name] = problem
    data, field_errors = parse(DealIn, parsed, schema_context())
    errors.update(field_errors)
    custom, custom_errors = cf.parse_values(fields, values)
    errors.update(custom_errors)
    if not errors and data is not None:
        try:
            saved = deals.save_deal(g.org.id, current_user.id, data, custom, deal)
        except CrmError as exc:
            db.session.rollback()
            errors[exc.field or FORM_ERROR] = str(exc.message)
        else:
            db.session.commit()
            return redirect_to(url_for("crm.deals_show", deal_id=saved.id), _("Saved."))
    return _form_page(deal, values, errors, 422)


def _form_page(
    deal: Deal | None, values: dict[str, Any], errors: FormErrors, status: int = 200
) -> Any:
    currencies = list(
        dict.fromkeys([g.org.currency, *CURRENCIES, values.get("currency") or g.org.currency])
    )
    return render(
        "crm/deals/form.html",
        block="form",
        status=status,
        deal=deal,
        values=values,
        errors=errors,
        pipelines=deals.pipelines(g.org.id),
        fields=cf.fields_for(g.org.id, "deal"),
        owners=services.members_of(g.org.id),
        currencies=[c for c in currencies if c],
    )


@bp.route("/deals/new", methods=["GET", "POST"])
@require("crm:edit")
def deals_new() -> Any:
    """A new deal, first in its stage."""
    if request.method == "POST":
        return _save(None)
    pipeline = pipeline_or_first(request.args.get("pipeline", type=int))
    stage_id = request.args.get("stage", type=int)
    first_open = next((s for s in pipeline.stages if s.kind == "open"), pipeline.stages[0])
    values: dict[str, Any] = {
        "owner_id": current_user.id,
        "currency": g.org.currency,
        "stage_id": stage_id if any(s.id == stage_id for s in pipeline.stages) else first_open.id,
    }
    if company_id := request.args.get("company", type=int):
        values["company_name"] = get_scoped_or_404(Company, company_id).name
    if contact_id := request.args.get("contact", type=int):
        contact = get_scoped_or_404(Contact, contact_id)
        values["contact_name"] = _contact_label(contact)
        if contact.company and "company_name" not in values:
            values["company_name"] = contact.company.name
    return _form_page(None, values, FormErrors())


@bp.route("/deals/<int:deal_id>/edit", methods=["GET", "POST"])
@require("crm:edit")
def deals_edit(deal_id: int) -> Any:
    """Change a deal."""
    deal = get_scoped_or_404(Deal, deal_id)
    if request.method == "POST":
        return _save(deal)
    return _form_page(deal, _form_values(deal), FormErrors())

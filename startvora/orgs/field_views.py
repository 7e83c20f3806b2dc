"""Settings, Custom fields: extra fields of contacts, companies, leads and deals."""

from __future__ import annotations

from typing import Any

from flask import g, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from startvora.core import audit
from startvora.core import customfields as cf
from startvora.core.forms import FormErrors
from startvora.core.htmx import redirect_to, render
from startvora.core.permissions import require
from startvora.core.tenancy import get_scoped_or_404
from startvora.extensions import db
from startvora.orgs.blueprints import bp

ENTITIES = {
    "contact": _l("Contacts"),
    "company": _l("Companies"),
    "lead": _l("Leads"),
    "deal": _l("Deals"),
}
MAX_FIELDS = 40
MAX_CHOICES = 50


def _page(errors: FormErrors, values: dict[str, Any], status: int = 200) -> Any:
    fields = list(
        db.session.execute(
            db.select(cf.CustomField)
            .where(cf.CustomField.org_id == g.org.id)
            .order_by(cf.CustomField.entity, cf.CustomField.position, cf.CustomField.id)
        ).scalars()
    )
    return render(
        "orgs/fields.html",
        block="add",
        status=status,
        errors=errors,
        values=values,
        fields=fields,
        entities=ENTITIES,
        kinds=cf.KINDS,
    )


@bp.get("/settings/fields")
@require("org:admin")
def settings_fields() -> Any:
    """The organization's custom fields, by kind of record."""
    return _page(FormErrors(), {"entity": "contact", "kind": "text"})


@bp.post("/settings/fields")
@require("org:admin")
def settings_fields_create() -> Any:
    """Add a custom field."""
    values = {k: request.form.get(k, "") for k in ("entity", "label", "kind", "choices")}
    values["required"] = request.form.get("required") == "on"
    errors = FormErrors()
    label = " ".join(values["label"].split())[:80]
    if values["entity"] not in ENTITIES:
        errors["entity"] = _("Choose the kind of record.")
    if not label:
        errors["label"] = _("This field is required.")
    if values["kind"] not in cf.KINDS:
        errors["kind"] = _("Choose one of the listed options.")
    choices = list(dict.fromkeys(c.strip() for c in values["choices"].splitlines() if c.strip()))
    if values["kind"] == "choice" and not choices:
        errors["choices"] = _("Give at least one choice, one per line.")
    if len(choices) > MAX_CHOICES or any(len(c) > 80 for c in choices):
        errors["choices"] = _("At most %(n)d choices of up to 80 characters.", n=MAX_CHOICES)
    existing = (
        db.session.execute(
            db.select(cf.CustomField).where(
                cf.CustomField.org_id == g.org.id, cf.CustomField.entity == values["entity"]
            )
        )
        .scalars()
        .all()
    )
    if len(existing) >= MAX_FIELDS:
        errors["label"] = _("At most %(n)d custom fields per kind of record.", n=MAX_FIELDS)
    if any(f.label.casefold() == label.casefold() for f in existing):
        errors["label"] = _("This kind of record has a field with this name already.")
    if errors:
        return _page(errors, values, 422)
    field = cf.CustomField(
        org_id=g.org.id,
        entity=values["entity"],
        key=cf.make_key(label, {f.key for f in existing}),
        label=label,
        kind=values["kind"],
        choices=choices if values["kind"] == "choice" else [],
        required=values["required"] and values["kind"] != "checkbox",
        position=(max((f.position for f in existing), default=0) + 1),
    )
    db.session.add(field)
    audit.record(
        "org.custom_field_added", org=g.org, actor=current_user, summary=f"{field.entity}: {label}"
    )
    db.session.commit()
    return redirect_to(url_for("orgs.settings_fields"), _("Field %(label)s added.", label=label))


@bp.post("/settings/fields/<int:field_id>/delete")
@require("org:admin")
def settings_fields_delete(field_id: int) -> Any:
    """Remove a field; values already stored stay in the records' data but are not shown."""
    field = get_scoped_or_404(cf.CustomField, field_id)
    audit.record(
        "org.custom_field_removed",
        org=g.org,
        actor=current_user,
        summary=f"{field.entity}: {field.label}",
    )
    db.session.delete(field)
    db.session.commit()
    return redirect_to(url_for("orgs.settings_fields"), _("Field removed."))

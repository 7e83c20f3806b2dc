"""Finance settings: customers exempt from tax, each with the reason their documents print."""

from __future__ import annotations

from typing import Any

from flask import g, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from startvora.core.forms import FormErrors
from startvora.core.htmx import redirect_to, render
from startvora.core.permissions import require
from startvora.core.tenancy import get_scoped_or_404
from startvora.crm.models import Company, Contact
from startvora.extensions import db
from startvora.finance import services
from startvora.finance.blueprints import bp
from startvora.finance.invoice_views.common import customer_label, find_customer
from startvora.finance.models import TaxExemption


def _rows() -> list[tuple[TaxExemption, str]]:
    exemptions = db.session.execute(db.select(TaxExemption)).scalars().all()
    companies = {e.company_id for e in exemptions if e.company_id}
    contacts = {e.contact_id for e in exemptions if e.contact_id}
    names: dict[tuple[str, int], str] = {}
    if companies:
        for c in db.session.execute(db.select(Company).where(Company.id.in_(companies))).scalars():
            names["company", c.id] = customer_label(c, None)
    if contacts:
        for c in db.session.execute(db.select(Contact).where(Contact.id.in_(contacts))).scalars():
            names["contact", c.id] = customer_label(None, c)
    rows = [
        (e, names.get(("company", e.company_id) if e.company_id else ("contact", e.contact_id),
                      _("(deleted)")))
        for e in exemptions
    ]  # fmt: skip
    return sorted(rows, key=lambda row: row[1].casefold())


def _page(values: dict[str, Any], errors: FormErrors, status: int = 200) -> Any:
    return render(
        "finance/settings/tax_exemptions.html",
        block="exemption_form",
        status=status,
        rows=_rows(),
        values=values,
        errors=errors,
    )


@bp.get("/tax-exemptions")
@require("finance:admin")
def tax_exemptions() -> Any:
    """Customers charged no tax, and the reasons printed on their documents."""
    return _page({}, FormErrors())


@bp.post("/tax-exemptions")
@require("finance:admin")
def tax_exemptions_save() -> Any:
    """Exempt a customer (or change the reason); their drafts take it when next saved."""
    values = {k: request.form.get(k, "").strip()[:400] for k in ("customer", "reason")}
    errors = FormErrors()
    company, contact, problem = find_customer(values["customer"])
    if problem:
        errors["customer"] = problem
    if not values["reason"]:
        errors["reason"] = _("Say why no tax is charged, as the invoices will print it.")
    if not errors:
        try:
            services.save_exemption(
                g.org.id, current_user.id, company.id if company else None,
                contact.id if contact else None, values["reason"],
            )  # fmt: skip
        except services.FinanceError as exc:
            db.session.rollback()
            errors[exc.field or "customer"] = str(exc.message)
        else:
            db.session.commit()
            return redirect_to(
                url_for("finance.tax_exemptions"),
                _("%(customer)s is exempt from tax.", customer=values["customer"]),
            )
    return _page(values, errors, 422)


@bp.post("/tax-exemptions/<int:exemption_id>/remove")
@require("finance:admin")
def tax_exemptions_remove(exemption_id: int) -> Any:
    """Charge a customer tax again from their next saved draft on."""
    exemption = get_scoped_or_404(TaxExemption, exemption_id)
    services.lift_exemption(g.org.id, current_user.id, exemption)
    db.session.commit()
    return redirect_to(url_for("finance.tax_exemptions"), _("The customer is charged tax again."))

"""Finance settings: invoice numbering, tax and rounding defaults, payment terms, bank details,
paper size; and the organization's tax rates."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import g, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from startvora.core import money, numbering
from startvora.core.forms import FORM_ERROR, FormErrors, form_data, parse
from startvora.core.htmx import is_htmx, redirect_to, render
from startvora.core.permissions import require
from startvora.core.tenancy import get_scoped_or_404
from startvora.extensions import db
from startvora.finance import catalog, services
from startvora.finance.blueprints import bp
from startvora.finance.models import TaxRate
from startvora.finance.schemas import TaxRateIn

INPUTS = (
    "invoice_pattern",
    "rounding",
    "payment_terms_days",
    "notes",
    "footer",
    "bank_name",
    "iban",
    "bic",
    "paper",
    "reminder_days",
    "quote_pattern",
    "credit_note_pattern",
    "quote_valid_days",
)
RATE_INPUTS = ("name", "rate")


def _locale() -> str:
    return g.org.number_locale or g.org.locale


def _preview(pattern: str) -> tuple[str, str]:
    """The next invoice number for a pattern, or why the pattern cannot number invoices."""
    try:
        pattern = numbering.check_pattern(pattern)
    except ValueError as exc:
        return "", str(exc)
    day = services.today_of(g.org)
    return numbering.peek(g.org.id, services.INVOICE_SEQUENCE, pattern, day), ""


def _settings_page(values: dict[str, Any], errors: FormErrors, status: int = 200) -> Any:
    preview, problem = _preview(str(values.get("invoice_pattern", "")))
    return render(
        "finance/settings/settings.html",
        block="settings_form",
        status=status,
        values=values,
        errors=errors,
        preview=preview,
        preview_problem=problem,
    )


@bp.route("/settings", methods=["GET", "POST"])
@require("finance:admin")
def finance_settings() -> Any:
    """Invoice numbers, prices with or without tax, rounding, terms, bank details, paper."""
    if request.method == "GET" and is_htmx() and "invoice_pattern" in request.args:
        # The pattern's preview while it is typed: only that part of the page.
        preview, problem = _preview(request.args.get("invoice_pattern", "")[:100])
        return render(
            "finance/settings/settings.html",
            block="pattern_preview",
            preview=preview,
            preview_problem=problem,
        )
    if request.method == "GET":
        settings = services.settings_of(g.org.id)  # defaults until first saved
        return _settings_page(catalog.settings_values(settings), FormErrors())
    values: dict[str, Any] = form_data(request.form, INPUTS)
    values["prices_include_tax"] = request.form.get("prices_include_tax") == "on"
    data, errors = parse(catalog.FinanceSettingsIn, values)
    if data is None:
        errors.setdefault(FORM_ERROR, _("Nothing is saved yet: correct the marked fields."))
        return _settings_page(values, errors, 422)
    changed = catalog.save_settings(g.org.id, current_user.id, data)
    db.session.commit()
    message = _("Finance settings saved.") if changed else _("Nothing changed.")
    return redirect_to(url_for("finance.finance_settings"), message)


# -- tax rates ----------------------------------------------------------------------------------


def _rates_page(
    values: dict[str, Any], errors: FormErrors, status: int = 200, editing: TaxRate | None = None
) -> Any:
    rates = services.tax_rates(g.org.id, include_archived=True)
    return render(
        "finance/settings/tax_rates.html",
        block="rate_form",
        status=status,
        active=[r for r in rates if not r.archived],
        archived=[r for r in rates if r.archived],
        values=values,
        errors=errors,
        editing=editing,
        percent=_percent,
    )


def _save_rate(rate: TaxRate | None) -> Any:
    """Validate the posted rate and save it, or show the form again with the errors."""
    values: dict[str, Any] = form_data(request.form, RATE_INPUTS)
    values["compound"] = request.form.get("compound") == "on"
    data, errors = parse(TaxRateIn, values, context={"locale": _locale()})
    if data is not None:
        try:
            saved = catalog.save_tax_rate(g.org.id, current_user.id, data, rate)
        except services.FinanceError as exc:
            db.session.rollback()
            errors[exc.field or FORM_ERROR] = str(exc.message)
        else:
            db.session.commit()
            message = (
                _("%(rate)s added.", rate=saved.label)
                if rate is None
                else _("%(rate)s saved.", rate=saved.label)
            )
            return redirect_to(url_for("finance.tax_rates"), message)
    return _rates_page(values, errors, 422, rate)


def _rate_text(rate: Decimal) -> str:
    """A rate as typed in the organization's number format, every decimal kept: 7,7."""
    return money.typed_number(rate, _locale())


def _percent(rate: Decimal) -> str:
    return _("%(rate)s %%", rate=_rate_text(rate))


def _rate_values(rate: TaxRate) -> dict[str, Any]:
    return {"name": rate.name, "rate": _rate_text(rate.rate), "compound": rate.compound}


@bp.get("/tax-rates")
@require("finance:admin")
def tax_rates() -> Any:
    """The organization's tax rates, to add, change and archive."""
    return _rates_page({}, FormErrors())


@bp.post("/tax-rates")
@require("finance:admin")
def tax_rates_create() -> Any:
    """Add a tax rate."""
    return _save_rate(None)


@bp.route("/tax-rates/<int:rate_id>/edit", methods=["GET", "POST"])
@require("finance:admin")
def tax_rates_edit(rate_id: int) -> Any:
    """Change a rate's name, percentage or compounding (issued invoices keep their copy)."""
    rate = get_scoped_or_404(TaxRate, rate_id)
    if request.method == "POST":
        return _save_rate(rate)
    return _rates_page(_rate_values(rate), FormErrors(), editing=rate)


@bp.post("/tax-rates/<int:rate_id>/archive")
@require("finance:admin")
def tax_rates_archive(rate_id: int) -> Any:
    """Archive a rate, or bring an archived one back."""
    rate = get_scoped_or_404(TaxRate, rate_id)
    archived = not rate.archived
    try:
        catalog.set_tax_rate_archived(g.org.id, current_user.id, rate, archived)
    except services.FinanceError as exc:
        db.session.rollback()
        return redirect_to(url_for("finance.tax_rates"), str(exc.message), "error")
    db.session.commit()
    message = (
        _(
            "%(rate)s is archived: issued invoices keep it; new ones no longer offer it.",
            rate=rate.label,
        )
        if archived
        else _("%(rate)s is back in use.", rate=rate.label)
    )
    return redirect_to(url_for("finance.tax_rates"), message)

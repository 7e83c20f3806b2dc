"""The draft form: customer, currency, dates, lines with products and taxes, live totals.

The form is the server's: "Add a line", "Remove" and any change post it back and the server
renders it again with the totals (htmx swaps the form; without JavaScript the page reloads).
"""

from __future__ import annotations

from typing import Any

from flask import g, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from startvora.core.forms import FORM_ERROR, FormErrors, parse
from startvora.core.htmx import redirect_to, render
from startvora.core.permissions import require
from startvora.core.tenancy import get_scoped_or_404
from startvora.extensions import db
from startvora.finance import services, totals
from startvora.finance.blueprints import bp
from startvora.finance.invoice_views import common
from startvora.finance.models import Invoice
from startvora.finance.schemas import InvoiceIn, LineIn

HEAD_INPUTS = ("customer", "currency", "exchange_rate", "issue_date", "due_date", "notes", "footer")
LINE_INPUTS = ("product", "description", "quantity", "unit", "unit_price", "discount", "expense_id")
MAX_FORM_LINES = 200


def _blank_line() -> dict[str, Any]:
    return {"product": "", "description": "", "quantity": "1", "unit": "", "unit_price": "",
            "discount": "", "tax_ids": [], "expense_id": ""}  # fmt: skip


def read_form() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The posted head fields and lines (in the order shown, empty lines left out)."""
    form = request.form
    values = {name: form.get(name, "") for name in HEAD_INPUTS}
    values["prices_include_tax"] = bool(form.get("prices_include_tax"))
    indexes = sorted(
        {int(k.split("-")[1]) for k in form if k.startswith("lines-") and k.split("-")[1].isdigit()}
    )[:MAX_FORM_LINES]
    lines = []
    for i in indexes:
        line = {name: form.get(f"lines-{i}-{name}", "").strip() for name in LINE_INPUTS}
        line["tax_ids"] = form.getlist(f"lines-{i}-tax_ids")
        if any(line[n] for n in ("product", "description", "unit_price")) or i == indexes[0]:
            lines.append(line)
    return values, lines or [_blank_line()]


def _check(
    values: dict[str, Any], lines: list[dict[str, Any]], final: bool
) -> tuple[InvoiceIn | None, FormErrors, list[Any]]:
    """Validate the form: the schema object when all is well, errors, and each line's totals."""
    errors = FormErrors()
    context = common.number_context(values.get("currency") or None)
    company, contact, problem = common.find_customer(values["customer"])
    if problem and (final or values["customer"].strip()):
        errors["customer"] = problem
    rates = {t.id: t for t in services.tax_rates(g.org.id, include_archived=True)}
    exemption = services.exemption_of(company.id if company else None,
                                      contact.id if contact else None)  # fmt: skip
    line_data = []
    for i, line in enumerate(lines):
        product, product_problem = common.find_product(line["product"])
        if product_problem:
            errors[f"lines-{i}-product"] = product_problem
        raw = {k: v for k, v in line.items() if k != "product"}
        if product is not None:
            raw["product_id"] = product.id
            _fill_from_product(line, raw, product, context["currency"])
        parsed, line_errors = parse(LineIn, raw, context=context)
        for field, message in line_errors.items():
            key = "description" if field == FORM_ERROR else field
            if final or line["description"] or line["unit_price"]:
                errors.setdefault(f"lines-{i}-{key}", message)
        line_data.append(parsed)
    valid_lines = [p for p in line_data if p is not None]
    preview = None
    if valid_lines:
        preview = totals.compute(
            [
                totals.LineIn(
                    p.quantity,
                    p.unit_price,
                    p.discount,
                    tuple(
                        totals.Tax(t, rates[t].name, rates[t].rate, rates[t].compound)
                        for t in dict.fromkeys(p.tax_ids)
                        if t in rates and exemption is None
                    ),
                )
                for p in valid_lines
            ],
            context["currency"],
            inclusive=values["prices_include_tax"],
            per_document=services.settings_of(g.org.id).round_per_document,
        )
    head = {k: values[k] for k in HEAD_INPUTS if k != "customer"}
    head |= {
        "prices_include_tax": values["prices_include_tax"],
        "company_id": company.id if company else None,
        "contact_id": contact.id if contact else None,
    }
    data, head_errors = parse(InvoiceIn, head, context=context)
    if data is not None:  # the lines are checked already (amounts now in minor units)
        data = data.model_copy(update={"lines": valid_lines})
    for field, message in head_errors.items():
        if field in ("company_id", "contact_id") or (field == FORM_ERROR and "customer" in errors):
            continue
        if final or field not in ("lines",):
            errors.setdefault(field, message)
    if final and not valid_lines and not any(k.startswith("lines-") for k in errors):
        errors["lines-0-description"] = _("Add at least one line.")
    line_totals: list[Any] = []
    outs = iter(preview.lines if preview else [])
    for p in line_data:
        line_totals.append(next(outs) if p is not None else None)
    return (data if not errors else None), errors, [preview, line_totals, exemption]


def _fill_from_product(
    line: dict[str, Any], raw: dict[str, Any], product: Any, currency: str
) -> None:
    """A chosen product fills the cells left empty: description, unit, price, taxes."""
    if not line["description"]:
        raw["description"] = line["description"] = product.name
    if not line["unit"]:
        raw["unit"] = line["unit"] = product.unit
    if not line["unit_price"] and currency in (product.prices or {}):
        price = common.typed_amount(product.prices[currency], currency)
        raw["unit_price"] = line["unit_price"] = price
    if not line["tax_ids"] and product.tax_ids:
        raw["tax_ids"] = line["tax_ids"] = [str(t) for t in product.tax_ids]


def _page(
    invoice: Invoice | None,
    values: dict[str, Any],
    lines: list[dict[str, Any]],
    errors: FormErrors,
    checked: list[Any] | None = None,
    status: int = 200,
    kind: str = "invoice",
) -> Any:
    if checked is None:
        _data, _errors, checked = _check(values, lines, final=False)
    preview, line_totals, exemption = checked
    if (invoice.kind if invoice else kind) == "quote":
        g.nav_key = "quotes"
    org_currency = g.org.currency
    return render(
        "finance/invoices/form.html",
        block="invoice_form",
        status=status,
        obj=invoice,
        values=values,
        lines=lines,
        errors=errors,
        preview=preview,
        line_totals=line_totals,
        rates=services.tax_rates(g.org.id),
        currency=values.get("currency") or org_currency,
        org_currency=org_currency,
        currencies=_currencies(values.get("currency") or org_currency),
        quote=(invoice.kind if invoice else kind) == "quote",
        exemption=exemption,
    )


def _currencies(current: str) -> list[str]:
    common_codes = ["EUR", "USD", "GBP", "CHF", "JPY", "CAD", "AUD", "SEK", "NOK", "DKK", "PLN",
                    "CZK", "INR", "CNY", "BRL", "MXN", "ZAR", "KWD", "BHD"]  # fmt: skip
    return list(dict.fromkeys([g.org.currency, current, *common_codes]))


def _values_of(invoice: Invoice) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    values = {
        "customer": common.customer_label(invoice.company, invoice.contact),
        "currency": invoice.currency,
        "exchange_rate": common.typed_number(invoice.exchange_rate)
        if invoice.exchange_rate != 1
        else "",
        "issue_date": invoice.issue_date.isoformat() if invoice.issue_date else "",
        "due_date": invoice.due_date.isoformat() if invoice.due_date else "",
        "notes": invoice.notes,
        "footer": invoice.footer,
        "prices_include_tax": invoice.prices_include_tax,
    }
    lines = [
        {
            "product": "",
            "description": line.description,
            "quantity": common.typed_number(line.quantity),
            "unit": line.unit,
            "unit_price": common.typed_amount(line.unit_price_minor, invoice.currency),
            "discount": common.typed_number(line.discount) if line.discount else "",
            "tax_ids": [str(t) for t in line.tax_ids],
            "expense_id": str(line.expense_id or ""),
        }
        for line in invoice.lines
    ]
    return values, lines or [_blank_line()]


def _submit(invoice: Invoice | None, kind: str = "invoice") -> Any:
    values, lines = read_form()
    action = request.form.get("action", "save")
    if action == "add_line":
        lines = [*lines, _blank_line()][:MAX_FORM_LINES]
        return _page(invoice, values, lines, FormErrors(), kind=kind)
    if action.startswith("remove-") and action[7:].isdigit():
        index = int(action[7:])
        kept = [line for i, line in enumerate(lines) if i != index]
        return _page(invoice, values, kept or [_blank_line()], FormErrors(), kind=kind)
    if action == "refresh":
        return _page(invoice, values, lines, FormErrors(), kind=kind)
    data, errors, checked = _check(values, lines, final=True)
    if data is not None:
        try:
            saved = services.save_draft(g.org.id, current_user.id, data, invoice, kind)
            if action == "issue":
                services.issue(g.org.id, current_user.id, saved)
        except services.FinanceError as exc:
            db.session.rollback()
            errors[exc.field if exc.field in values else FORM_ERROR] = str(exc.message)
        else:
            db.session.commit()
            if action != "issue":
                message = _("Draft saved.")
            elif saved.is_quote:
                message = _("Quote %(number)s is final.", number=saved.number)
            else:
                message = _("Invoice %(number)s issued.", number=saved.number)
            return redirect_to(url_for("finance.invoices_show", invoice_id=saved.id), message)
    return _page(invoice, values, lines, errors, checked, status=422, kind=kind)


@bp.route("/quotes/new", methods=["GET", "POST"])
@require("finance:edit")
def quotes_new() -> Any:
    """A new draft quote, for a customer given in the address (?company= or ?contact=)."""
    return _new("quote")


@bp.route("/invoices/new", methods=["GET", "POST"])
@require("finance:edit")
def invoices_new() -> Any:
    """A new draft invoice, for a customer given in the address (?company= or ?contact=)."""
    return _new("invoice")


def _new(kind: str) -> Any:
    if request.method == "POST":
        return _submit(None, kind)
    settings = services.settings_of(g.org.id)
    values: dict[str, Any] = {name: "" for name in HEAD_INPUTS}
    values |= {"currency": g.org.currency, "notes": settings.notes, "footer": settings.footer,
               "prices_include_tax": settings.prices_include_tax}  # fmt: skip
    from startvora.crm.models import Company, Contact

    if request.args.get("company", type=int):
        values["customer"] = common.customer_label(
            get_scoped_or_404(Company, request.args.get("company", type=int)), None
        )
    elif request.args.get("contact", type=int):
        values["customer"] = common.customer_label(
            None, get_scoped_or_404(Contact, request.args.get("contact", type=int))
        )
    return _page(None, values, [_blank_line()], FormErrors(), kind=kind)


@bp.route("/invoices/<int:invoice_id>/edit", methods=["GET", "POST"])
@require("finance:edit")
def invoices_edit(invoice_id: int) -> Any:
    """Change a draft. An issued invoice is not edited: it shows why."""
    invoice = get_scoped_or_404(Invoice, invoice_id)
    if invoice.status != "draft":
        return redirect_to(
            url_for("finance.invoices_show", invoice_id=invoice.id),
            _("An issued invoice cannot be changed. Correct it with a credit note."),
            "error",
        )
    if request.method == "POST":
        return _submit(invoice, invoice.kind)
    values, lines = _values_of(invoice)
    return _page(invoice, values, lines, FormErrors())


@bp.get("/invoices/lookup")
@require("finance:view")
def invoices_lookup() -> Any:
    """Suggestions for the customer field or a line's product field (a datalist's options)."""
    field = request.args.get("field", "")
    if field == "customer":
        options = common.customers_like(request.args.get("customer", ""))
    else:
        term = next((v for k, v in request.args.items() if k.endswith("-product")), "")
        options = common.products_like(term)
    return render("finance/invoices/_options.html", options=options)

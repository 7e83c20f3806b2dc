"""One invoice: its page, issuing, voiding, deleting a draft, payments, and the PDF."""

from __future__ import annotations

import re
from typing import Any

from flask import Response, g, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from startvora.core import money
from startvora.core.forms import FORM_ERROR, FormErrors, parse
from startvora.core.htmx import redirect_to, render
from startvora.core.i18n import money_filter
from startvora.core.permissions import require
from startvora.core.tenancy import get_scoped_or_404
from startvora.extensions import db
from startvora.finance import sending, services
from startvora.finance.blueprints import bp
from startvora.finance.invoice_views.attachments import attachments_of
from startvora.finance.invoice_views.common import (
    number_context,
    state_labels,
    typed_amount,
    typed_number,
)
from startvora.finance.models import PAYMENT_METHODS, Invoice
from startvora.finance.schemas import PaymentIn, SendIn


def _show(invoice: Invoice, **extra: Any) -> Any:
    if invoice.is_quote:
        g.nav_key = "quotes"
    today = services.today_of(g.org)
    credit = 0
    notes = []
    if not invoice.is_credit_note:
        notes = list(
            db.session.execute(
                db.select(Invoice).where(Invoice.credit_for_id == invoice.id).order_by(Invoice.id)
            ).scalars()
        )
    unbilled = []
    if invoice.status == "draft" and invoice.kind == "invoice":
        from startvora.finance import expenses

        unbilled = expenses.unbilled(invoice.company_id, invoice.contact_id)
    if invoice.status == "issued" and invoice.balance_minor:
        credit = services.credit_balance(
            g.org.id, invoice.company_id, invoice.contact_id, invoice.currency
        )
    return render(
        "finance/invoices/show.html",
        block=extra.pop("block", None),
        status=extra.pop("status", 200),
        invoice=invoice,
        state=invoice.state(today),
        labels=state_labels(),
        methods=services.method_labels(),
        today=today,
        credit=credit,
        credit_notes=notes,
        unbilled=unbilled,
        attachments=attachments_of(invoice),
        credited_for=db.session.get(Invoice, invoice.credit_for_id)
        if invoice.credit_for_id
        else None,
        **extra,
    )


@bp.get("/invoices/<int:invoice_id>")
@require("finance:view")
def invoices_show(invoice_id: int) -> Any:
    """An invoice as issued: customer, lines, taxes, totals, payments, and what can be done."""
    invoice = get_scoped_or_404(Invoice, invoice_id)
    return _show(invoice)


def _refused(invoice: Invoice, exc: services.FinanceError) -> Any:
    db.session.rollback()
    return redirect_to(
        url_for("finance.invoices_show", invoice_id=invoice.id), exc.message, "error"
    )


@bp.post("/invoices/<int:invoice_id>/issue")
@require("finance:edit")
def invoices_issue(invoice_id: int) -> Any:
    """Give a draft its number and make it final."""
    invoice = get_scoped_or_404(Invoice, invoice_id)
    try:
        services.issue(g.org.id, current_user.id, invoice)
    except services.FinanceError as exc:
        return _refused(invoice, exc)
    db.session.commit()
    return redirect_to(
        url_for("finance.invoices_show", invoice_id=invoice.id),
        _("Invoice %(number)s issued.", number=invoice.number),
    )


@bp.post("/invoices/<int:invoice_id>/void")
@require("finance:edit")
def invoices_void(invoice_id: int) -> Any:
    """Cancel an issued invoice that nobody paid; its number stays taken, marked void."""
    invoice = get_scoped_or_404(Invoice, invoice_id)
    try:
        services.void(g.org.id, current_user.id, invoice, request.form.get("reason", ""))
    except services.FinanceError as exc:
        return _refused(invoice, exc)
    db.session.commit()
    return redirect_to(
        url_for("finance.invoices_show", invoice_id=invoice.id),
        _("Invoice %(number)s is void.", number=invoice.number),
    )


@bp.post("/invoices/<int:invoice_id>/delete")
@require("finance:delete")
def invoices_delete(invoice_id: int) -> Any:
    """Delete a draft (an issued invoice is kept for good)."""
    invoice = get_scoped_or_404(Invoice, invoice_id)
    try:
        services.delete_draft(g.org.id, current_user.id, invoice)
    except services.FinanceError as exc:
        return _refused(invoice, exc)
    db.session.commit()
    return redirect_to(url_for("finance.invoices_index"), _("Draft deleted."))


@bp.route("/invoices/<int:invoice_id>/payments/new", methods=["GET", "POST"])
@require("finance:edit")
def invoices_pay(invoice_id: int) -> Any:
    """Record money received: all of the balance, part of it, or more (kept as credit)."""
    invoice = get_scoped_or_404(Invoice, invoice_id)
    fields = ("paid_on", "amount", "method", "reference", "note", "overpayment")
    if request.method == "GET" and (invoice.status != "issued" or not invoice.balance_minor):
        nothing = _("Nothing is due.") if invoice.status == "issued" else _("Issue it first.")
        return _refused(invoice, services.FinanceError(nothing))
    if request.method == "GET":
        values = {
            "paid_on": services.today_of(g.org).isoformat(),
            "amount": typed_amount(invoice.balance_minor, invoice.currency),
            "method": "bank_transfer",
        }
        return _payment_page(invoice, values, FormErrors())
    values = {name: request.form.get(name, "") for name in fields}
    errors = FormErrors()
    if values["method"] not in PAYMENT_METHODS or values["method"] == "credit":
        errors["method"] = _("Choose how the money arrived.")
    data, field_errors = parse(PaymentIn, values, context=number_context(invoice.currency))
    errors.update(field_errors)
    if data is not None and not errors:
        try:
            services.record_payment(g.org.id, current_user.id, invoice, data)
        except services.FinanceError as exc:
            db.session.rollback()
            errors[exc.field or FORM_ERROR] = str(exc.message)
            if exc.field == "amount":
                values["ask_credit"] = "1"
        else:
            db.session.commit()
            return redirect_to(
                url_for("finance.invoices_show", invoice_id=invoice.id), _("Payment recorded.")
            )
    return _payment_page(invoice, values, errors, 422)


def _payment_page(
    invoice: Invoice, values: dict[str, Any], errors: FormErrors, status: int = 200
) -> Any:
    return render(
        "finance/invoices/payment.html",
        block="payment_form",
        status=status,
        invoice=invoice,
        values=values,
        errors=errors,
        methods=[(k, v) for k, v in services.method_labels().items() if k != "credit"],
    )


@bp.get("/invoices/<int:invoice_id>/pdf")
@require("finance:view")
def invoices_pdf(invoice_id: int) -> Any:
    """The invoice as a PDF (drafts carry a DRAFT mark)."""
    from startvora.finance import pdf

    invoice = get_scoped_or_404(Invoice, invoice_id)
    body = pdf.invoice_pdf(invoice, g.org, services.settings_of(g.org.id))
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", invoice.number or f"draft-{invoice.id}")
    disposition = "inline" if request.args.get("view") else "attachment"
    return Response(
        body,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'{disposition}; filename="{name}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


@bp.route("/invoices/<int:invoice_id>/send", methods=["GET", "POST"])
@require("finance:edit")
def invoices_send(invoice_id: int) -> Any:
    """Email the invoice with its PDF and the link to its public page."""
    invoice = get_scoped_or_404(Invoice, invoice_id)
    if request.method == "GET":
        subject, message = sending.default_message(g.org, invoice, money_filter)
        values = {"to": invoice.customer_email, "subject": subject, "message": message}
        return _send_page(invoice, values, FormErrors())
    values = {name: request.form.get(name, "") for name in ("to", "subject", "message")}
    data, errors = parse(SendIn, values)
    if data is not None:
        try:
            sending.send_invoice(
                g.org.id, current_user.id, invoice, data.to, data.subject, data.message
            )
        except services.FinanceError as exc:
            db.session.rollback()
            errors[FORM_ERROR] = str(exc.message)
        else:
            db.session.commit()
            return redirect_to(
                url_for("finance.invoices_show", invoice_id=invoice.id),
                _("The invoice is on its way to %(to)s.", to=data.to),
            )
    return _send_page(invoice, values, errors, 422)


def _send_page(
    invoice: Invoice, values: dict[str, Any], errors: FormErrors, status: int = 200
) -> Any:
    return render(
        "finance/invoices/send.html",
        block="send_form",
        status=status,
        invoice=invoice,
        values=values,
        errors=errors,
        link=sending.public_url(invoice) if invoice.status != "draft" else "",
    )


@bp.route("/invoices/<int:invoice_id>/credit", methods=["GET", "POST"])
@require("finance:edit")
def invoices_credit(invoice_id: int) -> Any:
    """A credit note for the whole invoice or some of its lines."""
    from decimal import Decimal, InvalidOperation

    invoice = get_scoped_or_404(Invoice, invoice_id)
    done = services.credited_quantities(invoice)
    left = {line.id: line.quantity - done.get(line.id, Decimal(0)) for line in invoice.lines}
    if request.method == "GET":
        values = {f"q-{i}": typed_number(q) for i, q in left.items()}
        return _credit_page(invoice, left, values, FormErrors())
    values = {f"q-{line.id}": request.form.get(f"q-{line.id}", "") for line in invoice.lines}
    values["reason"] = request.form.get("reason", "")
    errors = FormErrors()
    quantities: dict[int, Any] = {}
    locale = number_context(invoice.currency)["locale"]
    for line in invoice.lines:
        raw = values[f"q-{line.id}"].strip() or "0"
        try:
            quantities[line.id] = money.parse_amount(raw, locale)
        except (ValueError, InvalidOperation):
            errors[f"q-{line.id}"] = _("Enter a quantity like 1 or 2.5.")
    if not errors:
        try:
            note = services.create_credit_note(
                g.org.id, current_user.id, invoice, quantities, values["reason"]
            )
        except services.FinanceError as exc:
            db.session.rollback()
            errors[exc.field or FORM_ERROR] = str(exc.message)
        else:
            db.session.commit()
            return redirect_to(
                url_for("finance.invoices_show", invoice_id=note.id),
                _("Credit note %(number)s issued.", number=note.number),
            )
    return _credit_page(invoice, left, values, errors, 422)


def _credit_page(
    invoice: Invoice, left: dict[int, Any], values: dict[str, Any], errors: FormErrors,
    status: int = 200,
) -> Any:  # fmt: skip
    return render(
        "finance/invoices/credit.html",
        block="credit_form",
        status=status,
        invoice=invoice,
        left=left,
        values=values,
        errors=errors,
    )


@bp.post("/invoices/<int:invoice_id>/convert")
@require("finance:edit")
def invoices_convert(invoice_id: int) -> Any:
    """Turn a quote into a draft invoice with its lines."""
    quote = get_scoped_or_404(Invoice, invoice_id)
    try:
        invoice = services.convert_quote(g.org.id, current_user.id, quote)
    except services.FinanceError as exc:
        return _refused(quote, exc)
    db.session.commit()
    return redirect_to(
        url_for("finance.invoices_edit", invoice_id=invoice.id),
        _("Draft invoice made from quote %(number)s: check it and issue it.", number=quote.number),
    )


@bp.post("/invoices/<int:invoice_id>/answer")
@require("finance:edit")
def invoices_answer(invoice_id: int) -> Any:
    """Record the customer's answer to a quote (given by phone or email)."""
    quote = get_scoped_or_404(Invoice, invoice_id)
    outcome = request.form.get("outcome", "")
    try:
        services.answer_quote(g.org.id, quote, outcome, current_user.name, current_user.id)
    except services.FinanceError as exc:
        return _refused(quote, exc)
    db.session.commit()
    message = _("Marked as accepted.") if outcome == "accepted" else _("Marked as declined.")
    return redirect_to(url_for("finance.invoices_show", invoice_id=quote.id), message)


@bp.post("/invoices/<int:invoice_id>/apply-credit")
@require("finance:edit")
def invoices_apply_credit(invoice_id: int) -> Any:
    """Pay the invoice from the customer's credit (earlier overpayments)."""
    invoice = get_scoped_or_404(Invoice, invoice_id)
    try:
        payment = services.apply_credit(g.org.id, current_user.id, invoice)
    except services.FinanceError as exc:
        return _refused(invoice, exc)
    db.session.commit()
    return redirect_to(
        url_for("finance.invoices_show", invoice_id=invoice.id),
        _(
            "%(amount)s of credit used.",
            amount=money_filter(payment.amount_minor, invoice.currency),
        ),
    )

"""The customer's side of a signed link: the invoice page and its PDF, no account needed.

A link names its organization and invoice and is signed; a changed or made-up link is a 404
with a page that says so. The first opening is recorded on the invoice ("viewed").
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, render_template
from flask_babel import gettext as _

from startvora.core import files
from startvora.core.tenancy import org_context
from startvora.extensions import db
from startvora.finance import sending, services
from startvora.finance.blueprints import public_bp
from startvora.finance.invoice_views.common import customer_state_labels
from startvora.finance.models import Invoice
from startvora.orgs.models import Organization


def _invoice(token: str) -> tuple[Organization, Invoice]:
    found = sending.read_token(token)
    if found is None:
        abort(404, _("This invoice link is not valid. Ask the sender for a new one."))
    org_id, invoice_id = found
    org = db.session.get(Organization, org_id)
    invoice = db.session.get(Invoice, invoice_id) if org is not None else None
    if org is None or invoice is None or invoice.org_id != org.id or invoice.status == "draft":
        abort(404, _("This invoice link is not valid. Ask the sender for a new one."))
    return org, invoice


@public_bp.get("/invoices/<token>")
def invoice(token: str) -> Any:
    found = sending.read_token(token)
    with org_context(found[0] if found else 0):
        org, inv = _invoice(token)
        if sending.mark_viewed(inv):
            db.session.commit()
        body = render_template(
            "finance/public/invoice.html",
            invoice=inv,
            org=org,
            settings=services.settings_of(org.id),
            state=inv.state(services.today_of(org)),
            labels=customer_state_labels(),
            token=token,
            attachments=files.attached_to("invoice", inv.id),
        )
    response = Response(body)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the link is the key: never leak it
    return response


@public_bp.get("/invoices/<token>/pdf")
def invoice_pdf(token: str) -> Any:
    from startvora.finance import pdf

    found = sending.read_token(token)
    with org_context(found[0] if found else 0):
        org, inv = _invoice(token)
        body = pdf.invoice_pdf(inv, org, services.settings_of(org.id))
    return Response(
        body,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{sending.pdf_name(inv)}"',
            "Cache-Control": "private, no-store",
            "Referrer-Policy": "no-referrer",
        },
    )


@public_bp.get("/invoices/<token>/files/<int:file_id>")
def invoice_file(token: str, file_id: int) -> Any:
    """A file attached to the document, for whoever holds its signed link."""
    found = sending.read_token(token)
    with org_context(found[0] if found else 0):
        _org, inv = _invoice(token)
        attached = {f.id: f for f in files.attached_to("invoice", inv.id)}
        if file_id not in attached:
            abort(404)
        response = files.serve(attached[file_id])
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@public_bp.post("/invoices/<token>/answer")
def quote_answer(token: str) -> Any:
    """The customer accepts (with their name) or declines a quote on its page."""
    from flask import redirect, request, url_for

    found = sending.read_token(token)
    with org_context(found[0] if found else 0):
        _org, quote = _invoice(token)
        try:
            services.answer_quote(
                quote.org_id, quote, request.form.get("outcome", ""), request.form.get("name", "")
            )
        except services.FinanceError as exc:
            db.session.rollback()
            from flask import flash

            flash(str(exc.message), "error")
        else:
            db.session.commit()
    return redirect(url_for("finance_public.invoice", token=token), code=303)

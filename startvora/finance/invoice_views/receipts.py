"""A receipt for each payment of an invoice, as a PDF."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, g

from startvora.core.permissions import require
from startvora.core.tenancy import get_scoped_or_404
from startvora.finance import pdf, services
from startvora.finance.blueprints import bp
from startvora.finance.models import Invoice, Payment


@bp.get("/invoices/<int:invoice_id>/payments/<int:payment_id>/receipt")
@require("finance:view")
def invoices_receipt(invoice_id: int, payment_id: int) -> Any:
    """The receipt of one payment (not of a refund on a credit note)."""
    invoice = get_scoped_or_404(Invoice, invoice_id)
    payment = get_scoped_or_404(Payment, payment_id)
    if payment.invoice_id != invoice.id or invoice.kind != "invoice":
        abort(404)
    body = pdf.receipt_pdf(payment, g.org, services.settings_of(g.org.id))
    return Response(
        body,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{pdf.receipt_number(payment)}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )

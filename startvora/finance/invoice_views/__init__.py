"""Invoices: the list, the draft form with its lines, the invoice page, issuing, voiding,
payments and the PDF.

One module per page; importing the package adds every route to the finance blueprint.
"""

from __future__ import annotations

from startvora.finance.invoice_views import (
    attachments,
    billing,
    form,
    listing,
    page,
    receipts,
    recurring,
)

__all__ = ["attachments", "billing", "form", "listing", "page", "receipts", "recurring"]

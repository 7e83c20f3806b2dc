"""Expenses and vendor bills: the list with export, the form with the receipt upload, the
expense page with approval, payment and billing on to customers, and recurring expenses.

One module per page; importing the package adds every route to the finance blueprint.
"""

from __future__ import annotations

from startvora.finance.expense_views import export, form, listing, page, recurring

__all__ = ["export", "form", "listing", "page", "recurring"]

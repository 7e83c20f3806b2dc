"""Finance reports: profit and loss, receivables aging, tax summary, revenue by customer and by
product, expenses by category, cash received; their index, filters and exports.

One module per concern; importing the package adds every route to the finance blueprint.
"""

from __future__ import annotations

from startvora.finance.report_views import exports, pages

__all__ = ["exports", "pages"]

"""Deals: the pipeline board, the list, the form, the deal page, moves, won and lost.

One module per page; importing the package adds every route to the CRM blueprint.
"""

from __future__ import annotations

from startvora.crm.deal_views import board, form, listing, page

__all__ = ["board", "form", "listing", "page"]

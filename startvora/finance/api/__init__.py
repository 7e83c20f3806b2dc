"""Finance in the API (/api/v1): tax rates and products, invoices, quotes and credit notes,
expenses and vendor bills, tax exemptions, reports. Importing the package declares every
endpoint."""

from __future__ import annotations

from startvora.finance.api import catalog, exemptions, expenses, invoices, reports

__all__ = ["catalog", "exemptions", "expenses", "invoices", "reports"]

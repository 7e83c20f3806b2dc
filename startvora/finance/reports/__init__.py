"""Finance reports, read from the monthly totals (`ledger.PeriodTotal`), never from every line:
profit and loss, receivables aging, tax summary, revenue by customer and by product, expenses by
category and cash received. Amounts are integer minor units of the organization's currency.

The totals are monthly, so a range covers whole months: its start is taken as its month's first
day and its end as its month's last day. Quarters and years follow the organization's fiscal
year (`Organization.fiscal_year_start`).
"""

from __future__ import annotations

from startvora.finance.reports.aging import Aging, AgingRow, bucket_of, receivables_aging
from startvora.finance.reports.common import (
    BUCKETS,
    GRANULARITIES,
    MAX_MONTHS,
    PRESETS,
    Filters,
    category_label,
    customer_names,
    ensure_built,
    method_label,
    preset_range,
    product_names,
    range_label,
    read_filters,
    whole_months,
)
from startvora.finance.reports.statements import (
    CashMonth,
    CashReport,
    Line,
    Period,
    ProfitAndLoss,
    ShareReport,
    ShareRow,
    TaxRow,
    TaxSummary,
    cash_received,
    expenses_by_category,
    periods_of,
    profit_and_loss,
    revenue_by_customer,
    revenue_by_product,
    tax_summary,
)

__all__ = [
    "BUCKETS", "GRANULARITIES", "MAX_MONTHS", "PRESETS", "Aging", "AgingRow", "CashMonth",
    "CashReport", "Filters", "Line", "Period", "ProfitAndLoss", "ShareReport", "ShareRow",
    "TaxRow", "TaxSummary", "bucket_of", "cash_received", "category_label", "customer_names",
    "ensure_built", "expenses_by_category", "method_label", "periods_of", "preset_range",
    "product_names", "profit_and_loss", "range_label", "read_filters", "receivables_aging",
    "revenue_by_customer", "revenue_by_product", "tax_summary", "whole_months",
]  # fmt: skip

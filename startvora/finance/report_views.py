"""Finance reports: profit and loss, receivables aging, tax summary, revenue, expenses, cash."""

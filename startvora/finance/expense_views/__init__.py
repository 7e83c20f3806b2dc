"""Expense pages: the list, the form with its receipt, one expense's page, recurring expenses."""

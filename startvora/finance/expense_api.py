"""Expenses and vendor bills in the API."""

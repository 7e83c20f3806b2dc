"""Finance reports in the API, with the same figures as the report pages."""

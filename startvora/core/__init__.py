"""Mechanisms every module uses; no business rules live here."""

"""Contacts and companies are searched through a trigram index of their `search_name`
(core.fts); importing this module attaches it to their tables."""

from __future__ import annotations

from startvora.core import fts
from startvora.crm.models import Company, Contact

for _model in (Contact, Company):
    fts.attach(_model)

searcher = fts.searcher

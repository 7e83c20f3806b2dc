"""The CRM's blueprint, shared by its view modules: /o/<org_slug>/crm/..."""

from __future__ import annotations

from startvora.core.tenancy import org_blueprint

bp = org_blueprint("crm", __name__, url_prefix="/crm")

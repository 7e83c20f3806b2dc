"""Tax exemptions per customer in the API: list, set (or change the reason), lift."""

from __future__ import annotations

from typing import Any

from flask import g
from pydantic import BaseModel, Field

from startvora.core.api import ApiError, Invalid, endpoint, json_body, write_endpoint
from startvora.core.forms import FORM_ERROR
from startvora.extensions import db
from startvora.finance import services
from startvora.finance.models import TaxExemption


class ExemptionOut(BaseModel):
    id: int
    company_id: int | None
    contact_id: int | None
    reason: str


class ExemptionList(BaseModel):
    items: list[ExemptionOut]


class ExemptionBody(BaseModel):
    company_id: int | None = Field(None, ge=1, le=2**63 - 1, description="a company ...")
    contact_id: int | None = Field(None, ge=1, le=2**63 - 1, description="... or a person")
    reason: str = Field(description="printed on their documents; at most 200 characters")


class Lifted(BaseModel):
    id: int
    deleted: bool


@endpoint(
    "/tax-exemptions", summary="Customers charged no tax", response=ExemptionList,
    permission="finance:view", tag="Finance",
)  # fmt: skip
def tax_exemptions_list() -> Any:
    return {"items": db.session.execute(db.select(TaxExemption)).scalars().all()}


@write_endpoint(
    "PUT", "/tax-exemptions", summary="Exempt a customer from tax (or change the reason)",
    response=ExemptionOut, permission="finance:admin", tag="Finance", body=ExemptionBody,
)  # fmt: skip
def tax_exemptions_put() -> Any:
    body = json_body()
    try:
        data = ExemptionBody.model_validate(body)
    except ValueError:
        raise Invalid({FORM_ERROR: "Send company_id or contact_id, and reason."}) from None
    if not " ".join(data.reason.split()):
        raise Invalid({"reason": "Say why no tax is charged."})
    try:
        return services.save_exemption(
            g.org.id, g.api_user.id, data.company_id, data.contact_id, data.reason
        )
    except services.FinanceError as exc:
        raise Invalid({exc.field or FORM_ERROR: str(exc.message)}) from None


@write_endpoint(
    "DELETE", "/tax-exemptions/<int:exemption_id>", summary="Charge a customer tax again",
    response=Lifted, permission="finance:admin", tag="Finance",
)  # fmt: skip
def tax_exemptions_delete(exemption_id: int) -> Any:
    exemption = db.session.get(TaxExemption, exemption_id)
    if exemption is None or exemption.org_id != g.org.id:
        raise ApiError(404, "No such tax exemption.")
    services.lift_exemption(g.org.id, g.api_user.id, exemption)
    return {"id": exemption_id, "deleted": True}

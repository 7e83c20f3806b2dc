"""Validated input and API output of deals and pipelines: one schema for the form and the API.

A deal's value is typed as a decimal ("1250.50", or "1,250.50" in the reader's number format)
and kept in integer minor units of its currency; the exponent comes from `core.money`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from flask_babel import gettext as _
from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from startvora.core import money
from startvora.crm.models import STAGE_KINDS
from startvora.crm.schemas import PLAIN, check_tags

MAX_VALUE_MINOR = 10**15  # far beyond any deal; keeps sums inside SQLite's 64-bit integers
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=PLAIN)
]
ShortName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80, pattern=PLAIN)
]
StageKind = Literal["open", "won", "lost"]
assert set(STAGE_KINDS) == {"open", "won", "lost"}


def _empty_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _required_stage(value: Any) -> Any:
    if _empty_to_none(value) is None:
        raise ValueError(_("Choose a stage."))
    return value


OptionalId = Annotated[int | None, BeforeValidator(_empty_to_none)]


class DealIn(BaseModel):
    """A deal as a form or the API sends it. Validate with context={"currency": the
    organization's currency, "locale": its number locale}: an empty currency means the
    organization's own, and amounts may be typed in the organization's number format."""

    title: Title
    pipeline_id: OptionalId = None  # the stage's pipeline when left out
    stage_id: Annotated[int, BeforeValidator(_required_stage)]
    currency: str = Field(
        "", validate_default=True
    )  # before `value`: the value is checked against its exponent
    value: Decimal = Decimal(0)
    expected_close: Annotated[dt.date | None, BeforeValidator(_empty_to_none)] = None
    owner_id: OptionalId = None
    contact_id: OptionalId = None
    company_id: OptionalId = None
    tags: list[str] = Field(default_factory=list)

    _tags = field_validator("tags", mode="before")(check_tags)

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, value: Any, info: ValidationInfo) -> str:
        if value in (None, ""):
            value = (info.context or {}).get("currency", "")
        return money.check_currency(value)

    @field_validator("value", mode="before")
    @classmethod
    def _value(cls, raw: Any, info: ValidationInfo) -> Decimal:
        amount = money.parse_amount(raw, (info.context or {}).get("locale", "en"))
        if amount < 0:
            raise ValueError(_("The value cannot be negative."))
        currency = info.data.get("currency")
        if currency is None:  # the currency is wrong; that error is the one to show
            return amount
        digits = money.exponent(currency)
        if amount.normalize().as_tuple().exponent < -digits:  # type: ignore[operator]
            if digits == 0:
                raise ValueError(_("%(currency)s amounts have no decimals.", currency=currency))
            raise ValueError(
                _("%(currency)s amounts have at most %(n)d decimals.", currency=currency, n=digits)
            )
        if amount >= Decimal(MAX_VALUE_MINOR).scaleb(-digits):
            raise ValueError(_("The value is too large."))
        return amount

    @property
    def value_minor(self) -> int:
        return money.to_minor(self.value, self.currency)


class LostIn(BaseModel):
    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300, pattern=PLAIN)
    ]

    @field_validator("reason", mode="before")
    @classmethod
    def _reason(cls, value: Any) -> Any:
        if not str(value or "").strip():
            raise ValueError(_("Say why the deal was lost."))
        return value


class MoveIn(BaseModel):
    """Where a deal goes: a stage, and the deal it is dropped before (None: the end).

    `place="top"` puts it first in the stage (the keyboard menu uses it).
    """

    stage_id: Annotated[int, BeforeValidator(_required_stage)]
    before_id: OptionalId = None
    place: Literal["top", "end"] = "end"
    lost_reason: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=300, pattern=PLAIN)
    ] = ""

    @field_validator("place", mode="before")
    @classmethod
    def _place(cls, value: Any) -> Any:
        return "end" if value in (None, "") else value


class PipelineIn(BaseModel):
    name: ShortName


class StageIn(BaseModel):
    name: ShortName
    probability: Annotated[int, Field(ge=0, le=100)] = 10
    kind: StageKind = "open"

    @field_validator("probability", mode="before")
    @classmethod
    def _probability(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().rstrip("%").strip()
            if not value:
                return 0
            if not (value.isascii() and value.isdigit()):
                raise ValueError(_("Enter a probability from 0 to 100."))
        return value


class StageOut(BaseModel):
    id: int
    name: str
    position: int
    probability: int
    kind: str

    model_config = {"from_attributes": True}


class PipelineOut(BaseModel):
    id: int
    name: str
    position: int
    stages: list[StageOut]

    model_config = {"from_attributes": True}


class PipelineList(BaseModel):
    items: list[PipelineOut]
    total: int


class DealOut(BaseModel):
    id: int
    title: str
    pipeline_id: int
    stage_id: int
    status: Literal["open", "won", "lost"]
    value: str  # decimal, exact: "1250.50"
    value_minor: int
    currency: str
    expected_close: dt.date | None
    owner_id: int | None
    contact_id: int | None
    company_id: int | None
    rank: int
    closed_at: dt.datetime | None
    lost_reason: str
    tags: list[str]
    custom: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, deal: Any) -> DealOut:
        return cls(
            id=deal.id,
            title=deal.title,
            pipeline_id=deal.pipeline_id,
            stage_id=deal.stage_id,
            status=deal.stage.kind,
            value=str(money.from_minor(deal.value_minor, deal.currency)),
            value_minor=deal.value_minor,
            currency=deal.currency,
            expected_close=deal.expected_close,
            owner_id=deal.owner_id,
            contact_id=deal.contact_id,
            company_id=deal.company_id,
            rank=deal.rank,
            closed_at=deal.closed_at,
            lost_reason=deal.lost_reason,
            tags=list(deal.tags or []),
            custom=dict(deal.custom or {}),
            created_at=deal.created_at,
            updated_at=deal.updated_at,
        )


class DealPage(BaseModel):
    """One page of deals; `total` counts every deal matching the filters."""

    items: list[DealOut]
    total: int
    limit: int
    offset: int
    next_offset: int | None

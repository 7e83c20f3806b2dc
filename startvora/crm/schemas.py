"""Validated input and API output of the CRM: one schema for the form and the API."""

from __future__ import annotations

import re
from typing import Annotated, Any

from babel import Locale
from flask_babel import gettext as _
from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from startvora.auth.schemas import check_email

PLAIN = r"^[^\x00-\x1f\x7f]*$"
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200, pattern=PLAIN)]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=PLAIN)
]
LongText = Annotated[str, StringConstraints(max_length=20000)]
PHONE_RE = re.compile(r"^\+?[0-9 ()./-]{4,38}$")
WEBSITE_RE = re.compile(r"^(https?://)?[a-z0-9-]+(\.[a-z0-9-]+)+(:[0-9]{1,5})?(/\S*)?$", re.I)
MAX_TAGS, MAX_TAG = 20, 40


def _none_to_empty(value: Any) -> Any:
    return "" if value is None else value


def split_tags(value: Any) -> list[str]:
    """Tags from "a, b" or a list: trimmed, without duplicates (case-insensitive), in order."""
    items = value if isinstance(value, list) else str(value or "").split(",")
    seen: dict[str, str] = {}
    for item in items:
        tag = " ".join(str(item).split())
        if tag and tag.casefold() not in seen:
            seen[tag.casefold()] = tag
    return list(seen.values())


def check_optional_email(value: str) -> str:
    return check_email(value) if value else ""


def check_phone(value: str) -> str:
    if value and (not PHONE_RE.match(value) or sum(map(str.isdigit, value)) < 4):
        raise ValueError(_("Enter a phone number like +49 30 1234567."))
    return value


def check_website(value: str) -> str:
    if value and not WEBSITE_RE.match(value):
        raise ValueError(_("Enter a web address like example.com."))
    return value


def check_country(value: str) -> str:
    value = value.upper()
    # Two letters: the territories list also holds regions such as 001 (the world).
    if value and not (len(value) == 2 and value.isalpha() and value in Locale("en").territories):
        raise ValueError(_("Choose a country from the list."))
    return value


def check_tags(value: Any) -> list[str]:
    tags = split_tags(value)
    if len(tags) > MAX_TAGS:
        raise ValueError(_("At most %(n)d tags.", n=MAX_TAGS))
    if any(len(t) > MAX_TAG for t in tags):
        raise ValueError(_("A tag has at most %(n)d characters.", n=MAX_TAG))
    return tags


Text = Annotated[Short, BeforeValidator(_none_to_empty)]


class PartyIn(BaseModel):
    email: Text = ""
    phone: Text = ""
    website: Text = ""
    street: Text = ""
    city: Text = ""
    postal_code: Annotated[Text, StringConstraints(max_length=20)] = ""
    country: Text = ""
    tags: list[str] = Field(default_factory=list)
    source: Annotated[Text, StringConstraints(max_length=60)] = ""
    notes: Annotated[LongText, BeforeValidator(_none_to_empty)] = ""
    owner_id: int | None = None

    _email = field_validator("email")(check_optional_email)
    _phone = field_validator("phone")(check_phone)
    _website = field_validator("website")(check_website)
    _country = field_validator("country")(check_country)
    _tags = field_validator("tags", mode="before")(check_tags)

    @field_validator("owner_id", mode="before")
    @classmethod
    def _owner(cls, value: Any) -> Any:
        return None if value in ("", None) else value


class CompanyIn(PartyIn):
    name: Name
    industry: Annotated[Text, StringConstraints(max_length=80)] = ""


class ContactIn(PartyIn):
    first_name: Annotated[Text, StringConstraints(max_length=100)] = ""
    last_name: Annotated[Text, StringConstraints(max_length=100)] = ""
    job_title: Annotated[Text, StringConstraints(max_length=120)] = ""
    mobile: Text = ""
    company_id: int | None = None

    _mobile = field_validator("mobile")(check_phone)

    @field_validator("company_id", mode="before")
    @classmethod
    def _company(cls, value: Any) -> Any:
        return None if value in ("", None) else value

    @model_validator(mode="after")
    def _someone(self) -> ContactIn:
        if not (self.first_name or self.last_name or self.email):
            raise ValueError(_("Enter a name or an email address."))
        return self


class CompanyOut(BaseModel):
    id: int
    name: str
    email: str
    phone: str
    website: str
    industry: str
    street: str
    city: str
    postal_code: str
    country: str
    tags: list[str]
    source: str
    owner_id: int | None
    custom: dict[str, Any]

    model_config = {"from_attributes": True}


class ContactOut(BaseModel):
    id: int
    first_name: str
    last_name: str
    email: str
    phone: str
    mobile: str
    job_title: str
    company_id: int | None
    website: str
    street: str
    city: str
    postal_code: str
    country: str
    tags: list[str]
    source: str
    owner_id: int | None
    custom: dict[str, Any]

    model_config = {"from_attributes": True}


def _amount(value: Any) -> str:
    return "" if value is None else str(value).strip()


class LeadIn(BaseModel):
    """A lead from the form, an import or the API; `value` is a decimal in `currency`."""

    title: Annotated[Text, StringConstraints(max_length=200)] = ""
    first_name: Annotated[Text, StringConstraints(max_length=100)] = ""
    last_name: Annotated[Text, StringConstraints(max_length=100)] = ""
    email: Text = ""
    phone: Text = ""
    company_name: Annotated[Text, StringConstraints(max_length=200)] = ""
    source: Annotated[Text, StringConstraints(max_length=60)] = ""
    value: Annotated[str, BeforeValidator(_amount)] = ""
    currency: Annotated[Text, StringConstraints(max_length=3)] = ""
    notes: Annotated[LongText, BeforeValidator(_none_to_empty)] = ""
    tags: list[str] = Field(default_factory=list)
    owner_id: int | None = None

    _email = field_validator("email")(check_optional_email)
    _phone = field_validator("phone")(check_phone)
    _tags = field_validator("tags", mode="before")(check_tags)

    @field_validator("owner_id", mode="before")
    @classmethod
    def _owner(cls, value: Any) -> Any:
        return None if value in ("", None) else value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        from babel.numbers import list_currencies

        value = value.upper()
        if value and value not in list_currencies():
            raise ValueError(_("Choose a currency like EUR or USD."))
        return value

    @field_validator("value")
    @classmethod
    def _value(cls, value: str) -> str:
        if value:
            from decimal import Decimal, InvalidOperation

            try:
                number = Decimal(value.replace(" ", "").replace(",", ""))
            except InvalidOperation:
                raise ValueError(_("Enter an amount like 1250.00.")) from None
            if not number.is_finite() or number < 0 or number > 10**12:
                raise ValueError(_("Enter an amount like 1250.00."))
            return str(number)
        return value

    @model_validator(mode="after")
    def _someone(self) -> LeadIn:
        if not (self.title or self.first_name or self.last_name or self.email or self.company_name):
            raise ValueError(_("Enter a name, a company or an email address."))
        return self


class LeadOut(BaseModel):
    id: int
    title: str
    first_name: str
    last_name: str
    email: str
    phone: str
    company_name: str
    source: str
    status: str
    disqualify_reason: str
    value_minor: int
    currency: str
    tags: list[str]
    owner_id: int | None
    contact_id: int | None
    company_id: int | None
    deal_id: int | None

    model_config = {"from_attributes": True}

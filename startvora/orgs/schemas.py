"""Validated input and API output for organizations, members and invitations."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Annotated, Literal

from flask_babel import gettext as _
from pydantic import BaseModel, Field, StringConstraints, field_validator

from startvora.auth.schemas import Email, Text, check_email
from startvora.core.permissions import ROLES

Role = Literal["owner", "admin", "manager", "member", "accountant", "viewer"]
assert set(Role.__args__) == set(ROLES)  # type: ignore[attr-defined]
DateFormat = Literal["short", "medium", "long", "iso"]
Slug = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        min_length=2,
        max_length=50,
        pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$",
    ),
]
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


COMMON_CURRENCIES = (
    "USD",
    "EUR",
    "GBP",
    "CHF",
    "JPY",
    "CNY",
    "INR",
    "CAD",
    "AUD",
    "NZD",
    "SEK",
    "NOK",
    "DKK",
    "PLN",
    "CZK",
    "HUF",
    "RON",
    "BGN",
    "TRY",
    "ZAR",
    "BRL",
    "MXN",
    "ARS",
    "CLP",
    "COP",
    "PEN",
    "SGD",
    "HKD",
    "KRW",
    "TWD",
    "THB",
    "MYR",
    "IDR",
    "PHP",
    "VND",
    "AED",
    "SAR",
    "ILS",
    "EGP",
    "NGN",
    "KES",
    "MAD",
    "KWD",
    "BHD",
)
LOCALES = (
    "en",
    "en_GB",
    "de",
    "fr",
    "es",
    "it",
    "pt",
    "pt_BR",
    "nl",
    "sv",
    "nb",
    "da",
    "fi",
    "pl",
    "cs",
    "sk",
    "hu",
    "ro",
    "bg",
    "el",
    "tr",
    "ru",
    "uk",
    "ja",
    "zh",
    "ko",
    "ar",
    "he",
    "hi",
    "id",
    "th",
    "vi",
)


def check_locale(value: str) -> str:
    """Only the languages the settings page offers."""
    if value not in LOCALES:
        raise ValueError(_("Choose a language from the list."))
    return value


class OrgNewIn(BaseModel):
    name: Text


class OrgSettingsIn(BaseModel):
    name: Text
    slug: Slug
    legal_name: Short = ""
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] = ""
    tax_id: Annotated[str, StringConstraints(strip_whitespace=True, max_length=60)] = ""
    currency: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True)]
    locale: str
    timezone: str
    fiscal_year_start: int = Field(ge=1, le=12)
    date_format: DateFormat = "medium"
    number_locale: str = ""
    require_2fa: bool = False

    _locale = field_validator("locale")(check_locale)

    @field_validator("number_locale")
    @classmethod
    def _number_locale(cls, value: str) -> str:
        return check_locale(value) if value else value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if value not in COMMON_CURRENCIES:
            raise ValueError(_("Choose a currency from the list."))
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        if value not in zoneinfo.available_timezones():
            raise ValueError(_("Choose a time zone from the list."))
        return value


class InviteIn(BaseModel):
    email: Email
    role: Role

    _email = field_validator("email")(check_email)


class RoleIn(BaseModel):
    role: Role


class OrgOut(BaseModel):
    """The token's organization."""

    id: int
    slug: str
    name: str
    legal_name: str
    address: str
    tax_id: str
    currency: str
    locale: str
    timezone: str
    fiscal_year_start: int
    require_2fa: bool


class MemberOut(BaseModel):
    id: int
    user_id: int
    name: str
    email: str
    role: str
    joined_at: dt.datetime


class MemberPage(BaseModel):
    """One page of members; pass next_cursor as `after` for the next page."""

    items: list[MemberOut]
    next_cursor: int | None


Host = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=255, pattern=r"^[A-Za-z0-9.\-\[\]:]+$"
    ),
]


def _sender(value: str) -> str:
    from startvora.core.mail import valid_address

    if value and not valid_address(value):
        raise ValueError(
            _("Enter an address like Acme <billing@acme.example> or billing@acme.example.")
        )
    return value


class MailServerIn(BaseModel):
    """An organization's own SMTP server; an empty password keeps the stored one."""

    host: Host
    port: int = Field(ge=1, le=65535)
    security: Literal["none", "starttls", "tls"]
    username: Short = ""
    password: Annotated[str, StringConstraints(max_length=500)] = ""
    from_address: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=3, max_length=320)
    ]
    reply_to: Annotated[str, StringConstraints(strip_whitespace=True, max_length=320)] = ""

    _from = field_validator("from_address")(_sender)
    _reply = field_validator("reply_to")(_sender)


class ChannelIn(BaseModel):
    """An organization channel: a name, an apprise URL, and the events it hears (none: all)."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
    url: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=1000)]
    events: list[str] = []

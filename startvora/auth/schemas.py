"""Validated input for signing in and the first-run setup."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from pydantic import BaseModel, ConfigDict, Field, field_validator

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PASSWORD_MIN = 10


def check_email(value: str) -> str:
    value = value.strip().lower()
    if not EMAIL_RE.match(value):
        raise ValueError(_("Enter an email address like name@example.com."))
    return value


class SignInIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1024)
    remember: bool = False

    _email = field_validator("email")(check_email)


class SetupIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    org_name: str = Field(min_length=1, max_length=120)
    name: str = Field(min_length=1, max_length=120)
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=PASSWORD_MIN, max_length=1024)

    _email = field_validator("email")(check_email)

"""Validated input for signing in and the first-run setup."""

from __future__ import annotations

import re
from typing import Annotated

from flask_babel import gettext as _
from pydantic import BaseModel, Field, StringConstraints, field_validator

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PASSWORD_MIN = 10


def check_email(value: str) -> str:
    value = value.lower()
    if not EMAIL_RE.match(value):
        raise ValueError(_("Enter an email address like name@example.com."))
    return value


class SignInIn(BaseModel):
    email: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=320)]
    # Passwords are taken exactly as typed: spaces are part of them.
    password: str = Field(min_length=1, max_length=1024)
    remember: bool = False

    _email = field_validator("email")(check_email)


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


class SetupIn(BaseModel):
    org_name: Text
    name: Text
    email: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=320)]
    password: str = Field(min_length=PASSWORD_MIN, max_length=1024)

    _email = field_validator("email")(check_email)

"""Validated input for signing in, setup, passwords, two-factor and tokens."""

from __future__ import annotations

import re
from typing import Annotated

from flask_babel import gettext as _
from pydantic import BaseModel, Field, StringConstraints, ValidationInfo, field_validator

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

Email = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=320)]
# No control characters: names end up in email headers and file names.
PLAIN = r"^[^\x00-\x1f\x7f]*$"
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120, pattern=PLAIN)
]
# Passwords are taken exactly as typed: spaces are part of them.
Password = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]


def check_email(value: str) -> str:
    value = value.lower()
    if not EMAIL_RE.match(value):
        raise ValueError(_("Enter an email address like name@example.com."))
    return value


def check_new_password(password: str, email: str = "") -> None:
    from startvora.auth.services import password_problem

    problem = password_problem(password, email)
    if problem:
        raise ValueError(problem)


class SignInIn(BaseModel):
    email: Email
    password: Password
    remember: bool = False

    _email = field_validator("email")(check_email)


class SetupIn(BaseModel):
    org_name: Text
    name: Text
    email: Email
    password: Password

    _email = field_validator("email")(check_email)

    @field_validator("password")
    @classmethod
    def _strong(cls, value: str, info: ValidationInfo) -> str:
        check_new_password(value, info.data.get("email", ""))
        return value


class NewPasswordIn(BaseModel):
    """A new password typed twice; the person's email comes in the validation context."""

    password: Password
    confirm: Password

    @field_validator("password")
    @classmethod
    def _strong(cls, value: str, info: ValidationInfo) -> str:
        check_new_password(value, (info.context or {}).get("email", ""))
        return value

    @field_validator("confirm")
    @classmethod
    def _same(cls, value: str, info: ValidationInfo) -> str:
        if "password" in info.data and value != info.data["password"]:
            raise ValueError(_("The two passwords are not the same."))
        return value


class ChangePasswordIn(NewPasswordIn):
    current: Password


class ResetRequestIn(BaseModel):
    email: Email

    _email = field_validator("email")(check_email)


class CodeIn(BaseModel):
    code: Code


class DisableTwoFactorIn(BaseModel):
    disable_password: Password
    disable_code: Code


class ProfileIn(BaseModel):
    name: Text
    locale: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] = ""


class TokenIn(BaseModel):
    token_name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)
    ]
    org_id: int = Field(gt=0)


class MeOut(BaseModel):
    """The person a token belongs to."""

    id: int
    email: str
    name: str
    locale: str | None
    two_factor: bool = Field(validation_alias="has_2fa")
    role: str


class NewAccountIn(NewPasswordIn):
    """An account made while accepting an invitation (the email is the invitation's)."""

    name: Text

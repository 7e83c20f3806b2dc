"""One schema, two doors: validate submitted data with a pydantic schema, errors per field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from flask_babel import gettext as _
from pydantic import BaseModel, ValidationError

S = TypeVar("S", bound=BaseModel)

FORM_ERROR = "__all__"


class FormErrors(dict[str, str]):
    """Field name -> message; FORM_ERROR holds a message about the whole form."""


def _message(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in ("missing", "string_too_short") and ctx.get("min_length", 1) <= 1:
        return _("This field is required.")
    if kind == "string_too_short":
        return _("Use at least %(n)d characters.", n=ctx["min_length"])
    if kind == "string_too_long":
        return _("Use at most %(n)d characters.", n=ctx["max_length"])
    if kind in ("int_parsing", "int_type"):
        return _("Enter a whole number.")
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return _("Enter a number in the allowed range.")
    if kind == "string_pattern_mismatch":
        return _("This contains characters that are not allowed here.")
    if kind in ("literal_error", "enum"):
        return _("Choose one of the listed options.")
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return _("This value is not valid.")


def parse(
    schema: type[S], data: Mapping[str, Any], context: dict[str, Any] | None = None
) -> tuple[S | None, FormErrors]:
    """Validate data; give the schema object, or None and the errors keyed by field."""
    try:
        return schema.model_validate(dict(data), context=context), FormErrors()
    except ValidationError as exc:
        errors = FormErrors()
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else FORM_ERROR
            errors.setdefault(field, _message(error))
        return None, errors


def form_data(form: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """Only the named fields of a submitted form (never the whole form into a model)."""
    return {name: form.get(name, "") for name in fields if name in form}

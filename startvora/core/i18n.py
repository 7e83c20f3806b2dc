"""Languages, time zones and formatting through Babel, for the person and the organization."""

from __future__ import annotations

from typing import Any

from babel import Locale
from babel import numbers as babel_numbers
from flask import Flask, current_app, g, has_request_context, request
from flask_babel import format_date, format_datetime, format_percent, get_locale
from flask_login import current_user

from startvora.core import money
from startvora.extensions import babel
from startvora.paths import PACKAGE_DIR


def available_locales() -> list[str]:
    """Locales with a message catalogue; English is the source language."""
    return ["en", *sorted(str(loc) for loc in babel.list_translations() if str(loc) != "en")]


def select_locale() -> str:
    """Person's choice, then organization's, then the browser's, then the default.

    Outside a request (tasks, the CLI) only the organization on g and the default count.
    """
    settings = current_app.extensions["startvora.settings"]
    org = g.get("org")
    if not has_request_context():
        return org.locale if org is not None else settings.i18n.default_locale
    if current_user and current_user.is_authenticated and current_user.locale:
        return current_user.locale
    if org is not None:
        return org.locale
    return request.accept_languages.best_match(available_locales()) or (
        settings.i18n.default_locale
    )


def select_timezone() -> str:
    org = g.get("org")
    if org is not None:
        return org.timezone
    return current_app.extensions["startvora.settings"].i18n.default_timezone


def locale_name(code: str) -> str:
    """A locale's name in the reader's language: 'de' -> 'German' (or 'Deutsch')."""
    try:
        return Locale.parse(code).get_display_name(get_locale() or "en") or code
    except (ValueError, TypeError):
        return code


def _number_locale() -> str:
    org = g.get("org")
    return (org.number_locale if org is not None else None) or str(get_locale())


def date_filter(value: Any, fmt: str | None = None) -> str:
    """Jinja: a date in the organization's chosen format (short, medium, long or ISO)."""
    if value is None:
        return ""
    org = g.get("org")
    fmt = fmt or (org.date_format if org is not None else "medium")
    return format_date(value, "yyyy-MM-dd" if fmt == "iso" else fmt)


def number_filter(value: Any) -> str:
    """Jinja: a number in the organization's number format."""
    return babel_numbers.format_decimal(value, locale=_number_locale())


def money_filter(minor: int | None, currency: str | None = None) -> str:
    """Jinja: format minor units in the organization's currency and number format."""
    if minor is None:
        return ""
    org = g.get("org")
    code = currency or (org.currency if org else "USD")
    return money.format_money(minor, code, _number_locale())


def init_app(app: Flask, default_locale: str) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", default_locale)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(PACKAGE_DIR / "translations"))
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.filters.update(
        date=date_filter,
        datetime=format_datetime,
        number=number_filter,
        percent=format_percent,
        money=money_filter,
    )
    app.jinja_env.globals.update(locale_name=locale_name)

    @app.context_processor
    def _i18n() -> dict[str, Any]:
        locale = get_locale() or Locale.parse("en")
        return {"lang": locale.language, "text_direction": locale.text_direction}

"""Organization settings, its logo, and creating another organization."""

from __future__ import annotations

import zoneinfo
from functools import cache
from typing import Any

from babel import Locale
from flask import Response, abort, current_app, g, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from startvora.core import audit
from startvora.core.db import after_commit
from startvora.core.forms import FormErrors, parse
from startvora.core.htmx import redirect_to, render
from startvora.core.permissions import require
from startvora.core.storage import StorageError, storage
from startvora.extensions import db
from startvora.orgs import schemas, services
from startvora.orgs.blueprints import bp, home_bp
from startvora.orgs.schemas import COMMON_CURRENCIES, LOCALES


@cache
def _timezones() -> list[str]:
    return sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})


def _choices() -> dict[str, Any]:
    here = get_locale() or Locale.parse("en")
    locales = sorted(
        ((code, Locale.parse(code).get_display_name(here) or code) for code in LOCALES),
        key=lambda c: c[1].casefold(),
    )
    currencies = [(c, f"{c} · {here.currencies.get(c, c)}") for c in COMMON_CURRENCIES]
    months = [(str(n), here.months["format"]["wide"][n]) for n in range(1, 13)]
    return {
        "locales": locales,
        "currencies": currencies,
        "months": months,
        "timezones": [(t, t) for t in _timezones()],
    }


@bp.route("/settings", methods=["GET", "POST"])
@require("org:admin")
def settings() -> Any:
    """Name, address, tax id, logo, currency, language, time zone, fiscal year, formats, 2FA."""
    org = g.org
    errors = FormErrors()
    values: dict[str, Any] = {name: getattr(org, name) for name in services.SETTINGS_FIELDS}
    values["number_locale"] = org.number_locale or ""
    if request.method == "POST":
        values = {name: request.form.get(name, "") for name in services.SETTINGS_FIELDS}
        values["require_2fa"] = request.form.get("require_2fa") == "on"
        data, errors = parse(schemas.OrgSettingsIn, values)
        logo = b""
        upload = request.files.get("logo")
        if upload is not None:
            with upload.stream:  # large uploads are spooled to a temporary file
                logo = upload.read(services.LOGO_MAX_BYTES + 1) if upload.filename else b""
        if data is not None:
            old_logo, new_logo = org.logo_key, None
            try:
                if logo:
                    new_logo = services.save_logo(org, logo)
                changed = services.update_settings(org, data.model_dump())
            except services.SlugTakenError:
                errors = FormErrors({"slug": _("Another organization uses this address.")})
            except services.CurrencyLockedError as exc:
                errors = FormErrors({"currency": str(exc)})
            except services.LogoError as exc:
                errors = FormErrors({"logo": str(exc.message)})
            except StorageError:
                errors = FormErrors({"logo": _("The file storage cannot be reached. Try again.")})
            if errors and new_logo and new_logo != old_logo:
                storage().delete(new_logo)  # nothing saved, nothing kept
            if not errors:
                if logo:
                    changed.append("logo")
                if changed:
                    audit.record(
                        "org.settings_changed",
                        org=org,
                        actor=current_user,
                        target=org,
                        summary=", ".join(changed),
                        fields=changed,
                    )
                db.session.commit()
                return redirect_to(
                    url_for("orgs.settings", org_slug=org.slug), _("Settings saved.")
                )
            db.session.rollback()
    return render(
        "orgs/settings.html",
        status=422 if errors else 200,
        errors=errors,
        values=values,
        **_choices(),
    )


@bp.get("/settings/logo")
@require("org:view")
def logo() -> Any:
    """The organization's logo, to its members only."""
    if not g.org.logo_key:
        abort(404)
    try:
        data = storage().get(g.org.logo_key)
    except KeyError:
        abort(404)
    kind = g.org.logo_key.rsplit(".", 1)[-1]
    response = Response(data, mimetype=services.LOGO_TYPES.get(kind, "application/octet-stream"))
    response.cache_control.private = True  # members only: no shared cache may keep it
    response.cache_control.max_age = 3600
    response.headers["Content-Disposition"] = "inline"
    return response


@bp.post("/settings/logo/remove")
@require("org:admin")
def logo_remove() -> Any:
    """Remove the logo."""
    if g.org.logo_key:
        after_commit(services.delete_file, g.org.logo_key)
        g.org.logo_key = None
        audit.record(
            "org.settings_changed",
            org=g.org,
            actor=current_user,
            target=g.org,
            summary="logo removed",
            fields=["logo"],
        )
        db.session.commit()
    return redirect_to(url_for("orgs.settings"), _("The logo is removed."))


@home_bp.route("/orgs/new", methods=["GET", "POST"])
@login_required
def new_org() -> Any:
    """Create another organization, with the signed-in person as its owner."""
    errors = FormErrors()
    values: dict[str, Any] = {}
    if request.method == "POST":
        values = {"name": request.form.get("name", "")}
        data, errors = parse(schemas.OrgNewIn, values)
        if data is not None:
            i18n = current_app.extensions["startvora.settings"].i18n
            org = services.create_organization(
                data.name,
                owner=current_user,
                locale=i18n.default_locale,
                timezone=i18n.default_timezone,
                currency=i18n.default_currency,
            )
            audit.record("org.created", org=org, actor=current_user, target=org, summary=org.name)
            db.session.commit()
            session["last_org"] = org.slug
            return redirect_to(
                url_for("orgs.settings", org_slug=org.slug),
                _("%(org)s is ready. Check its settings.", org=org.name),
            )
    return render("orgs/new.html", status=422 if errors else 200, errors=errors, values=values)

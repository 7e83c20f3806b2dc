"""Contacts and companies: lists, forms, record pages, bulk actions, trash, merge."""

from __future__ import annotations

import time
from typing import Any

from flask import abort, g, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import func

from startvora.core import customfields as cf
from startvora.core import listview, live
from startvora.core.db import fold
from startvora.core.forms import FORM_ERROR, FormErrors, form_data, parse
from startvora.core.htmx import redirect_to, render
from startvora.core.permissions import require
from startvora.core.savedviews import views_for
from startvora.core.tenancy import get_scoped_or_404
from startvora.crm import schemas, services
from startvora.crm.blueprints import bp
from startvora.crm.models import Company, Contact, Deal
from startvora.crm.search_index import searcher
from startvora.extensions import db

CONTACT_INPUTS = (*services.CONTACT_FIELDS, "company_name")
COMPANY_INPUTS = services.COMPANY_FIELDS
_TAG_CACHE: dict[tuple[str, int], tuple[float, list[str]]] = {}


def members() -> list[tuple[int, str]]:
    return services.members_of(g.org.id)


MAX_OWNER_CHOICES = 60


def owner_choices() -> list[tuple[int, str]]:
    """Members to pick an owner from. A large organization lists only the person asking (and
    the owner in the query string): a select of thousands of names helps nobody."""
    if "crm_owner_choices" in g:
        return g.crm_owner_choices
    from startvora.auth.models import User
    from startvora.orgs.models import Membership

    count = db.session.execute(
        db.select(func.count()).select_from(Membership).where(Membership.org_id == g.org.id)
    ).scalar_one()
    if count <= MAX_OWNER_CHOICES:
        choices = members()
    else:
        wanted = {current_user.id}
        chosen = request.args.get("f_owner", "")
        if chosen.isdigit():
            wanted.add(int(chosen))
        rows = db.session.execute(
            db.select(User.id, User.name)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.org_id == g.org.id, User.id.in_(wanted))
            .order_by(func.lower(User.name))
        )
        choices = [(user_id, name) for user_id, name in rows]
    g.crm_owner_choices = choices
    return choices


def tags_in_use(model: Any) -> list[str]:
    """The tags used on a kind of record, for filters (kept for a minute: it reads every row)."""
    key = (model.__tablename__, g.org.id)
    cached = _TAG_CACHE.get(key)
    if cached and time.monotonic() - cached[0] < 60:
        return cached[1]
    table = model.__tablename__
    rows = db.session.execute(
        db.text(
            f"SELECT DISTINCT j.value FROM {table}, json_each({table}.tags) AS j "  # noqa: S608
            f"WHERE {table}.org_id = :org AND {table}.deleted_at IS NULL ORDER BY 1 LIMIT 200"
        ),
        {"org": g.org.id},
    ).scalars()
    tags = [t for t in rows if isinstance(t, str)]
    _TAG_CACHE[key] = (time.monotonic(), tags)
    return tags


def _common_filters(model: Any, entity: str) -> list[listview.Filter]:
    def by_owner(stmt: Any, value: str) -> Any:
        if value == "none":
            return stmt.where(model.owner_id.is_(None))
        return stmt.where(model.owner_id == int(value)) if value.isdigit() else stmt

    def by_tag(stmt: Any, value: str) -> Any:
        table = model.__table__
        return stmt.where(
            db.text(
                f"EXISTS (SELECT 1 FROM json_each({table.name}.tags) WHERE value = :tag)"  # noqa: S608
            ).bindparams(tag=value)
        )

    owners = [(str(i), n) for i, n in owner_choices()] + [("none", _("No owner"))]
    tags = tags_in_use(model)
    asked = request.args.get("f_tag") or request.form.get("f_tag") or ""
    if asked and asked not in tags:  # a tag newer than the cached list still filters
        tags = [*tags, asked]
    filters = [
        listview.Filter("owner", _l("Owner"), owners, by_owner),
        listview.Filter("tag", _l("Tag"), [(t, t) for t in tags], by_tag),
    ]
    for field in cf.fields_for(g.org.id, entity):
        if field.kind not in ("choice", "checkbox"):
            continue
        choices = (
            [(c, c) for c in field.choices]
            if field.kind == "choice"
            else [("1", _("Yes")), ("0", _("No"))]
        )

        def by_custom(stmt: Any, value: str, key: str = field.key, kind: str = field.kind) -> Any:
            expr = cf.json_value(model.custom, key)
            if kind == "checkbox":
                return stmt.where(func.coalesce(expr, 0) == (1 if value == "1" else 0))
            return stmt.where(expr == value)

        filters.append(listview.Filter(f"cf_{field.key}", field.label, choices, by_custom))
    return filters


def _light(model: Any) -> list[Any]:
    """Load a row's owner without the owner's memberships (one query fewer per list page)."""
    from sqlalchemy.orm import defaultload

    from startvora.auth.models import User

    return [defaultload(model.owner).lazyload(User.memberships)]


def contact_list_spec() -> listview.ListSpec:
    return listview.ListSpec(
        name="contacts",
        query=lambda: db.select(Contact).options(*_light(Contact)),
        id=Contact.id,
        columns=[
            listview.Column("name", _l("Name"), sort=Contact.search_name),
            listview.Column("email", _l("Email"), hide_on_phone=True),
            listview.Column("phone", _l("Phone"), hide_on_phone=True),
            listview.Column("company", _l("Company"), hide_on_phone=True),
            listview.Column("owner", _l("Owner"), hide_on_phone=True),
            listview.Column(
                "created", _l("Added"), sort=Contact.created_at, align="end", hide_on_phone=True
            ),
        ],
        search_fn=searcher(Contact),
        filters=_common_filters(Contact, "contact"),
        default_sort="name",
        bulk=True,
        per_page=50,
    )


def company_list_spec() -> listview.ListSpec:
    def by_country(stmt: Any, value: str) -> Any:
        return stmt.where(Company.country == value)

    return listview.ListSpec(
        name="companies",
        query=lambda: db.select(Company).options(*_light(Company)),
        id=Company.id,
        columns=[
            listview.Column("name", _l("Name"), sort=Company.search_name),
            listview.Column("email", _l("Email"), hide_on_phone=True),
            listview.Column("city", _l("City"), sort=Company.city, hide_on_phone=True),
            listview.Column("owner", _l("Owner"), hide_on_phone=True),
            listview.Column(
                "created", _l("Added"), sort=Company.created_at, align="end", hide_on_phone=True
            ),
        ],
        search_fn=searcher(Company),
        filters=_common_filters(Company, "company"),
        default_sort="name",
        bulk=True,
        per_page=50,
    )


KINDS = {
    "contacts": (Contact, contact_list_spec, "contact", "crm/contacts/index.html"),
    "companies": (Company, company_list_spec, "company", "crm/companies/index.html"),
}


def _index(kind: str) -> Any:
    _model, spec, entity, template = KINDS[kind]
    page = listview.run(spec())
    return render(
        template,
        block="listing",
        page=page,
        fields=cf.fields_for(g.org.id, entity),
        owners=owner_choices(),
        saved_views=views_for(g.org.id, current_user.id, kind),
        kind=kind,
    )


@bp.get("/contacts")
@require("crm:view")
def contacts_index() -> Any:
    """Every contact, with search, filters (owner, tag, custom fields), sort, saved views."""
    return _index("contacts")


@bp.get("/companies")
@require("crm:view")
def companies_index() -> Any:
    """Every company, with search, filters, sort and saved views."""
    return _index("companies")


# -- forms ---------------------------------------------------------------------------------------


def _company_id_from_name(name: str) -> tuple[int | None, str | None]:
    """The company a typed name stands for: exactly one of this organization's companies."""
    name = name.strip()
    if not name:
        return None, None
    found = [c.id for c in services.companies_named(name)]
    if len(found) == 1:
        return found[0], None
    if not found:
        return None, _(
            "No company is called %(name)s. Add it first, or pick one from the list.", name=name
        )
    return None, _("Several companies are called %(name)s; rename one first.", name=name)


def _form_values(obj: Any, inputs: tuple[str, ...]) -> dict[str, Any]:
    values = {name: getattr(obj, name, "") for name in inputs if hasattr(obj, name)}
    values["tags"] = ", ".join(getattr(obj, "tags", None) or [])
    values["owner_id"] = getattr(obj, "owner_id", None) or ""
    if isinstance(obj, Contact):
        values["company_name"] = obj.company.name if obj.company else ""
        values["company_id"] = obj.company_id or ""
    for key, value in (getattr(obj, "custom", None) or {}).items():
        values[f"{cf.PREFIX}{key}"] = (
            ("on" if value else "") if isinstance(value, bool) else str(value)
        )
    return values


def _save(kind: str, obj: Any | None) -> Any:
    """Validate the posted form (fields and custom fields) and save, or show the errors."""
    _model, _spec, entity, _template = KINDS[kind]
    inputs = CONTACT_INPUTS if kind == "contacts" else COMPANY_INPUTS
    fields = cf.fields_for(g.org.id, entity)
    values = form_data(request.form, inputs)
    for field in fields:
        values[f"{cf.PREFIX}{field.key}"] = request.form.get(f"{cf.PREFIX}{field.key}", "")
    parsed = dict(values)
    errors = FormErrors()
    if kind == "contacts":
        company_id, problem = _company_id_from_name(values.get("company_name", ""))
        parsed["company_id"] = company_id
        if problem:
            errors["company_name"] = problem
    schema = schemas.ContactIn if kind == "contacts" else schemas.CompanyIn
    data, field_errors = parse(schema, parsed)
    errors.update(field_errors)
    custom, custom_errors = cf.parse_values(fields, values)
    errors.update(custom_errors)
    if not errors and data is not None:
        try:
            saver = services.save_contact if kind == "contacts" else services.save_company
            saved = saver(g.org.id, current_user.id, data, custom, obj)
        except services.CrmError as exc:
            db.session.rollback()
            errors[exc.field or FORM_ERROR] = str(exc.message)
        else:
            live.publish(g.org.id, kind)
            db.session.commit()
            endpoint = "crm.contacts_show" if kind == "contacts" else "crm.companies_show"
            key = "contact_id" if kind == "contacts" else "company_id"
            return redirect_to(url_for(endpoint, **{key: saved.id}), _("Saved."))
    return _form_page(kind, obj, values, errors, 422)


def _form_page(
    kind: str, obj: Any | None, values: dict[str, Any], errors: FormErrors, status: int = 200
) -> Any:
    _model, _spec, entity, _template = KINDS[kind]
    return render(
        f"crm/{kind}/form.html",
        block="form",
        status=status,
        obj=obj,
        values=values,
        errors=errors,
        fields=cf.fields_for(g.org.id, entity),
        owners=members(),
        countries=_countries(),
    )


def _countries() -> list[tuple[str, str]]:
    from babel import Locale
    from flask_babel import get_locale

    territories = (get_locale() or Locale("en")).territories
    return sorted(
        ((code, name) for code, name in territories.items() if len(code) == 2 and code.isalpha()),
        key=lambda item: fold(item[1]),
    )


@bp.route("/contacts/new", methods=["GET", "POST"])
@require("crm:edit")
def contacts_new() -> Any:
    """A new contact."""
    if request.method == "POST":
        return _save("contacts", None)
    values: dict[str, Any] = {"owner_id": current_user.id}
    company_id = request.args.get("company", type=int)
    if company_id:
        values["company_name"] = get_scoped_or_404(Company, company_id).name
    return _form_page("contacts", None, values, FormErrors())


@bp.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@require("crm:edit")
def contacts_edit(contact_id: int) -> Any:
    """Change a contact."""
    contact = get_scoped_or_404(Contact, contact_id)
    if request.method == "POST":
        return _save("contacts", contact)
    return _form_page("contacts", contact, _form_values(contact, CONTACT_INPUTS), FormErrors())


@bp.route("/companies/new", methods=["GET", "POST"])
@require("crm:edit")
def companies_new() -> Any:
    """A new company."""
    if request.method == "POST":
        return _save("companies", None)
    return _form_page("companies", None, {"owner_id": current_user.id}, FormErrors())


@bp.route("/companies/<int:company_id>/edit", methods=["GET", "POST"])
@require("crm:edit")
def companies_edit(company_id: int) -> Any:
    """Change a company."""
    company = get_scoped_or_404(Company, company_id)
    if request.method == "POST":
        return _save("companies", company)
    return _form_page("companies", company, _form_values(company, COMPANY_INPUTS), FormErrors())


@bp.get("/companies/lookup")
@require("crm:view")
def companies_lookup() -> Any:
    """Company names matching what is typed, for the contact form's suggestions."""
    term = fold(request.args.get("company_name", ""))[:100]
    names: list[str] = []
    if term:
        names = list(
            db.session.execute(
                db.select(Company.name)
                .where(Company.search_name.like(term.replace("%", "").replace("_", "") + "%"))
                .order_by(Company.search_name)
                .limit(15)
            ).scalars()
        )
    return Markup("").join(Markup('<option value="{}"></option>').format(n) for n in names)


# -- record pages --------------------------------------------------------------------------------


def _deals_of(column: Any, value: int) -> list[Deal]:
    return list(
        db.session.execute(
            db.select(Deal).where(column == value).order_by(Deal.created_at.desc()).limit(50)
        ).scalars()
    )


@bp.get("/contacts/<int:contact_id>")
@require("crm:view")
def contacts_show(contact_id: int) -> Any:
    """One contact: details, custom fields, deals, duplicates, and the timeline."""
    contact = get_scoped_or_404(Contact, contact_id)
    return render(
        "crm/contacts/show.html",
        obj=contact,
        fields=cf.fields_for(g.org.id, "contact"),
        deals=_deals_of(Deal.contact_id, contact.id),
        duplicates=services.duplicates_of(contact),
        timeline_kind="contact",
        timeline_id=contact.id,
    )


@bp.get("/companies/<int:company_id>")
@require("crm:view")
def companies_show(company_id: int) -> Any:
    """One company: details, its people, deals, and the timeline."""
    company = get_scoped_or_404(Company, company_id)
    return render(
        "crm/companies/show.html",
        obj=company,
        fields=cf.fields_for(g.org.id, "company"),
        people=services.people_of(company),
        deals=_deals_of(Deal.company_id, company.id),
        timeline_kind="company",
        timeline_id=company.id,
    )


# -- deleting, bulk actions, merging ---------------------------------------------------------------


def _record(kind: str, record_id: int) -> Any:
    return get_scoped_or_404(KINDS[kind][0], record_id)


@bp.post("/<any(contacts, companies):kind>/<int:record_id>/delete")
@require("crm:delete")
def records_delete(kind: str, record_id: int) -> Any:
    """Move one contact or company to the trash."""
    obj = _record(kind, record_id)
    services.trash(g.org.id, current_user.id, obj)
    live.publish(g.org.id, kind)
    db.session.commit()
    return redirect_to(
        url_for(f"crm.{kind}_index"),
        _("%(name)s is in the trash; restore it from there.", name=obj.display_name),
    )


def _selected(kind: str) -> list[Any]:
    model = KINDS[kind][0]
    ids = listview.selected_ids(request.form)
    if not ids:
        return []
    return list(db.session.execute(db.select(model).where(model.id.in_(ids))).scalars())


def _back(kind: str) -> str:
    spec = KINDS[kind][1]()
    return url_for(f"crm.{kind}_index", **listview.read_state(spec, request.form).params())


@bp.post("/<any(contacts, companies):kind>/bulk/tag")
@require("crm:edit")
def records_bulk_tag(kind: str) -> Any:
    """Add a tag to the ticked records."""
    rows = _selected(kind)
    try:
        tags = schemas.check_tags(request.form.get("tag", ""))
    except ValueError as exc:
        return redirect_to(_back(kind), str(exc), "error")
    if not rows or not tags:
        return redirect_to(_back(kind), _("Tick some rows and type a tag first."), "warning")
    changed = services.add_tags(rows, tags)
    live.publish(g.org.id, kind)
    db.session.commit()
    _TAG_CACHE.pop((KINDS[kind][0].__tablename__, g.org.id), None)
    return redirect_to(
        _back(kind), ngettext("Tagged %(num)d record.", "Tagged %(num)d records.", changed)
    )


@bp.post("/<any(contacts, companies):kind>/bulk/assign")
@require("crm:edit")
def records_bulk_assign(kind: str) -> Any:
    """Give the ticked records an owner."""
    rows = _selected(kind)
    raw = request.form.get("owner_id", "")
    owner_id = int(raw) if raw.isdigit() else None
    if not rows:
        return redirect_to(_back(kind), _("Tick some rows first."), "warning")
    try:
        changed = services.assign(g.org.id, rows, owner_id)
    except services.CrmError as exc:
        db.session.rollback()
        return redirect_to(_back(kind), str(exc.message), "error")
    live.publish(g.org.id, kind)
    db.session.commit()
    return redirect_to(
        _back(kind), ngettext("Assigned %(num)d record.", "Assigned %(num)d records.", changed)
    )


@bp.post("/<any(contacts, companies):kind>/bulk/delete")
@require("crm:delete")
def records_bulk_delete(kind: str) -> Any:
    """Move the ticked records to the trash."""
    rows = _selected(kind)
    for obj in rows:
        services.trash(g.org.id, current_user.id, obj)
    live.publish(g.org.id, kind)
    db.session.commit()
    return redirect_to(
        _back(kind),
        ngettext("%(num)d record is in the trash.", "%(num)d records are in the trash.", len(rows)),
    )


@bp.route("/<any(contacts, companies):kind>/<int:record_id>/merge", methods=["GET", "POST"])
@require("crm:edit")
def records_merge(kind: str, record_id: int) -> Any:
    """Merge another record into this one: everything it holds moves over."""
    keep = _record(kind, record_id)
    errors = FormErrors()
    if request.method == "POST":
        other_id = request.form.get("other_id", type=int)
        if other_id is None and kind == "companies":
            other_id, _problem = _company_id_from_name(request.form.get("other_name", ""))
        other = db.session.get(KINDS[kind][0], other_id) if other_id else None
        if other is None or other.org_id != g.org.id:
            errors[FORM_ERROR] = _("Choose the record to merge into this one.")
        else:
            try:
                services.merge(g.org.id, current_user.id, keep, other)
            except services.CrmError as exc:
                db.session.rollback()
                errors[FORM_ERROR] = str(exc.message)
            else:
                live.publish(g.org.id, kind)
                db.session.commit()
                endpoint = f"crm.{kind}_show"
                key = "contact_id" if kind == "contacts" else "company_id"
                return redirect_to(url_for(endpoint, **{key: keep.id}), _("Merged."))
    candidates = services.duplicates_of(keep) if isinstance(keep, Contact) else []
    return render(
        "crm/merge.html",
        block="form",
        status=422 if errors else 200,
        keep=keep,
        kind=kind,
        candidates=candidates,
        errors=errors,
    )


# -- saved views -----------------------------------------------------------------------------------


@bp.post("/views")
@require("crm:view")
def views_save() -> Any:
    """Keep the list's current search, filters and sort under a name."""
    from startvora.core.savedviews import SavedView, clean_query

    kind = request.form.get("list_name", "")
    if kind not in (*KINDS, "deals", "leads"):
        return redirect_to(url_for("crm.contacts_index"), _("Unknown list."), "error")
    name = " ".join(request.form.get("name", "").split())[:80]
    query = clean_query(request.form.get("query", ""))
    back = url_for(f"crm.{kind}_index") + (f"?{query}" if query else "")
    if not name:
        return redirect_to(back, _("Give the view a name."), "warning")
    db.session.add(
        SavedView(
            org_id=g.org.id,
            user_id=current_user.id,
            list_name=kind,
            name=name,
            query=query,
            shared=request.form.get("shared") == "on",
        )
    )
    db.session.commit()
    return redirect_to(back, _("View %(name)s saved.", name=name))


@bp.post("/views/<int:view_id>/delete")
@require("crm:view")
def views_delete(view_id: int) -> Any:
    """Forget one of your saved views."""
    from startvora.core.savedviews import SavedView

    view = get_scoped_or_404(SavedView, view_id)
    if view.user_id != current_user.id:
        abort(404)
    kind = view.list_name
    db.session.delete(view)
    db.session.commit()
    return redirect_to(url_for(f"crm.{kind}_index"), _("View deleted."))

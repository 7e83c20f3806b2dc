"""Import contacts and companies from CSV or XLSX (upload, map, preview, progress, error file)
and export any filtered list of them to CSV or XLSX."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from flask import Response, abort, g, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from startvora.core import audit, listview, money
from startvora.core import importer as imp
from startvora.core.db import after_commit
from startvora.core.files import clean_filename
from startvora.core.htmx import redirect_to, render
from startvora.core.imports import ImportRun
from startvora.core.permissions import require
from startvora.core.storage import StorageError, storage
from startvora.core.tenancy import get_scoped_or_404
from startvora.crm import importing, views
from startvora.crm.blueprints import bp
from startvora.extensions import db

ENTITIES = "any(contacts, companies, leads)"
EXTENSIONS = {"csv": "text/csv", "txt": "text/csv", "tsv": "text/csv", "xlsx": imp.XLSX_MIME}


TARGETS: dict[str, type[importing.PartyTarget]] = {
    "contacts": importing.ContactTarget,
    "companies": importing.CompanyTarget,
    "leads": importing.LeadTarget,
}


def _target(entity: str) -> importing.PartyTarget:
    return TARGETS[entity](g.org.id, current_user.id)


def _run_or_404(run_id: int) -> ImportRun:
    run = get_scoped_or_404(ImportRun, run_id)
    if run.entity not in TARGETS:
        abort(404)
    return run


@bp.route("/<" + ENTITIES + ":entity>/import", methods=["GET", "POST"])
@require("crm:edit")
def imports_new(entity: str) -> Any:
    """Step 1: choose a CSV or Excel file; it is read and checked before anything else."""
    target = _target(entity)
    if request.method == "GET":
        return render("crm/imports/new.html", target=target, error=None)
    try:
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise imp.ImportFileError(_("Choose a file to import."))
        name = clean_filename(upload.filename)
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if ext not in EXTENSIONS:
            raise imp.ImportFileError(_("Choose a CSV file or an Excel workbook (.xlsx)."))
        try:
            data = upload.stream.read(imp.MAX_BYTES + 1)
        finally:
            upload.close()  # a large upload waits in a temporary file
        table = imp.read_table(data, name)
        if not table.rows:
            raise imp.ImportFileError(_("The file has a header row but no rows to import."))
        key = f"org-{g.org.id}/imports/{secrets.token_hex(16)}.{'xlsx' if ext == 'xlsx' else 'csv'}"
        storage().put(key, data, EXTENSIONS[ext])
    except imp.ImportFileError as exc:
        return render("crm/imports/new.html", target=target, error=exc.message, status=422)
    except StorageError:
        error = _("The file storage cannot be reached. Nothing was saved; try again.")
        return render("crm/imports/new.html", target=target, error=error, status=503)
    run = ImportRun(
        org_id=g.org.id,
        user_id=current_user.id,
        entity=entity,
        filename=name,
        file_key=key,
        encoding=table.encoding,
        columns=table.columns,
        mapping=imp.suggest_mapping(table.columns, target.fields()),
        total=len(table.rows),
    )
    db.session.add(run)
    db.session.commit()
    return redirect_to(url_for("crm.imports_map", run_id=run.id))


def _posted_mapping(run: ImportRun, target: imp.Target) -> dict[str, str]:
    known = {f.name for f in target.fields()}
    mapping = {}
    for i, column in enumerate(run.columns):
        value = request.form.get(f"col-{i}", "")
        mapping[column] = value if value in known else ""
    return mapping


def _map_page(run: ImportRun, target: imp.Target, mapping: dict[str, str], **extra: Any) -> Any:
    try:
        table = imp.read_table(storage().get(run.file_key), run.filename, imp.PREVIEW_ROWS)
    except (KeyError, imp.ImportFileError):
        abort(404)
    on_duplicate = extra.pop("on_duplicate", run.on_duplicate)
    rows = imp.preview(target, table, mapping, on_duplicate)
    return render(
        "crm/imports/map.html",
        block="preview" if request.method == "POST" else None,
        run=run,
        target=target,
        table=table,
        mapping=mapping,
        rows=rows,
        fields=target.fields(),
        on_duplicate=on_duplicate,
        problems=extra.pop("problems", []),
        status=extra.pop("status", 200),
    )


@bp.route("/imports/<int:run_id>/map", methods=["GET", "POST"])
@require("crm:edit")
def imports_map(run_id: int) -> Any:
    """Step 2: which field each column goes into, what to do with duplicates, a preview."""
    run = _run_or_404(run_id)
    if run.status != "uploaded":
        return redirect_to(url_for("crm.imports_show", run_id=run.id))
    target = _target(run.entity)
    if request.method == "POST":
        on_duplicate = "update" if request.form.get("on_duplicate") == "update" else "skip"
        return _map_page(run, target, _posted_mapping(run, target), on_duplicate=on_duplicate)
    return _map_page(run, target, run.mapping)


@bp.post("/imports/<int:run_id>/start")
@require("crm:edit")
def imports_start(run_id: int) -> Any:
    """Step 3: keep the mapping and start the import in the background."""
    run = _run_or_404(run_id)
    if run.status != "uploaded":  # started already (a second click): show its progress
        return redirect_to(url_for("crm.imports_show", run_id=run.id))
    target = _target(run.entity)
    mapping = _posted_mapping(run, target)
    on_duplicate = "update" if request.form.get("on_duplicate") == "update" else "skip"
    problems = imp.check_mapping(target, mapping)
    if problems:
        return _map_page(
            run, target, mapping, on_duplicate=on_duplicate, problems=problems, status=422
        )
    run.mapping, run.on_duplicate, run.status = mapping, on_duplicate, "queued"
    audit.record(
        f"crm.{run.entity}_imported",
        org=g.org.id,
        actor=current_user,
        target=run,
        summary=run.filename,
        rows=run.total,
    )
    after_commit(imp.run_import, g.org.id, run.id)
    db.session.commit()
    return redirect_to(url_for("crm.imports_show", run_id=run.id))


@bp.get("/imports/<int:run_id>")
@require("crm:edit")
def imports_show(run_id: int) -> Any:
    """Step 4: the import's progress (the fragment polls itself until it ends), then counts."""
    run = _run_or_404(run_id)
    if run.status == "uploaded":  # not started yet: its page is the mapping
        return redirect_to(url_for("crm.imports_map", run_id=run.id))
    return render("crm/imports/show.html", block="status", run=run, target=_target(run.entity))


@bp.get("/imports/<int:run_id>/errors")
@require("crm:edit")
def imports_errors(run_id: int) -> Any:
    """The rows that were not imported, as uploaded, each with the reason in an Error column."""
    run = _run_or_404(run_id)
    if not run.errors_key:
        abort(404)
    try:
        data = storage().get(run.errors_key)
    except KeyError:
        abort(404)
    stem = run.filename.rsplit(".", 1)[0]
    name = imp.export_filename(f"{stem}-errors", "csv")
    return Response(
        data,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


# -- export --------------------------------------------------------------------------------------


def _export_columns(entity: str) -> list[tuple[Any, Any]]:
    """Header and value getter of each column: the import's own labels, so files round-trip."""
    target = _target(entity)
    special = {
        "company": lambda r: r.company.name if r.company else "",
        "tags": lambda r: ", ".join(r.tags or []),
        "owner": lambda r: r.owner.email if r.owner else "",
        "value": lambda r: str(money.from_minor(r.value_minor, r.currency)),
    }
    columns: list[tuple[Any, Any]] = [
        (f.label, special.get(f.name) or (lambda r, n=f.name: getattr(r, n)))
        for f in target.base_fields
        if f.name != "full_name"
    ]
    for field in target.custom_fields:
        columns.append((field.label, lambda r, k=field.key: (r.custom or {}).get(k)))
    columns.append((_("Added"), lambda r: r.created_at.date()))
    return columns


def _export(entity: str) -> Response:
    from startvora.crm.lead_views import lead_list_spec

    spec = {
        "contacts": views.contact_list_spec,
        "companies": views.company_list_spec,
        "leads": lead_list_spec,
    }[entity]()
    state = listview.read_state(spec, request.args)
    sort = next(c.sort for c in spec.columns if c.key == state.sort)
    assert sort is not None
    order = (sort.desc(), spec.id.desc()) if state.desc else (sort.asc(), spec.id.asc())
    stmt = listview.filtered(spec, state).order_by(*order)
    records = list(db.session.execute(stmt).unique().scalars())
    columns = _export_columns(entity)
    fmt = "xlsx" if request.args.get("format") == "xlsx" else "csv"
    response = imp.export_rows(
        str(_target(entity).label),
        [label for label, _get in columns],
        ([get(r) for _label, get in columns] for r in records),
        fmt,
    )
    audit.record(
        f"crm.{entity}_exported",
        org=g.org.id,
        actor=current_user,
        summary=_("%(n)d rows, %(format)s", n=len(records), format=fmt.upper()),
        rows=len(records),
        format=fmt,
        filters=state.params(),
    )
    db.session.commit()
    return response


@bp.get("/<" + ENTITIES + ":entity>/transfer-menu")
@require("crm:view")
def transfer_menu(entity: str) -> str:
    """The import and export links of a list, for the filters in the browser's address now."""
    current = urlsplit(request.headers.get("HX-Current-URL", ""))
    on_list = current.path == url_for(f"crm.{entity}_index")
    args = MultiDict(parse_qsl(current.query)) if on_list else MultiDict()
    from startvora.crm.lead_views import lead_list_spec

    spec = {
        "contacts": views.contact_list_spec,
        "companies": views.company_list_spec,
        "leads": lead_list_spec,
    }[entity]()
    params = listview.read_state(spec, args).params()
    return render_template("crm/imports/_transfer_items.html", kind=entity, params=params)


@bp.get("/contacts/export")
@require("crm:view")
def contacts_export() -> Response:
    """The contacts list as filtered, searched and sorted on screen, as CSV or XLSX."""
    return _export("contacts")


@bp.get("/companies/export")
@require("crm:view")
def companies_export() -> Response:
    """The companies list as filtered, searched and sorted on screen, as CSV or XLSX."""
    return _export("companies")


@bp.get("/leads/export")
@require("crm:view")
def leads_export() -> Response:
    """The leads list as filtered, searched and sorted on screen, as CSV or XLSX."""
    return _export("leads")

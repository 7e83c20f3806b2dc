"""The import job: batches, progress, resuming where it stopped, and the error file."""

from __future__ import annotations

import codecs
import csv
import io
import logging
from collections.abc import Iterable, Sequence

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from startvora.core.db import utcnow
from startvora.core.importer.reading import ImportFileError, Table, read_table
from startvora.core.importer.rows import Checked, Target, get_target, save_batch
from startvora.core.imports import ImportRun
from startvora.core.listview import _cell
from startvora.core.storage import storage
from startvora.core.tasks import analyze_database, task
from startvora.extensions import db

log = logging.getLogger(__name__)

BATCH = 500  # rows saved per transaction; progress moves on at each commit
RESTATS_AFTER = 5000  # rows added by one import that call for fresh planner statistics


# -- the job ------------------------------------------------------------------------------------


def error_rows_csv(columns: Sequence[str], rows: Iterable[Checked], header: bool) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    if header:
        writer.writerow([_cell(c) for c in (*columns, _("Error"))])
    for row in rows:
        writer.writerow([_cell(c) for c in (*row.cells, row.message)])
    return out.getvalue().encode()


def _part_key(run: ImportRun, batch: int) -> str:
    return f"org-{run.org_id}/imports/run-{run.id}-errors-{batch:05d}.csv"


def errors_key_of(run: ImportRun) -> str:
    return f"org-{run.org_id}/imports/run-{run.id}-errors.csv"


def import_rows(run: ImportRun, table: Table, target: Target) -> None:
    """Import the rows not yet processed, one batch per transaction, then the error file.

    Resumable: it starts at `run.processed`, so a run interrupted and started again does not
    save a row twice; the failed rows of each batch are kept beside it until the end.
    """
    mapping = {c: f for c, f in (run.mapping or {}).items() if c in table.columns}
    total = len(table.rows)
    # `processed` moves on a whole batch at a time (or to the end), so batches stay aligned.
    for start in range(run.processed, total, BATCH):
        batch = table.rows[start : start + BATCH]
        rows = save_batch(target, table.columns, mapping, batch, run.on_duplicate)
        failed = [r for r in rows if r.outcome == "error"]
        part = _part_key(run, start // BATCH)
        if failed:
            storage().put(part, error_rows_csv(table.columns, failed, header=False), "text/csv")
        run.processed = min(start + BATCH, total)
        run.created += sum(1 for r in rows if r.outcome == "create")
        run.updated += sum(1 for r in rows if r.outcome == "update")
        run.skipped += sum(1 for r in rows if r.outcome == "skip")
        run.failed += len(failed)
        db.session.commit()
    target.finish()
    if run.failed:
        parts = [error_rows_csv(table.columns, [], header=True)]
        for batch in range((total + BATCH - 1) // BATCH):
            try:
                parts.append(storage().get(_part_key(run, batch)))
            except KeyError:
                continue
        run.errors_key = errors_key_of(run)
        storage().put(run.errors_key, codecs.BOM_UTF8 + b"".join(parts), "text/csv")
    run.status = "done"
    run.finished_at = utcnow()
    db.session.commit()
    for batch in range((total + BATCH - 1) // BATCH):
        storage().delete(_part_key(run, batch))
    if run.created >= RESTATS_AFTER:  # a table that grew this much needs fresh statistics
        analyze_database()


@task(label=_l("Import a file"))
def run_import(org_id: int, run_id: int) -> None:
    """Import the rows of an uploaded file; running it again goes on where it stopped."""
    run = db.session.get(ImportRun, run_id)
    if run is None or run.org_id != org_id or run.status in ("uploaded", "done"):
        return  # gone, never started, or finished: nothing to do
    target_class = get_target(run.entity)
    if target_class is None:
        raise RuntimeError(f"no import target {run.entity!r}")
    run.status, run.message = "running", ""
    db.session.commit()
    try:
        table = read_table(storage().get(run.file_key), run.filename)
        import_rows(run, table, target_class(org_id, run.user_id))
    except (ImportFileError, KeyError) as exc:
        db.session.rollback()
        run.status = "failed"
        run.message = (
            str(exc.message)
            if isinstance(exc, ImportFileError)
            else _("The uploaded file is gone.")
        )
        run.finished_at = utcnow()
        db.session.commit()
    except Exception:
        db.session.rollback()
        run.status = "failed"
        run.message = _("The import stopped on an error. It will be tried again shortly.")
        db.session.commit()
        raise  # the queue retries it, from where it stopped

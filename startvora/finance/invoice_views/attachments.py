"""Files that go with an invoice or quote (a timesheet, terms, plans): attached while it is a
draft, emailed with its PDF, and offered on the customer's signed page."""

from __future__ import annotations

from typing import Any

from flask import g, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from startvora.core import audit, files
from startvora.core.htmx import redirect_to
from startvora.core.permissions import require
from startvora.core.tenancy import get_scoped_or_404
from startvora.extensions import db
from startvora.finance.blueprints import bp
from startvora.finance.models import Invoice

MAX_ATTACHMENTS = 10


def attachments_of(invoice: Invoice) -> list[files.StoredFile]:
    """An invoice's attached files, oldest first."""
    return files.attached_to("invoice", invoice.id)


def _back(invoice: Invoice, message: str, kind: str = "success") -> Any:
    return redirect_to(url_for("finance.invoices_show", invoice_id=invoice.id), message, kind)


@bp.post("/invoices/<int:invoice_id>/attachments")
@require("finance:edit")
def invoices_attach(invoice_id: int) -> Any:
    """Attach a file to a draft; it goes out with the document."""
    invoice = get_scoped_or_404(Invoice, invoice_id)
    if invoice.status != "draft":
        return _back(invoice, _("Files are attached while the document is a draft."), "error")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _back(invoice, _("Choose a file to attach."), "error")
    if len(attachments_of(invoice)) >= MAX_ATTACHMENTS:
        return _back(invoice, _("At most %(n)d files can be attached.", n=MAX_ATTACHMENTS), "error")
    try:
        stored = files.store_upload(
            g.org.id, current_user.id, upload, owner=("invoice", invoice.id)
        )
    except files.UploadError as exc:
        db.session.rollback()
        return _back(invoice, str(exc.message), "error")
    audit.record("finance.invoice_file_attached", org=g.org.id, actor=current_user,
                 target=invoice, summary=stored.filename)  # fmt: skip
    db.session.commit()
    return _back(invoice, _("%(name)s attached.", name=stored.filename))


@bp.post("/invoices/<int:invoice_id>/attachments/<int:file_id>/remove")
@require("finance:edit")
def invoices_detach(invoice_id: int, file_id: int) -> Any:
    """Remove an attached file from a draft."""
    invoice = get_scoped_or_404(Invoice, invoice_id)
    stored = get_scoped_or_404(files.StoredFile, file_id)
    if stored.owner_kind != "invoice" or stored.owner_id != invoice.id:
        return _back(invoice, _("That file is not attached to this document."), "error")
    if invoice.status != "draft":
        return _back(invoice, _("An issued document keeps its files."), "error")
    name = stored.filename
    files.delete_file(stored)
    audit.record("finance.invoice_file_removed", org=g.org.id, actor=current_user,
                 target=invoice, summary=name)  # fmt: skip
    db.session.commit()
    return _back(invoice, _("%(name)s removed.", name=name))

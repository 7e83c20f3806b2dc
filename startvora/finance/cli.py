"""`startvora finance ...`: upkeep commands for finance."""

from __future__ import annotations

import click


@click.group()
def finance() -> None:
    """Finance upkeep."""


@finance.command("rebuild-totals")
@click.option("--org", "org_slug", help="Only this organization (default: every one).")
def rebuild_totals(org_slug: str | None) -> None:
    """Recount the reports' monthly totals from the documents (after a restore or an import)."""
    from startvora import create_app
    from startvora.cli import UserFacingError, _require_schema
    from startvora.core.tenancy import org_context, system_context
    from startvora.extensions import db
    from startvora.finance import ledger
    from startvora.orgs.models import Organization

    app = create_app(migrations=False)
    with app.app_context():
        _require_schema(app)
        with system_context("list organizations to recount"):
            query = db.select(Organization.id, Organization.slug).order_by(Organization.id)
            if org_slug:
                query = query.where(Organization.slug == org_slug)
            orgs = db.session.execute(query).all()
        if org_slug and not orgs:
            raise UserFacingError(f"no organization with the slug {org_slug!r}")
        for org_id, slug in orgs:
            with org_context(org_id):
                rows = ledger.rebuild(org_id)
                db.session.commit()
            click.echo(f"{slug}: {rows} monthly totals")

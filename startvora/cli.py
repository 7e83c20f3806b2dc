"""The `startvora` command."""

from __future__ import annotations

import gc
import logging
import os
import random
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import click

from startvora.config import ENV_PREFIX, ConfigError, load_settings
from startvora.version import __version__

log = logging.getLogger("startvora.cli")
ROLE_CHOICES = ("owner", "admin", "manager", "member", "accountant", "viewer")


class UserFacingError(click.ClickException):
    """An error shown as one line, without a traceback."""


def _app() -> Any:
    from startvora import create_app

    return create_app()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML settings file (default: $STARTVORA_CONFIG or config/startvora.toml).",
)
@click.version_option(__version__, prog_name="startvora")
@click.pass_context
def cli(ctx: click.Context, config_file: Path | None) -> None:
    """Startvora: your whole business in one self-hosted appliance."""
    if config_file is not None:
        # Children (gunicorn, the consumer) inherit it through the environment.
        os.environ[ENV_PREFIX + "CONFIG"] = str(config_file.resolve())


def _config_args() -> list[str]:
    named = os.environ.get(ENV_PREFIX + "CONFIG")
    return ["--config", named] if named else []


@cli.command()
def init() -> None:
    """Create the database, or upgrade it to this version's schema."""
    from startvora.core.db import refresh_statistics
    from startvora.ops.upgrade import UpgradeError, safe_upgrade

    app = _app()
    try:
        before, after, snapshot = safe_upgrade(app)  # an existing database: snapshot first
    except UpgradeError as exc:
        raise UserFacingError(str(exc)) from None
    with app.app_context():
        if before is not None and after != before:
            refresh_statistics()  # new indexes have none, and the planner would pass them by
    if snapshot:
        click.echo(f"Snapshot before the upgrade: {snapshot}")
    click.echo(f"Database ready: {app.config['SQLALCHEMY_DATABASE_URI']} (schema {after})")


@cli.command()
@click.option("--host", help="Address to listen on (default from settings: server.host).")
@click.option("--port", type=click.IntRange(1, 65535), help="TCP port (server.port).")
@click.option("--workers", type=click.IntRange(1, 32), help="Web worker processes.")
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Run the web server and the background worker until stopped."""
    from startvora.core import datadir, logs
    from startvora.supervisor import serve as run_serve

    settings = load_settings()
    logs.setup(settings)
    datadir.prepare(settings)
    datadir.secret_key(settings)
    if settings.replication.url:
        from startvora.ops import replication

        # Litestream starts first and runs this same command as its child: the databases are
        # replicated for as long as Startvora runs, and stop together with it.
        if not os.environ.get(replication.UNDER_LITESTREAM):
            try:
                replication.exec_under_litestream(settings, [sys.executable, *sys.argv])
            except replication.ReplicationError as exc:
                raise UserFacingError(str(exc)) from None
    code = run_serve(
        settings,
        host or settings.server.host,
        port or settings.server.port,
        workers or settings.server.workers,
        _config_args(),
    )
    sys.exit(code)


@cli.command()
def worker() -> None:
    """Run only the background job consumer."""
    from startvora import create_app
    from startvora.core.tasks import huey, tracker

    app = create_app(migrations=False)
    settings = app.extensions["startvora.settings"]
    if huey.immediate:
        raise UserFacingError("queue.immediate is on: jobs run inline, there is nothing to consume")
    # Huey drops a job once taken; what was running when the last consumer died runs again.
    tracker.requeue_interrupted()
    consumer = huey.create_consumer(
        workers=settings.queue.workers,
        worker_type="thread",
        periodic=True,
        initial_delay=0.1,
        max_delay=0.5,
        check_worker_health=True,
        # SIGTERM (from `serve`, systemd or a container) lets running jobs finish.
        graceful_signal="TERM",
        shutdown_timeout=15,
    )
    log.info("background worker started with %d threads", settings.queue.workers)
    gc.freeze()  # start-up's objects leave the collector's full passes (as in startvora.wsgi)
    consumer.run()


@cli.command()
@click.option("--size", type=click.Choice(["small", "large"]), default="small", show_default=True)
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same data.")
@click.option("--org", "org_slug", help="Load into this organization (default: a new 'Demo').")
def demo(size: str, seed: int, org_slug: str | None) -> None:
    """Load realistic demo data from every module."""
    from startvora import create_app
    from startvora.auth import services as auth
    from startvora.core.registry import registry
    from startvora.extensions import db
    from startvora.orgs import services as orgs
    from startvora.orgs.models import Organization

    app = create_app(migrations=False)
    with app.app_context():
        _require_schema(app)
        rng = random.Random(seed)
        password = None
        if org_slug:
            org = db.session.execute(
                db.select(Organization).where(Organization.slug == org_slug)
            ).scalar_one_or_none()
            if org is None:
                raise UserFacingError(f"no organization with the slug {org_slug!r}")
            owner = next((m.user for m in org.memberships if m.role == "owner"), None)
            if owner is None:
                raise UserFacingError(f"organization {org_slug!r} has no owner")
        else:
            if db.session.execute(
                db.select(Organization).where(Organization.slug == "demo")
            ).scalar_one_or_none():
                raise UserFacingError(
                    "a Demo organization exists already; add to it with --org demo"
                )
            email = "owner@demo.example.com"
            owner = auth.find_user(email)
            if owner is None:
                password = secrets.token_urlsafe(12)
                owner = auth.create_user(email, "Demo Owner", password)
            settings = app.extensions["startvora.settings"]
            org = orgs.create_organization(
                "Demo",
                owner=owner,
                locale=settings.i18n.default_locale,
                timezone=settings.i18n.default_timezone,
                currency=settings.i18n.default_currency,
            )
        started = time.perf_counter()
        counts: dict[str, int] = {}
        for generator in sorted(registry(app).demo, key=lambda d: (d.order, d.key)):
            counts.update(generator.run(org, owner, size, rng))
        db.session.commit()
        from startvora.core.db import refresh_statistics

        refresh_statistics()  # so the planner knows the new tables' shapes at once
        elapsed = time.perf_counter() - started
        summary = ", ".join(f"{n} {what}" for what, n in counts.items())
        click.echo(f"Loaded {size} demo data into '{org.name}' in {elapsed:.1f} s: {summary}.")
        if password:
            click.echo(f"Sign in as {owner.email} with the password {password}")
        else:
            click.echo(f"Sign in as {owner.email} with that account's password.")


def _require_schema(app: Any) -> None:
    from startvora.supervisor import schema_state

    if not schema_state(app.extensions["startvora.settings"]).up_to_date:
        raise UserFacingError("the database is not set up or is behind: run `startvora init`")


@cli.command("schema-revision", hidden=True)
def schema_revision() -> None:
    """Print the database's schema revision (used by `serve` for non-SQLite databases)."""
    from alembic.migration import MigrationContext

    from startvora.extensions import db

    app = _app()
    with app.app_context(), db.engine.connect() as conn:
        click.echo(MigrationContext.configure(conn).get_current_revision() or "")


@cli.command("count-users")
def count_users() -> None:
    """Print how many accounts the instance has (for scripts: 0 means none yet)."""
    from startvora import create_app
    from startvora.auth.models import User
    from startvora.extensions import db

    app = create_app(migrations=False)
    with app.app_context():
        _require_schema(app)
        click.echo(db.session.execute(db.select(db.func.count(User.id))).scalar_one())


@cli.command("create-user")
@click.option("--email", required=True, help="The person's email; it must not have an account.")
@click.option("--name", default="", help="Full name (default: the part of the email before @).")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from stdin.")
@click.option("--org", "org_name", required=True, help="Organization name or slug; made if new.")
@click.option("--role", type=click.Choice(ROLE_CHOICES), default="owner", show_default=True)
def create_user(email: str, name: str, password_stdin: bool, org_name: str, role: str) -> None:
    """Create an account (and its organization, if new) from a shell, as the setup page does."""
    from startvora import create_app
    from startvora.auth import services as auth
    from startvora.auth.schemas import check_email
    from startvora.core import audit
    from startvora.extensions import db
    from startvora.orgs import services as orgs
    from startvora.orgs.models import Organization

    password = sys.stdin.readline().rstrip("\n")
    app = create_app(migrations=False)
    with app.app_context():
        _require_schema(app)
        try:
            email = check_email(email.strip())
        except ValueError as exc:
            raise UserFacingError(str(exc)) from None
        problem = auth.password_problem(password, email)
        if problem:
            raise UserFacingError(f"password: {problem}")
        if auth.find_user(email) is not None:
            raise UserFacingError(f"{email} has an account already")
        name = (name.strip() or email.split("@")[0])[:120]
        org = db.session.execute(
            db.select(Organization).where(Organization.slug == org_name)
        ).scalar_one_or_none()
        if org is None:
            named = (
                db.session.execute(db.select(Organization).where(Organization.name == org_name))
                .scalars()
                .all()
            )
            if len(named) > 1:
                raise UserFacingError(f"several organizations are named {org_name!r}: use a slug")
            org = named[0] if named else None
        user = auth.create_user(email, name, password)
        if org is None:
            if role != "owner":
                raise UserFacingError("a new organization needs an owner: use --role owner")
            i18n = app.extensions["startvora.settings"].i18n
            org = orgs.create_organization(
                org_name, user, i18n.default_locale, i18n.default_timezone, i18n.default_currency
            )
        else:
            orgs.add_member(org, user, role)
        audit.record(
            "members.added",
            org=org,
            actor=None,
            target=user,
            summary=f"{email} as {role} (command line)",
        )
        db.session.commit()
        click.echo(f"Created {email} as {role} of '{org.name}' (/o/{org.slug}/).")


@cli.command("create-token")
@click.option("--email", required=True, help="Whose token it is.")
@click.option("--org", "org_slug", required=True, help="The organization's slug.")
@click.option("--name", default="command line", show_default=True, help="What uses the token.")
def create_token(email: str, org_slug: str, name: str) -> None:
    """Create an API token and print it once."""
    from startvora import create_app
    from startvora.auth import services as auth
    from startvora.auth import tokens
    from startvora.core import audit
    from startvora.core.tenancy import org_context
    from startvora.extensions import db
    from startvora.orgs.models import Membership, Organization

    app = create_app(migrations=False)
    with app.app_context():
        _require_schema(app)
        user = auth.find_user(email)
        org = db.session.execute(
            db.select(Organization).where(Organization.slug == org_slug)
        ).scalar_one_or_none()
        if user is None or org is None:
            raise UserFacingError("no such person or organization")
        if (
            db.session.execute(
                db.select(Membership.id).where(
                    Membership.org_id == org.id, Membership.user_id == user.id
                )
            ).first()
            is None
        ):
            raise UserFacingError(f"{email} is not a member of {org_slug}")
        with org_context(org.id):
            token, plain = tokens.create_token(user, org.id, name[:80])
            audit.record(
                "auth.token_created",
                org=org,
                actor=user,
                target=token,
                summary=f"{token.name} ({token.prefix}…, command line)",
            )
            db.session.commit()
        click.echo(plain)


@cli.group()
def storage() -> None:
    """Uploaded files: move them between the data folder and S3."""


@storage.command("migrate")
@click.option("--to", "target", type=click.Choice(["s3", "local"]), required=True)
def storage_migrate(target: str) -> None:
    """Copy every file to the other storage, checking each copy; then set storage.backend."""
    from startvora import create_app
    from startvora.core import storage as files

    app = create_app(migrations=False)
    source_name = "local" if target == "s3" else "s3"
    with app.app_context():
        try:
            count = files.migrate(files.build(app, source_name), files.build(app, target))
        except files.StorageError as exc:
            raise UserFacingError(str(exc)) from None
    click.echo(f"Copied and checked {count} files from {source_name} to {target}.")
    click.echo(f'Now set [storage] backend = "{target}" and restart Startvora.')


def _domain_commands() -> None:
    from startvora.finance.cli import finance
    from startvora.ops.cli import backup, restore, upgrade

    for command in (finance, backup, restore, upgrade):
        cli.add_command(command)


_domain_commands()


@cli.command("check-config")
def check_config() -> None:
    """Load the settings and report the first problem, if any."""
    settings = load_settings()
    click.echo(f"Settings are valid. Data folder: {settings.data_path}")


class MigrationsGroup(click.Group):
    """`startvora db ...`: Flask-Migrate's commands, imported only when used.

    Loading them lazily keeps Flask and Alembic out of `startvora serve`, the supervisor.
    """

    def _commands(self) -> click.Group:
        from flask_migrate.cli import db

        return db

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._commands().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        from flask.cli import ScriptInfo

        ctx.obj = ScriptInfo(create_app=_app, set_debug_flag=False)
        return self._commands().get_command(ctx, name)


def _migrations_context() -> None:
    # What Flask-Migrate's own `db` group does before its commands: an app context, and the
    # options its commands read from g (our migrations folder is set on the extension).
    from flask import g

    ctx = click.get_current_context()
    ctx.with_resource(_app().app_context())
    g.directory = None
    g.x_arg = ()


cli.add_command(
    MigrationsGroup(
        "db",
        callback=_migrations_context,
        help="Database migrations (Alembic): upgrade, downgrade, current, check, revision.",
    )
)


def main() -> None:
    """Entry point: run the command, turning known start-up problems into one line."""
    from startvora.core.datadir import DataDirError
    from startvora.supervisor import StartupError

    try:
        cli.main(prog_name="startvora")
    except (ConfigError, DataDirError, StartupError) as exc:
        prefix = "configuration error" if isinstance(exc, ConfigError) else "error"
        click.echo(f"startvora: {prefix}: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)

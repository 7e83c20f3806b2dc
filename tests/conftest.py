"""Fixtures: a session app on a real SQLite file, a clean schema per test, and personas."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import text

from startvora import create_app
from startvora.auth.models import User
from startvora.core import schema
from startvora.extensions import db as _db
from startvora.orgs.models import Organization
from tests import factories

# Settings from the developer's shell must not leak into tests.
for _name in [n for n in os.environ if n.startswith("STARTVORA_")]:
    del os.environ[_name]


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    data = tmp_path_factory.mktemp("data")
    app = create_app({"TESTING": True, "data_dir": str(data), "queue.immediate": True})
    yield app


@pytest.fixture
def db(app: Flask) -> Iterator[object]:
    with app.app_context():
        _db.drop_all()
        _db.create_all()
        # Stamped as migrations would, so that /healthz sees a current schema.
        _db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        _db.session.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
        _db.session.execute(
            text("INSERT INTO alembic_version VALUES (:v)"), {"v": schema.heads()[0]}
        )
        _db.session.commit()
        app.extensions.pop("startvora.setup_done", None)
        from startvora.core.tasks import tracker

        if tracker.book is not None:  # job records name org ids, which start again at 1
            tracker.book.execute("DELETE FROM startvora_jobs")
        yield _db
        _db.session.remove()


class IsolatedClient(FlaskClient):
    """Each request gets its own app context (its own g and session), as in production."""

    def open(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        # The test's own session must not serve rows cached before the request changed them.
        if has_app_context():
            _db.session.expire_all()
        return response


@pytest.fixture
def client(app: Flask, db: object) -> FlaskClient:
    app.test_client_class = IsolatedClient
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@dataclass
class Personas:
    org_a: Organization
    org_b: Organization
    alice: User  # owner of A
    carol: User  # member of A
    bob: User  # viewer of A
    charlie: User  # owner of B, nothing in A


@pytest.fixture
def people(db: object) -> Personas:
    org_a = factories.make_org(name="Acme Trading", slug="acme")
    org_b = factories.make_org(name="Bravo Goods", slug="bravo")
    personas = Personas(
        org_a=org_a,
        org_b=org_b,
        alice=factories.make_member(org_a, "owner", name="Alice Owner"),
        carol=factories.make_member(org_a, "member", name="Carol Member"),
        bob=factories.make_member(org_a, "viewer", name="Bob Viewer"),
        charlie=factories.make_member(org_b, "owner", name="Charlie Other"),
    )
    _db.session.commit()
    return personas


@pytest.fixture
def login(client: FlaskClient):
    """login(user): the test client is signed in as that person from now on."""

    def do_login(user: User) -> FlaskClient:
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
        return client

    return do_login


@pytest.fixture
def csrf_token(client: FlaskClient):
    """A valid CSRF token for the client's session (read from a rendered form)."""
    import re

    def token() -> str:
        html = client.get("/home", follow_redirects=True).get_data(as_text=True)
        match = re.search(r'"X-CSRFToken": "([^"]+)"', html)
        assert match, "no CSRF token on the page"
        return match.group(1)

    return token


def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


@pytest.fixture
def make_app(app: Flask, tmp_path: Path):
    """make_app(**settings): a second app on its own data folder; the queue is given back after."""
    from startvora.core import tasks

    def build(flask_config: dict | None = None, **settings: object) -> Flask:
        values = {"TESTING": True, "data_dir": str(tmp_path), "queue.immediate": True}
        values.update({k.replace("__", "."): v for k, v in settings.items()})
        values.update(flask_config or {})
        return create_app(values)

    yield build
    tasks.configure(app, tmp_path / "queue-restored.db", immediate=True)


@pytest.fixture
def smtp_server(tmp_path: Path):
    """A real SMTP server (aiosmtpd) on 127.0.0.1; yields (port, list of received messages)."""
    import email
    import socket

    from aiosmtpd.controller import Controller

    received: list[email.message.Message] = []

    class Keep:
        async def handle_DATA(self, server, session, envelope):
            received.append(email.message_from_bytes(envelope.original_content or b""))
            return "250 Message accepted for delivery"

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port, received
    controller.stop()


@pytest.fixture
def mail_app(make_app, smtp_server):
    """An app whose email goes to the test SMTP server, with its own database and personas."""
    port, received = smtp_server
    app = make_app(
        mail__host="127.0.0.1",
        mail__port=port,
        mail__security="none",
        mail__from_address="Startvora <office@example.com>",
    )
    app.test_client_class = IsolatedClient
    with app.app_context():
        _db.create_all()
        org = factories.make_org(name="Acme Trading", slug="acme")
        owner = factories.make_member(org, "owner", name="Alice Owner", email="alice@acme.test")
        _db.session.commit()
        owner_id = owner.id
    app.config["TEST_OWNER_ID"] = owner_id
    app.config["TEST_MAILBOX"] = received
    return app


def text_part(message) -> str:
    """The plain-text body of a received email (multipart or not)."""
    for part in message.walk():
        if part.get_content_type() == "text/plain" and not part.get_filename():
            return part.get_payload(decode=True).decode()
    raise AssertionError("the email has no text/plain part")


def csrf_of(client: FlaskClient, url: str = "/home") -> str:
    import re

    html = client.get(url, follow_redirects=True).get_data(as_text=True)
    match = re.search(r'"X-CSRFToken": "([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)

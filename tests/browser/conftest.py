"""A live Startvora on 127.0.0.1 and Playwright driving Debian's Chromium (never a download)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, sync_playwright
from werkzeug.serving import make_server

from startvora import create_app
from startvora.core import tasks
from startvora.extensions import db
from tests import factories

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
WIDTHS = {"laptop": (1280, 800), "phone": (390, 844)}


class LiveServer:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def empty(self) -> None:
        """A database with no account at all: the first-run state."""
        with self.app.app_context():
            db.drop_all()
            db.create_all()
        self.app.extensions.pop("startvora.setup_done", None)

    def seed(self, members: int = 0) -> dict[str, object]:
        """A fresh database: Acme with an owner and `members` more people."""
        with self.app.app_context():
            db.drop_all()
            db.create_all()
            org = factories.make_org(name="Acme Trading", slug="acme", currency="EUR")
            owner = factories.make_member(
                org, "owner", name="Olivia Owner", email="owner@acme.test"
            )
            for i in range(members):
                factories.make_member(
                    org, "member", name=f"Person {i:02d}", email=f"p{i:02d}@acme.test"
                )
            db.session.commit()
            return {"email": owner.email, "password": factories.PASSWORD, "slug": org.slug}


@pytest.fixture(scope="session")
def live_server(app: Flask, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live_app = create_app(
        {
            "data_dir": str(tmp_path_factory.mktemp("live")),
            "queue.immediate": True,
            "LIVE_POLL_MS": 1500,  # the fallback polls often here, so tests stay short
            # Tests click faster than people: room for streams of pages just left.
            "server.threads": 32,
        }
    )
    server = LiveServer(live_app)
    server.thread.start()
    yield server
    server.server.shutdown()
    tasks.configure(app, tmp_path_factory.mktemp("queue") / "queue.db", immediate=True)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(params=list(WIDTHS))
def width(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def page(browser: Browser, width: str) -> Iterator[Page]:
    """A page at the test's width that fails the test on any console error or page error."""
    w, h = WIDTHS[width]
    context = browser.new_context(viewport={"width": w, "height": h})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_default_timeout(10_000)
    page.allowed_statuses = {422}  # type: ignore[attr-defined]  # form errors come back as 422
    page.allowed_errors = []  # type: ignore[attr-defined]  # other expected lines, by the test
    yield page
    context.close()
    allowed = [f"status of {s} " for s in page.allowed_statuses]  # type: ignore[attr-defined]
    allowed += page.allowed_errors  # type: ignore[attr-defined]
    unexpected = [e for e in errors if not any(a in e for a in allowed)]
    assert unexpected == [], f"console errors: {unexpected}"


def check_accessibility(page: Page) -> None:
    """Run axe-core on the page; fail on serious or critical violations."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => ['serious', 'critical'].includes(v.impact))"
        ".map(v => v.id + ': ' + v.help + ' @ ' + v.nodes.map(n => n.target.join(' ')).join(', '))"
    )
    assert result == [], f"accessibility violations on {page.url}: {result}"


def sign_in(page: Page, base: str, email: str, password: str) -> None:
    page.goto(base + "/sign-in")
    page.fill("#f-email", email)
    page.fill("#f-password", password)
    page.click("#sign-in-form button[type=submit]")
    page.wait_for_url(lambda url: "/sign-in" not in url)

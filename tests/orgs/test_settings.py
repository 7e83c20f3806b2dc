"""Organization settings, logo upload, new organizations, role changes."""

from __future__ import annotations

import gc
import io
import struct
import zlib

import pytest

from startvora.extensions import db as _db
from startvora.orgs.models import Membership, Organization


def png(width=2, height=2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def form(token, **changes):
    values = {
        "csrf_token": token,
        "name": "Acme Trading",
        "slug": "acme",
        "legal_name": "",
        "address": "",
        "tax_id": "",
        "currency": "EUR",
        "locale": "de",
        "timezone": "Europe/Berlin",
        "fiscal_year_start": "4",
        "date_format": "iso",
        "number_locale": "",
    }
    values.update(changes)
    return values


def test_settings_are_saved_and_audited(client, people, login, csrf_token):
    login(people.alice)
    response = client.post(
        "/o/acme/settings",
        data=form(
            csrf_token(),
            legal_name="Acme Trading GmbH",
            tax_id="DE123",
            address="Hauptstr. 1\nBerlin",
            require_2fa="",
        ),
    )
    assert response.status_code == 303
    org = _db.session.get(Organization, people.org_a.id)
    assert (org.currency, org.locale, org.timezone, org.fiscal_year_start, org.date_format) == (
        "EUR",
        "de",
        "Europe/Berlin",
        4,
        "iso",
    )
    assert org.legal_name == "Acme Trading GmbH" and org.address == "Hauptstr. 1\nBerlin"
    audit = client.get("/o/acme/audit").get_data(as_text=True)
    assert "org.settings_changed" in audit and "legal_name" in audit
    dashboard = client.get("/o/acme/").get_data(as_text=True)
    assert "1.234.567,89" in dashboard


@pytest.mark.parametrize(
    ("changes", "field_message"),
    [
        ({"slug": "bravo"}, "Another organization uses this address."),
        ({"slug": "Not A Slug!"}, "not allowed here"),
        ({"currency": "XXY"}, "Choose a currency"),
        ({"timezone": "Mars/Base"}, "Choose a time zone"),
        ({"fiscal_year_start": "13"}, "allowed range"),
        ({"name": ""}, "This field is required."),
        ({"locale": "zz"}, "Choose a language"),
    ],
)
def test_bad_settings_change_nothing(client, people, login, csrf_token, changes, field_message):
    login(people.alice)
    response = client.post("/o/acme/settings", data=form(csrf_token(), **changes))
    assert response.status_code == 422 and field_message in response.get_data(as_text=True)
    org = _db.session.get(Organization, people.org_a.id)
    assert (org.slug, org.currency) == ("acme", "USD")


def test_slug_change_moves_the_urls(client, people, login, csrf_token):
    login(people.alice)
    response = client.post("/o/acme/settings", data=form(csrf_token(), slug="acme-trading"))
    assert response.headers["Location"] == "/o/acme-trading/settings"
    assert client.get("/o/acme-trading/").status_code == 200
    assert client.get("/o/acme/").status_code == 404


# Werkzeug's test client spools a request body over 500 KB to a temporary file it never
# closes; the warning is about the test's own upload, not about the application.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_logo_upload_checks_and_serves(app, client, people, login, csrf_token):
    login(people.alice)
    for data, message in (
        (b"GIF89a" + b"\0" * 20, "PNG, JPEG or WebP"),
        (png() + b"\0" * (1024 * 1024), "larger than 1 MB"),
        (b"<svg onload=alert(1)>", "PNG, JPEG or WebP"),
    ):
        bad = client.post(
            "/o/acme/settings",
            data={**form(csrf_token()), "logo": (io.BytesIO(data), "logo.png")},
            content_type="multipart/form-data",
        )
        assert bad.status_code == 422 and message in bad.get_data(as_text=True)
        assert _db.session.get(Organization, people.org_a.id).logo_key is None
    good = client.post(
        "/o/acme/settings",
        data={**form(csrf_token()), "logo": (io.BytesIO(png()), "x.png")},
        content_type="multipart/form-data",
    )
    assert good.status_code == 303
    with client.get("/o/acme/settings/logo") as served:
        assert served.status_code == 200 and served.data.startswith(b"\x89PNG")
    login(people.charlie)
    assert client.get("/o/acme/settings/logo").status_code == 404
    login(people.bob)
    assert client.get("/o/acme/settings").status_code == 403
    gc.collect()  # let the spooled upload's warning surface here, where it is expected


def test_new_organization(client, people, login, csrf_token):
    login(people.bob)
    response = client.post("/orgs/new", data={"csrf_token": csrf_token(), "name": "Bob's Bikes"})
    assert response.headers["Location"] == "/o/bob-s-bikes/settings"
    org = _db.session.execute(
        _db.select(Organization).where(Organization.slug == "bob-s-bikes")
    ).scalar_one()
    assert [m.role for m in org.memberships] == ["owner"]
    # The switcher in the top bar lists both organizations.
    html = client.get("/o/acme/").get_data(as_text=True)
    assert 'href="/o/bob-s-bikes/"' in html and 'href="/o/acme/"' in html
    empty = client.post("/orgs/new", data={"csrf_token": csrf_token(), "name": "  "})
    assert empty.status_code == 422


def membership_of(org, user):
    return _db.session.execute(
        _db.select(Membership).where(Membership.org_id == org.id, Membership.user_id == user.id)
    ).scalar_one()


def test_role_change_rules(client, people, login, csrf_token):
    login(people.alice)
    carol = membership_of(people.org_a, people.carol)
    page = client.get(f"/o/acme/members/{carol.id}")
    assert page.status_code == 200 and "Carol Member" in page.get_data(as_text=True)
    ok = client.post(
        f"/o/acme/members/{carol.id}/role", data={"csrf_token": csrf_token(), "role": "manager"}
    )
    assert ok.status_code == 303
    assert _db.session.get(Membership, carol.id).role == "manager"
    history = client.get(f"/o/acme/members/{carol.id}").get_data(as_text=True)
    assert "member → manager" in history

    alice = membership_of(people.org_a, people.alice)
    demote = client.post(
        f"/o/acme/members/{alice.id}/role", data={"csrf_token": csrf_token(), "role": "admin"}
    )
    assert "at least one owner" in client.get(demote.headers["Location"]).get_data(as_text=True)
    assert _db.session.get(Membership, alice.id).role == "owner"

    bad = client.post(
        f"/o/acme/members/{carol.id}/role", data={"csrf_token": csrf_token(), "role": "king"}
    )
    assert bad.status_code == 303 and _db.session.get(Membership, carol.id).role == "manager"

    login(people.carol)  # a manager cannot change roles
    assert (
        client.post(
            f"/o/acme/members/{alice.id}/role", data={"csrf_token": csrf_token(), "role": "viewer"}
        ).status_code
        == 403
    )


def test_a_failed_save_keeps_the_old_logo(app, client, people, login, csrf_token):
    login(people.alice)
    first = client.post(
        "/o/acme/settings",
        data={**form(csrf_token()), "logo": (io.BytesIO(png(2, 2)), "a.png")},
        content_type="multipart/form-data",
    )
    assert first.status_code == 303
    second = client.post(
        "/o/acme/settings",
        data={**form(csrf_token(), slug="bravo"), "logo": (io.BytesIO(png(3, 3)), "b.png")},
        content_type="multipart/form-data",
    )
    assert second.status_code == 422
    with client.get("/o/acme/settings/logo") as served:
        assert served.status_code == 200 and served.data == png(2, 2)
        assert "private" in served.headers["Cache-Control"]


def test_a_one_letter_name_gets_a_usable_slug(client, people, login, csrf_token):
    login(people.bob)
    response = client.post("/orgs/new", data={"csrf_token": csrf_token(), "name": "Q"})
    slug = response.headers["Location"].split("/")[2]
    assert len(slug) >= 2
    save = client.post(f"/o/{slug}/settings", data=form(csrf_token(), name="Q", slug=slug))
    assert save.status_code == 303


def test_names_with_control_characters_are_refused(client, people, login, csrf_token):
    login(people.alice)
    response = client.post("/o/acme/settings", data=form(csrf_token(), name="Acme\r\nBcc: x"))
    assert response.status_code == 422


def test_new_organization_is_reachable_from_the_switcher(client, people, login):
    login(people.bob)
    assert 'href="/orgs/new"' in client.get("/o/acme/").get_data(as_text=True)


def test_the_currency_stays_once_invoices_are_kept_in_it(client, people, login, csrf_token):
    from startvora.core.tenancy import org_context
    from tests import factories

    login(people.alice)
    token = csrf_token()
    assert client.post("/o/acme/settings", data=form(token, currency="EUR")).status_code == 303
    with org_context(people.org_a.id):
        factories.make_invoice(people.org_a)  # a draft: the currency may still change
        _db.session.commit()
        assert client.post("/o/acme/settings", data=form(token, currency="CHF")).status_code == 303
        factories.make_invoice(people.org_a, issue=True)
        _db.session.commit()
    refused = client.post("/o/acme/settings", data=form(token, currency="JPY"))
    assert refused.status_code == 422
    assert "Invoices and expenses are kept in this currency" in refused.get_data(as_text=True)
    assert _db.session.get(Organization, people.org_a.id).currency == "CHF"
    # The rest of the settings still save when the currency is left as it is.
    kept = client.post("/o/acme/settings", data=form(token, currency="CHF", legal_name="Acme AG"))
    assert kept.status_code == 303

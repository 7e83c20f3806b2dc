"""Importing contacts and companies from files, and exporting filtered lists."""

from __future__ import annotations

import csv
import io
import re

import openpyxl
import pytest
from werkzeug.test import EnvironBuilder

from startvora.core import customfields as cf
from startvora.core import importer
from startvora.core.audit import AuditEvent
from startvora.core.imports import ImportRun
from startvora.core.tenancy import org_context
from startvora.crm.models import Company, Contact
from startvora.extensions import db as _db
from tests import factories

BASE = "/o/acme/crm"

TEN_ROWS = """First name,Last name,E-mail,Phone,Company,Country,Tags,Budget,Owner
Ada,Lovelace,ada@example.com,+44 20 7946 0000,Engines,United Kingdom,"vip, london",1200,carol-mail
Grace,Hopper,grace@example.com,+1 555 0100,Navy,US,,50,
Alan,Turing,not-an-email,+44 1234 5678,,GB,,,
Edsger,Dijkstra,edsger@example.com,call me maybe,,NL,,,
Barbara,Liskov,barbara@example.com,,,US,,lots,
Donald,Knuth,donald@example.com,,Stanford,US,tex,,
Margaret,Hamilton,margaret@example.com,,Navy,US,,,
Ken,Thompson,ken@example.com,,,US,,,
Frances,Allen,frances@example.com,,,US,,7,
Tim,Berners-Lee,tim@example.com,,,GB,,,
"""


def upload(client, token, data: bytes, name: str = "people.csv", entity: str = "contacts"):
    # Built here so that it is closed: the test client leaves a large body's temporary file open
    # (werkzeug spools bodies over 500 KB to one).
    builder = EnvironBuilder(
        path=f"{BASE}/{entity}/import",
        method="POST",
        data={"csrf_token": token, "file": (io.BytesIO(data), name)},
    )
    environ = builder.get_environ()
    builder.close()
    try:
        return client.open(environ)
    finally:
        environ["wsgi.input"].close()


def run_of(org_id: int, run_id: int) -> ImportRun:
    with org_context(org_id):
        _db.session.expire_all()
        return _db.session.get(ImportRun, run_id)


def start(client, token, run_id: int, org_id: int, on_duplicate: str = "skip", **changes):
    """Start a run with the suggested mapping, changed where asked (column name -> field)."""
    run = run_of(org_id, run_id)
    mapping = {**run.mapping, **changes}
    form = {f"col-{i}": mapping.get(c, "") for i, c in enumerate(run.columns)}
    return client.post(
        f"{BASE}/imports/{run_id}/start",
        data={"csrf_token": token, "on_duplicate": on_duplicate, **form},
    )


def run_id_of(response) -> int:
    match = re.search(r"/imports/(\d+)", response.headers["Location"])
    assert match, response.headers.get("Location")
    return int(match.group(1))


@pytest.fixture
def budget(people):
    with org_context(people.org_a.id):
        _db.session.add(
            cf.CustomField(
                org_id=people.org_a.id,
                entity="contact",
                key="budget",
                label="Budget",
                kind="number",
            )
        )
        factories.make_company(people.org_a, name="Navy")
        _db.session.commit()


def contacts(org_id: int) -> dict[str, Contact]:
    with org_context(org_id):
        _db.session.expire_all()
        rows = _db.session.execute(_db.select(Contact)).unique().scalars()
        return {c.email: c for c in rows}


def test_ten_rows_three_bad_seven_imported_and_the_error_file(
    client, people, login, csrf_token, budget
):
    login(people.carol)
    token = csrf_token()
    org = people.org_a.id
    data = TEN_ROWS.replace("carol-mail", people.carol.email).encode()
    response = upload(client, token, data)
    assert response.status_code == 303
    run_id = run_id_of(response)
    run = run_of(org, run_id)
    assert (run.total, run.status, run.encoding) == (10, "uploaded", "utf-8")
    assert run.mapping == {
        "First name": "first_name",
        "Last name": "last_name",
        "E-mail": "email",
        "Phone": "phone",
        "Company": "company",
        "Country": "country",
        "Tags": "tags",
        "Budget": "cf_budget",
        "Owner": "owner",
    }

    assert client.get(f"{BASE}/imports/{run_id}").headers["Location"].endswith("/map")
    page = client.get(f"{BASE}/imports/{run_id}/map").get_data(as_text=True)
    assert "read as UTF-8" in page and "comma-separated" in page
    assert page.count('class="bad-cell') == 3  # the preview marks each bad cell
    assert "Enter an email address like name@example.com." in page
    assert "Budget must be a number." in page
    assert contacts(org) == {}  # a preview saves nothing

    response = start(client, token, run_id, org)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/imports/{run_id}")
    run = run_of(org, run_id)
    assert (run.status, run.processed, run.created, run.skipped, run.failed) == (
        "done",
        10,
        7,
        0,
        3,
    )
    saved = contacts(org)
    assert len(saved) == 7
    ada = saved["ada@example.com"]
    assert (ada.country, ada.tags, ada.custom, ada.owner_id) == (
        "GB",
        ["vip", "london"],
        {"budget": 1200},
        people.carol.id,
    )
    with org_context(org):
        companies = {c.name: c.id for c in _db.session.execute(_db.select(Company)).scalars()}
    assert set(companies) == {"Navy", "Engines", "Stanford"}  # Navy reused
    assert saved["grace@example.com"].company_id == companies["Navy"]
    assert saved["margaret@example.com"].company_id == companies["Navy"]
    assert ada.search_name == "ada lovelace ada@example.com" and ada.email_key == ada.email
    with org_context(org):
        created = _db.session.execute(
            _db.select(AuditEvent).where(AuditEvent.action == "crm.contact_created")
        ).scalars()
        assert {e.target_id for e in created} == {c.id for c in saved.values()}

    status = client.get(f"{BASE}/imports/{run_id}").get_data(as_text=True)
    assert "Import finished" in status and "Download rows with errors" in status
    assert "hx-trigger" not in status.split('id="import-status"')[1].split(">")[0]  # stops polling

    response = client.get(f"{BASE}/imports/{run_id}/errors")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[0] == [*run.columns, "Error"]
    assert [r[2] for r in rows[1:]] == [
        "not-an-email",
        "edsger@example.com",
        "barbara@example.com",
    ]
    assert rows[1][-1] == "E-mail: Enter an email address like name@example.com."
    assert rows[2][-1] == "Phone: Enter a phone number like +49 30 1234567."
    assert rows[3][-1] == "Budget: Budget must be a number."

    # The corrected error file goes back in: only those rows are added.
    fixed = response.get_data().decode("utf-8-sig")
    fixed = fixed.replace("not-an-email", "alan@example.com").replace("call me maybe", "")
    fixed = fixed.replace(",lots,", ",3,")
    again = run_id_of(upload(client, token, fixed.encode()))
    start(client, token, again, org, Error="")
    assert run_of(org, again).created == 3
    assert len(contacts(org)) == 10


def test_duplicates_by_email_are_skipped_or_updated(client, people, login, csrf_token):
    org = people.org_a.id
    with org_context(org):
        factories.make_contact(
            people.org_a,
            first_name="Ada",
            last_name="Byron",
            email="ada@example.com",
            phone="+44 1",
            city="London",
            tags=["old"],
        )
        _db.session.commit()
    login(people.alice)
    token = csrf_token()
    data = b"Email,Last name,City,Tags\nADA@example.com,Lovelace,,new\nbo@example.com,Bo,Oslo,\n"

    run_id = run_id_of(upload(client, token, data))
    start(client, token, run_id, org, on_duplicate="skip")
    run = run_of(org, run_id)
    assert (run.created, run.updated, run.skipped) == (1, 0, 1)
    ada = contacts(org)["ada@example.com"]
    assert (ada.last_name, ada.tags) == ("Byron", ["old"])

    run_id = run_id_of(upload(client, token, data))
    start(client, token, run_id, org, on_duplicate="update")
    run = run_of(org, run_id)
    assert (run.created, run.updated, run.skipped) == (0, 2, 0)  # bo@ was added by the first
    saved = contacts(org)
    ada = saved["ada@example.com"]
    # Filled cells change the record; the empty City keeps London; tags are added.
    assert (ada.first_name, ada.last_name, ada.city, ada.phone, ada.tags) == (
        "Ada",
        "Lovelace",
        "London",
        "+44 1",
        ["old", "new"],
    )
    assert len(saved) == 2


def test_repeated_emails_within_one_file(client, people, login, csrf_token):
    org = people.org_a.id
    login(people.alice)
    token = csrf_token()
    data = b"Email,First name\nx@example.com,One\nX@example.com,Two\ny@example.com,Y\n"
    run_id = run_id_of(upload(client, token, data))
    start(client, token, run_id, org, on_duplicate="update")
    run = run_of(org, run_id)
    assert (run.created, run.updated) == (2, 1)
    assert contacts(org)["x@example.com"].first_name == "Two"


def test_ids_taken_by_another_writer_send_the_batch_in_row_by_row(
    client, people, login, csrf_token, monkeypatch
):
    org = people.org_a.id
    with org_context(org):
        taken = factories.make_contact(people.org_a, email="early@example.com")
        _db.session.commit()
    from startvora.crm import importing

    # As if a contact were saved elsewhere between reading the next id and inserting.
    monkeypatch.setattr(importing, "next_id", lambda table: taken.id)
    login(people.alice)
    token = csrf_token()
    run_id = run_id_of(
        upload(client, token, b"Email,Last name\na@example.com,A\nb@example.com,B\n")
    )
    start(client, token, run_id, org)
    run = run_of(org, run_id)
    assert (run.status, run.created, run.failed) == ("done", 2, 0)
    saved = contacts(org)
    assert {e: c.last_name for e, c in saved.items()} == {
        "early@example.com": taken.last_name,
        "a@example.com": "A",
        "b@example.com": "B",
    }
    with org_context(org):
        logged = _db.session.execute(
            _db.select(AuditEvent.target_id).where(AuditEvent.action == "crm.contact_created")
        ).scalars()
        assert {saved["a@example.com"].id, saved["b@example.com"].id} <= set(logged)


def test_running_the_job_again_creates_nothing_new(client, people, login, csrf_token):
    org = people.org_a.id
    login(people.alice)
    token = csrf_token()
    run_id = run_id_of(upload(client, token, b"Email\na@example.com\nb@example.com\n"))
    start(client, token, run_id, org)
    assert len(contacts(org)) == 2
    importer.run_import.call_local(org, run_id)  # done: nothing to do
    with org_context(org):  # as if the worker died after the last commit, before "done"
        run = _db.session.get(ImportRun, run_id)
        run.status = "running"
        _db.session.commit()
    importer.run_import.call_local(org, run_id)
    run = run_of(org, run_id)
    assert (run.status, run.created, run.processed) == ("done", 2, 2)
    assert len(contacts(org)) == 2
    response = start(client, token, run_id, org)  # a second click on Import
    assert response.status_code == 303
    assert len(contacts(org)) == 2


def test_bad_files_get_a_clear_message(client, people, login, csrf_token):
    login(people.alice)
    token = csrf_token()
    garbage = bytes(range(256)) * 40_000  # 10 MB of binary
    response = upload(client, token, garbage)
    assert response.status_code == 422
    assert "This does not look like a CSV or Excel file" in response.get_data(as_text=True)
    response = upload(client, token, b"%PDF-1.4", "contacts.pdf")
    assert response.status_code == 422
    assert "Choose a CSV file or an Excel workbook" in response.get_data(as_text=True)
    response = upload(client, token, b"Email\n")
    assert response.status_code == 422
    assert "no rows to import" in response.get_data(as_text=True)
    response = client.post(f"{BASE}/contacts/import", data={"csrf_token": token})
    assert response.status_code == 422
    assert "Choose a file to import." in response.get_data(as_text=True)
    with org_context(people.org_a.id):
        assert _db.session.execute(_db.select(ImportRun)).first() is None


def test_a_windows_file_and_missing_columns(client, people, login, csrf_token):
    org = people.org_a.id
    login(people.alice)
    token = csrf_token()
    data = "Société;Ville\nCafé Noël;Orléans\n".encode("cp1252")
    run_id = run_id_of(upload(client, token, data))
    page = client.get(f"{BASE}/imports/{run_id}/map").get_data(as_text=True)
    assert "Windows-1252" in page and "semicolon-separated" in page and "Café Noël" in page
    response = start(client, token, run_id, org)  # nothing names a contact
    assert response.status_code == 422
    assert "Map a column to a name or to Email" in response.get_data(as_text=True)
    assert run_of(org, run_id).status == "uploaded"
    response = start(client, token, run_id, org, **{"Société": "email", "Ville": "email"})
    assert "Only one column can go into Email." in response.get_data(as_text=True)


def test_companies_import_by_name_with_an_xlsx(client, people, login, csrf_token):
    org = people.org_a.id
    with org_context(org):
        factories.make_company(people.org_a, name="Acme Rockets", city="")
        _db.session.commit()
    book = openpyxl.Workbook()
    book.active.append(["Company name", "City", "Industry"])
    book.active.append(["ACME rockets", "Tucson", "Aerospace"])
    book.active.append(["Globex", "Springfield", ""])
    book.active.append([None, "Nowhere", "Nothing"])
    out = io.BytesIO()
    book.save(out)
    login(people.alice)
    token = csrf_token()
    response = upload(client, token, out.getvalue(), "companies.xlsx", entity="companies")
    run_id = run_id_of(response)
    assert run_of(org, run_id).encoding == "xlsx"
    start(client, token, run_id, org, on_duplicate="update")
    run = run_of(org, run_id)
    assert (run.created, run.updated, run.failed) == (1, 1, 1)
    with org_context(org):
        names = {c.name: c.city for c in _db.session.execute(_db.select(Company)).scalars()}
    assert names == {"ACME rockets": "Tucson", "Globex": "Springfield"}  # as the file has it
    response = start(client, token, run_id, org)
    missing = run_id_of(upload(client, token, b"City\nOslo\n", entity="companies"))
    response = start(client, token, missing, org)
    assert "No column is mapped to Name, which every row needs." in response.get_data(as_text=True)


def test_htmx_gets_fragments(client, people, login, csrf_token):
    org = people.org_a.id
    login(people.alice)
    token = csrf_token()
    run_id = run_id_of(upload(client, token, b"Email,Name\nnot-an-email,Ada\n"))
    response = client.post(
        f"{BASE}/imports/{run_id}/map",
        data={"csrf_token": token, "col-0": "", "col-1": "full_name"},
        headers={"HX-Request": "true"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert 'id="import-preview"' in html and "bad-cell" not in html  # email left out now
    start(client, token, run_id, org)
    response = client.get(f"{BASE}/imports/{run_id}", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert "<html" not in html and 'id="import-status"' in html
    assert "HX-Request" in response.headers["Vary"]

    with org_context(org):  # while it runs, the fragment polls itself
        run = _db.session.get(ImportRun, run_id)
        run.status, run.processed, run.total = "running", 500, 2000
        _db.session.commit()
    html = client.get(f"{BASE}/imports/{run_id}", headers={"HX-Request": "true"}).get_data(
        as_text=True
    )
    assert 'hx-trigger="every 1s"' in html and 'value="500"' in html and "25%" in html


@pytest.fixture
def other_run(people):
    with org_context(people.org_b.id):
        run = ImportRun(
            org_id=people.org_b.id,
            entity="contacts",
            filename="theirs.csv",
            file_key="org-2/imports/theirs.csv",
            columns=["Email"],
            errors_key="org-2/imports/theirs-errors.csv",
            status="done",
        )
        _db.session.add(run)
        _db.session.commit()
        return run.id


def test_another_orgs_run_is_404(client, people, login, csrf_token, other_run):
    login(people.alice)
    token = csrf_token()
    for url in ("", "/map", "/errors"):
        assert client.get(f"{BASE}/imports/{other_run}{url}").status_code == 404
    for url in ("/map", "/start"):
        response = client.post(f"{BASE}/imports/{other_run}{url}", data={"csrf_token": token})
        assert response.status_code == 404


def test_a_run_without_errors_has_no_error_file(client, people, login, csrf_token):
    login(people.alice)
    token = csrf_token()
    run_id = run_id_of(upload(client, token, b"Email\na@example.com\n"))
    start(client, token, run_id, people.org_a.id)
    assert client.get(f"{BASE}/imports/{run_id}/errors").status_code == 404
    assert client.get(f"{BASE}/imports/99999").status_code == 404


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/contacts/import"),
        ("post", "/contacts/import"),
        ("get", "/companies/import"),
        ("get", "/imports/{run}"),
        ("get", "/imports/{run}/map"),
        ("post", "/imports/{run}/map"),
        ("post", "/imports/{run}/start"),
        ("get", "/imports/{run}/errors"),
    ],
)
def test_viewers_cannot_import(client, people, login, csrf_token, method, url):
    with org_context(people.org_a.id):
        run = ImportRun(
            org_id=people.org_a.id,
            user_id=people.alice.id,
            entity="contacts",
            filename="x.csv",
            file_key="org-1/imports/x.csv",
            columns=["Email"],
        )
        _db.session.add(run)
        _db.session.commit()
        run_id = run.id
    login(people.bob)
    token = csrf_token()
    kwargs = {"data": {"csrf_token": token}} if method == "post" else {}
    response = getattr(client, method)(BASE + url.format(run=run_id), **kwargs)
    assert response.status_code == 403


def test_login_required_and_post_only(client, people, login):
    response = client.get(f"{BASE}/contacts/import")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    assert client.get(f"{BASE}/contacts/export").status_code == 302
    login(people.alice)
    assert client.get(f"{BASE}/imports/1/start").status_code == 405
    assert client.get(f"{BASE}/deals/import").status_code == 404  # deals are not imported


# -- export --------------------------------------------------------------------------------------


@pytest.fixture
def listed(people):
    from startvora.crm import views

    views._TAG_CACHE.clear()  # tag filter choices are kept a minute, across tests too
    org = people.org_a
    with org_context(org.id):
        _db.session.add(
            cf.CustomField(org_id=org.id, entity="contact", key="vip", label="VIP", kind="checkbox")
        )
        globex = factories.make_company(org, name="Globex")
        factories.make_contact(
            org,
            first_name="=cmd|' /C calc'!A0",
            last_name="Evil",
            email="evil@example.com",
            phone="+1 555 0100",
            tags=["vip"],
            custom={"vip": True},
            company_id=globex.id,
            owner_id=people.carol.id,
        )
        factories.make_contact(org, first_name="Vera", last_name="Vip", tags=["vip"])
        factories.make_contact(org, first_name="Norm", last_name="Plain", tags=[])
        _db.session.commit()
    with org_context(people.org_b.id):
        factories.make_contact(people.org_b, first_name="Other", tags=["vip"])
        _db.session.commit()


def test_csv_export_is_the_filtered_list_escaped(client, people, login, listed):
    login(people.bob)  # viewers may export what they can see
    response = client.get(f"{BASE}/contacts/export?format=csv&f_tag=vip&sort=name&dir=desc")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert re.match(
        r'attachment; filename="Contacts-\d{4}-\d\d-\d\d\.csv"',
        response.headers["Content-Disposition"],
    )
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    header, body = rows[0], rows[1:]
    assert header[:4] == ["First name", "Last name", "Job title", "Company"]
    assert {"Email", "Phone", "Tags", "Owner", "VIP", "Added"} <= set(header)
    assert [r[1] for r in body] == ["Vip", "Evil"]  # only the tagged ones, name descending
    evil = dict(zip(header, body[1], strict=True))
    assert evil["First name"] == "'=cmd|' /C calc'!A0"  # a formula stays text
    assert evil["Phone"] == "'+1 555 0100"
    assert (evil["Company"], evil["Owner"], evil["Tags"], evil["VIP"]) == (
        "Globex",
        people.carol.email,
        "vip",
        "True",
    )
    with org_context(people.org_a.id):
        event = _db.session.execute(
            _db.select(AuditEvent).where(AuditEvent.action == "crm.contacts_exported")
        ).scalar_one()
        assert (event.actor_id, event.data["rows"], event.data["format"]) == (
            people.bob.id,
            2,
            "csv",
        )
        assert event.data["filters"]["f_tag"] == "vip"


def test_xlsx_export_and_search(client, people, login, listed):
    login(people.alice)
    response = client.get(f"{BASE}/contacts/export?format=xlsx&q=evil")
    assert response.mimetype == importer.XLSX_MIME
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    rows = list(sheet.values)
    assert len(rows) == 2  # the header and the one match
    assert rows[1][0] == "=cmd|' /C calc'!A0" and sheet["A2"].data_type == "s"
    response = client.get(f"{BASE}/companies/export?format=xlsx")
    rows = list(openpyxl.load_workbook(io.BytesIO(response.get_data())).active.values)
    assert [r[0] for r in rows] == ["Name", "Globex"]


def test_export_then_import_round_trips(client, people, login, csrf_token, listed):
    login(people.alice)
    token = csrf_token()
    exported = client.get(f"{BASE}/contacts/export?format=csv").get_data()
    run_id = run_id_of(upload(client, token, exported))
    run = run_of(people.org_a.id, run_id)
    assert run.mapping["Owner"] == "owner" and run.mapping["VIP"] == "cf_vip"
    start(client, token, run_id, people.org_a.id, on_duplicate="skip")
    run = run_of(people.org_a.id, run_id)
    assert (run.skipped, run.failed) == (3, 0)  # each exported contact is found again


def test_the_transfer_menu_follows_the_address(client, people, login, listed):
    login(people.alice)
    html = client.get(
        f"{BASE}/contacts/transfer-menu",
        headers={"HX-Request": "true", "HX-Current-URL": f"http://x{BASE}/contacts?f_tag=vip&q=v"},
    ).get_data(as_text=True)
    assert "/contacts/import" in html
    assert "/contacts/export?format=csv" in html and "f_tag=vip" in html and "q=v" in html
    html = client.get(
        f"{BASE}/contacts/transfer-menu", headers={"HX-Current-URL": "http://x/elsewhere?f_tag=vip"}
    ).get_data(as_text=True)
    assert "f_tag" not in html


def test_leads_import_update_and_export(client, people, login, csrf_token):
    from startvora.crm.models import Lead

    org = people.org_a.id
    with org_context(org):
        factories.make_lead(people.org_a, email="mia@fair.test", value_minor=10000, currency="USD")
        _db.session.commit()
    login(people.alice)
    token = csrf_token()
    data = (
        b"Name,Email,Company,Value,Source\n"
        b"Mia Muster,MIA@fair.test,Muster GmbH,,Trade fair\n"
        b"Lee Lead,lee@fair.test,Lead Ltd,2500.50,Trade fair\n"
        b"Bad Value,bad@fair.test,Bad Co,a lot,Trade fair\n"
    )
    run_id = run_id_of(upload(client, token, data, name="fair.csv", entity="leads"))
    start(client, token, run_id, org, on_duplicate="update")
    run = run_of(org, run_id)
    assert (run.created, run.updated, run.failed) == (1, 1, 1), run.message
    with org_context(org):
        _db.session.expire_all()
        saved = {lead.email: lead for lead in _db.session.execute(_db.select(Lead)).scalars()}
        assert saved["lee@fair.test"].value_minor == 250050
        mia = saved["mia@fair.test"]
        # The empty Value cell keeps the saved value; the filled cells change the lead.
        assert (mia.value_minor, mia.company_name, mia.source) == (
            10000,
            "Muster GmbH",
            "Trade fair",
        )
    exported = client.get("/o/acme/crm/leads/export?format=csv&q=lee").get_data(as_text=True)
    assert "lee@fair.test" in exported and "2500.50" in exported and "mia@" not in exported

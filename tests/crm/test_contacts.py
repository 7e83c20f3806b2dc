"""Contacts and companies: lists, forms with custom fields, record pages, bulk actions, trash."""

from __future__ import annotations

import pytest

from startvora.core import customfields as cf
from startvora.core.tenancy import org_context
from startvora.crm.models import Company, Contact
from startvora.extensions import db as _db
from tests import factories

BASE = "/o/acme/crm"


def post(client, url, token, **data):
    return client.post(url, data={"csrf_token": token, **data})


def test_create_a_contact_with_a_company_and_custom_fields(client, people, login, csrf_token):
    with org_context(people.org_a.id):
        company = factories.make_company(people.org_a, name="Zoë Trading GmbH")
        _db.session.add(
            cf.CustomField(
                org_id=people.org_a.id,
                entity="contact",
                key="budget",
                label="Budget",
                kind="number",
            )
        )
        _db.session.commit()
    login(people.carol)
    token = csrf_token()
    response = post(
        client,
        f"{BASE}/contacts/new",
        token,
        first_name="Ada",
        last_name="Lovelace",
        email="ADA@Example.com",
        phone="+44 20 7946 0000",
        company_name="zoe trading gmbh",
        tags="vip, London, vip",
        cf_budget="12,5",
        owner_id=str(people.carol.id),
    )
    assert response.status_code == 303
    with org_context(people.org_a.id):
        contact = _db.session.execute(_db.select(Contact)).scalar_one()
        assert (contact.email, contact.company_id, contact.tags) == (
            "ada@example.com",
            company.id,
            ["vip", "London"],
        )
        assert contact.custom == {"budget": 12.5}
    page = client.get(f"{BASE}/contacts/{contact.id}").get_data(as_text=True)
    assert "Ada Lovelace" in page and "Zoë Trading GmbH" in page and "12.5" in page
    assert "Created" in page  # the timeline shows the record's history
    assert "Budget: 12.5" in client.get(f"{BASE}/contacts").get_data(as_text=True)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "not-an-email", "email address"),
        ("phone", "call me", "phone number"),
        ("cf_budget", "lots", "must be a number"),
        ("company_name", "Nobody Inc", "No company is called"),
        ("country", "XX", "country"),
        ("country", "001", "country"),  # a region, not a country
    ],
)
def test_bad_input_is_refused_with_a_clear_message(
    client, people, login, csrf_token, field, value, message
):
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
        _db.session.commit()
    login(people.alice)
    response = post(
        client, f"{BASE}/contacts/new", csrf_token(), first_name="Ada", **{field: value}
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with org_context(people.org_a.id):
        assert _db.session.execute(_db.select(Contact)).first() is None


def test_a_contact_needs_a_name_or_an_email(client, people, login, csrf_token):
    login(people.alice)
    response = post(client, f"{BASE}/contacts/new", csrf_token(), job_title="CEO")
    assert response.status_code == 422
    assert "Enter a name or an email address" in response.get_data(as_text=True)


def test_list_search_is_accent_and_case_blind(client, people, login):
    with org_context(people.org_a.id):
        factories.make_contact(people.org_a, first_name="Zoë", last_name="Ångström")
        factories.make_contact(people.org_a, first_name="Bob", last_name="Other")
        _db.session.commit()
    login(people.bob)
    page = client.get(f"{BASE}/contacts?q=zoe+ANGSTROM").get_data(as_text=True)
    assert "Zoë Ångström" in page and "Bob Other" not in page
    fragment = client.get(f"{BASE}/contacts?q=bob", headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True)
    assert "Bob Other" in fragment.get_data(as_text=True)


def test_list_search_finds_substrings_with_every_word_and_survives_query_syntax(
    client, people, login
):
    with org_context(people.org_a.id):
        factories.make_contact(people.org_a, first_name="Lena", last_name="Costa")
        factories.make_contact(people.org_a, first_name="Lena", last_name="Berger")
        factories.make_contact(people.org_a, first_name="Hans", last_name="Bergmann")
        trashed = factories.make_contact(people.org_a, first_name="Lena", last_name="Cohen")
        trashed.deleted_at = trashed.created_at
        _db.session.commit()
    with org_context(people.org_b.id):
        factories.make_contact(people.org_b, first_name="Lena", last_name="Colt")
        _db.session.commit()
    login(people.bob)

    def names(q):
        page = client.get(f"{BASE}/contacts", query_string={"q": q}).get_data(as_text=True)
        found = {
            n for n in ("Lena Costa", "Lena Berger", "Hans Bergmann", "Lena Colt") if n in page
        }
        return found, page

    assert names("erg")[0] == {
        "Lena Berger",
        "Hans Bergmann",
    }  # inside a word, not only at its start
    assert names("lena co")[0] == {"Lena Costa"}  # a two-letter word narrows the others' matches
    assert names("costa LENA")[0] == {"Lena Costa"}  # any order
    _, page = names("lena co")
    assert "1 result" in page  # not the trashed one, nor the other organization's
    odd_queries = ['"', 'le"na', "na:me", "(lena", "NEAR(x)", "^le", "x" * 5000, "Лена", "東京"]
    for odd in odd_queries:  # query syntax is text to find: no error, and nothing matches
        response = client.get(f"{BASE}/contacts", query_string={"q": odd})
        assert response.status_code == 200, odd
        assert "Lena" not in response.get_data(as_text=True), odd
    assert names("lena OR hans")[0] == set()  # OR is a word to find, not an operator
    assert names("le*")[0] == set()  # the star is a character to find, not a wildcard


def test_bulk_tag_assign_and_trash_then_restore(client, people, login, csrf_token):
    with org_context(people.org_a.id):
        a = factories.make_contact(people.org_a)
        b = factories.make_contact(people.org_a)
        _db.session.commit()
        ids = [a.id, b.id]
    login(people.alice)
    token = csrf_token()
    client.post(
        f"{BASE}/contacts/bulk/tag", data={"csrf_token": token, "ids": ids, "tag": "fair-2026"}
    )
    client.post(
        f"{BASE}/contacts/bulk/assign",
        data={"csrf_token": token, "ids": ids, "owner_id": str(people.carol.id)},
    )
    with org_context(people.org_a.id):
        rows = _db.session.execute(_db.select(Contact).order_by(Contact.id)).scalars().all()
        assert [r.tags for r in rows] == [["fair-2026"], ["fair-2026"]]
        assert {r.owner_id for r in rows} == {people.carol.id}
    assert "fair-2026" in client.get(f"{BASE}/contacts?f_tag=fair-2026").get_data(as_text=True)
    client.post(f"{BASE}/contacts/bulk/delete", data={"csrf_token": token, "ids": [a.id]})
    assert client.get(f"{BASE}/contacts/{a.id}").status_code == 404
    trash = client.get("/o/acme/trash").get_data(as_text=True)
    assert a.display_name in trash
    response = client.post(
        f"/o/acme/trash/{a.id}/restore", data={"csrf_token": token, "kind": "crm.contact"}
    )
    assert response.status_code == 303
    assert client.get(f"{BASE}/contacts/{a.id}").status_code == 200


def test_merge_keeps_everything(client, people, login, csrf_token):
    with org_context(people.org_a.id):
        company = factories.make_company(people.org_a)
        keep = factories.make_contact(
            people.org_a, email="same@x.test", company_id=company.id, tags=["a"]
        )
        other = factories.make_contact(
            people.org_a, email="same@x.test", phone="+1 555 0100", tags=["b"], custom={"k": 1}
        )
        activity = factories.make_activity(people.org_a, contact_id=other.id)
        deal = factories.make_deal(people.org_a, contact_id=other.id)
        _db.session.commit()
        keep_id, other_id, activity_id, deal_id = keep.id, other.id, activity.id, deal.id
    login(people.alice)
    token = csrf_token()
    assert "like the same person" in client.get(f"{BASE}/contacts/{keep_id}").get_data(as_text=True)
    response = client.post(
        f"{BASE}/contacts/{keep_id}/merge", data={"csrf_token": token, "other_id": other_id}
    )
    assert response.status_code == 303
    with org_context(people.org_a.id):
        from startvora.crm.models import Activity, Deal

        kept = _db.session.get(Contact, keep_id)
        assert (kept.phone, kept.tags, kept.custom) == ("+1 555 0100", ["a", "b"], {"k": 1})
        assert _db.session.get(Activity, activity_id).contact_id == keep_id
        assert _db.session.get(Deal, deal_id).contact_id == keep_id
    # A record merged with itself is refused and nothing changes.
    response = client.post(
        f"{BASE}/contacts/{keep_id}/merge", data={"csrf_token": token, "other_id": keep_id}
    )
    assert response.status_code == 422
    assert "two different records" in response.get_data(as_text=True)


def test_company_page_lists_its_people(client, people, login):
    with org_context(people.org_a.id):
        company = factories.make_company(people.org_a, name="Acme Widgets")
        factories.make_contact(people.org_a, first_name="Walt", company_id=company.id)
        _db.session.commit()
    login(people.bob)
    page = client.get(f"{BASE}/companies/{company.id}").get_data(as_text=True)
    assert "Acme Widgets" in page and "Walt" in page


@pytest.mark.parametrize(
    "url", [f"{BASE}/contacts/new", f"{BASE}/companies/new", f"{BASE}/contacts/bulk/delete"]
)
def test_viewers_cannot_write(client, people, login, csrf_token, url):
    login(people.bob)
    assert client.post(url, data={"csrf_token": csrf_token()}).status_code == 403


def test_login_required_and_other_orgs_get_404(client, people, login):
    assert client.get(f"{BASE}/contacts").status_code == 302
    with org_context(people.org_b.id):
        theirs = factories.make_contact(people.org_b)
        _db.session.commit()
    login(people.alice)
    assert client.get(f"{BASE}/contacts/{theirs.id}").status_code == 404
    assert client.get(f"{BASE}/contacts/bulk/delete").status_code == 405


def test_activity_with_a_reminder_reaches_the_owner(client, people, login, csrf_token):
    from startvora.core import notify
    from startvora.crm import activities
    from startvora.crm.models import Activity

    with org_context(people.org_a.id):
        contact = factories.make_contact(people.org_a)
        _db.session.commit()
    login(people.carol)
    token = csrf_token()
    response = client.post(
        f"{BASE}/contact/{contact.id}/activities",
        data={
            "csrf_token": token,
            "kind": "todo",
            "subject": "Send the offer",
            "due": "2020-01-01T09:00",
            "remind": "15",
        },
    )
    assert response.status_code == 303
    agenda = client.get(f"{BASE}/agenda").get_data(as_text=True)
    assert "Send the offer" in agenda and "Overdue" in agenda
    activities.send_reminders()
    activities.send_reminders()  # a second run sends nothing more
    with org_context(people.org_a.id):
        titles = [n.title for n in notify.inbox(people.org_a.id, people.carol.id)]
        assert titles == ["Reminder: Send the offer"]
        todo = _db.session.execute(_db.select(Activity)).scalar_one()
    client.post(f"{BASE}/activities/{todo.id}/done", data={"csrf_token": token})
    assert "Send the offer" not in client.get(f"{BASE}/agenda").get_data(as_text=True)
    bad = client.post(
        f"{BASE}/contact/{contact.id}/activities",
        data={"csrf_token": token, "kind": "todo", "subject": "", "remind": "15"},
    )
    assert bad.status_code == 422


def test_saved_views(client, people, login, csrf_token):
    login(people.alice)
    token = csrf_token()
    response = client.post(
        f"{BASE}/views",
        data={
            "csrf_token": token,
            "list_name": "contacts",
            "name": "My VIPs",
            "query": "q=vip&f_tag=vip&after=xyz",
        },
    )
    assert response.status_code == 303
    assert "after=" not in response.headers["Location"]
    page = client.get(f"{BASE}/contacts").get_data(as_text=True)
    assert "My VIPs" in page and "q=vip&amp;f_tag=vip" in page
    login(people.carol)
    assert "My VIPs" not in client.get(f"{BASE}/contacts").get_data(as_text=True)


def test_company_crud(client, people, login, csrf_token):
    login(people.alice)
    token = csrf_token()
    response = post(client, f"{BASE}/companies/new", token, name="Nordwind AG", country="de")
    assert response.status_code == 303
    with org_context(people.org_a.id):
        company = _db.session.execute(_db.select(Company)).scalar_one()
        assert company.country == "DE"
    response = post(client, f"{BASE}/companies/{company.id}/edit", token, name="")
    assert response.status_code == 422
    assert "required" in response.get_data(as_text=True)

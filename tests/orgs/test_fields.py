"""Settings, Custom fields: defined by admins, then part of the CRM forms."""

from __future__ import annotations

import pytest

from startvora.core import customfields as cf
from startvora.core.tenancy import org_context
from startvora.extensions import db as _db

URL = "/o/acme/settings/fields"


def test_add_a_choice_field_and_use_it(client, people, login, csrf_token):
    login(people.alice)
    token = csrf_token()
    response = client.post(
        URL,
        data={
            "csrf_token": token,
            "entity": "contact",
            "label": "T-shirt size",
            "kind": "choice",
            "choices": "S\nM\nL\nM",
            "required": "on",
        },
    )
    assert response.status_code == 303
    with org_context(people.org_a.id):
        field = _db.session.execute(_db.select(cf.CustomField)).scalar_one()
        assert (field.key, field.choices, field.required) == ("t_shirt_size", ["S", "M", "L"], True)
    form = client.get("/o/acme/crm/contacts/new").get_data(as_text=True)
    assert "T-shirt size" in form and 'name="cf_t_shirt_size"' in form
    refused = client.post("/o/acme/crm/contacts/new", data={"csrf_token": token, "first_name": "A"})
    assert refused.status_code == 422 and "T-shirt size is required" in refused.get_data(
        as_text=True
    )
    client.post(f"{URL}/{field.id}/delete", data={"csrf_token": token})
    assert "T-shirt size" not in client.get("/o/acme/crm/contacts/new").get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"entity": "contact", "label": "", "kind": "text"}, "required"),
        ({"entity": "contact", "label": "Size", "kind": "choice", "choices": ""}, "at least one"),
        ({"entity": "nope", "label": "Size", "kind": "text"}, "kind of record"),
        ({"entity": "contact", "label": "Size", "kind": "colour"}, "listed options"),
    ],
)
def test_bad_definitions_are_refused(client, people, login, csrf_token, data, message):
    login(people.alice)
    response = client.post(URL, data={"csrf_token": csrf_token(), **data})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    with org_context(people.org_a.id):
        assert _db.session.execute(_db.select(cf.CustomField)).first() is None


def test_only_admins(client, people, login, csrf_token):
    login(people.carol)
    assert client.get(URL).status_code == 403
    assert client.post(URL, data={"csrf_token": csrf_token()}).status_code == 403

"""Products and services: forms with prices per currency and default taxes, the list with search,
filters and export, archiving, the trash, permissions and tenancy."""

from __future__ import annotations

import csv
import io

import pytest

from startvora.core.audit import AuditEvent
from startvora.core.tenancy import org_context
from startvora.extensions import db as _db
from startvora.finance.models import Product
from tests import factories

BASE = "/o/acme/finance/products"


def post(client, url, token, **data):
    return client.post(url, data={"csrf_token": token, **data})


def product_form(**overrides):
    """A posted product form: the first price row is the org's currency, then other rows."""
    data = {
        "name": "Espresso machine",
        "kind": "product",
        "sku": "ESP-01",
        "unit": "piece",
        "description": "Dual boiler",
        "price_currency": ["USD", "EUR", ""],
        "price_amount": ["1250.50", "1100", ""],
    }
    data.update(overrides)
    return data


def products(org):
    with org_context(org.id):
        return list(
            _db.session.execute(
                _db.select(Product).order_by(Product.id).execution_options(include_deleted=True)
            ).scalars()
        )


def test_create_a_product_with_prices_and_default_taxes(client, people, login, csrf_token):
    with org_context(people.org_a.id):
        vat = factories.make_tax_rate(people.org_a, "VAT", "19")
        reduced = factories.make_tax_rate(people.org_a, "Reduced", "7")
        _db.session.commit()
        vat_id, reduced_id = vat.id, reduced.id
    login(people.carol)
    response = post(client, f"{BASE}/new", csrf_token(), **product_form(tax_ids=[str(vat_id)]))
    assert response.status_code == 303
    (product,) = products(people.org_a)
    assert (product.name, product.sku, product.kind, product.unit) == (
        "Espresso machine",
        "ESP-01",
        "product",
        "piece",
    )
    assert product.prices == {"USD": 125050, "EUR": 110000}
    assert product.tax_ids == [vat_id]
    assert response.headers["Location"].endswith(f"{BASE}/{product.id}")
    page = client.get(f"{BASE}/{product.id}").get_data(as_text=True)
    assert "$1,250.50" in page and "€1,100.00" in page
    assert "VAT (19 %)" in page and "Reduced" not in page
    with org_context(people.org_a.id):
        actions = _db.session.execute(_db.select(AuditEvent.action)).scalars().all()
    assert "finance.product_created" in actions
    # The edit form shows the prices as typed, the org's currency first, and two empty rows.
    form = client.get(f"{BASE}/{product.id}/edit").get_data(as_text=True)
    assert 'value="1250.50"' in form and 'value="1100.00"' in form
    assert form.count('name="price_amount"') == 4
    assert f'value="{reduced_id}"' in form  # every rate in use is offered


def test_edit_changes_prices_and_keeps_an_archived_default_tax(client, people, login, csrf_token):
    with org_context(people.org_a.id):
        old = factories.make_tax_rate(people.org_a, "Old VAT", "16", archived=True)
        product = factories.make_product(
            people.org_a, name="Beans", prices={"USD": 900, "GBP": 700}, tax_ids=[old.id]
        )
        _db.session.commit()
        product_id, old_id = product.id, old.id
    login(people.alice)
    form = client.get(f"{BASE}/{product_id}/edit").get_data(as_text=True)
    assert "Old VAT" in form and "archived" in form  # still offered, as it is chosen
    response = post(
        client,
        f"{BASE}/{product_id}/edit",
        csrf_token(),
        name="Beans 1 kg",
        kind="product",
        price_currency=["USD", "GBP", "CHF"],
        price_amount=["9.50", "", "10"],  # the GBP price is cleared
        tax_ids=[str(old_id)],
    )
    assert response.status_code == 303
    (saved,) = products(people.org_a)
    assert saved.name == "Beans 1 kg"
    assert saved.prices == {"USD": 950, "CHF": 1000}
    assert saved.tax_ids == [old_id]


def test_amounts_are_typed_in_the_organizations_number_format(client, people, login, csrf_token):
    with org_context(people.org_a.id):
        people.org_a.number_locale = "de"
        _db.session.commit()
    login(people.alice)
    response = post(
        client,
        f"{BASE}/new",
        csrf_token(),
        **product_form(price_currency=["USD"], price_amount=["1.250,50"]),
    )
    assert response.status_code == 303
    (product,) = products(people.org_a)
    assert product.prices == {"USD": 125050}
    form = client.get(f"{BASE}/{product.id}/edit").get_data(as_text=True)
    assert 'value="1250,50"' in form


@pytest.mark.parametrize(
    ("currencies", "amounts", "message"),
    [
        (["USD"], ["-5"], "Enter an amount of zero or more."),
        (["USD"], ["12,3,4"], "Enter an amount like 1250.00."),
        (["USD", "XYZ"], ["10", "12"], "XYZ is not a currency code"),
        (["USD", "EUR"], ["10", "12.345"], "EUR amounts have at most 2 decimals."),
        (["USD", "JPY"], ["10", "1200.5"], "JPY amounts have no decimals."),
        (["USD", ""], ["10", "12"], "Choose the currency of this price."),
        (["USD", "EUR", "eur"], ["10", "1", "2"], "EUR has a price above already."),
        (["USD"], ["1" * 20], "The amount is too large."),
    ],
)
def test_bad_prices_are_refused_with_a_clear_message_and_kept(
    client, people, login, csrf_token, currencies, amounts, message
):
    login(people.alice)
    response = post(
        client,
        f"{BASE}/new",
        csrf_token(),
        **product_form(price_currency=currencies, price_amount=amounts),
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert "Nothing is saved yet" in page
    for amount in amounts:  # what was typed is on the page again
        assert f'value="{amount}"' in page
    assert products(people.org_a) == []


def test_bad_fields_are_refused(client, people, login, csrf_token):
    login(people.alice)
    token = csrf_token()
    response = post(client, f"{BASE}/new", token, **product_form(name="  "))
    assert response.status_code == 422
    assert "This field is required." in response.get_data(as_text=True)
    response = post(client, f"{BASE}/new", token, **product_form(kind="gadget"))
    assert response.status_code == 422
    assert "Choose product or service." in response.get_data(as_text=True)
    assert products(people.org_a) == []


def test_a_tax_rate_of_another_organization_is_refused(client, people, login, csrf_token):
    with org_context(people.org_b.id):
        theirs = factories.make_tax_rate(people.org_b, "Their VAT", "20")
        _db.session.commit()
        theirs_id = theirs.id
    login(people.alice)
    response = post(client, f"{BASE}/new", csrf_token(), **product_form(tax_ids=[str(theirs_id)]))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Choose tax rates of this organization." in page
    assert 'value="Espresso machine"' in page
    assert products(people.org_a) == []


def test_more_currencies_adds_rows_without_saving(client, people, login, csrf_token):
    login(people.alice)
    response = client.post(
        f"{BASE}/new",
        data={"csrf_token": csrf_token(), **product_form(more_prices="1")},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<html" not in page
    assert page.count('name="price_amount"') == 6  # two empty rows more
    assert 'value="1250.50"' in page
    assert products(people.org_a) == []


def test_list_search_filters_sort_and_fragment(client, people, login):
    with org_context(people.org_a.id):
        factories.make_product(
            people.org_a, name="Espresso machine", sku="ESP-01", prices={"USD": 125000}
        )
        factories.make_product(people.org_a, name="Grinder", sku="GR-7", prices={"USD": 30000})
        factories.make_product(
            people.org_a,
            name="Barista training",
            kind="service",
            prices={"USD": 50000},
            unit="hour",
        )
        factories.make_product(people.org_a, name="Old kettle", archived=True)
        trashed = factories.make_product(people.org_a, name="Espresso cups")
        trashed.deleted_at = trashed.created_at
        _db.session.commit()
    with org_context(people.org_b.id):
        factories.make_product(people.org_b, name="Espresso beans")
        _db.session.commit()
    login(people.bob)

    def names(**query):
        page = client.get(BASE, query_string=query).get_data(as_text=True)
        return [
            n
            for n in (
                "Espresso machine",
                "Grinder",
                "Barista training",
                "Old kettle",
                "Espresso cups",
                "Espresso beans",
            )
            if n in page
        ], page

    found, page = names()
    assert found == ["Espresso machine", "Grinder", "Barista training", "Old kettle"]
    assert "$1,250.00" in page and "4 results" in page
    assert names(q="espresso")[0] == ["Espresso machine"]
    assert names(q="gr-7")[0] == ["Grinder"]  # by SKU
    assert names(f_kind="service")[0] == ["Barista training"]
    assert names(f_status="archived")[0] == ["Old kettle"]
    assert "Old kettle" not in names(f_status="active")[0]
    page = client.get(BASE, query_string={"sort": "price", "dir": "desc"}).get_data(as_text=True)
    assert page.index("Espresso machine") < page.index("Barista training") < page.index("Grinder")
    fragment = client.get(BASE, query_string={"q": "grinder"}, headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert "<html" not in text and "Grinder" in text and "Espresso machine" not in text


def test_list_pages_with_keyset_cursors(client, people, login):
    with org_context(people.org_a.id):
        for n in range(55):
            factories.make_product(people.org_a, name=f"Item {n:02d}")
        _db.session.commit()
    login(people.bob)
    first = client.get(BASE).get_data(as_text=True)
    assert "Item 00" in first and "Item 49" in first and "Item 50" not in first
    import re

    next_url = re.search(r'href="([^"]*after=[^"]*)"', first).group(1).replace("&amp;", "&")
    second = client.get(next_url).get_data(as_text=True)
    assert "Item 50" in second and "Item 54" in second and "Item 49" not in second


def test_export_the_list_as_shown(client, people, login):
    with org_context(people.org_a.id):
        vat = factories.make_tax_rate(people.org_a, "VAT", "19")
        factories.make_product(
            people.org_a,
            name="Grinder",
            sku="GR-7",
            prices={"USD": 30000, "EUR": 28000},
            tax_ids=[vat.id],
        )
        factories.make_product(people.org_a, name="=cmd|' /C calc'!A0", prices={"USD": 1})
        factories.make_product(people.org_a, name="Training", kind="service")
        _db.session.commit()
    login(people.bob)
    response = client.get(f"{BASE}/export", query_string={"format": "csv", "f_kind": "product"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:7] == ["Name", "Type", "SKU", "Unit", "Description", "Price USD", "Price EUR"]
    by_name = {r[0]: r for r in rows[1:]}
    assert set(by_name) == {"Grinder", "'=cmd|' /C calc'!A0"}  # a formula stays text
    assert by_name["Grinder"][5:8] == ["300.00", "280.00", "VAT (19 %)"]
    xlsx = client.get(f"{BASE}/export", query_string={"format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    with org_context(people.org_a.id):
        actions = _db.session.execute(_db.select(AuditEvent.action)).scalars().all()
    assert actions.count("finance.products_exported") == 2
    menu = client.get(
        f"{BASE}/export-menu",
        headers={"HX-Request": "true", "HX-Current-URL": f"http://localhost{BASE}?q=grin"},
    ).get_data(as_text=True)
    assert "q=grin" in menu and "format=xlsx" in menu


def test_archive_and_unarchive(client, people, login, csrf_token):
    with org_context(people.org_a.id):
        product = factories.make_product(people.org_a, name="Kettle")
        _db.session.commit()
        product_id = product.id
    login(people.carol)
    token = csrf_token()
    response = post(client, f"{BASE}/{product_id}/archive", token)
    assert response.status_code == 303
    assert products(people.org_a)[0].archived is True
    assert "Archived" in client.get(f"{BASE}/{product_id}").get_data(as_text=True)
    post(client, f"{BASE}/{product_id}/archive", token)
    assert products(people.org_a)[0].archived is False
    with org_context(people.org_a.id):
        actions = _db.session.execute(_db.select(AuditEvent.action)).scalars().all()
    assert {"finance.product_archived", "finance.product_restored"} <= set(actions)


def test_bulk_archive(client, people, login, csrf_token):
    with org_context(people.org_a.id):
        a = factories.make_product(people.org_a)
        b = factories.make_product(people.org_a)
        c = factories.make_product(people.org_a)
        _db.session.commit()
        ids = [a.id, b.id]
    login(people.carol)
    response = client.post(
        f"{BASE}/bulk/archive", data={"csrf_token": csrf_token(), "ids": ids, "q": "Product"}
    )
    assert response.status_code == 303 and "q=Product" in response.headers["Location"]
    assert [p.archived for p in products(people.org_a)] == [True, True, False]
    assert c.id not in ids


def test_delete_to_the_trash_and_restore(client, people, login, csrf_token):
    with org_context(people.org_a.id):
        one = factories.make_product(people.org_a, name="Grinder")
        two = factories.make_product(people.org_a, name="Kettle")
        three = factories.make_product(people.org_a, name="Scale")
        _db.session.commit()
        one_id, two_id, three_id = one.id, two.id, three.id
    login(people.alice)
    token = csrf_token()
    response = post(client, f"{BASE}/{one_id}/delete", token)
    assert response.status_code == 303
    assert client.get(f"{BASE}/{one_id}").status_code == 404
    client.post(f"{BASE}/bulk/delete", data={"csrf_token": token, "ids": [two_id]})
    listing = client.get(BASE).get_data(as_text=True)
    assert "Grinder" not in listing and "Kettle" not in listing and "Scale" in listing
    trash = client.get("/o/acme/trash").get_data(as_text=True)
    assert "Grinder" in trash and "Kettle" in trash
    response = client.post(
        f"/o/acme/trash/{one_id}/restore", data={"csrf_token": token, "kind": "finance.product"}
    )
    assert response.status_code == 303
    assert client.get(f"{BASE}/{one_id}").status_code == 200
    assert three_id
    with org_context(people.org_a.id):
        actions = _db.session.execute(_db.select(AuditEvent.action)).scalars().all()
    assert actions.count("finance.product_deleted") == 2


ROUTES = [
    ("get", "", None),
    ("get", "/export", None),
    ("get", "/export-menu", None),
    ("get", "/new", "finance:edit"),
    ("post", "/new", "finance:edit"),
    ("get", "/{id}", None),
    ("get", "/{id}/edit", "finance:edit"),
    ("post", "/{id}/edit", "finance:edit"),
    ("post", "/{id}/archive", "finance:edit"),
    ("post", "/bulk/archive", "finance:edit"),
    ("post", "/{id}/delete", "finance:delete"),
    ("post", "/bulk/delete", "finance:delete"),
]


@pytest.fixture
def product_id(people):
    with org_context(people.org_a.id):
        product = factories.make_product(people.org_a, name="Kettle")
        _db.session.commit()
        return product.id


@pytest.mark.parametrize(("method", "path", "permission"), ROUTES)
def test_sign_in_is_needed(client, people, product_id, method, path, permission):
    response = getattr(client, method)(BASE + path.format(id=product_id))
    assert response.status_code in (302, 400)  # a POST without a session fails CSRF first
    if response.status_code == 302:
        assert "/sign-in" in response.headers["Location"]


@pytest.mark.parametrize(("method", "path", "permission"), [r for r in ROUTES if r[2]])
def test_a_viewer_cannot_change_anything(
    client, people, login, csrf_token, product_id, method, path, permission
):
    login(people.bob)
    url = BASE + path.format(id=product_id)
    if method == "get":
        response = client.get(url)
    else:
        response = post(client, url, csrf_token(), ids=[str(product_id)], **product_form())
    assert response.status_code == 403
    (product,) = products(people.org_a)
    assert (product.name, product.archived, product.deleted_at) == ("Kettle", False, None)


def test_a_member_cannot_delete(client, people, login, csrf_token, product_id):
    login(people.carol)  # members edit; deleting needs finance:delete
    assert post(client, f"{BASE}/{product_id}/delete", csrf_token()).status_code == 403


def test_a_viewer_sees_no_change_buttons(client, people, login, product_id):
    login(people.bob)
    page = client.get(f"{BASE}/{product_id}").get_data(as_text=True)
    assert "/edit" not in page and "/archive" not in page and "/delete" not in page
    listing = client.get(BASE).get_data(as_text=True)
    assert "New product" not in listing and "bulk/delete" not in listing


@pytest.mark.parametrize(("method", "path", "permission"), [r for r in ROUTES if "{id}" in r[1]])
def test_another_organizations_product_is_404(
    client, people, login, csrf_token, method, path, permission
):
    with org_context(people.org_b.id):
        theirs = factories.make_product(people.org_b, name="Theirs")
        _db.session.commit()
        theirs_id = theirs.id
    login(people.alice)
    url = BASE + path.format(id=theirs_id)
    response = client.get(url) if method == "get" else post(client, url, csrf_token())
    assert response.status_code == 404
    (product,) = products(people.org_b)
    assert (product.archived, product.deleted_at) == (False, None)


def test_bulk_actions_ignore_another_organizations_ids(client, people, login, csrf_token):
    with org_context(people.org_b.id):
        theirs = factories.make_product(people.org_b, name="Theirs")
        _db.session.commit()
        theirs_id = theirs.id
    login(people.alice)
    token = csrf_token()
    client.post(f"{BASE}/bulk/delete", data={"csrf_token": token, "ids": [theirs_id]})
    client.post(f"{BASE}/bulk/archive", data={"csrf_token": token, "ids": [theirs_id]})
    (product,) = products(people.org_b)
    assert (product.archived, product.deleted_at) == (False, None)


@pytest.mark.parametrize("path", ["/{id}/archive", "/{id}/delete", "/bulk/delete"])
def test_destructive_routes_refuse_get(client, people, login, product_id, path):
    login(people.alice)
    assert client.get(BASE + path.format(id=product_id)).status_code == 405


def test_htmx_form_errors_are_a_fragment(client, people, login, csrf_token):
    login(people.alice)
    response = client.post(
        f"{BASE}/new",
        data={"csrf_token": csrf_token(), **product_form(name="")},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "<html" not in response.get_data(as_text=True)
    assert "HX-Request" in response.headers["Vary"]

"""Finance settings (numbering with its preview, defaults, bank details) and tax rates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from startvora.core import numbering
from startvora.core.audit import AuditEvent
from startvora.core.tenancy import org_context
from startvora.extensions import db as _db
from startvora.finance import catalog, services
from startvora.finance.models import FinanceSettings, TaxRate
from tests import factories

BASE = "/o/acme/finance"
GOOD_IBAN = "DE89 3704 0044 0532 0130 00"


def post(client, url, token, **data):
    return client.post(url, data={"csrf_token": token, **data})


def settings_form(**overrides):
    data = {
        "invoice_pattern": "RE-{YY}{MM}-{000}",
        "prices_include_tax": "on",
        "rounding": "document",
        "payment_terms_days": "30",
        "notes": "Thank you for your order.",
        "footer": "Acme Trading GmbH · HRB 1234",
        "bank_name": "Commerzbank",
        "iban": "de89 3704 0044 0532 0130 00",
        "bic": "cobadeffxxx",
        "paper": "Letter",
    }
    data.update(overrides)
    return data


def stored(org):
    with org_context(org.id):
        return _db.session.execute(_db.select(FinanceSettings)).scalar_one_or_none()


def rates(org):
    with org_context(org.id):
        return list(_db.session.execute(_db.select(TaxRate).order_by(TaxRate.id)).scalars())


def audit_actions(org):
    with org_context(org.id):
        return _db.session.execute(_db.select(AuditEvent.action)).scalars().all()


# -- settings -----------------------------------------------------------------------------------


def test_the_page_shows_the_defaults_and_the_next_number(client, people, login):
    login(people.alice)
    page = client.get(f"{BASE}/settings").get_data(as_text=True)
    year = dt.date.today().year
    assert 'value="INV-{YYYY}-{0000}"' in page
    assert f"INV-{year}-0001" in page
    assert 'value="14"' in page
    assert stored(people.org_a) is None  # looking stores nothing


def test_save_the_settings(client, people, login, csrf_token):
    login(people.alice)
    response = post(client, f"{BASE}/settings", csrf_token(), **settings_form())
    assert response.status_code == 303
    settings = stored(people.org_a)
    assert settings.invoice_pattern == "RE-{YY}{MM}-{000}"
    assert settings.prices_include_tax is True
    assert settings.round_per_document is True
    assert settings.payment_terms_days == 30
    assert (settings.notes, settings.footer) == (
        "Thank you for your order.",
        "Acme Trading GmbH · HRB 1234",
    )
    assert (settings.bank_name, settings.iban, settings.bic) == (
        "Commerzbank",
        "DE89370400440532013000",
        "COBADEFFXXX",
    )
    assert settings.paper == "Letter"
    assert "finance.settings_changed" in audit_actions(people.org_a)
    page = client.get(f"{BASE}/settings").get_data(as_text=True)
    assert f'value="{GOOD_IBAN}"' in page  # shown in groups of four
    today = dt.date.today()
    assert f"RE-{today:%y%m}-001" in page


def test_the_preview_follows_the_counter_and_the_typed_pattern(client, people, login):
    with org_context(people.org_a.id):
        day = services.today_of(people.org_a)
        numbering.take(people.org_a.id, services.INVOICE_SEQUENCE, "INV-{YYYY}-{0000}", day)
        numbering.take(people.org_a.id, services.INVOICE_SEQUENCE, "INV-{YYYY}-{0000}", day)
        _db.session.commit()
    login(people.alice)
    page = client.get(f"{BASE}/settings").get_data(as_text=True)
    assert f"INV-{day.year}-0003" in page
    fragment = client.get(
        f"{BASE}/settings",
        query_string={"invoice_pattern": "F{YY}/{00000}"},
        headers={"HX-Request": "true"},
    )
    text = fragment.get_data(as_text=True)
    assert "<html" not in text and f"F{day:%y}/00003" in text
    bad = client.get(
        f"{BASE}/settings",
        query_string={"invoice_pattern": "INV-{YYYY}"},
        headers={"HX-Request": "true"},
    ).get_data(as_text=True)
    assert "Put exactly one counter in the pattern" in bad


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("invoice_pattern", "INV-{YYYY}", "Put exactly one counter in the pattern"),
        ("invoice_pattern", "INV {0000}", "Leave spaces and control characters out"),
        ("invoice_pattern", "{0000}-{000}", "Put exactly one counter in the pattern"),
        ("invoice_pattern", "", "Use a pattern of 1 to 40 characters."),
        ("payment_terms_days", "366", "Enter a number of days from 0 to 365."),
        ("payment_terms_days", "-1", "Enter a number of days from 0 to 365."),
        ("payment_terms_days", "two weeks", "Enter a number of days from 0 to 365."),
        ("iban", "DE89 3704 0044 0532 0130 01", "check digits do not match"),
        ("iban", "DE89 3704 0044", "An IBAN has 15 to 34 characters; this one has 12."),
        ("iban", "DE89-3704-0044-0532-0130-00", "only letters and digits"),
        ("iban", "8937 0400 4405 3201 3000", "starts with a country code"),
        ("bic", "COBADEF", "A BIC has 8 or 11 letters and digits"),
        ("bic", "COBADEFFXX", "A BIC has 8 or 11 letters and digits"),
        ("paper", "A5", "Choose one of the listed options."),
        ("rounding", "sometimes", "Choose one of the listed options."),
    ],
)
def test_bad_settings_are_refused_and_nothing_saved_is_lost(
    client, people, login, csrf_token, field, value, message
):
    login(people.alice)
    token = csrf_token()
    assert post(client, f"{BASE}/settings", token, **settings_form()).status_code == 303
    response = post(
        client,
        f"{BASE}/settings",
        token,
        **settings_form(notes="Changed notes", **{field: value}),
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert "Changed notes" in page  # what was typed is still in the form
    settings = stored(people.org_a)
    assert settings.notes == "Thank you for your order."
    assert settings.iban == "DE89370400440532013000"


def test_iban_check_accepts_real_ibans():
    for iban in (
        "GB82 WEST 1234 5698 7654 32",
        "NO9386011117947",  # the shortest, 15
        "CH93 0076 2011 6238 5295 7",
        "FR14 2004 1010 0505 0001 3M02 606",
        "LC55HEMM000100010012001200023015",  # 32
    ):
        assert catalog.check_iban(iban) == "".join(iban.split())
    assert catalog.check_iban("  ") == ""


def test_an_empty_bank_account_is_fine(client, people, login, csrf_token):
    login(people.alice)
    response = post(
        client, f"{BASE}/settings", csrf_token(), **settings_form(iban="", bic="", bank_name="")
    )
    assert response.status_code == 303
    assert (stored(people.org_a).iban, stored(people.org_a).bic) == ("", "")


def test_htmx_errors_are_a_fragment(client, people, login, csrf_token):
    login(people.alice)
    response = client.post(
        f"{BASE}/settings",
        data={"csrf_token": csrf_token(), **settings_form(iban="DE00")},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "<html" not in text and "IBAN" in text


# -- tax rates ----------------------------------------------------------------------------------


def test_add_edit_archive_and_unarchive_a_rate(client, people, login, csrf_token):
    login(people.alice)
    token = csrf_token()
    response = post(client, f"{BASE}/tax-rates", token, name="QST", rate="9.975", compound="on")
    assert response.status_code == 303
    (rate,) = rates(people.org_a)
    assert (rate.name, rate.rate, rate.compound, rate.archived) == (
        "QST",
        Decimal("9.975"),
        True,
        False,
    )
    page = client.get(f"{BASE}/tax-rates").get_data(as_text=True)
    assert "QST" in page and "9.975 %" in page
    form = client.get(f"{BASE}/tax-rates/{rate.id}/edit").get_data(as_text=True)
    assert 'value="9.975"' in form and "Change QST" in form
    response = post(client, f"{BASE}/tax-rates/{rate.id}/edit", token, name="QST", rate="10")
    assert response.status_code == 303
    (rate,) = rates(people.org_a)
    assert (rate.rate, rate.compound) == (Decimal(10), False)
    post(client, f"{BASE}/tax-rates/{rate.id}/archive", token)
    assert rates(people.org_a)[0].archived is True
    page = client.get(f"{BASE}/tax-rates").get_data(as_text=True)
    assert "Unarchive" in page
    # An archived rate is not offered to new products.
    assert "QST" not in client.get(f"{BASE}/products/new").get_data(as_text=True)
    post(client, f"{BASE}/tax-rates/{rate.id}/archive", token)
    assert rates(people.org_a)[0].archived is False
    actions = audit_actions(people.org_a)
    assert {
        "finance.tax_rate_created",
        "finance.tax_rate_changed",
        "finance.tax_rate_archived",
        "finance.tax_rate_restored",
    } <= set(actions)


def test_a_rate_in_the_organizations_number_format(client, people, login, csrf_token):
    with org_context(people.org_a.id):
        people.org_a.number_locale = "de"
        _db.session.commit()
    login(people.alice)
    post(client, f"{BASE}/tax-rates", csrf_token(), name="MwSt", rate="7,7")
    (rate,) = rates(people.org_a)
    assert rate.rate == Decimal("7.7")
    form = client.get(f"{BASE}/tax-rates/{rate.id}/edit").get_data(as_text=True)
    assert 'value="7,7"' in form


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "Luxury", "rate": "101"}, "Enter a percentage from 0 to 100."),
        ({"name": "Odd", "rate": "-1"}, "Enter a percentage from 0 to 100."),
        ({"name": "Fine", "rate": "7.12345"}, "Use at most 4 decimals."),
        ({"name": "Blank", "rate": ""}, "Enter the rate in percent"),
        ({"name": "Words", "rate": "nineteen"}, "Enter an amount like 1250.00."),
        ({"name": "", "rate": "19"}, "This field is required."),
        ({"name": "vat", "rate": "7"}, "A rate called vat exists already"),
    ],
)
def test_bad_rates_are_refused(client, people, login, csrf_token, data, message):
    with org_context(people.org_a.id):
        factories.make_tax_rate(people.org_a, "VAT", "19")
        _db.session.commit()
    login(people.alice)
    response = post(client, f"{BASE}/tax-rates", csrf_token(), **data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert f'value="{data["rate"]}"' in page
    assert len(rates(people.org_a)) == 1


def test_unarchiving_refuses_a_name_taken_meanwhile(client, people, login, csrf_token):
    with org_context(people.org_a.id):
        old = factories.make_tax_rate(people.org_a, "VAT", "16", archived=True)
        factories.make_tax_rate(people.org_a, "VAT", "19")
        _db.session.commit()
        old_id = old.id
    login(people.alice)
    response = post(client, f"{BASE}/tax-rates/{old_id}/archive", csrf_token())
    assert response.status_code == 303
    assert rates(people.org_a)[0].archived is True
    page = client.get(f"{BASE}/tax-rates").get_data(as_text=True)
    assert "Another rate in use is called VAT" in page


def test_editing_a_rate_may_keep_its_own_name(client, people, login, csrf_token):
    with org_context(people.org_a.id):
        rate = factories.make_tax_rate(people.org_a, "VAT", "19")
        _db.session.commit()
        rate_id = rate.id
    login(people.alice)
    response = post(client, f"{BASE}/tax-rates/{rate_id}/edit", csrf_token(), name="vat", rate="19")
    assert response.status_code == 303
    assert rates(people.org_a)[0].name == "vat"


# -- permissions and tenancy --------------------------------------------------------------------

ROUTES = [
    ("get", "/settings"),
    ("post", "/settings"),
    ("get", "/tax-rates"),
    ("post", "/tax-rates"),
    ("get", "/tax-rates/{id}/edit"),
    ("post", "/tax-rates/{id}/edit"),
    ("post", "/tax-rates/{id}/archive"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("who", ["bob", "carol"])
def test_only_administrators_change_finance_settings(
    client, people, login, csrf_token, method, path, who
):
    with org_context(people.org_a.id):
        rate = factories.make_tax_rate(people.org_a, "VAT", "19")
        _db.session.commit()
        rate_id = rate.id
    login(getattr(people, who))
    url = BASE + path.format(id=rate_id)
    if method == "get":
        response = client.get(url)
    else:
        response = post(client, url, csrf_token(), **settings_form(name="X", rate="5"))
    assert response.status_code == 403
    assert stored(people.org_a) is None
    assert [(r.name, r.archived) for r in rates(people.org_a)] == [("VAT", False)]


@pytest.mark.parametrize(("method", "path"), [r for r in ROUTES if "{id}" in r[1]])
def test_another_organizations_rate_is_404(client, people, login, csrf_token, method, path):
    with org_context(people.org_b.id):
        theirs = factories.make_tax_rate(people.org_b, "Their VAT", "20")
        _db.session.commit()
        theirs_id = theirs.id
    login(people.alice)
    url = BASE + path.format(id=theirs_id)
    response = client.get(url) if method == "get" else post(client, url, csrf_token(), rate="1")
    assert response.status_code == 404
    assert [(r.rate, r.archived) for r in rates(people.org_b)] == [(Decimal(20), False)]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_sign_in_is_needed(client, people, method, path):
    response = getattr(client, method)(BASE + path.format(id=1))
    assert response.status_code in (302, 400)  # a POST without a session fails CSRF first


def test_archive_refuses_get(client, people, login):
    with org_context(people.org_a.id):
        rate = factories.make_tax_rate(people.org_a)
        _db.session.commit()
        rate_id = rate.id
    login(people.alice)
    assert client.get(f"{BASE}/tax-rates/{rate_id}/archive").status_code == 405


def test_the_pages_link_to_each_other(client, people, login):
    login(people.alice)
    settings = client.get(f"{BASE}/settings").get_data(as_text=True)
    rates_page = client.get(f"{BASE}/tax-rates").get_data(as_text=True)
    assert f'href="{BASE}/tax-rates"' in settings
    assert f'href="{BASE}/settings"' in rates_page
    assert f'href="{BASE}/tax-rates"' in client.get(f"{BASE}/products").get_data(as_text=True)


def test_saving_unchanged_settings_records_nothing(client, people, login, csrf_token):
    login(people.alice)
    token = csrf_token()
    post(client, f"{BASE}/settings", token, **settings_form())
    response = post(client, f"{BASE}/settings", token, **settings_form())
    assert response.status_code == 303
    assert audit_actions(people.org_a).count("finance.settings_changed") == 1
    with org_context(people.org_a.id):
        changed = catalog.save_settings(
            people.org_a.id,
            people.alice.id,
            catalog.FinanceSettingsIn.model_validate(settings_form(payment_terms_days="0")),
        )
    assert changed == ["payment_terms_days"]


def test_reminder_days_are_read_in_any_order_and_refused_when_unclear(
    client, people, login, csrf_token
):
    login(people.alice)
    token = csrf_token()
    url = f"{BASE}/settings"
    saved = post(client, url, token, **settings_form(reminder_days="14, -3; 7, 7"))
    assert saved.status_code == 303
    assert stored(people.org_a).reminder_days == [-3, 7, 14]
    assert 'value="-3, 7, 14"' in client.get(url).get_data(as_text=True)
    for bad in ("soon", "7, 400", "1, 2, 3, 4, 5, 6, 7"):
        refused = post(client, url, token, **settings_form(reminder_days=bad))
        assert refused.status_code == 422, bad
    assert stored(people.org_a).reminder_days == [-3, 7, 14]  # nothing lost

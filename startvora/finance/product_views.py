"""Products and services: the catalog list, forms with prices per currency and default taxes,
record pages, archiving, the trash, and export of the list as shown."""

from __future__ import annotations

from decimal import Decimal
from itertools import zip_longest
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from flask import Response, g, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from startvora.core import audit, listview, money
from startvora.core import importer as imp
from startvora.core.customfields import json_value
from startvora.core.forms import FORM_ERROR, FormErrors, form_data, parse
from startvora.core.htmx import redirect_to, render
from startvora.core.permissions import require
from startvora.core.tenancy import get_scoped_or_404
from startvora.extensions import db
from startvora.finance import catalog, schemas, services
from startvora.finance.blueprints import bp
from startvora.finance.models import Product, TaxRate
from startvora.orgs.schemas import COMMON_CURRENCIES

INPUTS = ("name", "kind", "sku", "unit", "description", "income_category", "expense_category")
KINDS = catalog.KINDS
EXTRA_PRICE_ROWS = 2  # empty rows for prices in other currencies
MAX_PRICE_ROWS = 20  # "More currencies" stops adding rows here
READ_PRICE_ROWS = 100  # rows read from a form: more than a product can have shown


def _locale() -> str:
    return g.org.number_locale or g.org.locale


def typed(minor: int, currency: str) -> str:
    """An amount as someone would type it in the organization's number format: 1250,50."""
    return money.typed_amount(minor, currency, _locale())


# -- the list -----------------------------------------------------------------------------------


def product_list_spec() -> listview.ListSpec:
    def by_kind(stmt: Any, value: str) -> Any:
        return stmt.where(Product.kind == value)

    def by_status(stmt: Any, value: str) -> Any:
        return stmt.where(Product.archived.is_(value == "archived"))

    price = db.func.coalesce(json_value(Product.prices, g.org.currency), -1)
    return listview.ListSpec(
        name="products",
        query=lambda: db.select(Product),
        id=Product.id,
        columns=[
            listview.Column("name", _l("Name"), sort=Product.search_name),
            listview.Column("sku", _l("SKU"), sort=Product.sku, hide_on_phone=True),
            listview.Column("kind", _l("Type"), hide_on_phone=True),
            listview.Column("taxes", _l("Taxes"), hide_on_phone=True),
            listview.Column("price", _l("Price"), sort=price, align="end"),
        ],
        search_folded=[Product.search_name],
        filters=[
            listview.Filter("kind", _l("Type"), list(KINDS.items()), by_kind),
            listview.Filter(
                "status",
                _l("Status"),
                [("active", _l("Active")), ("archived", _l("Archived"))],
                by_status,
            ),
        ],
        default_sort="name",
        bulk=True,
        per_page=50,
    )


def _rates_by_id() -> dict[int, TaxRate]:
    return {t.id: t for t in services.tax_rates(g.org.id, include_archived=True)}


@bp.get("/products")
@require("finance:view")
def products_index() -> Any:
    """Every product and service, with search by name or SKU, filters, sort and export."""
    page = listview.run(product_list_spec())
    return render(
        "finance/products/index.html",
        block="listing",
        page=page,
        kinds=KINDS,
        rates=_rates_by_id(),
    )


def _selected() -> list[Product]:
    ids = listview.selected_ids(request.form)
    if not ids:
        return []
    return list(db.session.execute(db.select(Product).where(Product.id.in_(ids))).scalars())


def _back() -> str:
    state = listview.read_state(product_list_spec(), request.form)
    return url_for("finance.products_index", **state.params())


@bp.post("/products/bulk/delete")
@require("finance:delete")
def products_bulk_delete() -> Any:
    """Move the ticked products to the trash."""
    rows = _selected()
    if not rows:
        return redirect_to(_back(), _("Tick some rows first."), "warning")
    for product in rows:
        catalog.trash_product(g.org.id, current_user.id, product)
    db.session.commit()
    return redirect_to(
        _back(),
        ngettext(
            "%(num)d product is in the trash.", "%(num)d products are in the trash.", len(rows)
        ),
    )


@bp.post("/products/bulk/archive")
@require("finance:edit")
def products_bulk_archive() -> Any:
    """Archive the ticked products: invoices no longer offer them."""
    rows = _selected()
    if not rows:
        return redirect_to(_back(), _("Tick some rows first."), "warning")
    for product in rows:
        catalog.set_product_archived(g.org.id, current_user.id, product, True)
    db.session.commit()
    return redirect_to(
        _back(), ngettext("Archived %(num)d product.", "Archived %(num)d products.", len(rows))
    )


# -- export -------------------------------------------------------------------------------------


@bp.get("/products/export")
@require("finance:view")
def products_export() -> Response:
    """The list as filtered, searched and sorted on screen, as CSV or XLSX."""
    spec = product_list_spec()
    state = listview.read_state(spec, request.args)
    sort = next(c.sort for c in spec.columns if c.key == state.sort)
    assert sort is not None
    order = (sort.desc(), spec.id.desc()) if state.desc else (sort.asc(), spec.id.asc())
    records = list(db.session.execute(listview.filtered(spec, state).order_by(*order)).scalars())
    header, rows = catalog.export_table(g.org.currency, records, _rates_by_id())
    fmt = "xlsx" if request.args.get("format") == "xlsx" else "csv"
    response = imp.export_rows(str(_("Products")), header, rows, fmt)
    audit.record(
        "finance.products_exported",
        org=g.org.id,
        actor=current_user,
        summary=_("%(n)d rows, %(format)s", n=len(records), format=fmt.upper()),
        rows=len(records),
        format=fmt,
        filters=state.params(),
    )
    db.session.commit()
    return response


@bp.get("/products/export-menu")
@require("finance:view")
def products_export_menu() -> str:
    """The export links for the filters in the browser's address now (the list changes it)."""
    current = urlsplit(request.headers.get("HX-Current-URL", ""))
    on_list = current.path == url_for("finance.products_index")
    args = MultiDict(parse_qsl(current.query)) if on_list else MultiDict()
    params = listview.read_state(product_list_spec(), args).params()
    return render_template("finance/products/_export_items.html", params=params)


# -- forms --------------------------------------------------------------------------------------


def _price_rows(prices: dict[str, Any]) -> list[tuple[str, str]]:
    """The org's currency first, then the other currencies, then a few empty rows."""
    rows = [(g.org.currency, prices.get(g.org.currency, ""))]
    rows += [(c, a) for c, a in prices.items() if c != g.org.currency]
    return rows + [("", "")] * EXTRA_PRICE_ROWS


def _form_values(product: Product | None) -> dict[str, Any]:
    if product is None:
        return {"kind": "product", "prices": _price_rows({}), "tax_ids": set()}
    values: dict[str, Any] = {name: getattr(product, name) for name in INPUTS}
    values["prices"] = _price_rows({c: typed(m, c) for c, m in product.prices.items()})
    values["tax_ids"] = {str(i) for i in product.tax_ids}
    return values


def _read_prices(errors: FormErrors) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The typed prices by currency, and the rows as typed; a row's problem goes to price_<n>."""
    currencies = request.form.getlist("price_currency")[:READ_PRICE_ROWS]
    amounts = request.form.getlist("price_amount")[:READ_PRICE_ROWS]
    rows = [
        (c.strip().upper()[:10], a.strip()[:30])
        for c, a in zip_longest(currencies, amounts, fillvalue="")
    ] or [("", "")]
    rows[0] = (g.org.currency, rows[0][1])  # the first row is always the org's currency
    prices: dict[str, str] = {}
    for n, (currency, amount) in enumerate(rows):
        if not amount:
            continue  # a currency without an amount is an unused row
        if not currency:
            errors[f"price_{n}"] = _("Choose the currency of this price.")
        elif not _is_currency(currency):
            errors[f"price_{n}"] = _(
                "%(code)s is not a currency code. Use one like EUR or USD.", code=currency
            )
        elif currency in prices:
            errors[f"price_{n}"] = _("%(currency)s has a price above already.", currency=currency)
        else:
            try:
                schemas.minor_of(amount, currency, _locale())
            except ValueError as exc:
                errors[f"price_{n}"] = str(exc)
            else:
                prices[currency] = amount
    empty = sum(1 for c, a in rows[1:] if not c and not a)
    return prices, rows + [("", "")] * max(0, EXTRA_PRICE_ROWS - empty)


def _is_currency(code: str) -> bool:
    try:
        money.check_currency(code)
    except ValueError:
        return False
    return True


def _save(product: Product | None) -> Any:
    """Validate the posted form and save, or show it again with the errors."""
    values: dict[str, Any] = form_data(request.form, INPUTS)
    errors = FormErrors()
    prices, rows = _read_prices(errors)
    tax_ids = request.form.getlist("tax_ids")
    values.update(prices=rows, tax_ids=set(tax_ids))
    if request.form.get("more_prices"):  # two more empty rows; nothing is checked or saved yet
        values["prices"] = rows + [("", "")] * EXTRA_PRICE_ROWS
        return _form_page(product, values, FormErrors())
    data, field_errors = parse(
        schemas.ProductIn,
        {**form_data(request.form, INPUTS), "prices": prices, "tax_ids": tax_ids},
        context={"currency": g.org.currency, "locale": _locale()},
    )
    for key, message in field_errors.items():
        errors.setdefault(key, message)
    if not errors and data is not None:
        try:
            saved = services.save_product(g.org.id, current_user.id, data, product)
        except services.FinanceError as exc:
            db.session.rollback()
            errors[exc.field or FORM_ERROR] = str(exc.message)
        else:
            db.session.commit()
            return redirect_to(url_for("finance.products_show", product_id=saved.id), _("Saved."))
    if FORM_ERROR not in errors:
        errors[FORM_ERROR] = _("Nothing is saved yet: correct the marked fields.")
    return _form_page(product, values, errors, 422)


def _form_page(
    product: Product | None, values: dict[str, Any], errors: FormErrors, status: int = 200
) -> Any:
    chosen = {int(i) for i in values.get("tax_ids", ()) if str(i).isdigit()}
    # Archived rates stay offered where they are already chosen, so saving keeps them.
    rates = [t for t in services.tax_rates(g.org.id, True) if not t.archived or t.id in chosen]
    income, expense = catalog.categories(g.org.id)
    return render(
        "finance/products/form.html",
        block="form",
        status=status,
        obj=product,
        values=values,
        errors=errors,
        kinds=KINDS,
        rates=rates,
        income_categories=income,
        expense_categories=expense,
        currencies=COMMON_CURRENCIES,
        max_price_rows=MAX_PRICE_ROWS,
        example=typed(money.to_minor(Decimal("1250.5"), g.org.currency), g.org.currency),
    )


@bp.route("/products/new", methods=["GET", "POST"])
@require("finance:edit")
def products_new() -> Any:
    """A new product or service."""
    if request.method == "POST":
        return _save(None)
    values = _form_values(None)
    if request.args.get("kind") in KINDS:
        values["kind"] = request.args["kind"]
    return _form_page(None, values, FormErrors())


@bp.route("/products/<int:product_id>/edit", methods=["GET", "POST"])
@require("finance:edit")
def products_edit(product_id: int) -> Any:
    """Change a product or service."""
    product = get_scoped_or_404(Product, product_id)
    if request.method == "POST":
        return _save(product)
    return _form_page(product, _form_values(product), FormErrors())


# -- the record page, archiving, deleting -------------------------------------------------------


@bp.get("/products/<int:product_id>")
@require("finance:view")
def products_show(product_id: int) -> Any:
    """One product: details, prices per currency and default taxes."""
    product = get_scoped_or_404(Product, product_id)
    rates = _rates_by_id()
    prices = sorted(product.prices.items(), key=lambda p: (p[0] != g.org.currency, p[0]))
    return render(
        "finance/products/show.html",
        obj=product,
        kinds=KINDS,
        prices=prices,
        taxes=[rates[i] for i in product.tax_ids if i in rates],
    )


@bp.post("/products/<int:product_id>/archive")
@require("finance:edit")
def products_archive(product_id: int) -> Any:
    """Archive a product, or bring an archived one back."""
    product = get_scoped_or_404(Product, product_id)
    archived = not product.archived
    catalog.set_product_archived(g.org.id, current_user.id, product, archived)
    db.session.commit()
    message = (
        _("%(name)s is archived: new invoices no longer offer it.", name=product.name)
        if archived
        else _("%(name)s is back in the catalog.", name=product.name)
    )
    return redirect_to(url_for("finance.products_show", product_id=product.id), message)


@bp.post("/products/<int:product_id>/delete")
@require("finance:delete")
def products_delete(product_id: int) -> Any:
    """Move a product to the trash."""
    product = get_scoped_or_404(Product, product_id)
    catalog.trash_product(g.org.id, current_user.id, product)
    db.session.commit()
    return redirect_to(
        url_for("finance.products_index"),
        _("%(name)s is in the trash; restore it from there.", name=product.name),
    )

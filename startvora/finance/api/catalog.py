"""Tax rates and products in the API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import g, request
from pydantic import BaseModel, Field

from startvora.core.api import Invalid, endpoint, int_arg, json_body, write_endpoint
from startvora.core.db import count_of, fold
from startvora.core.forms import parse
from startvora.extensions import db
from startvora.finance import services
from startvora.finance.api.common import MAX_LIMIT, amount, get_own, parse_context, refused
from startvora.finance.models import Product
from startvora.finance.schemas import ProductIn, TaxRateIn

# -- answers and bodies ----------------------------------------------------------------------


class TaxRateOut(BaseModel):
    id: int
    name: str
    rate: Decimal
    compound: bool
    archived: bool


class TaxRateList(BaseModel):
    items: list[TaxRateOut]


class ProductOut(BaseModel):
    id: int
    name: str
    kind: str
    sku: str
    description: str
    unit: str
    prices: dict[str, str]
    tax_ids: list[int]
    income_category: str
    expense_category: str
    archived: bool


class ProductPage(BaseModel):
    items: list[ProductOut]
    total: int
    limit: int
    offset: int


class ProductBody(BaseModel):
    name: str = ""
    kind: str = "product"
    sku: str = ""
    description: str = ""
    unit: str = ""
    prices: dict[str, str] = Field({}, description="currency -> decimal price")
    tax_ids: list[int] = []
    income_category: str = ""
    expense_category: str = ""


class RateBody(BaseModel):
    name: str
    rate: str
    compound: bool = False


def _product_out(product: Product) -> dict[str, Any]:
    out = {name: getattr(product, name) for name in ProductOut.model_fields}
    out["prices"] = {c: amount(m, c) for c, m in (product.prices or {}).items()}
    return out


# -- tax rates --------------------------------------------------------------------------------


@endpoint(
    "/tax-rates", summary="The organization's tax rates", response=TaxRateList,
    permission="finance:view", tag="Finance",
)  # fmt: skip
def tax_rates_list() -> Any:
    return {"items": services.tax_rates(g.org.id, include_archived=True)}


@write_endpoint(
    "POST", "/tax-rates", summary="Add a tax rate", response=TaxRateOut,
    permission="finance:admin", tag="Finance", body=RateBody, status=201,
)  # fmt: skip
def tax_rates_create() -> Any:
    data, errors = parse(TaxRateIn, json_body(), context=parse_context())
    if data is None:
        raise Invalid(dict(errors))
    return services.save_tax_rate(g.org.id, g.api_user.id, data)


# -- products ---------------------------------------------------------------------------------


@endpoint(
    "/products",
    summary="Products and services: search, filter, page (with the total)",
    response=ProductPage, permission="finance:view", tag="Finance",
    query=(
        ("q", "string", "search words (name, SKU)"),
        ("kind", "string", "product or service"),
        ("archived", "string", "'yes' for archived ones only, 'no' for those in use"),
        ("limit", "integer", "1 to 200, default 50"),
        ("offset", "integer", "rows to skip, default 0"),
    ),
)  # fmt: skip
def products_list() -> Any:
    query = db.select(Product)
    for word in request.args.get("q", "")[:200].split():
        word = fold(word).replace("%", "").replace("_", "")
        query = query.where(Product.search_name.like(f"%{word}%"))
    kind = request.args.get("kind", "")
    if kind:
        query = query.where(Product.kind == kind)
    archived = request.args.get("archived", "")
    if archived in ("yes", "no"):
        query = query.where(Product.archived.is_(archived == "yes"))
    limit = int_arg("limit", 50, 1, MAX_LIMIT)
    offset = int_arg("offset", 0, 0, 10**9)
    total = count_of(query)
    rows = db.session.execute(
        query.order_by(Product.search_name, Product.id).limit(limit).offset(offset)
    ).scalars()
    return {"items": [_product_out(p) for p in rows], "total": total, "limit": limit,
            "offset": offset}  # fmt: skip


@endpoint(
    "/products/<int:product_id>", summary="One product or service", response=ProductOut,
    permission="finance:view", tag="Finance",
)  # fmt: skip
def products_get(product_id: int) -> Any:
    return _product_out(get_own(Product, product_id, "product"))


def _save_product(product: Product | None) -> Any:
    body = json_body()
    values: dict[str, Any] = {}
    if product is not None:
        values = {name: getattr(product, name) for name in ProductIn.model_fields}
        values["prices"] = {c: amount(m, c) for c, m in (product.prices or {}).items()}
    values.update({k: v for k, v in body.items() if k in ProductIn.model_fields})
    data, errors = parse(ProductIn, values, context=parse_context())
    if data is None:
        raise Invalid(dict(errors))
    try:
        return _product_out(services.save_product(g.org.id, g.api_user.id, data, product))
    except services.FinanceError as exc:
        raise refused(exc) from None


@write_endpoint(
    "POST", "/products", summary="Add a product or service", response=ProductOut,
    permission="finance:edit", tag="Finance", body=ProductBody, status=201,
)  # fmt: skip
def products_create() -> Any:
    return _save_product(None)


@write_endpoint(
    "PATCH", "/products/<int:product_id>", summary="Change a product (only the fields sent)",
    response=ProductOut, permission="finance:edit", tag="Finance", body=ProductBody,
)  # fmt: skip
def products_update(product_id: int) -> Any:
    return _save_product(get_own(Product, product_id, "product"))

"""Registries filled by each domain's register(app): navigation, dashboard widgets, demo data."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, g, request

from startvora.core.permissions import can


@dataclasses.dataclass(frozen=True)
class NavItem:
    key: str
    label: Any
    endpoint: str
    icon: str
    permission: str
    order: int = 100
    section: str = "main"
    match: str = ""  # endpoint prefix that marks this entry current; defaults to `endpoint`


@dataclasses.dataclass(frozen=True)
class Widget:
    """A dashboard card: `template` is rendered with whatever `context(org, user)` returns."""

    key: str
    title: Any
    template: str
    permission: str
    context: Callable[[Any, Any], dict[str, Any]]
    order: int = 100
    wide: bool = False


@dataclasses.dataclass(frozen=True)
class DemoGenerator:
    """Loads one module's demo data into an organization; `run(org, owner, size, rng)`."""

    key: str
    run: Callable[..., dict[str, int]]
    order: int = 100


@dataclasses.dataclass
class Registry:
    nav: list[NavItem] = dataclasses.field(default_factory=list)
    widgets: list[Widget] = dataclasses.field(default_factory=list)
    demo: list[DemoGenerator] = dataclasses.field(default_factory=list)
    # Checks that may forbid changing an organization's currency: org id -> a reason, or None.
    currency_guards: list[Callable[[int], str | None]] = dataclasses.field(default_factory=list)


def init_app(app: Flask) -> None:
    app.extensions["startvora.registry"] = Registry()
    app.jinja_env.globals.update(nav_items=nav_items)


def registry(app: Flask | None = None) -> Registry:
    return (app or current_app).extensions["startvora.registry"]


def add_nav(app: Flask, item: NavItem) -> None:
    registry(app).nav.append(item)


def add_widget(app: Flask, widget: Widget) -> None:
    registry(app).widgets.append(widget)


def add_currency_guard(app: Flask, guard: Callable[[int], str | None]) -> None:
    """A module whose records are kept in the organization's currency refuses its change."""
    registry(app).currency_guards.append(guard)


def currency_locked(org_id: int) -> str | None:
    """Why the organization's currency cannot change any more, or None."""
    return next((r for guard in registry().currency_guards if (r := guard(org_id))), None)


def add_demo(app: Flask, generator: DemoGenerator) -> None:
    registry(app).demo.append(generator)


def nav_items(section: str = "main") -> list[tuple[NavItem, bool]]:
    """Navigation entries the current member may see, each with whether it is the current page."""
    if g.get("org") is None:
        return []
    items = sorted(
        (i for i in registry().nav if i.section == section and can(i.permission)),
        key=lambda i: (i.order, i.key),
    )
    endpoint = request.endpoint or ""
    # The longest matching prefix wins, so a nested page lights its own entry.
    best = max(
        (i for i in items if endpoint.startswith(i.match or i.endpoint)),
        key=lambda i: len(i.match or i.endpoint),
        default=None,
    )
    # A page shared by two entries (an invoice's page shows quotes too) names its own.
    chosen = g.get("nav_key")
    if chosen:
        best = next((i for i in items if i.key == chosen), best)
    return [(i, i is best) for i in items]


def visible_widgets() -> list[Widget]:
    return sorted(
        (w for w in registry().widgets if can(w.permission)), key=lambda w: (w.order, w.key)
    )

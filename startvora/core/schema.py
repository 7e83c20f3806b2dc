"""The database schema this code needs, read from the migration files without Alembic.

Reading the files keeps Alembic and SQLAlchemy out of the small `serve` supervisor; /healthz
uses the same heads to report a database whose schema is behind.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache

from startvora.paths import PACKAGE_DIR


@dataclass(frozen=True)
class SchemaState:
    current: str | None
    heads: tuple[str, ...]

    @property
    def up_to_date(self) -> bool:
        return self.current is not None and self.current in self.heads


@cache
def revision_graph() -> dict[str, tuple[str, ...]]:
    """Each migration's revision and the revisions it follows, read from the files.

    Reading the two assignments keeps Alembic and SQLAlchemy out of the supervisor's memory.
    """
    graph: dict[str, tuple[str, ...]] = {}
    for path in (PACKAGE_DIR / "migrations" / "versions").glob("*.py"):
        values = {}
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                    values[target.id] = ast.literal_eval(node.value)
        down = values.get("down_revision")
        graph[values["revision"]] = (
            tuple(down) if isinstance(down, tuple | list) else ((down,) if down else ())
        )
    return graph


def known_revisions() -> set[str]:
    return set(revision_graph())


def schema_problem(state: SchemaState, known: set[str]) -> str | None:
    """What is wrong with the database's schema for this code, in one line, or None."""
    if state.up_to_date:
        return None
    if state.current is None:
        return "the database is not set up yet: run `startvora init` first"
    if state.current not in known:
        return (
            f"the database is at schema {state.current}, which this version of Startvora "
            "does not know (it was written by a newer version); install that version again"
        )
    return (
        f"the database schema is behind ({state.current}, needs {', '.join(state.heads)}): "
        "run `startvora init` to upgrade it, or set auto_migrate = true under [database]"
    )


def heads() -> tuple[str, ...]:
    """The revisions no other migration follows: what an up-to-date database is at."""
    graph = revision_graph()
    followed = {parent for parents in graph.values() for parent in parents}
    return tuple(sorted(set(graph) - followed))

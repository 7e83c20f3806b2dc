"""Fast substring search over a table's `search_name`: an FTS5 trigram index beside it.

A LIKE '%word%' scan reads every row (100k rows: ~100 ms); the trigram index answers the same
question from the index. Triggers keep it in step with the table; words shorter than three
letters, which trigrams cannot index, are checked with LIKE on the rows the other words leave.
A model opts in with `attach(Model)` (its table gets the index when created) and its
migration writes the same statements out (`ddl(table)`: migrations import no application code).
"""

# ruff: noqa: S608  (table names below are constants, never input)
from __future__ import annotations

from typing import Any

from sqlalchemy import DDL, Integer, column, event, select, text


def ddl(table: str) -> list[str]:
    """The statements that create one table's index and its triggers."""
    fts = f"{table}_fts"
    return [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5(search_name, content='{table}',"
        " content_rowid='id', tokenize='trigram')",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_ai AFTER INSERT ON {table} BEGIN"
        f" INSERT INTO {fts}(rowid, search_name) VALUES (new.id, new.search_name); END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_ad AFTER DELETE ON {table} BEGIN"
        f" INSERT INTO {fts}({fts}, rowid, search_name) VALUES ('delete', old.id, old.search_name);"
        " END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_au AFTER UPDATE OF search_name ON {table} BEGIN"
        f" INSERT INTO {fts}({fts}, rowid, search_name) VALUES ('delete', old.id, old.search_name);"
        f" INSERT INTO {fts}(rowid, search_name) VALUES (new.id, new.search_name); END",
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
    ]


def attach(model: Any) -> None:
    """Give a model's table its index when the table is created (tests, a new database)."""
    table = model.__tablename__
    for statement in ddl(table):
        event.listen(model.__table__, "after_create", DDL(statement).execute_if(dialect="sqlite"))
    # The triggers go first: rows deleted while the table is dropped (a cascade) would fire them.
    for statement in (
        *(f"DROP TRIGGER IF EXISTS {table}_fts_{suffix}" for suffix in ("ai", "ad", "au")),
        f"DROP TABLE IF EXISTS {table}_fts",
    ):
        event.listen(model.__table__, "before_drop", DDL(statement).execute_if(dialect="sqlite"))


def is_index_table(name: str) -> bool:
    """Tables the models do not describe (the FTS index and its shadow tables)."""
    return "_fts" in name


def searcher(model: Any) -> Any:
    """A list search function: rows whose folded search_name contains every one of the words."""
    fts = f"{model.__tablename__}_fts"

    def search(stmt: Any, words: list[str]) -> Any:
        phrases = []
        for word in words:
            if len(word) >= 3:
                # A quoted phrase of a trigram index matches as a substring, as LIKE would, but
                # from the index alone (LIKE reads every candidate row back to check it).
                phrases.append('"' + word.replace('"', '""') + '"')
                continue
            word = word.replace("%", "").replace("_", "").replace("\\", "")
            if word:  # too short for trigrams: checked on the rows the other words leave
                stmt = stmt.where(model.search_name.like(f"%{word}%"))
        if phrases:
            ids = (
                text(f"SELECT rowid FROM {fts} WHERE {fts} MATCH :query")
                .bindparams(query=" AND ".join(phrases))
                .columns(column("rowid", Integer))
                .subquery()
            )
            stmt = stmt.where(model.id.in_(select(ids.c.rowid)))
        return stmt

    return search

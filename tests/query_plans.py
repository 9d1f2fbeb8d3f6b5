"""Query plans of the statements an app really runs: capture them, explain each one, and name those that scan.

A statement "scans" when it reads a large table (one that grows with leads and submissions) in full, or walks
every row of a workspace or a form through an index chosen only for its ORDER BY: both cost time in proportion
to the data, where a lookup by key costs the same at 100 leads and at 1,000,000. A page (a statement with a
``LIMIT``) may walk the workspace's index, as it stops after the page, unless it also looks for a value
(``phone = ?``) that the index does not find: then it walks until it has found a page of matches, which may be never.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from core.database import Base

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ("LARGE_TABLES", "Captured", "capture_statements", "scans_in")

LARGE_TABLES = frozenset(
    {
        "lead",
        "submission",
        "consent_event",
        "message",
        "delivery",
        "delivery_attempt",
        "idempotency_key",
        "source_payload",
    }
)
"""Tables whose size grows with the traffic: no hot statement may read them in full."""
_BROAD_COLUMNS = frozenset({"workspace_id", "form_id"})
"""A lookup bounded by these alone reads everything of a workspace (or a form)."""
_KINDS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")
_LIMIT = re.compile(r"\bLIMIT\b", re.IGNORECASE)
_ALIAS = re.compile(r"\b(\w+) AS (\w+)\b", re.IGNORECASE)
_SQLITE_STEP = re.compile(r"^(SCAN|SEARCH) (\w+)(?: AS \w+)?(?: USING (?:COVERING )?INDEX (\w+))?.*?(?: \((.*)\))?$")
_QUOTED = re.compile(r"'(?:[^']|'')*'")
_EQUALITY = re.compile(r'\b(\w+)\."?(\w+)"? (?:= |IN \()')


@dataclass
class Captured:
    """Each distinct statement run while capturing, with the parameters of its first run."""

    statements: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    def add(self, statement: str, parameters: Any, *, executemany: bool) -> None:
        if not statement.lstrip().upper().startswith(_KINDS):
            return
        if executemany and isinstance(parameters, list):  # a multi-row INSERT comes as one flat tuple instead
            parameters = parameters[0] if parameters else ()
        self.statements.setdefault(statement, tuple(parameters or ()))


@contextlib.contextmanager
def capture_statements(*, ignore: Engine | None = None) -> Iterator[Captured]:
    """Every statement that any engine of this process (but ``ignore``, the test's own) sends to its database, as
    sent, while the block runs."""
    captured = Captured()

    def listener(
        conn: Connection, _cursor: Any, statement: str, parameters: Any, _context: Any, executemany: bool
    ) -> None:
        if conn.engine is not ignore:
            captured.add(statement, parameters, executemany=executemany)

    event.listen(Engine, "before_cursor_execute", listener)
    try:
        yield captured
    finally:
        event.remove(Engine, "before_cursor_execute", listener)


def _tables_of(statement: str) -> dict[str, str]:
    """Names the plan may use for a table (itself, or an alias) mapped to the table."""
    names = {name: name for name in Base.metadata.tables}
    names.update({alias: table for table, alias in _ALIAS.findall(statement) if table in Base.metadata.tables})
    return names


def _paged(statement: str, table: str) -> bool:
    """Whether a walk through the table's workspace (or form) stops after a page: a ``LIMIT``, and no value to
    look for in it besides the workspace's (or form's)."""
    if not _LIMIT.search(statement):
        return False
    tables = _tables_of(statement)
    looked_for = {column for name, column in _EQUALITY.findall(statement) if tables.get(name) == table}
    return looked_for <= _BROAD_COLUMNS


def _sqlite_scans(statement: str, plan: list[str]) -> list[str]:
    tables = _tables_of(statement)
    found = []
    for line in plan:
        step = _SQLITE_STEP.match(line.strip())
        if step is None:
            continue
        kind, name, _index, constraint = step.groups()
        table = tables.get(name, name)
        if table not in LARGE_TABLES:
            continue
        if kind == "SCAN":
            found.append(line.strip())
            continue
        columns = set(re.findall(r"(\w+)\s*(?:=|<|>|IN\b)", constraint or ""))
        if columns <= _BROAD_COLUMNS and not _paged(statement, table):
            found.append(line.strip())
    return found


def _index_columns() -> dict[str, list[str]]:
    """Every index's columns in order, by name (unique constraints and primary keys included)."""
    found: dict[str, list[str]] = {}
    for table in Base.metadata.tables.values():
        for index in table.indexes:
            found[str(index.name)] = [column.name for column in index.columns]
        for constraint in table.constraints:
            columns = getattr(constraint, "columns", None)
            if columns is not None:
                found[str(constraint.name)] = [column.name for column in columns]
    return found


def _bound(index: str | None, condition: str, table: str) -> set[str]:
    """The columns that bound an index scan: the leading columns of the index that the condition constrains.

    PostgreSQL lists conditions on later columns in ``Index Cond`` too, but checks them row by row inside the range
    the leading ones bound: ``(form_id, scope, key)`` searched by form and key walks every key of the form.
    """
    names = set(Base.metadata.tables[table].columns.keys())
    constrained = {word for word in re.findall(r"\w+", condition) if word in names}
    order = _index_columns().get(index or "")
    if order is None:
        return constrained
    bound: set[str] = set()
    for column in order:
        if column not in constrained:
            break
        bound.add(column)
    return bound


def _postgres_nodes(node: dict[str, Any], relation: str | None = None) -> Iterator[tuple[dict[str, Any], str | None]]:
    relation = node.get("Relation Name", relation)
    yield node, relation
    for child in node.get("Plans", []):
        yield from _postgres_nodes(child, relation)


def _postgres_scans(statement: str, plan: dict[str, Any]) -> list[str]:
    found = []
    for node, relation in _postgres_nodes(plan["Plan"]):
        kind = node["Node Type"]
        if relation not in LARGE_TABLES:
            continue
        if kind == "Seq Scan":
            found.append(f"Seq Scan on {relation}")
        elif kind in {"Index Scan", "Index Only Scan", "Bitmap Index Scan"}:
            condition = _QUOTED.sub("", node.get("Index Cond", ""))
            if _bound(node.get("Index Name"), condition, relation) <= _BROAD_COLUMNS and not _paged(
                statement, relation
            ):
                found.append(f"{kind} using {node.get('Index Name')} on {relation} ({condition or 'whole index'})")
    return found


async def scans_in(connection: AsyncConnection, captured: Captured) -> list[str]:
    """Explain every captured statement on ``connection``; one line per statement that scans, with its plan.

    On PostgreSQL the tables are analysed first, as autovacuum does in production (the planner of a table never
    analysed guesses wildly), and sequential scans are switched off for the transaction (``enable_seqscan = off``):
    with a few rows a sequential scan is the cheapest plan anyway, and what matters is whether an index *can* serve
    the statement. A sequential scan left in the plan then means that none can. SQLite is left without statistics,
    as it runs in production (nothing runs ``ANALYZE`` there): its planner then goes by the schema alone.
    """
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        await connection.exec_driver_sql("ANALYZE")
        await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    problems = []
    for statement, parameters in captured.statements.items():
        if postgres:
            result = await connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters)
            raw = result.scalar_one()
            (plan,) = json.loads(raw) if isinstance(raw, str) else raw
            found = _postgres_scans(statement, plan)
        else:
            result = await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            found = _sqlite_scans(statement, [str(tuple(row)[-1]) for row in result])
        if found:
            problems.append(f"{' | '.join(found)}  <-  {' '.join(statement.split())}")
    return problems

"""Person de-duplication: find or create the one lead of each person in a batch, locking it for the transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import bindparam, select, update

from core.database import insert_or_skip
from core.ids import new_id
from leads.models import Lead

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from sqlalchemy import Table
    from sqlalchemy.orm import Session

__all__ = ("Person", "PersonKey", "by_group", "find_or_create_people", "save_people")

PersonKey = tuple[str, str, str]
"""(workspace id, ``email`` or ``phone``, canonical value)."""

_LEAD = cast("Table", Lead.__table__)
G = TypeVar("G")


@dataclass(slots=True)
class Person:
    """A lead as this transaction sees it; changes are written back at the end by :func:`save_people`."""

    id: str
    email: str | None
    phone: str | None
    name: str | None
    fields: dict[str, Any]
    submission_count: int
    is_new: bool
    """Created by this transaction."""
    created_with_first: bool = False
    """Inserted with its first submission's values already in the row (that submission is ``lead.created``)."""
    status: str = "active"
    """``pending`` while the person is known only through unconfirmed double opt-in submissions."""
    changed: bool = field(default=False)

    def absorb(self) -> None:
        """Count a new accepted submission of this person.

        An unverified submission never changes a known person's name, email, phone or fields: anyone can type
        someone's address. Its values are stored with the submission and delivered in its ``submission`` block;
        only a confirmed double opt-in submission updates the lead (``consent.lifecycle.confirm_submission``).
        """
        if self.created_with_first:
            self.created_with_first = False  # the row already holds this submission's values and count
            return
        self.submission_count += 1
        self.changed = True


def by_group(pairs: Iterable[tuple[G, str]]) -> dict[G, list[str]]:
    """``(group, value)`` pairs as values by group: ``group = ? AND value IN (...)`` uses the indexes on SQLite,
    where a row-value ``(a, b) IN (VALUES ...)`` scans the table. A group may be a tuple of columns (all of them
    equal), which must be the leading columns of the index that ``value`` ends."""
    groups: dict[G, list[str]] = {}
    for group, value in pairs:
        groups.setdefault(group, []).append(value)
    return groups


def _select(
    session: Session, kind: str, pairs: list[tuple[str, str]], by_id: dict[str, Person]
) -> dict[PersonKey, Person]:
    """The leads of these (workspace, value) pairs, locked on PostgreSQL (``FOR UPDATE``, in one order).

    ``by_id`` makes one lead found through its email and through its phone the same :class:`Person`.
    """
    column = Lead.email if kind == "email" else Lead.phone
    # PostgreSQL locks the rows of FOR UPDATE as it returns them: every transaction locks in (workspace, value, id)
    # order (pairs are sorted; ORDER BY below), so two batches never wait for each other's locks in a cycle. The
    # planner finds the rows through the (workspace_id, email|phone) index and sorts the few it found. SQLite gets no
    # ORDER BY: it has no row locks (BEGIN IMMEDIATE serialises writers), and without statistics its planner would
    # satisfy an ORDER BY by walking every lead of the workspace in an index that has the order.
    postgres = session.get_bind().dialect.name == "postgresql"
    leads: list[Lead] = []
    for workspace_id, values in by_group(pairs).items():
        statement = select(Lead).where(Lead.workspace_id == workspace_id, column.in_(values)).with_for_update(of=Lead)
        if postgres:
            statement = statement.order_by(column, Lead.id)
        leads.extend(session.scalars(statement).all())
    # The order of the matches, in Python: a phone number matches the lead known only by it first, else the oldest
    # lead that has it.
    leads.sort(key=lambda lead: (lead.email is not None, lead.id) if kind == "phone" else (False, lead.id))
    found: dict[PersonKey, Person] = {}
    for lead in leads:
        value = lead.email if kind == "email" else lead.phone
        assert value is not None
        person = by_id.get(lead.id) or Person(
            lead.id,
            lead.email,
            lead.phone,
            lead.name,
            dict(lead.fields),
            lead.submission_count,
            is_new=False,
            status=lead.status,
        )
        by_id[lead.id] = person
        found.setdefault((lead.workspace_id, kind, value), person)
    return found


def find_or_create_people(
    session: Session, wanted: dict[PersonKey, dict[str, Any]], now: datetime
) -> dict[PersonKey, Person]:
    """The lead of every person key, creating the missing ones from the given first values.

    Safe under concurrency on every instance: a lead that another transaction creates at the same moment makes
    our ``INSERT … ON CONFLICT DO NOTHING`` wait for it and skip, and we then read (and lock) theirs. Locking the
    leads here is what serialises two submissions of one person, so the de-duplication that follows sees the
    other's committed submission.

    Args:
        session: The batch's write transaction.
        wanted: Each person key with the lead's values should it be new (``email``, ``phone``, ``name``, ``fields``).
        now: The batch's time.
    """
    people: dict[PersonKey, Person] = {}
    by_id: dict[str, Person] = {}
    for kind in ("email", "phone"):
        pairs = sorted((ws, value) for ws, k, value in wanted if k == kind)
        if pairs:
            people.update(_select(session, kind, pairs, by_id))
    missing = sorted(key for key in wanted if key not in people)
    if not missing:
        return people
    rows = []
    for key in missing:
        first = wanted[key]
        rows.append(
            {
                "id": new_id("lead"),
                "workspace_id": key[0],
                "email": first["email"],
                "phone": first["phone"],
                "name": first["name"],
                "fields": first["fields"],
                "submission_count": 1,  # inserted with its first submission, which is always accepted
                "status": first.get("status", "active"),
                "created_at": now,
                "updated_at": now,
            }
        )
    inserted = session.execute(insert_or_skip(session, Lead).returning(_LEAD.c.id, _LEAD.c.workspace_id), rows)
    created = {row.id for row in inserted}
    lost: list[PersonKey] = []
    for key, row in zip(missing, rows, strict=True):
        if row["id"] in created:
            people[key] = Person(
                row["id"],
                row["email"],
                row["phone"],
                row["name"],
                dict(row["fields"]),
                1,
                is_new=True,
                created_with_first=True,
                status=row["status"],
            )
        else:
            lost.append(key)
    for kind in ("email", "phone"):  # created meanwhile by another transaction: read and lock theirs
        pairs = sorted((ws, value) for ws, k, value in lost if k == kind)
        if pairs:
            people.update(_select(session, kind, pairs, by_id))
    return people


def save_people(session: Session, people: Iterable[Person], now: datetime) -> None:
    """Write back every changed lead with one executemany ``UPDATE``."""
    rows = [
        {
            "b_id": p.id,
            "email": p.email,
            "phone": p.phone,
            "name": p.name,
            "fields": p.fields,
            "submission_count": p.submission_count,
            "status": p.status,
            "updated_at": now,
        }
        for p in people
        if p.changed
    ]
    if rows:
        session.execute(update(_LEAD).where(_LEAD.c.id == bindparam("b_id")), rows)

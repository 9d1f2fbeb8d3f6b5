"""The audit log as a CSV file, streamed oldest first a page at a time, for owners to keep or hand to an auditor."""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING

from sqlalchemy import select

from workspaces.models import AuditEvent

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from core.database import Database

__all__ = ("CSV_COLUMNS", "audit_csv")

CSV_COLUMNS = ("id", "created_at", "actor", "action", "target_type", "target_id", "address", "details")
_PAGE = 500
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: a value that would start a formula gets a leading apostrophe (details
    hold names people typed, such as a form's)."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def _rows(events: list[AuditEvent]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for event in events:
        details = json.dumps(event.details or {}, ensure_ascii=False, sort_keys=True)
        writer.writerow(
            _cell(value)
            for value in (
                event.id,
                event.created_at.isoformat(),
                event.actor,
                event.action,
                event.target_type,
                event.target_id,
                event.address,
                details,
            )
        )
    return buffer.getvalue().encode("utf-8")


async def audit_csv(db: Database, *, workspace_id: str) -> AsyncIterator[bytes]:
    """The workspace's whole audit log as CSV (RFC 4180, a header row first), oldest first.

    Each page is read in a short transaction of its own, so a long export holds no transaction open.
    """
    yield (",".join(CSV_COLUMNS) + "\r\n").encode("utf-8")
    after = ""
    while True:
        async with db.session(write=False) as session:
            page = list(
                (
                    await session.scalars(
                        select(AuditEvent)
                        .where(AuditEvent.workspace_id == workspace_id, AuditEvent.id > after)
                        .order_by(AuditEvent.id)
                        .limit(_PAGE)
                    )
                ).all()
            )
        if not page:
            return
        yield _rows(page)
        if len(page) < _PAGE:
            return
        after = page[-1].id

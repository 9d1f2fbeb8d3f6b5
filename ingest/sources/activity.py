"""Seeing what came in through each source: counts by outcome and reason, and the last 50 payloads it received.

Each lead's outcome and each refused request is noted with one call (:meth:`SourceActivity.lead`,
:meth:`SourceActivity.refused`) that never raises and never waits: the lead is already stored, or the refusal
already decided, whatever becomes of the note. Notes are written in batches, one transaction for everything noted
in the last ``linger`` seconds (0.2 by default) through :meth:`core.database.Database.transact`, so that recording
adds no transaction per lead, and a flood of refused requests (a sender with a wrong key retrying in a loop) costs
a handful of writes a second however fast it comes. What is noted in the moments before a crash may be lost; what is
noted before a clean shutdown is written.

Counts are rows of ``source_count`` keyed by (source, outcome, reason) rather than columns of ``source``: a reason
a new kind or the pull sources add needs no migration, and changing a source never contends with counting its
requests. Each flush adds to them with ``INSERT … ON CONFLICT DO UPDATE SET total = total + excluded.total``: the
database does the addition under its row lock (PostgreSQL) or its single writer (SQLite), so counts stay exact
however many processes flush at once. Payloads are ``leads.models.SourcePayload`` rows (encrypted, secrets
redacted by ``ingest.sources.redaction``); older ones beyond the newest 50 of a source are deleted in the same
transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import case, delete, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError

from core.errors import (
    Conflict,
    Forbidden,
    LeadwireError,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServiceUnavailable,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from ingest.sources.models import SourceCount
from ingest.sources.payloads import payload_row
from leads.models import SourcePayload, Submission

if TYPE_CHECKING:
    from datetime import datetime

    from litestar.connection import ASGIConnection
    from sqlalchemy import Table
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.orm import Session

    from core.database import Database
    from ingest.pipeline import Outcome
    from ingest.sources.mapping import Mapped
    from ingest.sources.models import Source
    from ingest.sources.payloads import Received

__all__ = ("MAX_PAYLOADS", "SourceActivity", "counts_by_source", "counts_of", "of", "reason_of", "recent_payloads")

logger = logging.getLogger("leadwire.sources")
MAX_PAYLOADS = 50
_COUNT = cast("Table", SourceCount.__table__)
_PAYLOAD = cast("Table", SourcePayload.__table__)
_MAX_PENDING = 2_000
"""Payloads waiting to be written, across sources; beyond it (the database down for a while) they are dropped,
while their counts are still kept."""
_UNAVAILABLE = (OperationalError, SATimeoutError, OSError, TimeoutError)
_RETRY_S = (1.0, 30.0)
_REASONS: tuple[tuple[type[LeadwireError], str], ...] = (
    (Unauthorized, "unauthorized"),
    (PayloadTooLarge, "too_large"),
    (ValidationFailed, "invalid"),
    (RateLimited, "rate_limited"),
    (Conflict, "in_flight"),
    (ServiceUnavailable, "unavailable"),
    (NotFound, "form_unavailable"),
    (Forbidden, "disabled"),  # the sender still pushes to a source its owner switched off
    (UnsupportedMediaType, "unreadable"),
)


def reason_of(error: LeadwireError, mapped: Mapped | None = None) -> str:
    """Why a request was refused, in one word: ``unauthorized``, ``invalid`` (``mapping`` when the payload could
    not be fully read by the source's rules), ``too_large``, ``unreadable``, ``rate_limited``, …"""
    for kind, reason in _REASONS:
        if isinstance(error, kind):
            return "mapping" if reason == "invalid" and mapped is not None and mapped.problems else reason
    return "unreadable" if error.status_code == 400 else "error"  # noqa: PLR2004 - BadRequest and its kin


def _outcome_of(outcome: Outcome) -> tuple[str, str]:
    if outcome.replayed:
        return "duplicate", "same_id"  # the sender sent the same lead id again
    if outcome.verdict == "duplicate":
        return "duplicate", "same_content"  # the same person sent the same values inside the form's window
    if outcome.verdict == "spam":
        return "rejected", "spam"
    return ("test", "") if outcome.verdict == "test" else ("accepted", "")


class SourceActivity:
    """Notes what each source received and writes the notes in batches; one per process, on ``app.state``."""

    def __init__(self, db: Database | None, *, linger: float = 0.2) -> None:
        self._db = db
        self._linger = linger
        self._counts: dict[tuple[str, str, str], tuple[int, datetime]] = {}
        self._payloads: dict[str, deque[dict[str, Any]]] = {}
        self._pending = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._failures = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="leadwire-source-activity")

    async def stop(self) -> None:
        """Write what was noted, then stop."""
        if self._task is None:
            return
        task, self._task = self._task, None
        self._closing = True
        self._wake.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await asyncio.shield(task)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def lead(self, source: Source, received: Received, outcome: Outcome) -> None:
        """Note what a lead became: accepted, a duplicate (of the same id or of the same content), or a test."""
        verdict, reason = _outcome_of(outcome)
        self._note(source, received, verdict, reason, submission_id=outcome.submission_id)

    def refused(self, source: Source, received: Received, error: LeadwireError, *, reason: str | None = None) -> None:
        """Note a refused request (or fetched lead) and why: ``reason``, else the error's (:func:`reason_of`)."""
        problems = [{"field": e.field, "code": e.code, "message": e.message} for e in getattr(error, "errors", [])]
        self._note(
            source,
            received,
            "rejected",
            reason or reason_of(error, received.mapped),
            detail=str(error.detail or error.title),
            problems=problems,
        )

    def _note(
        self,
        source: Source,
        received: Received,
        outcome: str,
        reason: str,
        *,
        submission_id: str | None = None,
        detail: str | None = None,
        problems: list[dict[str, str]] | None = None,
    ) -> None:
        if self._db is None:
            return
        try:
            row = payload_row(
                source, received, outcome, reason, submission_id=submission_id, detail=detail, problems=problems
            )
        except Exception:  # the lead is stored, or the refusal decided: a note that cannot be made is only logged
            logger.exception("could not record what source %s received", source.id)
            return
        key = (source.id, outcome, reason)
        total, _ = self._counts.get(key, (0, row["received_at"]))
        self._counts[key] = (total + 1, row["received_at"])
        if self._pending < _MAX_PENDING:
            kept = self._payloads.setdefault(source.id, deque(maxlen=MAX_PAYLOADS))
            self._pending += len(kept) < MAX_PAYLOADS  # a full deque drops its oldest: older ones would go anyway
            kept.append(row)
        self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            if not self._closing:
                await asyncio.sleep(self._linger)  # what arrives meanwhile is written with it
            self._wake.clear()
            written = await self._flush()
            if self._closing and (written or not self._counts):
                return
            if not written:
                self._failures += 1
                await asyncio.sleep(min(_RETRY_S[1], _RETRY_S[0] * 2 ** (self._failures - 1)))
                self._wake.set()
            else:
                self._failures = 0

    async def _flush(self) -> bool:
        """Write what was noted; False when the database could not take it (it is kept for the next try)."""
        if not self._counts or self._db is None:
            return True
        counts, self._counts = self._counts, {}
        payloads, self._payloads, self._pending = self._payloads, {}, 0
        rows = [row for kept in payloads.values() for row in kept]
        try:
            await self._db.transact(_write, counts, rows)
        except _UNAVAILABLE as exc:
            if not self._db.outage.failed(exc):
                logger.warning("could not record the activity of %d sources yet: %s", len(payloads), exc)
            self._keep(counts, payloads)
            return False
        except Exception:
            logger.exception("could not record the activity of %d sources; dropped", len(payloads))
            return True
        self._db.outage.recovered()
        return True

    def _keep(self, counts: dict[tuple[str, str, str], tuple[int, datetime]], payloads: dict[str, deque[Any]]) -> None:
        """Put a batch that could not be written back in front of what was noted since."""
        for key, (total, last_at) in counts.items():
            later, newer_at = self._counts.get(key, (0, last_at))
            self._counts[key] = (total + later, max(last_at, newer_at))
        for source_id, kept in payloads.items():
            merged = deque(kept, maxlen=MAX_PAYLOADS)
            merged.extend(self._payloads.get(source_id, ()))
            self._payloads[source_id] = merged
        self._pending = min(_MAX_PENDING, sum(len(kept) for kept in self._payloads.values()))


def _write(
    session: Session, counts: dict[tuple[str, str, str], tuple[int, datetime]], rows: list[dict[str, Any]]
) -> None:
    """Add the counts, store the payloads with their lead ids, and keep only the newest 50 of each source."""
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = [
        {"source_id": s, "outcome": o, "reason": r, "total": n, "last_at": at}
        for (s, o, r), (n, at) in sorted(counts.items())  # one order for every writer: fewer deadlocks
    ]
    upsert = dialect_insert(_COUNT).values(values)
    session.execute(
        upsert.on_conflict_do_update(
            index_elements=[_COUNT.c.source_id, _COUNT.c.outcome, _COUNT.c.reason],
            set_={
                "total": _COUNT.c.total + upsert.excluded.total,
                "last_at": case(
                    (upsert.excluded.last_at > _COUNT.c.last_at, upsert.excluded.last_at), else_=_COUNT.c.last_at
                ),
            },
        )
    )
    if not rows:
        return
    submission_ids = sorted({row["submission_id"] for row in rows if row["submission_id"]})
    if submission_ids:
        found = session.execute(select(Submission.id, Submission.lead_id).where(Submission.id.in_(submission_ids)))
        lead_of = {row.id: row.lead_id for row in found}
        for row in rows:
            row["lead_id"] = lead_of.get(row["submission_id"])
    session.execute(insert(_PAYLOAD), sorted(rows, key=lambda row: (row["received_at"], row["id"])))
    for source_id in sorted({row["source_id"] for row in rows}):
        newest = (
            select(_PAYLOAD.c.id)
            .where(_PAYLOAD.c.source_id == source_id)
            .order_by(_PAYLOAD.c.received_at.desc(), _PAYLOAD.c.id.desc())
            .limit(MAX_PAYLOADS)
        )
        session.execute(delete(_PAYLOAD).where(_PAYLOAD.c.source_id == source_id, _PAYLOAD.c.id.not_in(newest)))


_IDLE = SourceActivity(None)


def of(connection: ASGIConnection[Any, Any, Any, Any]) -> SourceActivity:
    """The process's recorder (started in the app's lifespan), or one that records nothing."""
    found: SourceActivity | None = getattr(connection.app.state, "source_activity", None)
    return found if found is not None else _IDLE


async def counts_of(session: AsyncSession, source_id: str) -> list[SourceCount]:
    """The source's counts, one row per outcome and reason."""
    rows = await session.scalars(select(SourceCount).where(SourceCount.source_id == source_id))
    return list(rows)


async def counts_by_source(session: AsyncSession, source_ids: list[str]) -> dict[str, list[SourceCount]]:
    """The counts of each of these sources (one query for a list of them), one row per outcome and reason."""
    found: dict[str, list[SourceCount]] = {source_id: [] for source_id in source_ids}
    if source_ids:
        for row in await session.scalars(select(SourceCount).where(SourceCount.source_id.in_(source_ids))):
            found[row.source_id].append(row)
    return found


async def recent_payloads(session: AsyncSession, source_id: str) -> list[SourcePayload]:
    """The source's last 50 payloads, newest first."""
    rows = await session.scalars(
        select(SourcePayload)
        .where(SourcePayload.source_id == source_id)
        .order_by(SourcePayload.received_at.desc(), SourcePayload.id.desc())
        .limit(MAX_PAYLOADS)
    )
    return list(rows)

"""Helpers of the pull source tests: a form with the fields portals send, and ways to wait for and hurry the poller."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from core.database import Database, utcnow
from ingest.idempotency import InFlight
from ingest.pipeline import SubmitServices
from ingest.sources.models import SourcePull
from ingest.writer import SubmissionWriter
from leads.models import Submission
from tests.ingest.conftest import FORM

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx

    from core.settings import Settings
    from tests.conftest import Tenant

PULL_FORM: dict[str, Any] = {
    "fields": [
        {"name": "name", "type": "text", "required": True, "max_length": 120},
        {"name": "email", "type": "email"},
        {"name": "phone", "type": "phone"},
        {"name": "company", "type": "text"},
        {"name": "city", "type": "text"},
        {"name": "message", "type": "textarea", "max_length": 2000},
    ],
    "consents": FORM["consents"],
}
"""A sales form like the demo's, with the city portals also send."""


async def create_pull_source(
    client: httpx.AsyncClient, tenant: Tenant, form: dict[str, Any], kind: str, pull: dict[str, str], **body: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/sources",
        json={"kind": kind, "form_id": form["id"], "consent_purposes": ["sales_contact"], "pull": pull, **body},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    source: dict[str, Any] = response.json()
    return source


async def pull_state(db: Database, source_id: str) -> SourcePull:
    async with db.session(write=False) as session:
        state = await session.get(SourcePull, source_id)
    assert state is not None, "the source has no pull state"
    return state


async def settled(db: Database, source_id: str, pulls: int, seconds: float = 15.0) -> SourcePull:
    """The source's pull state once it has been polled ``pulls`` times (windows tried) and is no longer held."""
    deadline = time.monotonic() + seconds
    while True:
        state = await pull_state(db, source_id)
        if state.pulls >= pulls and state.lease_owner is None:
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"not polled {pulls} times in {seconds:g} s: {pulls_of(state)}")
        await asyncio.sleep(0.05)


def pulls_of(state: SourcePull) -> dict[str, Any]:
    return {column: getattr(state, column) for column in SourcePull.__table__.columns.keys()}  # noqa: SIM118


async def make_due(db: Database, source_id: str, *, cursor_days_ago: float | None = None) -> None:
    """Let the source's next pull be now (as if its interval had passed); optionally move its cursor back."""
    values: dict[str, Any] = {"next_pull_at": utcnow() - timedelta(seconds=1)}
    if cursor_days_ago is not None:
        values["cursor"] = utcnow() - timedelta(days=cursor_days_ago)
    async with db.session(write=True) as session:
        await session.execute(update(SourcePull).where(SourcePull.source_id == source_id).values(**values))


async def stored(db: Database, source_id: str) -> list[Submission]:
    async with db.session(write=False) as session:
        rows = await session.scalars(select(Submission).where(Submission.source_id == source_id))
        return list(rows)


@contextlib.asynccontextmanager
async def worker_services(settings: Settings) -> AsyncIterator[SubmitServices]:
    """What a worker process runs the pipeline with: its own engine, writer and in-flight locks."""
    db = Database(settings)
    writer = SubmissionWriter(db)
    in_flight = InFlight(settings)
    await writer.start()
    try:
        yield SubmitServices.start(db, writer, in_flight, settings)
    finally:
        await writer.stop()
        await in_flight.close()
        await db.dispose()

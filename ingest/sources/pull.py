"""The poller: each worker pulls the due pull sources' leads from their providers, window by window, under a lease.

A window runs from a little before the cursor (the provider's ``overlap``, for leads it recorded late) to now, no
longer than the provider answers (``max_span``); a source that is behind walks forward in several windows. Each
lead takes the pipeline with the provider's id as its idempotency key, so a lead seen again (in the overlap, or
after a crash) is answered from its stored submission and is not a second lead. The cursor moves to a window's end
only once every lead of it is committed: a worker killed mid-window leaves the cursor where it was, and the window
is taken again, whole, by whichever worker next holds the source.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

import httpx

from core.database import utcnow
from core.errors import LeadwireError, ValidationFailed
from forms import service as forms
from ingest.pipeline import run_pipeline
from ingest.sources import pull_schedule, service
from ingest.sources.kinds import InboundLead
from ingest.sources.models import Source, SourcePull
from ingest.sources.providers import provider
from ingest.sources.providers.pulling import PullCall, PullError, Window

if TYPE_CHECKING:
    from datetime import datetime

    from forms.models import Form
    from ingest.pipeline import SubmitServices
    from ingest.sources.providers.pulling import PullApi

__all__ = ("SourcePoller", "windows")

logger = logging.getLogger("leadwire.sources")
_BATCH = 10
_MAX_CALL_S = 30.0


def windows(cursor: datetime | None, now: datetime, api: PullApi, since: datetime) -> list[Window]:
    """The windows to ask for now: from the cursor (less the overlap), or ``backfill`` before ``since`` for a
    source never pulled, to ``now``, in spans the provider answers, at most ``windows_per_poll`` of them."""
    now = now.replace(microsecond=0)
    start = (cursor - api.overlap if cursor is not None else since - api.backfill).replace(microsecond=0)
    start = min(start, now - api.overlap)  # a cursor ahead of this clock still gets a window
    found: list[Window] = []
    while len(found) < api.windows_per_poll:
        end = min(start + api.max_span, now)
        found.append(Window(start, end))
        if end >= now:
            break
        start = end - api.overlap
    return found


def _without(message: str, credentials: dict[str, str]) -> str:
    """``message`` with any credential a provider echoed in its refusal blanked out."""
    for value in credentials.values():
        if len(value) >= 4:  # noqa: PLR2004 - shorter ones would blank out ordinary words
            message = message.replace(value, "…")
    return message


class SourcePoller:
    """One per worker process (``leadwire worker``, or ``serve`` with its in-process worker): woken when a source is
    created or enabled, and every ``poll_seconds`` to look for due ones."""

    def __init__(self, services: SubmitServices, *, poll_seconds: float = 1.0) -> None:
        self._services = services
        self._poll = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._owner = "poller_" + secrets.token_hex(12)
        settings = services.settings
        self._lease = timedelta(seconds=settings.pull_lease_seconds)
        # A call may take a third of the lease, so that a slow provider cannot outlast the lease it is called under.
        call = min(_MAX_CALL_S, settings.pull_lease_seconds / 3)
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(call, connect=min(5.0, call)), follow_redirects=False)

    def wake(self) -> None:
        """A source was created or enabled: look now."""
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="leadwire-source-poller")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._client.aclose()

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception as exc:  # a bad round must not stop the poller: the next one tries again
                if not self._services.db.outage.failed(exc):
                    logger.exception("polling pull sources failed; trying again")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll):
                    await self._wake.wait()

    async def run_once(self) -> int:
        """Poll the sources due now; returns how many this worker polled."""
        db = self._services.db
        now = utcnow()
        async with db.session(write=False) as session:
            if not await pull_schedule.due_pulls_exist(session, now=now):
                return 0
        async with db.session(write=True) as session:
            claimed = await pull_schedule.claim_pulls(
                session,
                owner=self._owner,
                now=now,
                lease=self._lease,
                limit=_BATCH,
                configured_interval=self._services.settings.pull_interval_seconds,
            )
        await asyncio.gather(*(self._poll_one(source_id) for source_id in claimed))
        return len(claimed)

    async def _hold(self, source_id: str) -> bool:
        async with self._services.db.session(write=True) as session:
            return await pull_schedule.hold(
                session, source_id=source_id, owner=self._owner, now=utcnow(), lease=self._lease
            )

    async def _poll_one(self, source_id: str) -> None:
        try:
            await self._take_windows(source_id)
        except Exception as exc:  # one source's failure is not the others'; its lease ends and it is tried again
            if not self._services.db.outage.failed(exc):
                logger.exception("polling source %s failed", source_id)
        finally:
            with contextlib.suppress(Exception):
                async with self._services.db.session(write=True) as session:
                    await pull_schedule.release(session, source_id=source_id, owner=self._owner)

    async def _fail(
        self,
        source_id: str,
        error: str,
        *,
        called: bool,
        blocked_for: timedelta | None = None,
        taken: pull_schedule.Taken | None = None,
    ) -> None:
        logger.warning("pulling source %s: %s", source_id, error)  # errors never hold a credential
        async with self._services.db.session(write=True) as session:
            await pull_schedule.fail_window(
                session,
                source_id=source_id,
                owner=self._owner,
                now=utcnow(),
                error=error,
                called=called,
                blocked_for=blocked_for,
                taken=taken or pull_schedule.Taken(),
            )

    async def _load(self, source_id: str) -> tuple[Source, SourcePull, Form, PullApi, dict[str, str]] | None:
        """The source, where it stands, its form, its provider's pull API and credentials; None (and the reason
        recorded) when it cannot be pulled now."""
        async with self._services.db.session(write=False) as session:
            source = await session.get(Source, source_id)
            state = await session.get(SourcePull, source_id)
            if source is None or state is None:
                return None
            form = await forms.get_form_any(session, form_id=source.form_id)
        api = provider(source.kind).pull
        credentials = source.secrets.get("pull")
        if api is None or not isinstance(credentials, dict):
            await self._fail(source_id, "the source has no pull credentials", called=False)
            return None
        if form.status != "published" or form.deleted_at is not None:
            await self._fail(source_id, "the source's form is not published: nothing is pulled", called=False)
            return None
        return source, state, form, api, {str(k): str(v) for k, v in credentials.items()}

    async def _take_windows(self, source_id: str) -> None:
        loaded = await self._load(source_id)
        if loaded is None:
            return
        source, state, form, api, credentials = loaded
        base_url = api.base_url(self._services.settings)
        for window in windows(state.cursor, utcnow(), api, state.created_at):
            call = PullCall(self._client, base_url, credentials, window)
            if not await self._hold(source_id) or not await self._take_window(source, form, api, call):
                return

    async def _take_window(self, source: Source, form: Form, api: PullApi, call: PullCall) -> bool:
        """Every lead of the window through the pipeline, then the cursor to its end; False when the poll must stop
        (the window failed, or the lease was lost: the window is taken again, whole, later)."""
        taken = pull_schedule.Taken()
        try:
            async for page in api.fetch(call):
                for record in page:
                    await self._take(source, form, api, record, window=call.window, taken=taken)
                if not await self._hold(source.id):
                    return False
        except PullError as exc:
            message = _without(exc.message, call.credentials)
            await self._fail(source.id, message, called=True, blocked_for=exc.blocked_for, taken=taken)
            return False
        except LeadwireError as exc:  # a lead could not be stored now (database, a key in flight): later
            await self._fail(source.id, f"a lead could not be stored: {exc.detail}", called=True, taken=taken)
            return False
        async with self._services.db.session(write=True) as session:
            return await pull_schedule.finish_window(
                session, source_id=source.id, owner=self._owner, now=utcnow(), end=call.window.end, taken=taken
            )

    async def _take(
        self,
        source: Source,
        form: Form,
        api: PullApi,
        record: dict[str, object],
        *,
        window: Window,
        taken: pull_schedule.Taken,
    ) -> None:
        """One record through the pipeline; a record received before the window was taken with an earlier one."""
        received = api.received_at(record)
        if received is not None and received < window.start:
            return
        taken.records += 1
        lead = InboundLead(external_id="", values=record)
        mapped = service.map_lead(source, form, lead)
        raw, facts = service.inbound_submission(source, lead, mapped, client_ip="", user_agent=f"{api.label} pull")
        try:
            outcome = await run_pipeline(self._services, form, raw, facts)
        except ValidationFailed as exc:
            taken.rejected += 1
            taken.problem = f"lead {mapped.external_id or '(no id)'} does not fit the form: {exc.detail}"
            return
        if not outcome.replayed:
            taken.stored += 1

"""Fetches the answers of Meta leads from the Graph API, retrying on failure, and takes them through the pipeline."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
from typing import TYPE_CHECKING

import httpx

from core.database import utcnow
from core.errors import LeadwireError, ValidationFailed
from forms import service as forms
from ingest.pipeline import run_pipeline
from ingest.sources import service
from ingest.sources.activity import SourceActivity
from ingest.sources.kinds import InboundLead, meta_values
from ingest.sources.payloads import Received

if TYPE_CHECKING:
    from ingest.pipeline import SubmitServices
    from ingest.sources.models import Source

__all__ = ("MetaFetcher", "appsecret_proof")

logger = logging.getLogger("leadwire.sources")
_BATCH = 20
_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def appsecret_proof(access_token: str, app_secret: str) -> str:
    """Meta's ``appsecret_proof``: the HMAC-SHA256 of the access token keyed by the app secret, in hex. Sent on
    every Graph API call, it proves the call comes from the app's server; an app that requires it (Meta's "Require
    App Secret" setting) refuses calls without it."""
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


def _graph_error(response: httpx.Response) -> str:
    """Meta's reason for an error (``{"error": {"message": ...}}``), for the fetch's ``last_error``."""
    try:
        document = response.json()
    except ValueError:
        return ""
    error = document.get("error") if isinstance(document, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return f": {str(message)[:300]}" if message else ""


class MetaFetcher:
    """One per serving process: woken when leadgen ids arrive, and every poll interval for retries."""

    def __init__(
        self, services: SubmitServices, *, poll_seconds: float = 2.0, activity: SourceActivity | None = None
    ) -> None:
        self._services = services
        self._activity = activity or SourceActivity(None)
        self._poll = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client = httpx.AsyncClient(timeout=_TIMEOUT, follow_redirects=False)
        settings = services.settings
        self._delays = tuple(float(p) for p in settings.source_fetch_retry_schedule.split(",") if p.strip())

    def wake(self) -> None:
        """New leadgen ids were committed: fetch them now."""
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="leadwire-meta-fetcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._client.aclose()

    async def _run(self) -> None:
        while True:
            try:
                worked = await self.run_once()
            except Exception as exc:  # a bad round must not stop the fetcher: the next one retries
                if not self._services.db.outage.failed(exc):
                    logger.exception("fetching Meta leads failed; trying again")
                worked = 0
            if worked:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll):
                    await self._wake.wait()

    async def run_once(self) -> int:
        """Fetch the due leads; returns how many were tried."""
        db = self._services.db
        async with db.session(write=True) as session:
            claimed = await service.claim_fetches(session, limit=_BATCH, now=utcnow())
            work = [(fetch.id, fetch.external_id, source) for fetch, source in claimed]
        for fetch_id, leadgen_id, source in work:
            submission_id, error, final = await self._fetch_one(source, leadgen_id)
            async with db.session(write=True) as session:
                await service.record_fetch(
                    session,
                    fetch_id=fetch_id,
                    submission_id=submission_id,
                    error=error,
                    retry_delays=self._delays,
                    final=final,
                )
        return len(work)

    async def _fetch_one(self, source: Source, leadgen_id: str) -> tuple[str | None, str | None, bool]:
        """(submission id, error, whether the error is final) for one lead."""
        base = self._services.settings.meta_graph_base_url.rstrip("/")
        token = str(source.secrets.get("meta_page_access_token", ""))
        proof = appsecret_proof(token, str(source.secrets.get("meta_app_secret", "")))
        try:
            response = await self._client.get(
                f"{base}/{leadgen_id}", params={"access_token": token, "appsecret_proof": proof}
            )
        except httpx.HTTPError as exc:
            return None, f"Graph API unreachable: {type(exc).__name__}", False
        if response.status_code != 200:  # noqa: PLR2004
            return None, f"Graph API answered {response.status_code}{_graph_error(response)}", False
        try:
            document = response.json()
        except ValueError:
            return None, "Graph API answered something that is not JSON", False
        async with self._services.db.session(write=False) as session:
            form = await forms.get_form_any(session, form_id=source.form_id)
        lead = InboundLead(external_id=leadgen_id, values=meta_values(document))
        mapped = service.map_lead(source, form, lead)
        raw, facts = service.inbound_submission(source, lead, mapped, client_ip="meta", user_agent="Meta Graph API")
        received = Received("GET", "application/json", "", response.content, mapped)  # the answer, not its token
        try:
            outcome = await run_pipeline(self._services, form, raw, facts)
        except ValidationFailed as exc:
            self._activity.refused(source, received, exc)
            return None, f"the lead does not fit the form: {exc.detail}", True
        except LeadwireError as exc:
            return None, str(exc.detail or exc.title), False
        self._activity.lead(source, received, outcome)
        return outcome.submission_id, None, False

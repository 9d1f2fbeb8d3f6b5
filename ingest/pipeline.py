"""The ingest pipeline, in order: form, validation, spam verdict, idempotency, then de-duplication and storage.

Rate limits run before all of this, as a guard, before the body is even read (see ``ingest.service``).
"""

from __future__ import annotations

import asyncio
import functools
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit

import msgspec

from consent.tokens import confirmation_token, receipt_token
from core.client_ip import truncated_ip
from core.database import utcnow
from core.errors import LeadwireError, NotFound, ServiceUnavailable
from core.ids import new_id
from forms import service as forms
from forms.definition import normalise_origin
from ingest import idempotency
from ingest.parse import TRACKING_FIELDS, clean_text
from ingest.persist import FormChanged, Pending, StoredResponse, Written
from ingest.spam import SpamVerdict, allowed_redirect, judge, own_origin, request_origin
from ingest.validate import validate_submission

if TYPE_CHECKING:
    from ipaddress import IPv4Network, IPv6Network

    from core.database import Database
    from core.metrics import Metrics
    from core.settings import Settings
    from forms.definition import Definition
    from forms.models import Form
    from ingest.idempotency import InFlight
    from ingest.parse import RawSubmission
    from ingest.writer import SubmissionWriter

__all__ = (
    "FormCache",
    "InboundSource",
    "Outcome",
    "RequestFacts",
    "SubmitServices",
    "definition_of",
    "embed_origin",
    "published_form",
    "run_pipeline",
)

_URL_MAX = 2_000
_FORM_ATTEMPTS = 3
_UA_MAX = 500


@dataclass(frozen=True, slots=True)
class SubmitServices:
    """The long-lived parts the pipeline uses, created once per process in the app's lifespan."""

    db: Database
    forms: FormCache
    writer: SubmissionWriter
    in_flight: InFlight
    settings: Settings
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = ()
    """``settings.trusted_proxy_networks``, parsed once."""
    own_origin: str | None = None
    """The origin of ``settings.public_base_url``: the hosted page posts from it."""
    metrics: Metrics | None = None

    @classmethod
    def start(
        cls,
        db: Database,
        writer: SubmissionWriter,
        in_flight: InFlight,
        settings: Settings,
        metrics: Metrics | None = None,
    ) -> SubmitServices:
        """The services of one process, with what every request would otherwise recompute worked out once."""
        return cls(
            metrics=metrics,
            db=db,
            forms=FormCache(db),
            writer=writer,
            in_flight=in_flight,
            settings=settings,
            trusted_proxies=settings.trusted_proxy_networks,
            own_origin=own_origin(settings.public_base_url),
        )


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What the pipeline needs to know about the request besides its body."""

    client_ip: str
    user_agent: str | None
    origin: str | None
    referer: str | None
    idempotency_key: str | None
    wants_json: bool
    source: InboundSource | None = None
    """Set for leads pushed by an inbound source, whose sender was verified by its signature."""


@dataclass(frozen=True, slots=True)
class InboundSource:
    """The inbound source a lead came through: its signature replaces the spam checks of browser posts."""

    id: str
    kind: str
    test_lead: bool = False
    """The sender marked it as a test (Google Ads ``is_test``): stored with verdict ``test``, not delivered."""
    lead_id: str | None = None
    """The sender's own id of the lead (Google's ``lead_id``, Meta's leadgen id, the ``webhook-id``), if it gave one:
    stored with the submission and sent in ``lead.created`` as ``source_lead_id``."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """The answer to give: a stored response for an idempotent replay, else the submission and where to go next."""

    submission_id: str
    status_code: int
    body: bytes
    location: str | None = None
    replayed: bool = False
    verdict: str = "accepted"
    extra: dict[str, str] = field(default_factory=dict)


_DEFINITIONS: dict[tuple[str, int], Definition] = {}
_MAX_DEFINITIONS = 1_024


def definition_of(form: Form) -> Definition:
    """The form's definition, parsed once per form version (a version never changes once written)."""
    key = (form.id, form.version)
    definition = _DEFINITIONS.get(key)
    if definition is None:
        if len(_DEFINITIONS) >= _MAX_DEFINITIONS:
            _DEFINITIONS.clear()
        definition = _DEFINITIONS[key] = forms.definition_of(form)
    return definition


def _short_url(value: str | None) -> str | None:
    if not value:
        return None
    text = clean_text(value, _URL_MAX)
    try:
        scheme = urlsplit(text).scheme
    except ValueError:  # e.g. "http://[x": not a URL we can keep
        return None
    return text if scheme in {"http", "https"} else None


def _utm(raw: RawSubmission, page_url: str | None) -> dict[str, str]:
    from_page = dict(parse_qsl(urlsplit(page_url).query)) if page_url else {}
    utm = {}
    for name in TRACKING_FIELDS:
        value = raw.meta.get(name) or from_page.get(name)
        if value:
            utm[name] = clean_text(value, 200)
    return {k: v for k, v in utm.items() if v}


def embed_origin(value: str | None, allowed_origins: list[str]) -> str | None:
    """The origin of the page framing the form, if it may frame it (any site when the form allows any)."""
    origin = normalise_origin(value) if value else None
    if origin is None or (allowed_origins and origin not in allowed_origins):
        return None
    return origin


def _response(
    submission_id: str,
    form: Form,
    definition: Definition,
    *,
    wants_json: bool,
    embedded_in: str | None,
    receipt: str,
) -> StoredResponse:
    if wants_json:
        return StoredResponse(201, msgspec.json.encode({"id": submission_id, "status": "accepted"}).decode(), None)
    if embedded_in is not None:
        # Inside an iframe the thank-you page stays in the frame and tells the host page (which may redirect).
        query = urlencode({"embed": "1", "origin": embedded_in, "s": submission_id, "r": receipt})
        return StoredResponse(303, "", f"/f/{form.slug}/thanks?{query}")
    redirect = allowed_redirect(definition.settings.redirect_url, definition.settings.allowed_origins)
    return StoredResponse(303, "", redirect or f"/f/{form.slug}/thanks?{urlencode({'r': receipt})}")


async def published_form(db: Database, slug: str) -> Form:
    """The form behind a public link, read from the database.

    Raises:
        NotFound: No such form, or it is a draft, archived or deleted.
    """
    async with db.session(write=False) as session:
        form = await forms.get_published_form(session, slug=slug)
    if form is None:
        raise NotFound("no published form at this address")
    return form


class FormCache:
    """Published forms by slug, kept for ``ttl`` seconds: a submission does not need a database read of its form.

    Staleness is harmless: the batch transaction reads each form's status and version again, so an archived form
    refuses submissions at once, and a submission checked against a version that has just been replaced is checked
    again against the new one (``FormChanged``) before anything is stored.
    """

    def __init__(self, db: Database, ttl: float = 2.0, size: int = 10_000) -> None:
        self._db = db
        self._ttl = ttl
        self._size = size
        self._forms: dict[str, tuple[float, Form]] = {}
        self._loading: dict[str, asyncio.Future[Form]] = {}

    async def get(self, slug: str, *, fresh: bool = False) -> Form:
        """The published form behind ``slug``; ``fresh`` skips the cache.

        Raises:
            NotFound: No such published form.
        """
        now = time.monotonic()
        cached = self._forms.get(slug)
        if cached is not None and cached[0] > now and not fresh:
            return cached[1]
        loading = self._loading.get(slug)
        if loading is None or fresh:
            # One read per slug at a time: when the entry expires, every request in flight would read it otherwise.
            loading = asyncio.ensure_future(self._load(slug, now))
            self._loading[slug] = loading
            loading.add_done_callback(functools.partial(self._loaded, slug))
        return await asyncio.shield(loading)

    def _loaded(self, slug: str, done: asyncio.Future[Form]) -> None:
        if self._loading.get(slug) is done:
            del self._loading[slug]
        if not done.cancelled():
            done.exception()  # retrieved here too: the requests that waited for it may all have gone

    async def _load(self, slug: str, now: float) -> Form:
        form = await published_form(self._db, slug)
        if len(self._forms) >= self._size:
            self._forms.clear()
        self._forms[slug] = (now + self._ttl, form)
        return form


async def run_pipeline(services: SubmitServices, form: Form, raw: RawSubmission, facts: RequestFacts) -> Outcome:
    """Take one submission through every step and answer only once it is committed.

    Raises:
        ValidationFailed: The values do not fit the form (every failing field is listed), or an idempotency key
            was reused for a different request.
        Conflict: A request with the same idempotency key is still being processed.
        ServiceUnavailable: The database could not store it.
    """
    started = time.perf_counter()
    try:
        return await _run(services, form, raw, facts)
    finally:
        if services.metrics is not None:
            services.metrics.ingest_seconds.observe(time.perf_counter() - started)


async def _run(services: SubmitServices, form: Form, raw: RawSubmission, facts: RequestFacts) -> Outcome:
    # Idempotency: a retry with the same key is answered from the stored response; one still in flight is 409.
    # A source's key is its sender's event id: never a field of the payload, and in a key space of its own, so
    # that no public request can take (or block) a key that a source's lead will come with.
    key = facts.idempotency_key if facts.source else raw.meta.get("_idempotency_key") or facts.idempotency_key
    scope = facts.source.id if facts.source else idempotency.CLIENT_SCOPE
    lock = None
    if key is not None:
        key = idempotency.check_key(key)
        lock = await services.in_flight.acquire(f"{form.id}/{scope}", key)
    try:
        for _ in range(_FORM_ATTEMPTS):
            pending, response = _prepare(services, form, raw, facts, key)
            # 5 and 6. De-duplication and storage, batched with concurrent submissions into one transaction.
            written = await services.writer.write(pending)
            if not isinstance(written.error, FormChanged):
                return _outcome(written, response)
            form = await services.forms.get(form.slug, fresh=True)  # checked against a version just replaced
    finally:
        if lock is not None:
            await services.in_flight.release(lock)
    raise ServiceUnavailable("the form is being changed right now; try again")


def _prepare(
    services: SubmitServices, form: Form, raw: RawSubmission, facts: RequestFacts, key: str | None
) -> tuple[Pending, StoredResponse]:
    """Steps 2 to 4 for one version of the form: validate, judge, and make the rows and the answer to store."""
    settings = services.settings
    definition = definition_of(form)
    # 2. Validation against the form: canonical emails, E.164 phones, options, required fields and consents.
    clean = validate_submission(raw, definition, max_value_length=settings.ingest_max_value_length)
    # 3. Spam verdict: honeypot, render token (time trap), origin. Spam is answered like a lead and never sent.
    if facts.source is not None:  # a verified sender: its signature is the check
        verdict = SpamVerdict(None)
    else:
        verdict = judge(
            raw,
            form_id=form.id,
            allowed_origins=definition.settings.allowed_origins,
            origin=request_origin(facts.origin, facts.referer),
            own_origin=services.own_origin,
            settings=settings,
            accept_plain_posts=definition.settings.accept_plain_posts,
        )
    # 4. The rows: the idempotency key's stored answer is written with them.
    now = utcnow()
    submission_id = new_id("sub")
    page_url = _short_url(raw.meta.get("_page_url") or facts.referer)
    pending = Pending(
        submission_id=submission_id,
        form=form,
        dedupe_window_seconds=definition.settings.dedupe_window_seconds,
        clean=clean,
        spam_reason=verdict.reason,
        source=facts.source.kind if facts.source else ("api" if raw.is_json else "form"),
        indication="source" if facts.source else ("api" if raw.is_json else "checkbox"),
        page_url=page_url,
        referrer=_short_url(raw.meta.get("_referrer")),
        utm=_utm(raw, page_url),
        user_agent=clean_text(facts.user_agent, _UA_MAX) if facts.user_agent else None,
        client_ip=truncated_ip(facts.client_ip),
        created_at=now,
    )
    receipt = receipt_token(settings, submission_id)
    base = settings.public_base_url.rstrip("/")
    pending.receipt_url = f"{base}/c/{receipt}"
    if definition.settings.double_opt_in:
        pending.double_opt_in = True
        pending.confirmation_url = f"{base}/confirm/{confirmation_token(settings, submission_id)}"
        pending.confirmation_expires_at = now + timedelta(seconds=settings.confirmation_max_age_seconds)
    embedded_in = embed_origin(raw.meta.get("_embed_origin"), definition.settings.allowed_origins)
    response = _response(
        submission_id, form, definition, wants_json=facts.wants_json, embedded_in=embedded_in, receipt=receipt
    )
    if facts.source is not None:
        pending.source_id = facts.source.id
        pending.test_lead = facts.source.test_lead
        pending.source_lead_id = facts.source.lead_id
    if key is not None:
        pending.idempotency_key = key
        pending.idempotency_scope = facts.source.id if facts.source else idempotency.CLIENT_SCOPE
        # A source's event id is the request: a vendor's retry of it is the same lead, whatever else changed.
        identity = key.encode() if facts.source else raw.canonical()
        pending.request_sha256 = idempotency.request_sha256(raw.content_type, identity)
        pending.idempotency_expires_at = now + timedelta(seconds=settings.idempotency_ttl_seconds)
        pending.response = response
    return pending, response


def _outcome(written: Written, response: StoredResponse) -> Outcome:
    if isinstance(written.error, LeadwireError):
        raise written.error
    if written.replay is not None:
        stored = written.replay
        return Outcome(written.submission_id, stored.status_code, stored.body.encode(), stored.location, replayed=True)
    return Outcome(
        written.submission_id, response.status_code, response.body.encode(), response.location, verdict=written.verdict
    )

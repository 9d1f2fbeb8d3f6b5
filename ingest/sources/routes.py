"""Routes of inbound sources: ``/api/v1/sources`` for the workspace, ``/hooks/{id}`` for the senders."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

from litestar import Controller, MediaType, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from core.database import call_after_commit
from core.errors import Forbidden, LeadwireError, Problem, Unauthorized
from core.pagination import DEFAULT_LIMIT, Limit
from core.problems import PROBLEM_JSON, problem_response
from core.settings import Settings
from ingest.parse import read_body
from ingest.service import submit_services
from ingest.sources import activity, fetches, intake, kinds, pull_schedule, push_auth, service, tryout
from ingest.sources.kinds import InboundLead
from ingest.sources.payloads import Received
from ingest.sources.providers import provider
from ingest.sources.pushes import lead_documents, read_push
from ingest.sources.schemas import (
    FetchList,
    FetchOut,
    PushAnswer,
    SourceActivityOut,
    SourceAuthOut,
    SourceCreate,
    SourceCreated,
    SourceList,
    SourceOut,
    SourcePayloadList,
    SourcePullOut,
    SourceUpdate,
    TryOut,
)
from leads.views import source_payload_out
from workspaces.schemas import Caller

if TYPE_CHECKING:
    from forms.models import Form
    from ingest.pipeline import SubmitServices
    from ingest.sources.fetcher import MetaFetcher
    from ingest.sources.models import Source, SourceCount, SourceFetch, SourcePull
    from ingest.sources.pull import SourcePoller

__all__ = ("SourceController", "hook_query", "hook_receive")

logger = logging.getLogger("leadwire.sources")


def _auth_out(source: Source) -> SourceAuthOut | None:
    """The source's authentication as configured, else its kind's (``push_auth``); never the secret."""
    auth = push_auth.push_auth(source)
    if auth is None:
        return None
    hmac = auth["type"] == "hmac"
    return SourceAuthOut(
        type=auth["type"],
        name=auth.get("name"),
        username=source.secrets.get("auth_username"),
        algorithm=auth.get("algorithm") if hmac else None,
        encoding=auth.get("encoding") if hmac else None,
        prefix=auth.get("prefix") if hmac else None,
    )


def _pull_out(state: SourcePull | None) -> SourcePullOut | None:
    if state is None:
        return None
    return SourcePullOut(
        cursor=state.cursor,
        last_pull_at=state.last_pull_at,
        next_pull_at=state.next_pull_at,
        blocked_until=state.blocked_until,
        last_error=state.last_error,
        last_error_at=state.last_error_at,
        pulls=state.pulls,
        failures=state.failures,
        records=state.records,
        stored=state.stored,
        rejected=state.rejected,
    )


def source_out(source: Source, settings: Settings, pull: SourcePull | None = None) -> SourceOut:
    config = source.config or {}
    return SourceOut(
        id=source.id,
        kind=source.kind,  # type: ignore[arg-type]
        name=source.name,
        form_id=source.form_id,
        url=f"{settings.public_base_url.rstrip('/')}/hooks/{source.id}",
        mapping=dict(source.mapping),
        join=dict(config.get("join") or {}),
        defaults=dict(config.get("defaults") or {}),
        phone_region=config.get("phone_region"),
        id_field=config.get("id_field"),
        auth=_auth_out(source),
        pulls=bool(source.secrets.get("pull")),
        enabled=source.enabled,
        consent_purposes=list(source.consent_purposes),
        deliver_test_leads=source.deliver_test_leads,
        created_at=source.created_at,
        pull=_pull_out(pull),
    )


def fetch_out(fetch: SourceFetch) -> FetchOut:
    return FetchOut(
        id=fetch.id,
        source_id=fetch.source_id,
        external_id=fetch.external_id,
        status=fetch.status,  # type: ignore[arg-type]
        attempts=fetch.attempts,
        last_error=fetch.last_error,
        next_attempt_at=fetch.next_attempt_at if fetch.status == "pending" else None,
        submission_id=fetch.submission_id,
        created_at=fetch.created_at,
        updated_at=fetch.updated_at,
    )


def activity_out(source_id: str, counts: list[SourceCount]) -> SourceActivityOut:
    totals = dict.fromkeys(("accepted", "duplicate", "test", "rejected"), 0)
    by_reason: dict[str, dict[str, int]] = {"duplicate": {}, "rejected": {}}
    for row in counts:
        totals[row.outcome] = totals.get(row.outcome, 0) + row.total
        if row.outcome in by_reason:
            by_reason[row.outcome][row.reason] = row.total
    leads = [row.last_at for row in counts if row.outcome == "accepted"]
    return SourceActivityOut(
        source_id=source_id,
        received=sum(totals.values()),
        accepted=totals["accepted"],
        duplicate=totals["duplicate"],
        test=totals["test"],
        rejected=totals["rejected"],
        duplicate_by_reason=by_reason["duplicate"],
        rejected_by_reason=by_reason["rejected"],
        last_received_at=max((row.last_at for row in counts), default=None),
        last_lead_at=max(leads, default=None),
    )


def _wake_poller(request: Request[Any, Any, Any]) -> None:
    """A source may be due now: the in-process worker looks at once (other workers within a second)."""
    poller: SourcePoller | None = getattr(request.app.state, "source_poller", None)
    if poller is not None:
        poller.wake()


def _shown_secrets(source: Source) -> dict[str, str]:
    """The secrets to show once: pull credentials were given by the caller and are not shown back."""
    return {name: str(value) for name, value in source.secrets.items() if name != "pull"}


async def _sample_as_sent(_: Request[Any, Any, Any]) -> None:
    """The try-out's ``before_request``: its body is a sender's sample in whatever format the sender uses, read like
    a push (``pushes.py``), so the admin API's JSON-only check (``core.middleware.refuse_unreadable_body``) is
    replaced by nothing here."""


class SourceController(Controller):
    """Systems that push leads into the workspace's forms."""

    path = "/sources"
    tags = ["sources"]  # noqa: RUF012

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Add an inbound source; its secrets are shown only here",
        opt={"permission": "sources:write"},
    )
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[Caller],
        app_settings: NamedDependency[Settings],
        data: JSONBody[SourceCreate],
        request: Request[Any, Any, Any],
    ) -> SourceCreated:
        source = await service.create_source(
            db_session, workspace_id=caller.workspace_id, data=data, actor=caller.actor
        )
        await db_session.flush()
        pulls = await pull_schedule.pull_states(db_session, [source.id])
        out = source_out(source, app_settings, pulls.get(source.id))
        call_after_commit(db_session, lambda: _wake_poller(request))
        return SourceCreated(**{f: getattr(out, f) for f in out.__struct_fields__}, secrets=_shown_secrets(source))

    @get("/", summary="List inbound sources (never their secrets)", opt={"permission": "sources:read"})
    async def list_sources(
        self,
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[Caller],
        app_settings: NamedDependency[Settings],
    ) -> SourceList:
        sources = await service.list_sources(db_session, workspace_id=caller.workspace_id)
        pulls = await pull_schedule.pull_states(db_session, [s.id for s in sources])
        return SourceList(items=[source_out(s, app_settings, pulls.get(s.id)) for s in sources])

    @get("/{source_id:str}", summary="An inbound source", opt={"permission": "sources:read"})
    async def get_source(
        self,
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[Caller],
        app_settings: NamedDependency[Settings],
        source_id: FromPath[str],
    ) -> SourceOut:
        source = await service.get_source(db_session, workspace_id=caller.workspace_id, source_id=source_id)
        pulls = await pull_schedule.pull_states(db_session, [source.id])
        return source_out(source, app_settings, pulls.get(source.id))

    @patch("/{source_id:str}", summary="Change an inbound source", opt={"permission": "sources:write"})
    async def update(
        self,
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[Caller],
        app_settings: NamedDependency[Settings],
        source_id: FromPath[str],
        data: JSONBody[SourceUpdate],
        request: Request[Any, Any, Any],
    ) -> SourceOut:
        source = await service.update_source(
            db_session, workspace_id=caller.workspace_id, source_id=source_id, data=data, actor=caller.actor
        )
        await db_session.flush()
        pulls = await pull_schedule.pull_states(db_session, [source.id])
        call_after_commit(db_session, lambda: _wake_poller(request))
        return source_out(source, app_settings, pulls.get(source.id))

    @get(
        "/{source_id:str}/fetches",
        summary="A Meta source's leads fetched from the Graph API, newest first",
        opt={"permission": "sources:read"},
    )
    async def list_fetches(
        self,
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[Caller],
        source_id: FromPath[str],
        status: FromQuery[fetches.FetchStatus | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> FetchList:
        rows, next_cursor = await fetches.list_fetches(
            db_session, workspace_id=caller.workspace_id, source_id=source_id, status=status, limit=limit, cursor=cursor
        )
        return FetchList(items=[fetch_out(f) for f in rows], next_cursor=next_cursor)

    @post(
        "/{source_id:str}/fetches/{fetch_id:str}/retry",
        status_code=HTTP_200_OK,
        summary="Fetch a failed Meta lead again now",
        opt={"permission": "sources:write"},
    )
    async def retry_fetch(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[Caller],
        source_id: FromPath[str],
        fetch_id: FromPath[str],
    ) -> FetchOut:
        fetcher: MetaFetcher | None = getattr(request.app.state, "meta_fetcher", None)
        fetch = await fetches.retry_fetch(
            db_session,
            workspace_id=caller.workspace_id,
            source_id=source_id,
            fetch_id=fetch_id,
            actor=caller.actor,
            wake=fetcher.wake if fetcher is not None else None,
        )
        return fetch_out(fetch)

    @get(
        "/{source_id:str}/activity",
        summary="What a source received: counts by outcome and reason, the last lead",
        opt={"permission": "sources:read"},
    )
    async def get_activity(
        self, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Caller], source_id: FromPath[str]
    ) -> SourceActivityOut:
        source = await service.get_source(db_session, workspace_id=caller.workspace_id, source_id=source_id)
        return activity_out(source.id, await activity.counts_of(db_session, source.id))

    @get(
        "/{source_id:str}/payloads",
        summary="A source's last 50 requests, secrets redacted, and what each became",
        opt={"permission": "sources:read"},
    )
    async def list_payloads(
        self, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Caller], source_id: FromPath[str]
    ) -> SourcePayloadList:
        source = await service.get_source(db_session, workspace_id=caller.workspace_id, source_id=source_id)
        payloads = await activity.recent_payloads(db_session, source.id)
        return SourcePayloadList(items=[source_payload_out(p) for p in payloads])

    @post(
        "/{source_id:str}/try",
        status_code=200,
        summary="Try a sample payload, sent exactly as the sender sends it (JSON, urlencoded or multipart; with "
        "?method=GET the body is the query string a GET would carry): each lead's id, mapped values, values as "
        "stored, and every problem. Nothing is stored",
        before_request=_sample_as_sent,
        opt={"permission": "sources:write"},
    )
    async def try_sample(
        self,
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[Caller],
        app_settings: NamedDependency[Settings],
        source_id: FromPath[str],
        request: Request[Any, Any, Any],
        method: FromQuery[Literal["GET", "POST"]] = "POST",
    ) -> TryOut:
        return await tryout.try_sample(
            db_session,
            workspace_id=caller.workspace_id,
            source_id=source_id,
            request=request,
            settings=app_settings,
            method=method,
        )

    @delete(
        "/{source_id:str}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Stop taking leads from a source",
        opt={"permission": "sources:write"},
    )
    async def remove(
        self, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Caller], source_id: FromPath[str]
    ) -> None:
        await service.delete_source(
            db_session, workspace_id=caller.workspace_id, source_id=source_id, actor=caller.actor
        )


def _not_allowed(request: Request[Any, Any, Any], source: Source, methods: frozenset[str]) -> Response[Any]:
    allowed = sorted(methods)
    taken = f"take {' and '.join(allowed)} only"
    if not allowed:  # a pull-only kind; its empty Allow says, as RFC 9110 has it, that no method is taken
        taken = "take no pushes: Leadwire pulls their leads with the source's pull credentials"
    problem = Problem(
        type="about:blank",
        title="Method Not Allowed",
        status=405,
        detail=f"{source.kind} sources {taken}",
        instance=request.url.path,
    )
    return problem_response(problem, headers={"Allow": ", ".join(allowed)})


async def _public_source(services: SubmitServices, source_id: str) -> tuple[Source, Form]:
    async with services.db.session(write=False) as session:
        return await service.public_source(session, source_id)


def _enabled(source: Source) -> None:
    if not source.enabled:
        raise Forbidden("this source is disabled; its owner can enable it again")


async def _generic_leads(
    request: Request[Any, Any, Any], services: SubmitServices, source: Source, received: Received, *, method: str
) -> tuple[list[InboundLead], bool]:
    """A push read generically (``generic`` and the presets): read, proven, and split into leads; and whether it
    was a batch."""
    push = await read_push(request, services.settings, method=method, query=request.scope.get("query_string", b""))
    received.body = push.body or None
    try:
        document = push_auth.check_push(source, push, request.headers)
    except Unauthorized as exc:
        logger.warning("refused a push for source %s: %s", source.id, exc.detail)  # never the key or the secret
        raise
    documents = lead_documents(provider(source.kind), document)
    return [InboundLead("", each) for each in documents], isinstance(document, list) or len(documents) > 1


async def _signed_lead(
    request: Request[Any, Any, Any], services: SubmitServices, source: Source, received: Received
) -> InboundLead | list[str]:
    """A Standard Webhooks or Google Ads lead, or Meta's leadgen ids, verified by the kind's own scheme."""
    body = received.body = await read_body(request, services.settings.ingest_max_body_bytes)
    try:
        if source.kind == "meta_lead_ads":
            return kinds.meta_leadgen_ids(source, request.headers, body)
        if source.kind == "google_ads":
            return kinds.google_ads_lead(source, body)
        return kinds.standard_webhooks_lead(source, request.headers, body)
    except Unauthorized as exc:
        logger.warning("refused a webhook for source %s: %s", source.id, exc.detail)  # never the secret
        raise


async def _queue_meta(
    request: Request[Any, Any, Any], services: SubmitServices, source: Source, ids: list[str]
) -> None:
    # Meta wants a fast answer: the ids are committed now and the answers fetched (and retried) afterwards.
    async with services.db.session(write=True) as session:
        await service.queue_fetches(session, source, ids)
    fetcher: MetaFetcher | None = getattr(request.app.state, "meta_fetcher", None)
    if fetcher is not None:
        fetcher.wake()


async def _take(
    request: Request[Any, Any, Any],
    services: SubmitServices,
    source: Source,
    form: Form,
    received: Received,
    *,
    method: str,
) -> Response[Any]:
    """Read, prove and take one request of a sender; a refusal before any lead is taken is noted in the source's
    activity here, and each lead's outcome by ``intake.take_leads``."""
    try:
        _enabled(source)
        if push_auth.read_generically(source):
            leads, many = await _generic_leads(request, services, source, received, method=method)
        else:
            signed = await _signed_lead(request, services, source, received)
            if isinstance(signed, list):
                await _queue_meta(request, services, source, signed)
                return Response(PushAnswer(received=len(signed), leads=[]), status_code=200)
            leads, many = [signed], False
    except LeadwireError as exc:
        activity.of(request).refused(source, received, exc)
        raise
    outcomes = await intake.take_leads(services, source, form, leads, received=received, many=many, request=request)
    return intake.push_answer(provider(source.kind), outcomes, many=many)


_PUSH_RESPONSES = {
    207: ResponseSpec(
        data_container=PushAnswer,
        description="A batch was partly refused by the form: the other leads are stored; each refused one has errors",
    ),
    405: ResponseSpec(
        data_container=Problem, media_type=PROBLEM_JSON, description="The source's kind takes no such method"
    ),
}


@get(
    "/hooks/{source_id:str}",
    summary="Receive a lead in a query string (generic sources and presets that push by GET), or answer Meta's "
    "subscription check",
    tags=["sources"],
    responses={
        **_PUSH_RESPONSES,
        403: ResponseSpec(
            data_container=str,
            media_type=MediaType.TEXT,
            description="Meta's verify token is wrong (or, as a problem, the source is disabled)",
        ),
    },
)
async def hook_query(source_id: FromPath[str], request: Request[Any, Any, Any]) -> Response[Any]:
    services = submit_services(request)
    source, form = await _public_source(services, source_id)
    methods = provider(source.kind).methods
    if "GET" not in methods:
        return _not_allowed(request, source, methods)
    if source.kind != "meta_lead_ads":
        return await _take(request, services, source, form, Received.of(request), method="GET")
    _enabled(source)
    query = request.query_params
    try:
        challenge = kinds.meta_challenge(
            source, query.get("hub.mode"), query.get("hub.verify_token"), query.get("hub.challenge")
        )
    except Unauthorized:
        logger.warning("refused a subscription check for source %s: wrong verify token", source.id)
        return Response("forbidden", status_code=403, media_type=MediaType.TEXT)
    return Response(challenge, media_type=MediaType.TEXT)


@post(
    "/hooks/{source_id:str}",
    summary="Receive leads from an inbound source: 200 once each is stored or recognised as sent before",
    tags=["sources"],
    status_code=200,
    responses=_PUSH_RESPONSES,
)
async def hook_receive(source_id: FromPath[str], request: Request[Any, Any, Any]) -> Response[PushAnswer]:
    services = submit_services(request)
    source, form = await _public_source(services, source_id)
    methods = provider(source.kind).methods
    if "POST" not in methods:
        return _not_allowed(request, source, methods)
    return await _take(request, services, source, form, Received.of(request), method="POST")

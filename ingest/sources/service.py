"""Inbound sources: their admin API, taking in what they push, and fetching Meta leads from the Graph API."""

from __future__ import annotations

import hashlib
import logging
import secrets as random
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec import UNSET
from sqlalchemy import select

from core.database import insert_or_skip, utcnow
from core.errors import FieldError, NotFound, ValidationFailed
from core.ids import new_id
from delivery import service as delivery
from forms import service as forms
from ingest.parse import RawSubmission
from ingest.pipeline import InboundSource, RequestFacts, definition_of
from ingest.sources import pull_schedule
from ingest.sources.mapping import Mapped, apply_rules, check_path
from ingest.sources.models import Source, SourceFetch
from ingest.sources.providers import PROVIDERS, provider, source_rules
from workspaces import service as workspaces

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

    from forms.models import Form
    from ingest.sources.kinds import InboundLead
    from ingest.sources.schemas import SourceCreate, SourceUpdate

__all__ = (
    "claim_fetches",
    "create_source",
    "delete_source",
    "get_source",
    "inbound_submission",
    "list_sources",
    "map_lead",
    "public_source",
    "queue_fetches",
    "record_fetch",
    "update_source",
)

logger = logging.getLogger("leadwire.sources")
_GENERIC_AUTH = frozenset({"url", "header", "query", "body", "basic", "hmac"})
_FETCH_LEASE = timedelta(seconds=60)


def _pull_credentials(kind: str, given: dict[str, str]) -> dict[str, str]:
    api = provider(kind).pull
    if api is None:
        raise ValidationFailed([FieldError("pull", "not_pullable", f"{provider(kind).label} has no pull API")])
    return api.credentials_from(given)


def _secrets(data: SourceCreate) -> dict[str, Any]:
    kind = provider(data.kind)
    made: dict[str, Any] = {}
    if data.pull is not None:
        made["pull"] = _pull_credentials(data.kind, dict(data.pull))
    elif kind.pull is not None and not kind.methods:
        raise ValidationFailed([FieldError("pull", "required", f"{kind.label} leads are pulled: give its credentials")])
    if kind.auth is None and data.auth is None:
        raise ValidationFailed([FieldError("auth", "required", "say how the sender proves itself")])
    if kind.auth is None or kind.auth.type in _GENERIC_AUTH:
        # A preset's scheme (a key in a query parameter, an HMAC header) can be given its secret, or replaced.
        auth = data.auth or kind.auth
        assert auth is not None  # one of them is set, checked above
        if auth.type in {"header", "query", "body", "hmac"} and not auth.name:
            raise ValidationFailed([FieldError("auth.name", "required", f"{auth.type} needs a name")])
        if auth.type != "url":
            made["auth_secret"] = (data.auth.value if data.auth else None) or random.token_urlsafe(24)
        if auth.type == "basic":
            made["auth_username"] = (data.auth.username if data.auth else None) or "leadwire"
        return made
    if data.auth is not None:
        raise ValidationFailed([FieldError("auth", "not_allowed", f"{kind.label} sources sign their own way")])
    if kind.auth.type == "standard_webhooks":
        return {**made, "whsec": delivery.new_secret()}
    if kind.auth.type == "google_key":
        return {**made, "google_key": data.google_key or random.token_urlsafe(24)}
    missing = [
        FieldError(name, "required", "Meta sources need the app secret and a page access token")
        for name in ("meta_app_secret", "meta_page_access_token")
        if not getattr(data, name)
    ]
    if missing:
        raise ValidationFailed(missing)
    return {
        **made,
        "meta_app_secret": str(data.meta_app_secret),
        "meta_page_access_token": str(data.meta_page_access_token),
        "meta_verify_token": data.meta_verify_token or random.token_urlsafe(24),
    }


def _config(data: SourceCreate | SourceUpdate, current: dict[str, Any] | None = None) -> dict[str, Any]:
    """The source's ``config``: what is not secret of how it is read."""
    config = dict(current or {})
    for name in ("join", "defaults", "phone_region", "id_field"):
        value = getattr(data, name, UNSET)
        if value is not UNSET:
            config[name] = value if value else None
    auth = getattr(data, "auth", None)
    if auth is not None and auth is not UNSET:
        config["auth"] = {
            "type": auth.type,
            "name": auth.name,
            "algorithm": auth.algorithm,
            "encoding": auth.encoding,
            "prefix": auth.prefix,
        }
    return {k: v for k, v in config.items() if v is not None}


def _check_rules(form: Form, data: SourceCreate | SourceUpdate) -> None:
    """Every path readable, and every form field named one the form has."""
    fields = {spec.name for spec in forms.definition_of(form).fields}
    problems: list[FieldError] = []
    mapping = data.mapping if data.mapping is not UNSET else {}
    join = getattr(data, "join", UNSET) or {}
    defaults = getattr(data, "defaults", UNSET) or {}
    id_field = getattr(data, "id_field", UNSET)
    paths = [*mapping, *(p for ps in (join if join is not UNSET else {}).values() for p in ps)]
    if id_field and id_field is not UNSET:
        paths.append(id_field)
    problems.extend(FieldError("mapping", "bad_path", why) for path in paths if (why := check_path(path)))
    for where, targets in (("mapping", mapping.values()), ("join", join), ("defaults", defaults)):
        problems.extend(
            FieldError(where, "unknown_field", f"the form has no field '{name}'")
            for name in targets
            if name not in fields
        )
    if problems:
        raise ValidationFailed(problems)


def _check_purposes(form: Form, purposes: list[str]) -> None:
    known = {consent.purpose for consent in forms.definition_of(form).consents}
    unknown = [p for p in purposes if p not in known]
    if unknown:
        raise ValidationFailed(
            [FieldError("consent_purposes", "unknown_purpose", f"the form has no purpose '{p}'") for p in unknown]
        )


async def create_source(session: AsyncSession, *, workspace_id: str, data: SourceCreate, actor: str) -> Source:
    """Create a source feeding one of the workspace's forms, with its secrets.

    Raises:
        NotFound: No such form in this workspace.
        ValidationFailed: A purpose the form does not have, or Meta credentials missing.
    """
    if data.kind not in PROVIDERS:
        raise ValidationFailed([FieldError("kind", "unknown_kind", f"no source kind '{data.kind}' yet")])
    form = await forms.get_form(session, workspace_id=workspace_id, form_id=data.form_id)
    _check_purposes(form, data.consent_purposes)
    _check_rules(form, data)
    now = utcnow()
    source = Source(
        id=new_id("src"),
        workspace_id=workspace_id,
        form_id=form.id,
        kind=data.kind,
        name=data.name.strip() or "Inbound source",
        mapping=dict(data.mapping),
        config=_config(data),
        enabled=data.enabled,
        consent_purposes=list(dict.fromkeys(data.consent_purposes)),
        secrets=_secrets(data),
        deliver_test_leads=data.deliver_test_leads,
        created_at=now,
        updated_at=now,
    )
    session.add(source)
    if "pull" in source.secrets:
        await pull_schedule.schedule_pull(session, source, now=now)
    await workspaces.record_audit(
        session,
        workspace_id=workspace_id,
        actor=actor,
        action="source.created",
        target_type="source",
        target_id=source.id,
        details={"kind": source.kind, "form_id": form.id},
    )
    return source


async def get_source(session: AsyncSession, *, workspace_id: str, source_id: str) -> Source:
    """The workspace's source.

    Raises:
        NotFound: No such source here.
    """
    source = await session.scalar(
        select(Source).where(Source.id == source_id, Source.workspace_id == workspace_id, Source.deleted_at.is_(None))
    )
    if source is None:
        raise NotFound("no such source")
    return source


async def list_sources(session: AsyncSession, *, workspace_id: str) -> list[Source]:
    """The workspace's sources, newest first."""
    rows = await session.scalars(
        select(Source)
        .where(Source.workspace_id == workspace_id, Source.deleted_at.is_(None))
        .order_by(Source.id.desc())
    )
    return list(rows)


async def update_source(
    session: AsyncSession, *, workspace_id: str, source_id: str, data: SourceUpdate, actor: str
) -> Source:
    """Change a source's name, mapping, purposes, test-lead delivery or Meta page token."""
    source = await get_source(session, workspace_id=workspace_id, source_id=source_id)
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not UNSET}
    if "consent_purposes" in changes:
        form = await forms.get_form_any(session, form_id=source.form_id)
        _check_purposes(form, changes["consent_purposes"])
        source.consent_purposes = list(dict.fromkeys(changes["consent_purposes"]))
    if changes.keys() & {"mapping", "join", "defaults", "id_field"}:
        _check_rules(await forms.get_form_any(session, form_id=source.form_id), data)
    if "mapping" in changes:
        source.mapping = dict(changes["mapping"])
    source.config = _config(data, source.config)
    pull_now = False
    if "enabled" in changes:
        pull_now = changes["enabled"] and not source.enabled
        source.enabled = changes["enabled"]
    if "pull" in changes:
        source.secrets = {**source.secrets, "pull": _pull_credentials(source.kind, dict(changes["pull"]))}
        pull_now = True
    if pull_now and "pull" in source.secrets:
        await pull_schedule.schedule_pull(session, source)
    if "name" in changes:
        source.name = changes["name"]
    if "deliver_test_leads" in changes:
        source.deliver_test_leads = changes["deliver_test_leads"]
    if "meta_page_access_token" in changes and source.kind == "meta_lead_ads":
        source.secrets = {**source.secrets, "meta_page_access_token": changes["meta_page_access_token"]}
    source.updated_at = utcnow()
    await workspaces.record_audit(
        session,
        workspace_id=workspace_id,
        actor=actor,
        action="source.updated",
        target_type="source",
        target_id=source.id,
        details={"changed": sorted(changes)},
    )
    return source


async def delete_source(session: AsyncSession, *, workspace_id: str, source_id: str, actor: str) -> None:
    """Stop taking leads from a source; what it sent stays."""
    source = await get_source(session, workspace_id=workspace_id, source_id=source_id)
    source.deleted_at = utcnow()
    await workspaces.record_audit(
        session,
        workspace_id=workspace_id,
        actor=actor,
        action="source.deleted",
        target_type="source",
        target_id=source.id,
        details={},
    )


async def public_source(session: AsyncSession, source_id: str) -> tuple[Source, Form]:
    """A live source and its form, for ``/hooks/{id}``.

    Raises:
        NotFound: No such source, or its form is no longer published.
    """
    source = await session.scalar(select(Source).where(Source.id == source_id, Source.deleted_at.is_(None)))
    if source is None:
        raise NotFound("no such source")
    form = await forms.get_form_any(session, form_id=source.form_id)
    if form.status != "published" or form.deleted_at is not None:
        raise NotFound("the source's form is not published")
    return source, form


def map_lead(source: Source, form: Form, lead: InboundLead) -> Mapped:
    """The lead's values under the form's field names, by the kind's rules overridden by the source's own, with
    the sender's id of the lead (the one it gave, else the one at the rules' ``id_field``) and every problem."""
    fields: dict[str, str] = {spec.name: spec.type for spec in definition_of(form).fields}
    kind = provider(source.kind).rules
    # A preset's join into a field this form does not ask for is no problem (its mapping is read the same way).
    kind = replace(kind, join={name: paths for name, paths in kind.join.items() if name in fields})
    rules = kind.merged(source_rules(source.mapping, source.config or {}))
    mapped = apply_rules(lead.values, rules, fields)
    if lead.external_id:
        mapped.external_id = lead.external_id
        mapped.problems = [p for p in mapped.problems if p.field != "id_field"]
    return mapped


def inbound_submission(
    source: Source, lead: InboundLead, mapped: Mapped, *, client_ip: str, user_agent: str | None
) -> tuple[RawSubmission, RequestFacts]:
    """What the pipeline takes: the mapped values (``map_lead``), the purposes the source's notice covered, and
    the source (whose lead id is the idempotency key: a sender's retry is stored once). A lead without an id
    is keyed by its payload's hash, so an identical repeat is still stored once."""
    body = msgspec.json.encode(lead.values)
    external_id = mapped.external_id or "sha256:" + hashlib.sha256(body).hexdigest()[:64]
    raw = RawSubmission(
        values=mapped.values,
        consents=list(source.consent_purposes),
        is_json=True,
        body=body,
        content_type="application/json",
        meta=dict(lead.tracking),
    )
    facts = RequestFacts(
        client_ip=client_ip,
        user_agent=user_agent,
        origin=None,
        referer=None,
        idempotency_key=f"{source.kind}:{external_id}",
        wants_json=True,
        source=InboundSource(
            source.id,
            source.kind,
            test_lead=lead.is_test and not source.deliver_test_leads,
            lead_id=mapped.external_id or lead.external_id or None,
        ),
    )
    return raw, facts


async def queue_fetches(session: AsyncSession, source: Source, leadgen_ids: list[str]) -> None:
    """Remember Meta's leadgen ids, once each: Meta is answered as soon as they are committed."""
    if not leadgen_ids:
        return
    now = utcnow()
    rows = [
        {
            "id": new_id("fetch"),
            "source_id": source.id,
            "workspace_id": source.workspace_id,
            "external_id": leadgen_id,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for leadgen_id in dict.fromkeys(leadgen_ids)
    ]
    await session.execute(insert_or_skip(session, SourceFetch), rows)


async def claim_fetches(session: AsyncSession, *, limit: int, now: datetime) -> list[tuple[SourceFetch, Source]]:
    """Due fetches, leased to the caller for a minute (another process takes them over if it dies)."""
    statement = (
        select(SourceFetch)
        .where(SourceFetch.status == "pending", SourceFetch.next_attempt_at <= now)
        .order_by(SourceFetch.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises claims
    )
    fetches = list((await session.scalars(statement)).all())
    claimed = []
    for fetch in fetches:
        fetch.next_attempt_at = now + _FETCH_LEASE
        source = await session.get(Source, fetch.source_id)
        if source is not None:
            claimed.append((fetch, source))
    return claimed


async def record_fetch(
    session: AsyncSession,
    *,
    fetch_id: str,
    submission_id: str | None,
    error: str | None,
    retry_delays: tuple[float, ...],
    final: bool = False,
) -> None:
    """Mark a fetch done, or schedule its next attempt (``final`` errors, such as invalid values, are not retried)."""
    now = utcnow()
    fetch = await session.get(SourceFetch, fetch_id)
    if fetch is None:
        return
    fetch.updated_at = now
    if error is None:
        fetch.status, fetch.submission_id, fetch.last_error = "done", submission_id, None
        return
    fetch.attempts += 1
    fetch.last_error = error[:500]
    if final or fetch.attempts > len(retry_delays):
        fetch.status = "failed"
        logger.warning("giving up on Meta lead %s of source %s: %s", fetch.external_id, fetch.source_id, error)
    else:
        fetch.next_attempt_at = now + timedelta(seconds=retry_delays[fetch.attempts - 1])

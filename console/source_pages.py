"""The Sources pages: every source with its counts, and each source's page (its sender's set-up, enable or disable,
its mapping, what it received and why any was refused, Meta fetches retried, deletion). A new source is made in
``console.source_creation``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from console.pages import forms_of, page
from console.session import ConsoleUser
from console.source_editor import mapping_rows, mapping_values, words_for
from console.source_views import REASONS, auth_words, counts_of, kind_of, payload_view, setup_html, source_url
from core.errors import BadRequest, Conflict, FieldError, PayloadTooLarge, ValidationFailed
from forms import service as forms
from ingest.sources import activity, fetches, pull_schedule, service, tryout
from ingest.sources.providers import PROVIDERS
from ingest.sources.schemas import SourceUpdate
from leads.views import source_payload_out

if TYPE_CHECKING:
    from core.settings import Settings
    from ingest.sources.models import SourceFetch

__all__ = (
    "source_delete",
    "source_fetch_retry",
    "source_mapping",
    "source_page",
    "source_page_of",
    "source_status",
    "source_try",
    "sources_list",
)


@get("/sources", opt={"permission": "sources:read"})
async def sources_list(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], user: NamedDependency[ConsoleUser]
) -> Template:
    sources = await service.list_sources(db_session, workspace_id=user.workspace_id)
    all_forms = await forms_of(db_session, user)
    names = {f.id: f.name for f in all_forms}
    counts = await activity.counts_by_source(db_session, [s.id for s in sources])
    rows = [
        {"source": s, "kind": kind_of(s), "form": names.get(s.form_id, s.form_id), "counts": counts_of(counts[s.id])}
        for s in sources
    ]
    return page(request, "sources", user, rows=rows, kinds=list(PROVIDERS.values()), forms=all_forms)


async def source_page_of(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    user: ConsoleUser,
    source_id: str,
    *,
    status_code: int = 200,
    errors: list[str] | None = None,
    mapping: dict[str, Any] | None = None,
    **extra: Any,
) -> Template:
    """A source's page; ``mapping``: values of the mapping editor that failed to save, shown again."""
    source = await service.get_source(session, workspace_id=user.workspace_id, source_id=source_id)
    settings: Settings = request.app.state.settings
    kind = kind_of(source)
    form = await forms.get_form_any(session, form_id=source.form_id)
    fields = [spec.name for spec in forms.definition_of(form).fields]
    payloads = [payload_view(source_payload_out(p)) for p in await activity.recent_payloads(session, source.id)]
    failed: list[SourceFetch] = []
    if source.kind == "meta_lead_ads":
        failed, _ = await fetches.list_fetches(
            session, workspace_id=user.workspace_id, source_id=source.id, status="failed", limit=50, cursor=None
        )
    pulls = await pull_schedule.pull_states(session, [source.id])
    return page(
        request,
        "source",
        user,
        pull=pulls.get(source.id),
        status_code=status_code,
        errors=errors or [],
        source=source,
        kind=kind,
        form=form,
        url=source_url(settings, source),
        setup=setup_html(kind),
        auth=auth_words(source),
        counts=counts_of(await activity.counts_of(session, source.id)),
        reasons=REASONS,
        payloads=payloads,
        failed=failed,
        rows=mapping_rows(mapping, source, fields),
        sample_types=[("json", "JSON body"), ("form", "Form fields (urlencoded)"), ("query", "Query string of a GET")],
        **{"sample": "", "sample_type": "json", "tried": None, **extra},
    )


@get("/sources/{source_id:str}", opt={"permission": "sources:read"})
async def source_page(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    source_id: FromPath[str],
) -> Template:
    return await source_page_of(request, db_session, user, source_id)


@post("/sources/{source_id:str}/status", status_code=303, opt={"permission": "sources:write"})
async def source_status(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    source_id: FromPath[str],
) -> Redirect:
    status = str((await request.form()).get("status") or "")
    if status not in {"enabled", "disabled"}:
        return Redirect(f"/console/sources/{source_id}", status_code=303)
    await service.update_source(
        db_session,
        workspace_id=user.workspace_id,
        source_id=source_id,
        data=SourceUpdate(enabled=status == "enabled"),
        actor=user.caller.actor,
    )
    return Redirect(f"/console/sources/{source_id}?done=source_{status}", status_code=303)


def _checked(values: dict[str, Any], problems: list[FieldError]) -> SourceUpdate:
    """The editor's values as an update, unless the editor itself found problems."""
    if problems:
        raise ValidationFailed(problems)
    return msgspec.convert(values, SourceUpdate)


@post("/sources/{source_id:str}/mapping", status_code=303, opt={"permission": "sources:write"})
async def source_mapping(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    source_id: FromPath[str],
) -> Response[Any]:
    values, problems = mapping_values(await request.form())
    try:
        await service.update_source(
            db_session,
            workspace_id=user.workspace_id,
            source_id=source_id,
            data=_checked(values, problems),
            actor=user.caller.actor,
        )
    except (ValidationFailed, msgspec.ValidationError) as exc:
        return await source_page_of(
            request, db_session, user, source_id, status_code=422, errors=words_for(exc), mapping=values
        )
    return Redirect(f"/console/sources/{source_id}?done=saved", status_code=303)


@post("/sources/{source_id:str}/delete", status_code=303, opt={"permission": "sources:write"})
async def source_delete(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    source_id: FromPath[str],
) -> Response[Any]:
    if (await request.form()).get("confirm") != "delete":
        errors = ["Tick the box to confirm that this source should be deleted."]
        return await source_page_of(request, db_session, user, source_id, status_code=422, errors=errors)
    await service.delete_source(
        db_session, workspace_id=user.workspace_id, source_id=source_id, actor=user.caller.actor
    )
    return Redirect("/console/sources?done=source_deleted", status_code=303)


@post("/sources/{source_id:str}/fetches/{fetch_id:str}/retry", status_code=303, opt={"permission": "sources:write"})
async def source_fetch_retry(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    source_id: FromPath[str],
    fetch_id: FromPath[str],
) -> Redirect:
    fetcher = getattr(request.app.state, "meta_fetcher", None)
    try:
        await fetches.retry_fetch(
            db_session,
            workspace_id=user.workspace_id,
            source_id=source_id,
            fetch_id=fetch_id,
            actor=user.caller.actor,
            wake=fetcher.wake if fetcher is not None else None,
        )
    except Conflict:
        return Redirect(f"/console/sources/{source_id}?done=fetch_not_retried", status_code=303)
    return Redirect(f"/console/sources/{source_id}?done=fetch_retried", status_code=303)


@post("/sources/{source_id:str}/try", status_code=200, opt={"permission": "sources:write"})
async def source_try(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    source_id: FromPath[str],
) -> Template:
    """The source's page with a sample mapped and checked by its saved rules; nothing is stored."""
    posted = await request.form()
    sample = str(posted.get("sample") or "")
    sample_type = str(posted.get("sample_type") or "json")
    sample_type = sample_type if sample_type in tryout.SAMPLE_TYPES else "json"
    settings: Settings = request.app.state.settings
    try:
        tried = await tryout.try_text(
            db_session,
            workspace_id=user.workspace_id,
            source_id=source_id,
            sample=sample,
            sample_type=sample_type,
            settings=settings,
        )
    except (BadRequest, PayloadTooLarge) as exc:
        errors = [f"Sample: {exc.detail}"]
        return await source_page_of(
            request, db_session, user, source_id, status_code=422, errors=errors, sample=sample, sample_type=sample_type
        )
    return await source_page_of(
        request, db_session, user, source_id, tried=tried, sample=sample, sample_type=sample_type
    )

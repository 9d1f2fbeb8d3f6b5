"""Public routes: the hosted form page (plain and for iframes), the submit endpoint, the thank-you page, embed.js,
and the snippet for the admin API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import ValidationFailed
from core.settings import Settings
from embeds.render import LOADER, frame_context, page_context, page_headers
from embeds.schemas import EmbedOut
from embeds.snippet import embed_out
from forms import service as forms
from ingest import pipeline, spam
from ingest import service as ingest
from ingest.schemas import SubmitAccepted
from workspaces.schemas import Caller

if TYPE_CHECKING:
    from forms.models import Form
    from ingest.parse import RawSubmission

__all__ = ("EmbedController", "embed_js", "hosted_form", "submit", "thank_you")


def _parent(form: Form, query: dict[str, str], *, embed: bool) -> str | None:
    """The origin of the page framing this one, when framed (``?embed=1&origin=…``) by a site that may frame it."""
    if not embed:
        return None
    return pipeline.embed_origin(query.get("origin"), pipeline.definition_of(form).settings.allowed_origins)


def _form_page(
    form: Form,
    query: dict[str, str],
    *,
    embed: bool,
    render_token: str,
    raw: RawSubmission | None = None,
    errors: list[Any] | None = None,
    status_code: int = 200,
) -> Template:
    definition = pipeline.definition_of(form)
    parent = _parent(form, query, embed=embed)
    context = page_context(
        form,
        definition,
        render_token=render_token,
        query=query,
        parent_origin=parent,
        sent=raw.values if raw else None,
        granted=raw.consents if raw else None,
        errors=errors,
    )
    return Template(
        template_name="form.html",
        context=context,
        headers=page_headers(definition, embedded=embed),
        status_code=status_code,
    )


@get("/f/{slug:str}", summary="The hosted form page", tags=["public"], include_in_schema=False)
async def hosted_form(
    slug: FromPath[str], request: Request[Any, Any, Any], embed: FromQuery[str | None] = None
) -> Template:
    services = ingest.submit_services(request)
    form = await pipeline.published_form(services.db, slug)
    query = {key: str(value) for key, value in request.query_params.items()}
    token = spam.issue_render_token(services.settings, form_id=form.id)
    return _form_page(form, query, embed=embed == "1", render_token=token)


@post(
    "/f/{slug:str}",
    guards=[ingest.rate_limit_submissions],
    summary="Submit a form",
    description=(
        "Takes application/x-www-form-urlencoded, multipart/form-data or JSON. JSON bodies and requests that "
        "accept application/json get 201 with the submission id; browser posts get 303 to the thank-you page or "
        "the form's redirect, or the form again with its errors (422). Consents are the granted purposes: "
        "repeated `consent` fields or a JSON list."
    ),
    tags=["submit"],
    status_code=201,
    responses={303: ResponseSpec(data_container=None, description="Browser posts: go to the thank-you page")},
)
async def submit(slug: FromPath[str], request: Request[Any, Any, Any]) -> Response[SubmitAccepted]:
    form, raw, facts = await ingest.read_submission(request, slug)
    try:
        outcome = await pipeline.run_pipeline(ingest.submit_services(request), form, raw, facts)
    except ValidationFailed as exc:
        if facts.wants_json:
            raise
        # A browser without JavaScript gets the form back: values kept, errors at the top and on each field.
        passed = {**raw.meta, "origin": raw.meta.get("_embed_origin", "")}
        embed = bool(raw.meta.get("_embed_origin"))
        settings = ingest.submit_services(request).settings
        token = raw.meta.get("_t") or spam.issue_render_token(settings, form_id=form.id)
        return _form_page(  # type: ignore[return-value]
            form, passed, embed=embed, render_token=token, raw=raw, errors=exc.errors, status_code=422
        )
    return ingest.outcome_response(outcome)  # type: ignore[return-value]


@get("/f/{slug:str}/thanks", summary="The thank-you page of a form", tags=["public"], include_in_schema=False)
async def thank_you(
    slug: FromPath[str], request: Request[Any, Any, Any], embed: FromQuery[str | None] = None
) -> Template:
    services = ingest.submit_services(request)
    form = await pipeline.published_form(services.db, slug)
    definition = pipeline.definition_of(form)
    query = {key: str(value) for key, value in request.query_params.items()}
    parent = _parent(form, query, embed=embed == "1")
    context = {
        **frame_context(form, definition, parent),
        "message": definition.settings.success_message or "Thank you, we have received your details.",
        "submitted": str(request.query_params.get("s") or "sent")[:40] if parent else None,
        "redirect": definition.settings.redirect_url if parent else None,
        "receipt_url": f"/c/{receipt}" if (receipt := request.query_params.get("r")) else None,
    }
    return Template(
        template_name="thanks.html", context=context, headers=page_headers(definition, embedded=embed == "1")
    )


@get("/embed.js", summary="The embed loader", tags=["public"], include_in_schema=False)
async def embed_js(request: Request[Any, Any, Any]) -> Response[bytes]:
    headers = {
        "ETag": LOADER.etag,
        "Cache-Control": "public, max-age=3600, must-revalidate",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if LOADER.etag in request.headers.get("if-none-match", ""):
        return Response(b"", status_code=304, headers=headers)
    # Compressed on the way out, brotli or gzip as the client asks (core.compression), with Vary: Accept-Encoding.
    return Response(LOADER.body, headers=headers, media_type="text/javascript")


class EmbedController(Controller):
    """The public link and the embed snippet of a form, ready to copy."""

    path = "/forms/{form_id:str}/embed"
    tags = ["forms"]  # noqa: RUF012

    @get("/", summary="The public link and the embed snippet of a form", opt={"permission": "forms:read"})
    async def get_embed(
        self,
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[Caller],
        app_settings: NamedDependency[Settings],
        form_id: FromPath[str],
    ) -> EmbedOut:
        form = await forms.get_form(db_session, workspace_id=caller.workspace_id, form_id=form_id)
        return embed_out(form, app_settings)

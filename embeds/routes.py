"""Public pages of a form: the thank-you page (the hosted form itself comes with the embed work)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.params import FromPath
from markupsafe import escape

from ingest import service as ingest

__all__ = ("thank_you",)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Thank you: {title}</title>
<style>body{{font:1rem/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}}</style>
</head><body><main><h1>{title}</h1><p role="status">{message}</p></main></body></html>
"""


@get("/f/{slug:str}/thanks", summary="The thank-you page of a form", tags=["public"], include_in_schema=False)
async def thank_you(slug: FromPath[str], request: Request[Any, Any, Any]) -> Response[str]:
    form = await ingest.published_form(request.app.state.db, slug)
    message = ingest.definition_of(form).settings.success_message or "Thank you, we have received your details."
    html = _PAGE.format(title=escape(form.name), message=escape(message))
    return Response(
        html,
        media_type="text/html",
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
        },
    )

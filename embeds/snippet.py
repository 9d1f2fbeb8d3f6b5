"""The embed snippet of a form, built from the public base URL."""

from __future__ import annotations

from typing import TYPE_CHECKING

from markupsafe import escape

from embeds.schemas import EmbedOut

if TYPE_CHECKING:
    from core.settings import Settings
    from forms.models import Form

__all__ = ("embed_out",)


def embed_out(form: Form, settings: Settings) -> EmbedOut:
    """The public link and both forms of the snippet, each with a ``<noscript>`` link to the hosted page."""
    base = settings.public_base_url.rstrip("/")
    public_url = f"{base}/f/{form.slug}"
    script_url = f"{base}/embed.js"
    title = escape(form.name)
    noscript = f'<noscript><a href="{public_url}">{title}</a></noscript>'
    loader = f'<script src="{script_url}" async></script>'
    attributes = f'data-leadwire-form="{form.slug}" data-leadwire-title="{title}"'
    return EmbedOut(
        form_id=form.id,
        status=form.status,
        public_url=public_url,
        script_url=script_url,
        snippet=f'<script src="{script_url}" {attributes} async></script>\n{noscript}',
        snippet_div=f"<div {attributes}>{noscript}</div>",
        loader=loader,
    )

"""Response bodies of the embeds slice."""

from __future__ import annotations

import msgspec

__all__ = ("EmbedOut",)


class EmbedOut(msgspec.Struct):
    """Everything a marketer copies to put a form on a site."""

    form_id: str
    status: str
    """Only a ``published`` form can be filled in; the snippet of a draft shows "not found" until it is published."""
    public_url: str
    """The hosted page, to share as a link."""
    script_url: str
    snippet: str
    """Paste where the form should appear: the loader inserts the form right after itself."""
    snippet_div: str
    """Alternatively: this element where the form should appear, and ``loader`` once anywhere on the page."""
    loader: str

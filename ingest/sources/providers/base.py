"""What a kind of source is: how its sender authenticates, which HTTP methods it pushes with, how one request
splits into leads, where its fields go by default, and how its sender is set up.

A source of a kind takes the kind's rules (``Provider.rules``) merged under its own (``Source.mapping`` and
``Source.config``): a preset's defaults can always be overridden. ``generic`` has no defaults: its source says
how it authenticates and where each field is. Providers that also pull (IndiaMART, TradeIndia, 99acres) say how
in ``pull``; see ``ingest/sources/pull.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ingest.sources.mapping import Rules

if TYPE_CHECKING:
    from collections.abc import Callable

    from ingest.sources.providers.pulling import PullApi

__all__ = ("Auth", "AuthType", "Provider", "each_object", "source_rules")

AuthType = Literal["url", "header", "query", "body", "basic", "hmac", "standard_webhooks", "google_key", "meta"]
"""How a push is authenticated. ``url``: the unguessable URL alone; ``header``/``query``/``body``: a shared key in
the named header, query parameter or body field; ``basic``: HTTP Basic; ``hmac``: an HMAC of the raw body in the
named header. The last three are the schemes of the Standard Webhooks, Google Ads and Meta kinds."""


@dataclass(frozen=True, slots=True)
class Auth:
    """A push's authentication; the secret itself is in ``Source.secrets["auth_secret"]``."""

    type: AuthType
    name: str | None = None
    """The header, query parameter or body field that carries the key (or, for ``hmac``, the signature)."""
    algorithm: Literal["sha1", "sha256", "sha512"] = "sha256"
    encoding: Literal["hex", "base64"] = "hex"
    prefix: str = ""
    """What precedes the signature in its header, such as ``sha256=``."""

    def as_config(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "name": self.name,
            "algorithm": self.algorithm,
            "encoding": self.encoding,
            "prefix": self.prefix,
        }


def each_object(document: Any) -> list[Any]:
    """A JSON array is one lead per item; anything else is one lead."""
    return list(document) if isinstance(document, list) else [document]


@dataclass(frozen=True, slots=True)
class Provider:
    """One kind of source."""

    kind: str
    label: str
    setup: str
    """How the sender is set up, in a sentence (the README's table and the console show it)."""
    rules: Rules = field(default_factory=Rules)
    auth: Auth | None = None
    """None: the source chooses (``generic``); else the kind's scheme, whose secret Leadwire makes or is given."""
    methods: frozenset[str] = frozenset({"POST"})
    split: Callable[[Any], list[Any]] = each_object
    """One request's payload (JSON, or the fields of a form post or query string) as lead documents."""
    pulls: bool = False
    """Whether the provider also offers a pull API (credentials under the source's ``pull``)."""
    success_text: str | None = None
    """The plain-text body a sender expects once its leads are stored or known (JustDial: ``RECEIVED``); None: the
    hook's usual JSON answer."""
    pull: PullApi | None = None
    """How its pull API is called (``ingest/sources/pull.py`` polls it)."""


def source_rules(mapping: dict[str, str], config: dict[str, Any]) -> Rules:
    """A source's own rules, from its ``mapping`` column and its ``config``."""
    return Rules(
        mapping=dict(mapping),
        join={str(k): list(v) for k, v in (config.get("join") or {}).items()},
        defaults={str(k): str(v) for k, v in (config.get("defaults") or {}).items()},
        phone_region=config.get("phone_region") or None,
        id_field=config.get("id_field") or None,
    )

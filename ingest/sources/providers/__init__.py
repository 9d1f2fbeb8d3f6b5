"""Every kind of source Leadwire knows, by name: one module per provider, each listing its ``PROVIDERS``.

A source of a kind takes the kind's rules (``Provider.rules``) merged under its own (``Source.mapping`` and
``Source.config``): a preset's defaults can always be overridden. ``generic`` has no defaults: its source says
how it authenticates and where each field is.
"""

from __future__ import annotations

from ingest.sources.providers import (
    acres99,
    builtin,
    housing,
    indiamart,
    jotform,
    justdial,
    magicbricks,
    tally,
    tradeindia,
    typeform,
)
from ingest.sources.providers.base import Auth, AuthType, Provider, source_rules

__all__ = ("PROVIDERS", "Auth", "AuthType", "Provider", "provider", "source_rules")

_MODULES = (
    builtin,
    indiamart,
    tradeindia,
    acres99,
    justdial,
    magicbricks,
    housing,
    typeform,
    tally,
    jotform,
)
PROVIDERS: dict[str, Provider] = {p.kind: p for module in _MODULES for p in module.PROVIDERS}


def provider(kind: str) -> Provider:
    """The kind's provider.

    Raises:
        KeyError: No such kind.
    """
    return PROVIDERS[kind]

"""What the Sources pages show of a source, in words: its kind's setup sentence, how its sender proves itself, its
secrets' names, its counts by outcome and reason, and its last payloads with what each became."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from ingest.sources.providers import PROVIDERS, Provider

if TYPE_CHECKING:
    from datetime import datetime

    from core.settings import Settings
    from ingest.sources.models import Source, SourceCount
    from leads.schemas import SourcePayloadOut

__all__ = (
    "REASONS",
    "Counts",
    "auth_words",
    "counts_of",
    "kind_of",
    "payload_view",
    "secret_label",
    "setup_html",
    "source_url",
)

REASONS = {
    "same_id": "the sender sent the same lead again (same lead id): answered as before, stored once",
    "same_content": "the same person sent the same values within the form's repeat window",
    "unauthorized": "the key or signature was missing or wrong",
    "invalid": "the form refused a value (see the problems)",
    "mapping": "the source's rules could not read the payload (see the problems)",
    "too_large": "the request was larger than Leadwire takes",
    "unreadable": "the body could not be read (not the JSON or form fields it claimed to be)",
    "rate_limited": "too many requests in a short time",
    "in_flight": "the same lead was still being stored from an earlier request",
    "unavailable": "Leadwire could not store it at that moment; the sender is told to try again",
    "form_unavailable": "the source's form was not published",
    "disabled": "the source was disabled",
    "spam": "kept as spam",
}
"""Why a source's request was a duplicate or refused (``source_count.reason``), in words."""
_CODE = re.compile(r"`([^`]+)`")
_SECRETS = {
    "whsec": "Signing secret (whsec_)",
    "google_key": "Key (google_key)",
    "meta_app_secret": "App secret",
    "meta_page_access_token": "Page access token",
    "meta_verify_token": "Verify token",
    "auth_username": "User name",
}
_AUTH_SECRET = {"basic": "Password", "hmac": "Signing key"}


def source_url(settings: Settings, source: Source) -> str:
    """Where the source's sender posts (as the API says)."""
    return f"{settings.public_base_url.rstrip('/')}/hooks/{source.id}"


def kind_of(source: Source) -> Provider:
    """The source's kind; a kind this version no longer knows is shown by its name."""
    return PROVIDERS.get(source.kind) or Provider(kind=source.kind, label=source.kind, setup="")


def setup_html(kind: Provider) -> Markup:
    """The kind's setup sentence, its `quoted` names as code."""
    return Markup(_CODE.sub(lambda m: f"<code>{m.group(1)}</code>", str(escape(kind.setup))))  # noqa: S704


def _auth_of(source: Source) -> dict[str, Any]:
    """The source's authentication as configured, else its kind's."""
    kind = kind_of(source)
    found: dict[str, Any] = (source.config or {}).get("auth") or (kind.auth.as_config() if kind.auth else {})
    return found


def auth_words(source: Source) -> str:
    """How the source's sender proves itself, in a sentence; never the secret."""
    auth = _auth_of(source)
    name = auth.get("name") or ""
    words = {
        "url": "The URL alone: anyone who has it can post, so keep it private.",
        "header": f"A key in the request header {name}.",
        "query": f"A key in the query parameter {name}.",
        "body": f"A key in the body field {name}.",
        "basic": f"HTTP Basic, as the user {source.secrets.get('auth_username', 'leadwire')}.",
        "hmac": f"An HMAC-{str(auth.get('algorithm', 'sha256')).upper()} of the raw body, {auth.get('encoding', 'hex')}"
        f"-encoded, in the header {name}" + (f" after {auth['prefix']}" if auth.get("prefix") else "") + ".",
        "standard_webhooks": "Signed with the source's whsec_ secret (Standard Webhooks).",
        "google_key": "The key set in the lead form's webhook integration, sent as google_key.",
        "meta": "Signed by Meta with the app secret (X-Hub-Signature-256); the subscription is checked with the "
        "verify token.",
    }
    return words.get(str(auth.get("type", "url")), str(auth.get("type")))


def secret_label(source: Source, name: str) -> str:
    if name == "auth_secret":
        return _AUTH_SECRET.get(str(_auth_of(source).get("type")), "Key")
    return _SECRETS.get(name, name)


@dataclass
class Counts:
    """A source's requests by outcome, and by reason for duplicates and refusals."""

    received: int = 0
    accepted: int = 0
    duplicate: int = 0
    test: int = 0
    rejected: int = 0
    reasons: list[tuple[str, str, int]] = field(default_factory=list)
    """(outcome, reason, how many), most first."""
    last_lead_at: datetime | None = None
    last_received_at: datetime | None = None


def counts_of(rows: list[SourceCount]) -> Counts:
    counts = Counts()
    for row in rows:
        setattr(counts, row.outcome, getattr(counts, row.outcome, 0) + row.total)
        counts.received += row.total
        if row.reason:
            counts.reasons.append((row.outcome, row.reason, row.total))
        if row.outcome == "accepted" and (counts.last_lead_at is None or row.last_at > counts.last_lead_at):
            counts.last_lead_at = row.last_at
        if counts.last_received_at is None or row.last_at > counts.last_received_at:
            counts.last_received_at = row.last_at
    counts.reasons.sort(key=lambda item: (-item[2], item[0], item[1]))
    return counts


def payload_view(payload: SourcePayloadOut) -> dict[str, Any]:
    """A payload as its row shows it: what it became, why, its problems, and its raw body as text."""
    if payload.body_format == "json":
        raw = json.dumps(payload.body, indent=2, ensure_ascii=False)
    else:
        raw = "" if payload.body is None else str(payload.body)
    return {
        "p": payload,
        "raw": raw,
        "why": REASONS.get(payload.reason or "", ""),
    }

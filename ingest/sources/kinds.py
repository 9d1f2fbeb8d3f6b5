"""Each kind of source: how its requests are verified, and how its payload becomes form values."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.errors import BadRequest, Unauthorized
from delivery import service as delivery
from ingest.parse import decode_json

if TYPE_CHECKING:
    from litestar.datastructures import Headers

    from ingest.sources.models import Source

__all__ = (
    "InboundLead",
    "google_ads_lead",
    "meta_challenge",
    "meta_leadgen_ids",
    "meta_values",
    "standard_webhooks_lead",
)

_TOLERANCE_S = 300
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
"""Unix seconds in ASCII digits: ``str.isdigit`` also takes superscripts (``²``), which ``int`` refuses, and 400
digits overflow a float."""


@dataclass(frozen=True, slots=True)
class InboundLead:
    """A lead as a source sent it: its id at the source (the idempotency key; when empty, the source's
    ``id_field`` reads it from the payload) and the payload the source's rules read its values from."""

    external_id: str
    values: Any
    is_test: bool = False
    tracking: dict[str, str] = field(default_factory=dict)
    """Campaign parameters the source knows (``gclid`` from Google Ads), kept with the submission's UTM."""


def standard_webhooks_lead(source: Source, headers: Headers, body: bytes) -> InboundLead:
    """A Standard Webhooks v1 request signed with the ``whsec_`` secret Leadwire issued for this source.

    Raises:
        Unauthorized: Missing or bad signature, or a timestamp more than 5 minutes away from now (either way).
    """
    message_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    signature = headers.get("webhook-signature", "")
    if not (message_id and timestamp and signature):
        raise Unauthorized("webhook-id, webhook-timestamp and webhook-signature are required")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise Unauthorized("webhook-timestamp must be a Unix time in seconds")
    sent_at = int(timestamp)
    if abs(time.time() - sent_at) > _TOLERANCE_S:
        raise Unauthorized("webhook-timestamp is more than 5 minutes away from now")
    if not delivery.verify(str(source.secrets.get("whsec", "")), message_id, sent_at, body, signature):
        raise Unauthorized("the signature does not match")
    document = decode_json(body)
    data = document.get("data", document) if isinstance(document, dict) else None
    if not isinstance(data, dict):
        raise BadRequest("expected a JSON object (or one under 'data')")
    return InboundLead(external_id=message_id[:100], values=data)


def google_ads_lead(source: Source, body: bytes) -> InboundLead:
    """A Google Ads lead form webhook: ``google_key`` must equal the source's key (compared in constant time).

    Raises:
        Unauthorized: Wrong or missing ``google_key``.
        BadRequest: Not the shape Google sends.
    """
    document = decode_json(body)
    if not isinstance(document, dict):
        raise BadRequest("expected a JSON object")
    key = str(document.get("google_key") or "")
    if not key or not hmac.compare_digest(key.encode(), str(source.secrets.get("google_key", "")).encode()):
        raise Unauthorized("google_key does not match")
    lead_id = str(document.get("lead_id") or "")
    columns = document.get("user_column_data")
    if not lead_id or not isinstance(columns, list):
        raise BadRequest("expected lead_id and user_column_data")
    values: dict[str, Any] = {}
    for column in columns:
        if isinstance(column, dict) and column.get("column_id"):
            values[str(column["column_id"])] = column.get("string_value")
    for extra in ("gcl_id", "campaign_id", "form_id"):
        if document.get(extra) is not None:
            values[extra] = str(document[extra])
    tracking = {"gclid": str(document["gcl_id"])[:200]} if document.get("gcl_id") else {}
    return InboundLead(lead_id[:100], values, is_test=bool(document.get("is_test")), tracking=tracking)


def meta_challenge(source: Source, mode: str | None, token: str | None, challenge: str | None) -> str:
    """Meta's subscription check: echo ``hub.challenge`` when ``hub.verify_token`` is the source's.

    Raises:
        Unauthorized: Wrong mode or token (Meta expects a 403 then).
    """
    expected = str(source.secrets.get("meta_verify_token", "")).encode()
    if mode != "subscribe" or not token or not hmac.compare_digest(token.encode(), expected) or challenge is None:
        raise Unauthorized("hub.verify_token does not match")
    return challenge


_LEADGEN_ID = re.compile(r"[0-9]{1,40}")


def meta_leadgen_ids(source: Source, headers: Headers, body: bytes) -> list[str]:
    """The leadgen ids of a Meta ``leadgen`` webhook signed with ``X-Hub-Signature-256`` (HMAC-SHA256, app secret).

    Raises:
        Unauthorized: Missing or bad signature.
    """
    signature = headers.get("x-hub-signature-256", "")
    secret = str(source.secrets.get("meta_app_secret", "")).encode()
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    if not secret or not hmac.compare_digest(signature.encode(), expected.encode()):
        raise Unauthorized("X-Hub-Signature-256 does not match")
    document = decode_json(body)
    ids: list[str] = []
    for entry in document.get("entry", []) if isinstance(document, dict) else []:
        for change in entry.get("changes", []) if isinstance(entry, dict) else []:
            if not isinstance(change, dict):
                continue
            value = change.get("value")
            if change.get("field") == "leadgen" and isinstance(value, dict) and value.get("leadgen_id"):
                leadgen_id = str(value["leadgen_id"])
                # The id becomes a path segment of the Graph API request: Meta's ids are digits, nothing else is.
                if _LEADGEN_ID.fullmatch(leadgen_id):
                    ids.append(leadgen_id)
    return ids


def meta_values(document: Any) -> dict[str, Any]:
    """The answers of a Graph API lead: ``field_data: [{name, values}]`` as name to value (or values)."""
    values: dict[str, Any] = {}
    for item in document.get("field_data", []) if isinstance(document, dict) else []:
        if isinstance(item, dict) and item.get("name"):
            answers = [str(v) for v in item.get("values") or []]
            values[str(item["name"])] = answers[0] if len(answers) == 1 else answers
    return values

"""A sender's push as it goes over the wire (method, query, body, content type, signature), and one workspace of a
server shared by a test module: its form, and sources made through the API."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.ingest.senders import hook_path as hook

if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx

    from core.database import Database
    from tests.conftest import Tenant

__all__ = ("Hub", "Sent", "Workspace", "multipart", "tally_signature", "typeform_signature")


def _hmac_base64(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def typeform_signature(secret: str, body: bytes) -> dict[str, str]:
    """Typeform's header: ``sha256=`` and the base64 HMAC-SHA256 of the raw body."""
    return {"Typeform-Signature": "sha256=" + _hmac_base64(secret, body)}


def tally_signature(secret: str, body: bytes) -> dict[str, str]:
    """Tally's header: the base64 HMAC-SHA256 of the raw body."""
    return {"Tally-Signature": _hmac_base64(secret, body)}


def multipart(fields: dict[str, str], boundary: str = "------------------------a8f3c2d1e0b94f67") -> tuple[bytes, str]:
    """Text fields as ``multipart/form-data`` (what Jotform posts: no file, so httpx would send them urlencoded)."""
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    return ("".join(parts) + f"--{boundary}--\r\n").encode(), f"multipart/form-data; boundary={boundary}"


@dataclass(frozen=True)
class Sent:
    """One push of a sender, and what its lead should become."""

    kind: str
    method: str
    query: str = ""
    body: bytes = b""
    content_type: str | None = None
    sign: Callable[[str, bytes], dict[str, str]] | None = None
    """The sender's signature header of a body, made with the source's ``auth_secret``."""
    mapping: dict[str, str] = field(default_factory=dict)
    """The source's own mapping, for what the preset cannot know (which question of a Typeform asks the name)."""
    fields: dict[str, Any] = field(default_factory=dict)
    """The form's values in ``lead.created``."""
    lead_id: str | None = None
    """The sender's id of the lead in ``lead.created`` (None: it has none, and a repeat is known by its content)."""


@dataclass(frozen=True)
class Hub:
    """The module's server (``client`` talks to it over a socket) and its database."""

    client: httpx.AsyncClient
    db: Database

    async def push(
        self, source: dict[str, Any], sent: Sent, *, body: bytes | None = None, secret: str | None = None
    ) -> httpx.Response:
        """``sent`` as its sender sends it to the source's URL (``body`` instead of its own, signed or not with
        ``secret`` instead of the source's, to forge it)."""
        content = sent.body if body is None else body
        headers = {"content-type": sent.content_type} if sent.content_type else {}
        if sent.sign is not None:
            headers.update(sent.sign(secret or source["secrets"]["auth_secret"], sent.body))
        url = hook(source) + (f"?{sent.query}" if sent.query else "")
        return await self.client.request(sent.method, url, content=content or None, headers=headers)


@dataclass(frozen=True)
class Workspace:
    """A workspace of the shared server, with a published form."""

    hub: Hub
    tenant: Tenant
    form: dict[str, Any]

    @property
    def id(self) -> str:
        return self.tenant.workspace_id

    async def source(self, kind: str, **body: Any) -> dict[str, Any]:
        """A source of ``kind`` for the form, made through the API; its secrets are in the answer."""
        response = await self.hub.client.post(
            "/api/v1/sources",
            json={"kind": kind, "form_id": self.form["id"], "consent_purposes": ["sales_contact"], **body},
            headers=self.tenant.headers,
        )
        assert response.status_code == 201, response.text
        source: dict[str, Any] = response.json()
        return source

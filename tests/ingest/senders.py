"""Senders of inbound sources as the tests play them: adding a source, its hook, and a fake Meta Graph API."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web
from standardwebhooks import Webhook

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx

    from tests.conftest import Tenant

__all__ = ("GraphApi", "add_source", "fake_graph_api", "hook_path", "meta_leadgen", "proof_of", "standard_webhook")


async def add_source(client: httpx.AsyncClient, tenant: Tenant, form: dict[str, Any], **body: Any) -> dict[str, Any]:
    """A new source of ``form`` (covering its ``sales_contact`` purpose), with its secrets."""
    response = await client.post(
        "/api/v1/sources",
        json={"form_id": form["id"], "consent_purposes": ["sales_contact"], **body},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    source: dict[str, Any] = response.json()
    return source


def hook_path(source: dict[str, Any]) -> str:
    """Where the source's sender posts, relative to the app."""
    url: str = source["url"]
    return "/hooks/" + url.rsplit("/hooks/", 1)[1]


def standard_webhook(secret: str, payload: dict[str, Any], message_id: str) -> tuple[str, dict[str, str]]:
    """A Standard Webhooks request signed now with ``secret`` (a ``whsec_`` secret)."""
    body = json.dumps(payload)
    moment = datetime.now(UTC)
    headers = {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, moment, body),
        "content-type": "application/json",
    }
    return body, headers


def proof_of(token: str, app_secret: str) -> str:
    """Meta's ``appsecret_proof``: the HMAC-SHA256 of the access token keyed by the app secret, in hex."""
    return hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def meta_leadgen(app_secret: str, *leadgen_ids: str) -> tuple[bytes, dict[str, str]]:
    """A ``leadgen`` webhook of a page, signed with ``X-Hub-Signature-256`` as Meta signs it."""
    changes = [{"field": "leadgen", "value": {"leadgen_id": i, "page_id": "p1", "form_id": "f1"}} for i in leadgen_ids]
    body = json.dumps({"object": "page", "entry": [{"id": "p1", "time": 1, "changes": changes}]}).encode()
    signature = "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"content-type": "application/json", "x-hub-signature-256": signature}


@dataclass
class GraphApi:
    """A fake Graph API's address, what it was asked, and what it answers."""

    base: str
    seen: list[tuple[str, str]] = field(default_factory=list)
    """Every lead request's ``(access_token, appsecret_proof)``."""
    failures: int = 0
    """How many of the first requests fail with a 500."""
    broken: set[str] = field(default_factory=set)
    """Leadgen ids whose every request fails with a 500."""
    leads: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Leadgen id to the lead's ``field_data``; any other id gets Mei Lin's."""


_MEI_LIN = [{"name": "full_name", "values": ["Mei Lin"]}, {"name": "email", "values": ["mei@example.com"]}]


@contextlib.asynccontextmanager
async def fake_graph_api(app_secret: str, *, failures: int = 0) -> AsyncIterator[GraphApi]:
    """A Graph API on 127.0.0.1 that answers ``GET /v21.0/{leadgen_id}`` as Meta does, for an app that requires
    ``appsecret_proof`` (Meta's "Require App Secret" setting): a call without the right proof is refused with
    Meta's error, whatever its token. The lead's shape is the one Meta's "Retrieving Leads" guide shows."""
    api = GraphApi(base="", failures=failures)

    async def lead(request: web.Request) -> web.Response:
        token = request.query.get("access_token", "")
        proof = request.query.get("appsecret_proof", "")
        api.seen.append((token, proof))
        if not proof:
            message = "API calls from the server require an appsecret_proof argument"
            return web.json_response(
                {"error": {"message": message, "type": "GraphMethodException", "code": 100}}, status=400
            )
        if not hmac.compare_digest(proof, proof_of(token, app_secret)):
            message = "Invalid appsecret_proof provided in the API argument"
            return web.json_response(
                {"error": {"message": message, "type": "GraphMethodException", "code": 100}}, status=400
            )
        leadgen_id = request.match_info["leadgen_id"]
        if len(api.seen) <= api.failures or leadgen_id in api.broken:
            return web.Response(status=500, text="try later")
        return web.json_response(
            {
                "id": leadgen_id,
                "created_time": "2026-11-22T01:00:00+0000",
                "ad_id": "6045000000001",
                "form_id": "f1",
                "field_data": api.leads.get(leadgen_id, _MEI_LIN),
            }
        )

    app = web.Application()
    app.router.add_get("/v21.0/{leadgen_id}", lead)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    api.base = f"http://127.0.0.1:{runner.addresses[0][1]}/v21.0"
    try:
        yield api
    finally:
        await runner.cleanup()

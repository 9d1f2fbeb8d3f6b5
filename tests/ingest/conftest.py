"""Fixtures for ingest tests: an app with a fast worker, a published form, render tokens of a chosen age."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import uvicorn
from litestar.testing import AsyncTestClient
from standardwebhooks import Webhook

from app import create_app
from ingest.spam import issue_render_token
from tests.conftest import make_settings
from tests.delivery.conftest import FAST_WORKER

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from litestar.types import Receive, Send

    from core.settings import Settings
    from tests.conftest import Client, Tenant
    from tests.webhooks import Receiver

CONSENT_TEXTS = {
    "sales_contact": "I agree that Acme may contact me by email about this enquiry.",
    "marketing": "Send me product news by email. I can unsubscribe at any time.",
}
FORM: dict[str, Any] = {
    "name": "Contact sales",
    "status": "published",
    "fields": [
        {"name": "name", "type": "text", "required": True, "max_length": 120},
        {"name": "email", "type": "email", "required": True},
        {"name": "phone", "type": "phone"},
        {"name": "team_size", "type": "select", "options": ["1-10", "11-50", "51+"]},
        {"name": "topics", "type": "multiselect", "options": ["pricing", "security", "api"]},
        {"name": "seats", "type": "number"},
        {"name": "newsletter", "type": "checkbox"},
        {"name": "website", "type": "url"},
        {"name": "start", "type": "date"},
        {"name": "message", "type": "textarea"},
    ],
    "consents": [
        {"purpose": "sales_contact", "channel": "email", "text": CONSENT_TEXTS["sales_contact"], "required": True},
        {"purpose": "marketing", "channel": "email", "text": CONSENT_TEXTS["marketing"]},
    ],
    "settings": {"default_phone_region": "IN", "success_message": "Thanks!"},
}
INGEST = {
    **FAST_WORKER,
    "spam_min_fill_seconds": "2",
    # Every test request comes from the same client; the rate-limit tests set their own, tight limits.
    "rate_limit_ip_form": "10000/minute",
    "rate_limit_ip": "10000/minute",
}


class WithPeer:
    """An ASGI wrapper that makes requests come from ``host`` (the test client's peer is not an address)."""

    def __init__(self, app: Any, host: str) -> None:
        self.app = app
        self.host = host

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope["client"] = (self.host, 50_000)
        await self.app(scope, receive, send)


@pytest.fixture
def ingest_settings(database_url: str) -> Settings:
    return make_settings(database_url, **INGEST)


@pytest.fixture
async def app_client(ingest_settings: Settings) -> AsyncIterator[Client]:
    """The app with its in-process worker (delivering to 127.0.0.1 fast) and default limits."""
    async with AsyncTestClient(app=create_app(ingest_settings), base_url="http://testserver.local") as client:
        yield client


async def create_form(client: httpx.AsyncClient, tenant: Tenant, **changes: Any) -> dict[str, Any]:
    """Create (and by default publish) a form like ``FORM`` with ``changes`` applied at the top level."""
    body = {**FORM, **changes}
    response = await client.post("/api/v1/forms", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    form: dict[str, Any] = response.json()
    return form


async def add_endpoint(client: httpx.AsyncClient, tenant: Tenant, url: str) -> dict[str, Any]:
    response = await client.post("/api/v1/endpoints", json={"url": url}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    endpoint: dict[str, Any] = response.json()
    return endpoint


def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def token(settings: Settings, form_id: str, age: float = 10.0) -> str:
    """A render token for the form, issued ``age`` seconds ago."""
    return issue_render_token(settings, form_id=form_id, issued_at=time.time() - age)


def valid(**extra: Any) -> dict[str, Any]:
    """A valid JSON submission for ``FORM``."""
    return {"name": "Asha Rao", "email": "asha@example.com", "consent": ["sales_contact"], **extra}


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # pytest owns the signals of the test process


@contextlib.asynccontextmanager
async def serve(settings: Settings, port: int = 0) -> AsyncIterator[httpx.AsyncClient]:
    """The app on a real socket of 127.0.0.1, in this event loop, with a client that sends requests concurrently.

    Litestar's test client hands each request to the app synchronously, so concurrency tests need this instead.
    """
    server = _Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=60) as client:
            yield client
    finally:
        server.should_exit = True
        await task


def verified_event(endpoint: dict[str, Any], receiver: Receiver, index: int) -> dict[str, Any]:
    """The ``index``-th webhook the receiver got, its signature checked with the endpoint's secret."""
    headers, body = receiver.requests[index]
    verified: dict[str, Any] = Webhook(endpoint["secret"]).verify(body, headers)
    return verified


async def browser_post(client: Client, form: dict[str, Any], settings: Settings, **values: Any) -> str:
    """Post the form as a browser does (urlencoded, with a render token); returns where the 303 sends the person."""
    body = {"name": "Asha Rao", "email": "asha@example.com", "consent": ["sales_contact", "marketing"], **values}
    response = await client.post(
        f"/f/{form['slug']}", data={**body, "_t": token(settings, form["id"])}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return response.headers["location"]

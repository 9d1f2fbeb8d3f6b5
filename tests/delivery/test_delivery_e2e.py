"""Webhooks end to end: a real receiver on 127.0.0.1, the in-process worker, standardwebhooks verification."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from standardwebhooks import Webhook

from app import create_app
from delivery.models import Delivery, DeliveryAttempt
from delivery.outbox import enqueue
from tests.conftest import make_settings, new_tenant

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from core.database import Database


class Receiver:
    """A webhook receiver that answers from a script of status codes, then 200, and keeps what it got."""

    def __init__(self, script: list[int]) -> None:
        self.script = list(script)
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.url = ""
        self.arrived = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.read()))
        self.arrived.set()
        return web.Response(status=self.script.pop(0) if self.script else 200, text="ok")

    async def wait_for(self, count: int, seconds: float = 15.0) -> None:
        async def enough() -> None:
            while len(self.requests) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(enough(), seconds)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver([500, 500])
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    receiver.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield receiver
    finally:
        await runner.cleanup()


async def test_retried_deliveries_keep_their_id_and_verify(database_url: str, db: Database, receiver: Receiver) -> None:
    settings = make_settings(
        database_url,
        allow_private_webhook_targets="true",
        delivery_retry_schedule="0.2,0.2,0.2",
        delivery_poll_seconds="0.1",
    )
    tenant = await new_tenant(db, "Acme")
    async with AsyncTestClient(app=create_app(settings), base_url="http://testserver.local") as client:
        created = await client.post("/api/v1/endpoints", json={"url": receiver.url}, headers=tenant.headers)
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]
        assert secret.startswith("whsec_")

        payload: dict[str, Any] = {"lead": {"id": "lead_1", "email": "a@example.com"}}
        async with db.session(write=True) as session:
            message = await enqueue(
                session, workspace_id=tenant.workspace_id, event_type="lead.created", payload=payload
            )
        await receiver.wait_for(3)

    ids = {headers["webhook-id"] for headers, _ in receiver.requests}
    assert ids == {message.id}
    verifier = Webhook(secret)
    for headers, body in receiver.requests:
        event = verifier.verify(body, headers)
        assert event["type"] == "lead.created"
        assert event["data"] == payload
    async with db.session(write=False) as session:
        delivery = await session.scalar(select(Delivery).where(Delivery.message_id == message.id))
        assert delivery is not None
        assert delivery.status == "succeeded"
        assert delivery.attempt_count == 3
        attempts = (
            await session.scalars(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery.id))
        ).all()
    assert sorted(a.status_code or 0 for a in attempts) == [200, 500, 500]


async def test_nothing_is_sent_for_a_rolled_back_transaction(
    database_url: str, db: Database, receiver: Receiver
) -> None:
    settings = make_settings(database_url, allow_private_webhook_targets="true", delivery_poll_seconds="0.1")
    tenant = await new_tenant(db, "Acme")
    async with AsyncTestClient(app=create_app(settings), base_url="http://testserver.local") as client:
        await client.post("/api/v1/endpoints", json={"url": receiver.url}, headers=tenant.headers)

        async def enqueue_then_fail() -> None:
            async with db.session(write=True) as session:
                await enqueue(session, workspace_id=tenant.workspace_id, event_type="lead.created", payload={})
                raise RuntimeError("the caller's change failed")

        with pytest.raises(RuntimeError):
            await enqueue_then_fail()
        await asyncio.sleep(0.5)
    assert receiver.requests == []

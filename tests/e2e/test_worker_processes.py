"""Delivery workers as real processes: killed with SIGKILL, and two of them racing for the same rows."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select

from delivery.models import Delivery, WebhookEndpoint
from delivery.outbox import enqueue
from delivery.signing import new_secret
from tests.conftest import TEST_ENCRYPTION_KEY, TEST_SECRET_KEY, new_tenant

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from core.database import Database
    from tests.webhooks import Receiver

pytestmark = pytest.mark.slow


@contextmanager
def worker_process(database_url: str, log: Path, **settings: str) -> Iterator[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADWIRE_")}
    env.update(
        LEADWIRE_DATABASE_URL=database_url,
        LEADWIRE_SECRET_KEY=TEST_SECRET_KEY,
        LEADWIRE_ENCRYPTION_KEYS=TEST_ENCRYPTION_KEY,  # the key this test's own database handle encrypts with
        LEADWIRE_ALLOW_PRIVATE_WEBHOOK_TARGETS="true",
        LEADWIRE_DELIVERY_POLL_SECONDS="0.1",
        LEADWIRE_LOG_LEVEL="warning",
    )
    env.update({f"LEADWIRE_{key.upper()}": value for key, value in settings.items()})
    with log.open("ab") as output:
        process = subprocess.Popen([sys.executable, "-m", "cli", "worker"], env=env, stdout=output, stderr=output)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def add_endpoint(db: Database, workspace_id: str, url: str) -> None:
    async with db.session(write=True) as session:
        session.add(
            WebhookEndpoint(
                id=f"ep_{workspace_id[-8:]}",
                workspace_id=workspace_id,
                url=url,
                event_types=[],
                secrets=[{"secret": new_secret(), "expires_at": None}],
            )
        )


async def publish_many(db: Database, workspace_id: str, count: int) -> set[str]:
    ids: set[str] = set()
    for start in range(0, count, 500):
        async with db.session(write=True) as session:
            for index in range(start, min(count, start + 500)):
                message = await enqueue(
                    session, workspace_id=workspace_id, event_type="lead.created", payload={"n": index}
                )
                ids.add(message.id)
    return ids


async def unfinished(db: Database) -> int:
    async with db.session(write=False) as session:
        return int(await session.scalar(select(func.count()).where(Delivery.status != "succeeded")) or 0)


async def test_a_worker_killed_mid_batch_loses_nothing(
    database_url: str, db: Database, receiver: Receiver, tmp_path: Path
) -> None:
    tenant = await new_tenant(db, "Acme")
    await add_endpoint(db, tenant.workspace_id, receiver.url)
    ids = await publish_many(db, tenant.workspace_id, 200)
    receiver.delay = 0.05  # slow enough that the kill lands with requests in flight
    log = tmp_path / "worker.log"
    fast = {"delivery_lease_seconds": "5", "delivery_timeout_seconds": "2", "delivery_concurrency": "20"}
    with worker_process(database_url, log, **fast) as first:
        await receiver.wait_for(30, seconds=30)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    delivered_before_kill = len(receiver.requests)
    assert 30 <= delivered_before_kill < 200
    assert await unfinished(db) > 0

    receiver.delay = 0.0
    with worker_process(database_url, log, **fast):
        for _ in range(600):
            if await unfinished(db) == 0:
                break
            await asyncio.sleep(0.1)
    assert await unfinished(db) == 0, log.read_text()
    assert {headers["webhook-id"] for headers, _ in receiver.requests} == ids
    async with db.session(write=False) as session:
        leased = await session.scalar(select(func.count()).where(Delivery.lease_token.is_not(None)))
    assert leased == 0
    print(f"\n  SIGKILL test: {delivered_before_kill} requests before the kill, {len(receiver.requests)} in all")


async def test_two_workers_never_send_the_same_message_at_once(
    database_url: str, db: Database, receiver: Receiver, tmp_path: Path
) -> None:
    tenant = await new_tenant(db, "Acme")
    await add_endpoint(db, tenant.workspace_id, receiver.url)
    ids = await publish_many(db, tenant.workspace_id, 2_000)
    log = tmp_path / "workers.log"
    with (
        worker_process(database_url, log, delivery_concurrency="50"),
        worker_process(database_url, log, delivery_concurrency="50"),
    ):
        await receiver.wait_for(2_000, seconds=120)
        for _ in range(100):
            if await unfinished(db) == 0:
                break
            await asyncio.sleep(0.1)
    received = [headers["webhook-id"] for headers, _ in receiver.requests]
    assert receiver.overlaps == 0
    assert len(received) == 2_000, log.read_text()
    assert set(received) == ids
    assert await unfinished(db) == 0

"""A ``leadwire worker`` SIGKILLed in the middle of a pull window: started again, it loses and repeats no lead.

TradeIndia's fake (``tests/fakes/tradeindia.py``) answers two inquiries a page and holds its answer to page 2 until
released: by then the worker has committed page 1's leads, and the window is not finished, so the kill lands inside
it. The worker started again takes the window again, whole, once the dead worker's lease has run out: page 1's
leads are recognised by their ``rfi_id`` and the rest are taken. Every inquiry is then stored once and delivered.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from typing import TYPE_CHECKING

from bench.cluster import Cluster, leadwire_env
from core.database import Database
from tests.conftest import TEST_ENCRYPTION_KEY, TEST_SECRET_KEY, make_settings, new_tenant
from tests.fakes.tradeindia import FakeTradeIndia, tradeindia_inquiry
from tests.ingest.conftest import INGEST, add_endpoint, create_form, serve
from tests.ingest.pulls import PULL_FORM, create_pull_source, pull_state, settled, stored

if TYPE_CHECKING:
    from pathlib import Path

    from tests.webhooks import Receiver

CREDENTIALS = {"userid": "3810466", "profile_id": "5164844", "key": "f8b778dc1fa04e148be1b004a416c6ad"}
WORKER = {
    "allow_private_webhook_targets": "true",
    "delivery_poll_seconds": "0.1",
    "delivery_lease_seconds": "5",
    "delivery_timeout_seconds": "2",
    "delivery_retry_schedule": "0.2,0.5,1,1,1",
    "pull_interval_seconds": "1",
    "pull_lease_seconds": "5",
}


async def _delivered(receiver: Receiver, expected: set[str], seconds: float = 30.0) -> set[str]:
    """The submission ids the receiver acknowledged, once they are all of ``expected`` (or the time is up)."""
    deadline = time.monotonic() + seconds
    while True:
        got = {
            json.loads(body)["data"]["submission"]["id"]
            for (_, body), status in zip(receiver.requests, receiver.statuses, strict=True)
            if status < 300
        }
        if got >= expected or time.monotonic() > deadline:
            return got
        await asyncio.sleep(0.1)


async def test_a_worker_killed_mid_window_loses_and_repeats_no_lead(
    receiver: Receiver, tmp_path: Path, sqlite_template: Path
) -> None:
    shutil.copyfile(sqlite_template, tmp_path / "leadwire.db")
    url = f"sqlite+aiosqlite:///{tmp_path}/leadwire.db"
    inquiries = [
        tradeindia_inquiry(f"10017709{n:02d}", 10 + n, sender_name=f"Buyer {n}", sender_email=f"buyer{n}@example.com")
        for n in range(5)
    ]
    fake = FakeTradeIndia(**CREDENTIALS, inquiries=inquiries)
    fake.page_size = 2
    fake.hold_page = 2
    db = Database(make_settings(url))
    try:
        async with fake.serving() as base:
            api = make_settings(url, **INGEST, tradeindia_base_url=base, run_worker="false")
            async with serve(api) as client:  # the API alone: the worker process below pulls and delivers
                tenant = await new_tenant(db, "Acme")
                form = await create_form(client, tenant, **PULL_FORM)
                await add_endpoint(client, tenant, receiver.url)
                source = await create_pull_source(client, tenant, form, "tradeindia", CREDENTIALS)
            env = leadwire_env(
                url, TEST_SECRET_KEY, encryption_keys=TEST_ENCRYPTION_KEY, tradeindia_base_url=base, **WORKER
            )
            with Cluster(tmp_path) as cluster:
                worker = cluster.add("worker", "worker", env)
                await cluster.start()
                await asyncio.wait_for(fake.held.wait(), 30)  # page 2 asked for: page 1 is committed
                committed_before_kill = len(await stored(db, source["id"]))
                await asyncio.to_thread(worker.kill)
                fake.release.set()
                after_kill = await pull_state(db, source["id"])
                worker.spawn()
                await worker.ready()
                state = await settled(db, source["id"], pulls=1, seconds=30)
                submissions = await stored(db, source["id"])
                delivered = await _delivered(receiver, {s.id for s in submissions})
                logs = cluster.logs()
    finally:
        await db.dispose()

    assert committed_before_kill == 2, logs
    assert after_kill.cursor is None  # the window was not finished: it is taken again, whole
    assert len(submissions) == 5, logs
    assert sorted(s.fields["name"] for s in submissions) == [f"Buyer {n}" for n in range(5)]
    assert {s.verdict for s in submissions} == {"accepted"}
    assert state.cursor is not None
    assert (state.pulls, state.failures, state.stored, state.lease_owner) == (1, 0, 3, None)
    assert delivered == {s.id for s in submissions}

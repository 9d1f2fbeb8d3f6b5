"""Leadwire as separate processes under faults: nothing acknowledged is lost, nothing is delivered twice at once.

Two scenarios, each a bounded load of distinct submissions sent the way a careful client sends them (an
``Idempotency-Key`` per submission, retried on a connection error or a 5xx, on the next server):

- scale-out: two ``leadwire serve`` and two ``leadwire worker`` processes on PostgreSQL and Redis. During the load a
  worker is SIGKILLed and started again, a server is restarted, and the receiver answers 503 for a while;
- one process on SQLite: ``leadwire serve`` (with its in-process worker) is SIGKILLed during the load and started again.

Afterwards every acknowledged submission is stored exactly once and was delivered, no delivery is left leased, and
(scale-out) one client address over its limit is refused by both servers. The counts are printed.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import func, select

from bench.cluster import Cluster, Node, leadwire_env
from core.database import Database
from delivery.models import Delivery, DeliveryAttempt
from leads.models import Submission
from tests.conftest import TEST_SECRET_KEY, _truncate_postgres, make_settings, new_tenant
from tests.ingest.conftest import add_endpoint, create_form

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.conftest import Tenant
    from tests.webhooks import Receiver

pytestmark = pytest.mark.slow

SUBMISSIONS_SCALEOUT = 3_000
SUBMISSIONS_SQLITE = 1_500
CONCURRENCY = 32
RETRY_BUDGET_S = 90.0
"""How long one submission keeps being retried (a restart takes a few seconds) before the test gives up on it."""
DRAIN_TIMEOUT_S = 240.0

FAST_DELIVERY = {
    "allow_private_webhook_targets": "true",
    "delivery_poll_seconds": "0.1",
    "delivery_lease_seconds": "5",
    "delivery_timeout_seconds": "2",
    # About 170 s of retries: longer than the receiver's outage can last on a loaded machine (it ends with the
    # load's progress), so that a delivery fails only if something is really lost, never by running out of tries.
    "delivery_retry_schedule": ",".join(["0.5", "1", "1", "2", "2", "2", "3", "3", "3", *["5"] * 30]),
}
INGEST_LIMITS = {
    # Each submission of the load comes from its own address; the form may take all of them.
    "trusted_proxies": "127.0.0.1",
    "rate_limit_ip_form": "10/minute",
    "rate_limit_ip": "30/minute",
    "rate_limit_form": "1000000/minute",
}


def _addresses() -> Callable[[int], str]:
    """Client addresses for one run: consecutive from a random point of 10.0.0.0/8, none repeated."""
    base = random.randrange(0, 2**24 - 100_000)

    def address(index: int) -> str:
        value = base + index
        return f"10.{value >> 16 & 255}.{value >> 8 & 255}.{value & 255}"

    return address


@dataclass
class Load:
    """Distinct submissions over several servers, each retried with its idempotency key until acknowledged."""

    servers: list[Node]
    slug: str
    count: int
    address: Callable[[int], str] = field(default_factory=_addresses)
    run: str = field(default_factory=lambda: secrets.token_hex(4))
    acked: dict[int, str] = field(default_factory=dict)
    """Submission index -> the id the server acknowledged (201)."""
    requests: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    """Answers that were not 201, by status or transport error: each was retried."""
    replayed: int = 0
    progress: asyncio.Event = field(default_factory=asyncio.Event)

    async def run_all(self, concurrency: int = CONCURRENCY) -> None:
        indices = iter(range(self.count))
        limits = httpx.Limits(max_connections=concurrency * len(self.servers))
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:

            async def lane() -> None:
                for index in indices:
                    await self.submit(client, index)

            await asyncio.gather(*(lane() for _ in range(concurrency)))

    async def submit(self, client: httpx.AsyncClient, index: int) -> None:
        body = {"name": f"Load {index}", "email": f"load-{self.run}-{index}@example.com", "consent": ["sales_contact"]}
        headers = {"X-Forwarded-For": self.address(index), "Idempotency-Key": f"load-{self.run}-{index}"}
        deadline = time.monotonic() + RETRY_BUDGET_S
        for attempt in itertools.count():
            server = self.servers[(index + attempt) % len(self.servers)]
            self.requests += 1
            try:
                response = await client.post(f"{server.url}/f/{self.slug}", json=body, headers=headers)
            except httpx.TransportError as exc:
                self.failures[type(exc).__name__] += 1
            else:
                if response.status_code == 201:
                    self.acked[index] = response.json()["id"]
                    self.progress.set()
                    self.replayed += response.headers.get("idempotent-replayed") == "true"
                    return
                self.failures[str(response.status_code)] += 1
                # 409: the same key is still in flight elsewhere (its first request on a server that stopped).
                if response.status_code < 500 and response.status_code != 409:
                    raise AssertionError(f"submission {index}: {response.status_code} {response.text}")
            if time.monotonic() > deadline:
                raise AssertionError(f"submission {index} not acknowledged in {RETRY_BUDGET_S:g} s: {self.failures}")
            await asyncio.sleep(0.2)

    async def until(self, share: float) -> None:
        """Wait until this share of the load has been acknowledged."""
        while len(self.acked) < share * self.count:
            self.progress.clear()
            await self.progress.wait()


@dataclass
class Outcome:
    stored: list[str]
    deliveries: dict[str, int]
    leased: int
    attempts: int


async def _drained(db: Database) -> Outcome:
    async with db.session(write=False) as session:
        stored = list(await session.scalars(select(Submission.id)))
        rows = await session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
        deliveries = {str(status): int(count) for status, count in rows}
        leased = await session.scalar(select(func.count()).where(Delivery.lease_token.is_not(None)))
        attempts = await session.scalar(select(func.count()).select_from(DeliveryAttempt))
    return Outcome(stored, deliveries, int(leased or 0), int(attempts or 0))


async def _wait_for_deliveries(db: Database, expected: int, logs: Callable[[], str]) -> Outcome:
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while True:
        outcome = await _drained(db)
        if outcome.deliveries.get("succeeded", 0) >= expected and outcome.leased == 0:
            return outcome
        if time.monotonic() > deadline:
            raise AssertionError(f"deliveries not done in {DRAIN_TIMEOUT_S:g} s: {outcome}\n{logs()}")
        await asyncio.sleep(0.25)


def _delivered(receiver: Receiver) -> tuple[set[str], Counter[str]]:
    """Submission ids the receiver acknowledged (2xx), and how often each ``webhook-id`` arrived."""
    submissions: set[str] = set()
    arrivals: Counter[str] = Counter()
    for (headers, body), status in zip(receiver.requests, receiver.statuses, strict=True):
        arrivals[headers["webhook-id"]] += 1
        if status < 300:
            submissions.add(json.loads(body)["data"]["submission"]["id"])
    return submissions, arrivals


async def _setup(server: Node, db: Database, receiver: Receiver) -> tuple[Tenant, str]:
    tenant = await new_tenant(db, "Acme")
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        form = await create_form(client, tenant)
        await add_endpoint(client, tenant, receiver.url)
    return tenant, str(form["slug"])


async def _in_thread(action: Callable[[], Any]) -> None:
    """Blocking process control off the event loop: the receiver and the load run on it."""
    await asyncio.to_thread(action)


async def _restart(node: Node, stop: Callable[[], Any]) -> float:
    started = time.monotonic()
    await _in_thread(stop)
    node.spawn()
    await node.ready()
    return time.monotonic() - started


async def _scale_out_faults(load: Load, worker: Node, server: Node, receiver: Receiver) -> dict[str, float]:
    """During the load: SIGKILL a worker and start it again, 503 from the receiver, restart a server (SIGTERM)."""
    faults: dict[str, float] = {}
    await load.until(0.15)
    await _in_thread(worker.kill)
    faults["worker killed at"] = len(load.acked)
    await load.until(0.25)
    worker.spawn()
    await worker.ready()
    faults["worker restarted at"] = len(load.acked)
    await load.until(0.35)
    receiver.outage = 503
    outage_started = time.monotonic()
    faults["receiver 503 from"] = len(load.acked)
    await load.until(0.50)
    faults["server restarted at"] = len(load.acked)
    faults["server restart took s"] = round(await _restart(server, server.stop), 2)
    await load.until(0.65)
    await asyncio.sleep(max(0.0, 3.0 - (time.monotonic() - outage_started)))
    receiver.outage = None
    faults["receiver 503 until"] = len(load.acked)
    return faults


@pytest.fixture
def postgres_database(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue("postgres_url")
    _truncate_postgres(url)
    return url


async def test_two_servers_and_two_workers_on_postgres_and_redis_lose_nothing_under_faults(
    postgres_database: str, redis_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    settings = {**FAST_DELIVERY, **INGEST_LIMITS, "redis_url": redis_url}
    env = leadwire_env(postgres_database, TEST_SECRET_KEY, **settings)
    serve_env = {**env, "LEADWIRE_RUN_WORKER": "false"}
    db = Database(make_settings(postgres_database))
    with Cluster(tmp_path) as cluster:
        server_a = cluster.add("serve-a", "serve", serve_env)
        server_b = cluster.add("serve-b", "serve", serve_env)
        worker_a = cluster.add("worker-a", "worker", env)
        cluster.add("worker-b", "worker", env)
        try:
            await cluster.start()
            _, slug = await _setup(server_a, db, receiver)
            load = Load([server_a, server_b], slug, SUBMISSIONS_SCALEOUT)
            started = time.monotonic()
            _, faults = await asyncio.gather(load.run_all(), _scale_out_faults(load, worker_a, server_b, receiver))
            load_seconds = time.monotonic() - started
            refused, probed = await _limit_probe([server_a, server_b], slug, load.address(SUBMISSIONS_SCALEOUT + 10))
            outcome = await _wait_for_deliveries(db, SUBMISSIONS_SCALEOUT + len(probed), cluster.logs)
        finally:
            await db.dispose()

    delivered, arrivals = _delivered(receiver)
    acked = set(load.acked.values())
    expected = acked | probed
    print(
        f"\n  scale-out: {SUBMISSIONS_SCALEOUT} submissions in {load_seconds:.1f} s over 2 servers, "
        f"{load.requests} requests ({dict(load.failures)} retried, {load.replayed} replayed); faults {faults}"
        f"\n  stored {len(outcome.stored)}, deliveries {outcome.deliveries}, attempts {outcome.attempts}, "
        f"receiver got {len(receiver.requests)} requests ({Counter(receiver.statuses)}), "
        f"{sum(n > 1 for n in arrivals.values())} webhook-ids more than once, {receiver.overlaps} at the same time; "
        f"rate-limit probe {refused}"
    )
    assert len(load.acked) == SUBMISSIONS_SCALEOUT
    assert len(acked) == SUBMISSIONS_SCALEOUT, "two submissions were acknowledged with the same id"
    assert sorted(outcome.stored) == sorted(expected), "stored submissions differ from acknowledged ones"
    assert delivered == expected, f"{len(expected - delivered)} acknowledged submissions were not delivered"
    assert outcome.deliveries == {"succeeded": len(expected)}
    assert outcome.leased == 0
    assert receiver.overlaps == 0
    assert receiver.statuses.count(503) > 0, "the outage happened while nothing was being delivered"
    assert faults["server restarted at"] < SUBMISSIONS_SCALEOUT, "the server restart did not happen during the load"
    # 10 per minute for one address and form, counted in Redis: both servers refuse once either has counted 10.
    assert refused == [201] * 10 + [429] * 4


async def _limit_probe(servers: list[Node], slug: str, address: str) -> tuple[list[int], set[str]]:
    """One client address, alternating between the servers, past its per-form limit: statuses, accepted ids."""
    statuses = []
    accepted = set()
    async with httpx.AsyncClient(timeout=30) as client:
        for index in range(14):
            server = servers[index % len(servers)]
            response = await client.post(
                f"{server.url}/f/{slug}",
                json={"name": "Probe", "email": f"probe-{index}@example.com", "consent": ["sales_contact"]},
                headers={"X-Forwarded-For": address},
            )
            statuses.append(response.status_code)
            if response.status_code == 201:
                accepted.add(response.json()["id"])
    return statuses, accepted


async def test_one_sqlite_server_killed_during_load_loses_nothing_acknowledged(
    receiver: Receiver, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/leadwire.db"
    env = leadwire_env(url, TEST_SECRET_KEY, **FAST_DELIVERY, **INGEST_LIMITS)
    db = Database(make_settings(url))
    with Cluster(tmp_path) as cluster:
        server = cluster.add("serve", "serve", env)
        try:
            await cluster.start()  # `leadwire serve` migrates its SQLite file and runs the worker in-process
            _, slug = await _setup(server, db, receiver)
            load = Load([server], slug, SUBMISSIONS_SQLITE)
            faults: dict[str, float] = {}

            async def inject() -> None:
                await load.until(0.4)
                faults["killed at"] = len(load.acked)
                faults["restart took s"] = round(await _restart(server, server.kill), 2)
                faults["acknowledged when up again"] = len(load.acked)

            started = time.monotonic()
            await asyncio.gather(load.run_all(concurrency=16), inject())
            load_seconds = time.monotonic() - started
            outcome = await _wait_for_deliveries(db, SUBMISSIONS_SQLITE, cluster.logs)
        finally:
            await db.dispose()

    delivered, arrivals = _delivered(receiver)
    acked = set(load.acked.values())
    print(
        f"\n  SQLite: {SUBMISSIONS_SQLITE} submissions in {load_seconds:.1f} s, {load.requests} requests "
        f"({dict(load.failures)} retried, {load.replayed} replayed); faults {faults}"
        f"\n  stored {len(outcome.stored)}, deliveries {outcome.deliveries}, attempts {outcome.attempts}, "
        f"{sum(n > 1 for n in arrivals.values())} webhook-ids more than once, {receiver.overlaps} at the same time"
    )
    assert len(acked) == SUBMISSIONS_SQLITE
    assert sorted(outcome.stored) == sorted(acked)
    assert delivered == acked
    assert outcome.deliveries == {"succeeded": SUBMISSIONS_SQLITE}
    assert outcome.leased == 0
    assert receiver.overlaps == 0
    assert faults["killed at"] < SUBMISSIONS_SQLITE

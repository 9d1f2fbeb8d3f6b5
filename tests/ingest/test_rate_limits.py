"""Rate limits: per client and form, per client, per form; shared through Redis; never off, never blocking."""

from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING

from litestar.testing import AsyncTestClient

from app import create_app
from tests.conftest import make_settings
from tests.ingest.conftest import INGEST, WithPeer, create_form, valid

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

    from tests.conftest import Client, Tenant

LIMITED = {**INGEST, "rate_limit_ip_form": "3/minute", "rate_limit_ip": "5/minute", "rate_limit_form": "8/minute"}


def _random_ip() -> str:
    return f"198.51.{random.randint(0, 255)}.{random.randint(1, 254)}"


def _client(database_url: str, peer: str | WithPeer, **extra: str) -> AbstractAsyncContextManager[Client]:
    """A client of a new app whose requests come from ``peer`` (a wrapper given here can change it later)."""
    app = create_app(make_settings(database_url, **{**LIMITED, **extra}))
    wrapper = peer if isinstance(peer, WithPeer) else WithPeer(None, peer)
    wrapper.app = app
    return AsyncTestClient(app=wrapper, base_url="http://testserver.local")  # type: ignore[arg-type]


async def _statuses(client: Client, slug: str, count: int, **headers: str) -> list[int]:
    statuses = []
    for i in range(count):
        response = await client.post(f"/f/{slug}", json=valid(email=f"p{i}@example.com"), headers=headers)
        statuses.append(response.status_code)
    return statuses


async def test_a_client_over_its_limit_for_a_form_gets_429_with_retry_after(database_url: str, tenant: Tenant) -> None:
    async with _client(database_url, _random_ip()) as client:
        form = await create_form(client, tenant)

        statuses = await _statuses(client, form["slug"], 4)
        refused = await client.post(f"/f/{form['slug']}", json=valid())

    assert statuses == [201, 201, 201, 429]
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.json()["retry_after"] == int(refused.headers["retry-after"])


async def test_the_limit_per_client_spans_forms_and_the_limit_per_form_spans_clients(
    database_url: str, tenant: Tenant
) -> None:
    peer = WithPeer(None, _random_ip())
    async with _client(database_url, peer) as client:
        forms = [await create_form(client, tenant) for _ in range(3)]
        per_client = [*await _statuses(client, forms[0]["slug"], 3), *await _statuses(client, forms[1]["slug"], 3)]
        assert per_client == [201, 201, 201, 201, 201, 429]

        per_form = []
        for _ in range(3):
            peer.host = _random_ip()  # another client
            per_form += await _statuses(client, forms[2]["slug"], 3)
    assert per_form == [201] * 8 + [429]


async def test_forwarded_for_is_believed_only_from_a_trusted_proxy(database_url: str, tenant: Tenant) -> None:
    async with _client(database_url, "10.0.0.5", trusted_proxies="10.0.0.0/8") as via_proxy:
        form = await create_form(via_proxy, tenant)
        alice = await _statuses(via_proxy, form["slug"], 4, **{"X-Forwarded-For": "203.0.113.7"})
        bob = await _statuses(via_proxy, form["slug"], 1, **{"X-Forwarded-For": "203.0.113.8, 10.0.0.9"})
    async with _client(database_url, _random_ip()) as direct:
        spoofed = await _statuses(direct, form["slug"], 4, **{"X-Forwarded-For": f"{_random_ip()}"})

    assert alice == [201, 201, 201, 429]
    assert bob == [201]
    assert spoofed == [201, 201, 201, 429]  # a client cannot reset its count by naming another address


async def test_a_refused_request_does_not_read_the_body(database_url: str, tenant: Tenant) -> None:
    async with _client(database_url, _random_ip(), rate_limit_ip_form="1/minute") as client:
        form = await create_form(client, tenant)
        await client.post(f"/f/{form['slug']}", json=valid())
        refused = await client.post(
            f"/f/{form['slug']}", content=b"{not json", headers={"Content-Type": "application/json"}
        )

    assert refused.status_code == 429


async def test_limits_are_shared_by_every_instance_through_redis(
    database_url: str, tenant: Tenant, redis_url: str
) -> None:
    peer = _random_ip()
    async with _client(database_url, peer, redis_url=redis_url) as one:
        form = await create_form(one, tenant)
        first = await _statuses(one, form["slug"], 2)
    async with _client(database_url, peer, redis_url=redis_url) as two:
        second = await _statuses(two, form["slug"], 2)

    assert first == [201, 201]
    assert second == [201, 429]


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def test_when_redis_is_down_limits_are_kept_in_process_and_it_is_logged(
    database_url: str, tenant: Tenant
) -> None:
    records = _Records()
    logging.getLogger("leadwire.ratelimit").addHandler(records)
    peer = WithPeer(None, _random_ip())
    try:
        async with _client(database_url, peer, redis_url="redis://127.0.0.1:1/0") as client:
            form = await create_form(client, tenant)
            statuses = await _statuses(client, form["slug"], 4)
            keyed = await client.post(
                f"/f/{form['slug']}", json=valid(email="k@example.com"), headers={"Idempotency-Key": "k"}
            )
            fallbacks = peer.app.state.submit_limiter.fallbacks
    finally:
        logging.getLogger("leadwire.ratelimit").removeHandler(records)

    assert statuses == [201, 201, 201, 429]
    assert keyed.status_code == 429  # the in-process count goes on: no prospect refused, no limit lifted
    assert fallbacks >= 5  # every check of every request, counted in-process
    assert any("Redis unavailable" in message for message in records.messages)


async def test_unknown_forms_count_against_the_client_only(database_url: str, tenant: Tenant) -> None:
    async with _client(database_url, _random_ip()) as client:
        form = await create_form(client, tenant)
        probes = [(await client.post(f"/f/nosuchform{i:06d}", json=valid())).status_code for i in range(5)]
        after = await client.post(f"/f/{form['slug']}", json=valid())

    assert probes == [404] * 5
    assert after.status_code == 429  # the per-client limit (5/minute) is used up by the probes


async def test_ipv6_clients_share_a_limit_per_64_network(database_url: str, tenant: Tenant) -> None:
    peer = WithPeer(None, "2001:db8:77:1::1")
    async with _client(database_url, peer) as client:
        form = await create_form(client, tenant)
        statuses = []
        for host in range(1, 5):
            peer.host = f"2001:db8:77:1::{host}"
            statuses.append(
                (await client.post(f"/f/{form['slug']}", json=valid(email=f"v{host}@example.com"))).status_code
            )

    assert statuses == [201, 201, 201, 429]

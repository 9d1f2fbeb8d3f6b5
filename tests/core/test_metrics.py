"""GET /metrics: Prometheus text with submissions, ingest latency, deliveries, attempts, the queue, refusals."""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

from litestar.testing import AsyncTestClient

from app import create_app
from tests.conftest import make_settings
from tests.ingest.conftest import INGEST, add_endpoint, create_form, valid

if TYPE_CHECKING:
    from tests.conftest import Tenant
    from tests.webhooks import Receiver


def _value(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, re.M)
    assert match is not None, name
    return float(match[1])


async def test_metrics_count_what_happened(database_url: str, tenant: Tenant, receiver: Receiver) -> None:
    settings = make_settings(database_url, **{**INGEST, "rate_limit_ip_form": "3/minute"})
    async with AsyncTestClient(app=create_app(settings), base_url="http://testserver.local") as client:
        form = await create_form(client, tenant)
        await add_endpoint(client, tenant, receiver.url)
        await client.post(f"/f/{form['slug']}", json=valid())
        await client.post(f"/f/{form['slug']}", json=valid())  # a duplicate
        await client.post(f"/f/{form['slug']}", json=valid(email="b@example.com", _hp="x"))  # spam
        refused = await client.post(f"/f/{form['slug']}", json=valid(email="c@example.com"))
        await receiver.wait_for(1)
        for _ in range(100):  # the worker records the attempt just after the receiver has answered
            response = await client.get("/metrics")
            if 'leadwire_delivery_attempts_total{outcome="success"}' in response.text:
                break
            await asyncio.sleep(0.05)

    text = response.text
    assert refused.status_code == 429
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert _value(text, 'leadwire_submissions_total{verdict="accepted"}') == 1
    assert _value(text, 'leadwire_submissions_total{verdict="duplicate"}') == 1
    assert _value(text, 'leadwire_submissions_total{verdict="spam"}') == 1
    assert _value(text, 'leadwire_rate_limited_total{limit="ip_form"}') == 1
    assert _value(text, "leadwire_ingest_seconds_count") == 3
    assert _value(text, 'leadwire_delivery_attempts_total{outcome="success"}') >= 1
    assert _value(text, "leadwire_delivery_attempt_seconds_count") >= 1
    assert "leadwire_delivery_queue_depth" in text
    assert "leadwire_delivery_oldest_due_seconds" in text

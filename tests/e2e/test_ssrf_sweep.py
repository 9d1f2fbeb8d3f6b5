"""Every way a URL enters Leadwire, tried against a canary on 127.0.0.1 that must never be contacted.

URLs come in through the admin API (webhook endpoints on create and on update, a form's redirect and privacy notice
links, the workspace's privacy policy link), through submissions (page URL, referrer, URL fields), through inbound
sources (Standard Webhooks payloads, Meta leadgen ids that become a Graph API path) and through leads fetched from
the Graph API. Leadwire fetches only two of them: webhook endpoints, which must be public addresses however they are
spelled, and Graph API paths, which must be Meta's numeric ids. The rest are stored or shown, never fetched; links
shown to people must be http(s). The in-process worker and the Graph fetcher run throughout; afterwards the canary
has had no request at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
from typing import TYPE_CHECKING

from aiohttp import web

from tests.conftest import make_settings
from tests.ingest.conftest import INGEST, create_form, serve
from tests.ingest.senders import add_source as _source
from tests.ingest.senders import hook_path as _hook
from tests.ingest.test_sources import _signed

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx

    from tests.conftest import Tenant
    from tests.webhooks import Receiver

SPELLINGS = [
    "http://127.0.0.1:{port}/hook",
    "http://localhost:{port}/hook",
    "http://localhost.:{port}/hook",
    "http://127.1:{port}/hook",
    "http://2130706433:{port}/hook",
    "http://0x7f000001:{port}/hook",
    "http://0177.0.0.1:{port}/hook",
    "http://[::1]:{port}/hook",
    "http://[::ffff:127.0.0.1]:{port}/hook",
    "http://[::ffff:7f00:1]:{port}/hook",
    "http://0.0.0.0:{port}/hook",
    "http://user:pass@127.0.0.1:{port}/hook",
    "http://93.184.216.34@127.0.0.1:{port}/hook",
    "http://127.0.0.1.nip.io:{port}/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1:{port}/hook",
    "http://[fd00::1]:{port}/hook",
    "file:///etc/passwd",
    "gopher://127.0.0.1:{port}/_x",
    "ftp://127.0.0.1:{port}/x",
]
NOT_LINKS = ["javascript:alert(document.cookie)", "data:text/html,<script>alert(1)</script>", "//127.0.0.1/x"]


def _refused(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, (response.request.url, response.request.content, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in {error["field"] for error in response.json()["errors"]}, response.text


async def _admin_api_refuses(client: httpx.AsyncClient, tenant: Tenant, canary: str, port: int) -> int:
    """Webhook URLs that lead inside, and links for people that are not http(s): each is a 422 naming the field."""
    refused = 0
    # A public address (no DNS needed) for an endpoint that only takes an event nothing here sends.
    parked = await client.post(
        "/api/v1/endpoints",
        json={"url": "https://93.184.216.34/hooks", "event_types": ["lead.nothing_sends_this"]},
        headers=tenant.headers,
    )
    assert parked.status_code == 201, parked.text
    for spelling in SPELLINGS:
        url = spelling.format(port=port)
        _refused(await client.post("/api/v1/endpoints", json={"url": url}, headers=tenant.headers), "url")
        patch = await client.patch(
            f"/api/v1/endpoints/{parked.json()['id']}", json={"url": url}, headers=tenant.headers
        )
        _refused(patch, "url")
        refused += 2
    fields = [{"name": "email", "type": "email"}]
    for link in NOT_LINKS:
        for name in ("redirect_url", "privacy_notice_url"):
            form = {"name": "F", "fields": fields, "settings": {name: link}}
            _refused(await client.post("/api/v1/forms", json=form, headers=tenant.headers), f"settings.{name}")
        workspace = {"settings": {"privacy_policy_url": link}}
        response = await client.patch("/api/v1/workspace", json=workspace, headers=tenant.headers)
        assert response.status_code == 422, (link, response.text)
        refused += 3
    # A redirect to the canary is refused unless the marketer lists its origin (then it is the browser's redirect).
    form = {"name": "F", "fields": fields, "settings": {"redirect_url": canary + "/x"}}
    _refused(await client.post("/api/v1/forms", json=form, headers=tenant.headers), "settings.redirect_url")
    return refused + 1


async def _urls_that_are_only_stored(client: httpx.AsyncClient, tenant: Tenant, canary: str) -> None:
    """URLs Leadwire keeps or shows but never fetches: in a form's links, a submission, an inbound lead."""
    form = await create_form(
        client,
        tenant,
        settings={"privacy_notice_url": canary + "/privacy", "allowed_origins": [canary], "redirect_url": canary},
    )
    submission = {
        "name": "Asha",
        "email": "asha@example.com",
        "website": canary + "/site",
        "consent": ["sales_contact"],
        "_page_url": canary + "/page",
        "_referrer": canary + "/referrer",
    }
    submitted = await client.post(f"/f/{form['slug']}", json=submission, headers={"Referer": canary + "/r"})
    assert submitted.status_code == 201, submitted.text
    assert (await client.get(f"/f/{form['slug']}")).status_code == 200
    source = await _source(client, tenant, form, kind="standard_webhooks")
    lead = {"data": {"name": "Bo", "email": "b@example.com", "website": canary + "/inbound"}}
    body, headers = _signed(source["secrets"]["whsec"], lead, "e1")
    assert (await client.post(_hook(source), content=body, headers=headers)).status_code == 200


@contextlib.asynccontextmanager
async def _graph() -> AsyncIterator[tuple[str, list[str]]]:
    """A fake Graph API that records every path it is asked for, and knows one lead (whose website is a URL)."""
    paths: list[str] = []

    async def anything(request: web.Request) -> web.Response:
        paths.append(request.raw_path)
        document = {"id": "555", "field_data": [{"name": "email", "values": ["mei@example.com"]}]}
        return web.json_response(document)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", anything)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/v21.0", paths
    finally:
        await runner.cleanup()


async def _meta_with_odd_ids(client: httpx.AsyncClient, tenant: Tenant) -> int:
    form = await create_form(client, tenant)
    secrets = {"meta_app_secret": "app-secret-123", "meta_page_access_token": "page-token-456"}
    meta = await _source(client, tenant, form, kind="meta_lead_ads", meta_verify_token="verify-me-789", **secrets)
    ids = ["../../127.0.0.1", "1/../../me", "1?fields=x", "//127.0.0.1/x", "1#x", "%2e%2e/me", "555"]
    changes = [{"field": "leadgen", "value": {"leadgen_id": leadgen}} for leadgen in ids]
    body = json.dumps({"object": "page", "entry": [{"id": "p", "time": 1, "changes": changes}]}).encode()
    signature = "sha256=" + hmac.new(b"app-secret-123", body, hashlib.sha256).hexdigest()
    headers = {"content-type": "application/json", "x-hub-signature-256": signature}
    return (await client.post(_hook(meta), content=body, headers=headers)).status_code


async def test_no_url_from_outside_makes_leadwire_contact_an_internal_address(
    database_url: str, tenant: Tenant, receiver: Receiver
) -> None:
    port = int(receiver.url.split(":")[2].split("/")[0])
    canary = f"http://127.0.0.1:{port}"
    async with _graph() as (graph, paths):
        settings = make_settings(
            database_url, **{**INGEST, "allow_private_webhook_targets": "false"}, meta_graph_base_url=graph
        )
        async with serve(settings) as client:
            refused = await _admin_api_refuses(client, tenant, canary, port)
            await _urls_that_are_only_stored(client, tenant, canary)
            meta_status = await _meta_with_odd_ids(client, tenant)
            for _ in range(100):
                if paths:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)  # the worker polls every 0.1 s: time for any delivery to be tried

    assert meta_status == 200
    asked = [path.split("?", 1)[0] for path in paths]
    assert asked == ["/v21.0/555"], f"the Graph API was asked for a path it should not be: {paths}"
    assert "access_token=page-token-456" in paths[0]
    assert "appsecret_proof=" in paths[0]
    assert receiver.requests == [], f"the canary was contacted: {receiver.paths}"
    print(f"\n  {refused} URL inputs refused; the canary on 127.0.0.1:{port} was never contacted")

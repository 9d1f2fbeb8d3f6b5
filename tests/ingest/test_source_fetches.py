"""Meta leads whose fetch from the Graph API failed: listed per source, and retried from the API."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from tests.conftest import make_settings
from tests.ingest.conftest import INGEST, add_endpoint, create_form, serve, verified_event
from tests.ingest.senders import add_source, fake_graph_api, hook_path, meta_leadgen
from tests.webhooks import eventually

if TYPE_CHECKING:
    import httpx

    from tests.conftest import Tenant
    from tests.webhooks import Receiver

SETTINGS = {**INGEST, "source_fetch_retry_schedule": "0.1,0.1,0.1"}


async def _fetches(client: httpx.AsyncClient, tenant: Tenant, source: dict[str, Any], **query: Any) -> Any:
    response = await client.get(f"/api/v1/sources/{source['id']}/fetches", params=query, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_failed_meta_fetch_is_listed_and_retried_once_the_graph_api_answers(
    database_url: str, tenant: Tenant, other_tenant: Tenant, receiver: Receiver
) -> None:
    async with fake_graph_api("app-secret-123") as graph:
        graph.broken.add("801")
        graph.leads["801"] = [
            {"name": "full_name", "values": ["Ravi Kumar"]},
            {"name": "email", "values": ["ravi@x.in"]},
        ]
        settings = make_settings(database_url, **SETTINGS, meta_graph_base_url=graph.base)
        async with serve(settings) as client:
            form = await create_form(client, tenant)
            endpoint = await add_endpoint(client, tenant, receiver.url)
            meta = {"kind": "meta_lead_ads", "meta_app_secret": "app-secret-123", "meta_page_access_token": "t" * 12}
            source = await add_source(client, tenant, form, **meta)
            other_source = await add_source(client, tenant, form, **meta)
            for leadgen_id in ("801", "802"):  # in two webhooks: ids made in one millisecond have no order
                body, headers = meta_leadgen("app-secret-123", leadgen_id)
                assert (await client.post(hook_path(source), content=body, headers=headers)).status_code == 200
                await asyncio.sleep(0.01)

            async def failed() -> bool:
                return len((await _fetches(client, tenant, source, status="failed"))["items"]) == 1

            await eventually(failed)
            await receiver.wait_for(1)
            listed = await _fetches(client, tenant, source)
            first_page = await _fetches(client, tenant, source, limit=1)
            second_page = await _fetches(client, tenant, source, limit=1, cursor=first_page["next_cursor"])
            failed_fetch, done_fetch = listed["items"][1], listed["items"][0]
            retry = f"/api/v1/sources/{source['id']}/fetches/{failed_fetch['id']}/retry"
            refused = {
                "theirs": await client.post(retry, headers=other_tenant.headers),
                "their list": await client.get(f"/api/v1/sources/{source['id']}/fetches", headers=other_tenant.headers),
                "other source": await client.post(
                    f"/api/v1/sources/{other_source['id']}/fetches/{failed_fetch['id']}/retry", headers=tenant.headers
                ),
                "done": await client.post(
                    f"/api/v1/sources/{source['id']}/fetches/{done_fetch['id']}/retry", headers=tenant.headers
                ),
                "bad status": await client.get(
                    f"/api/v1/sources/{source['id']}/fetches", params={"status": "lost"}, headers=tenant.headers
                ),
            }
            graph.broken.clear()
            retried = await client.post(retry, headers=tenant.headers)
            await receiver.wait_for(2)
            after = await _fetches(client, tenant, source)
            again = await client.post(retry, headers=tenant.headers)
            audit = (await client.get("/api/v1/audit-events", headers=tenant.headers)).json()["items"]

    assert [(f["external_id"], f["status"]) for f in listed["items"]] == [("802", "done"), ("801", "failed")]
    assert failed_fetch["attempts"] == 4  # the first attempt and the three retries of the schedule
    assert failed_fetch["last_error"] == "Graph API answered 500"
    assert failed_fetch["submission_id"] is None
    assert done_fetch["submission_id"] is not None
    assert [f["external_id"] for f in first_page["items"] + second_page["items"]] == ["802", "801"]
    assert second_page["next_cursor"] is None
    assert {name: answer.status_code for name, answer in refused.items()} == {
        "theirs": 404,
        "their list": 404,
        "other source": 404,
        "done": 409,
        "bad status": 422,
    }
    for answer in refused.values():
        assert answer.headers["content-type"].startswith("application/problem+json"), answer.text
    assert retried.status_code == 200, retried.text
    assert (retried.json()["status"], retried.json()["attempts"]) == ("pending", 0)
    assert [(f["external_id"], f["status"]) for f in after["items"]] == [("802", "done"), ("801", "done")]
    assert again.status_code == 409
    lead_ids = {verified_event(endpoint, receiver, i)["data"]["submission"]["source_lead_id"] for i in range(2)}
    assert lead_ids == {"801", "802"}
    retries = [a for a in audit if a["action"] == "source.fetch_retried"]
    assert [(a["target_type"], a["target_id"]) for a in retries] == [("source_fetch", failed_fetch["id"])]


async def test_a_pending_fetch_is_not_retried_twice(database_url: str, tenant: Tenant) -> None:
    async with fake_graph_api("app-secret-123") as graph:
        graph.broken.add("901")
        settings = make_settings(
            database_url, **INGEST, source_fetch_retry_schedule="600", meta_graph_base_url=graph.base
        )
        async with serve(settings) as client:
            form = await create_form(client, tenant)
            meta = {"kind": "meta_lead_ads", "meta_app_secret": "app-secret-123", "meta_page_access_token": "t" * 12}
            source = await add_source(client, tenant, form, **meta)
            body, headers = meta_leadgen("app-secret-123", "901")
            assert (await client.post(hook_path(source), content=body, headers=headers)).status_code == 200

            async def attempted() -> bool:
                return bool((await _fetches(client, tenant, source, status="pending"))["items"][0]["attempts"])

            await eventually(attempted)
            pending = (await _fetches(client, tenant, source))["items"][0]
            retried = await client.post(
                f"/api/v1/sources/{source['id']}/fetches/{pending['id']}/retry", headers=tenant.headers
            )

    assert (pending["status"], pending["attempts"]) == ("pending", 1)
    assert pending["next_attempt_at"] > pending["updated_at"]  # ten minutes on
    assert retried.status_code == 409
    assert "still pending" in retried.json()["detail"]

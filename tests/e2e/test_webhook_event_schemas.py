"""Every event the app really sends validates against the schema ``/schema/openapi.json`` publishes for its type.

The events come from the app's own worker, delivered to a receiver on 127.0.0.1 and verified as Standard Webhooks:
a test event, a browser post and a JSON post (lead.created, lead.updated), a withdrawal from the CRM
(consent.withdrawn), a double opt-in and its confirmation (lead.confirmation_requested, then lead.created with its
``confirmation``), and an erasure (lead.erased), after which the stored payloads of the person's earlier messages are
redacted: those are checked too, as the delivery API shows them.

Validation is strict: every object schema that lists properties is closed (``additionalProperties: false``) and a
``data`` left free-form counts as undocumented, so a key the code sends and the schema does not name fails the test.
"""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from standardwebhooks import Webhook

from tests.ingest.conftest import add_endpoint, app_client, create_form, ingest_settings, token, valid

if TYPE_CHECKING:
    from core.settings import Settings
    from tests.conftest import Client, Tenant
    from tests.webhooks import Receiver

__all__ = ("app_client", "ingest_settings")

EVENT_TYPES = {
    "lead.created",
    "lead.updated",
    "lead.confirmation_requested",
    "lead.erased",
    "consent.withdrawn",
    "webhook.test",
}
_DOCUMENT = "urn:leadwire:openapi"


def _closed(node: Any) -> Any:
    """The schema with every object that names its properties closed, and explicitly free-form objects closed too."""
    if isinstance(node, list):
        return [_closed(item) for item in node]
    if not isinstance(node, dict):
        return node
    closed = {key: _closed(value) for key, value in node.items()}
    if "properties" in closed or closed.get("additionalProperties") is True:
        closed["additionalProperties"] = False
    return closed


def _validators(document: dict[str, Any]) -> dict[str, Draft202012Validator]:
    strict = copy.deepcopy(document)
    strict["components"] = _closed(strict.get("components", {}))
    strict["webhooks"] = _closed(strict.get("webhooks", {}))
    registry: Registry[Any] = Registry().with_resource(_DOCUMENT, DRAFT202012.create_resource(strict))
    pointer = "/post/requestBody/content/application~1json/schema"
    return {
        event: Draft202012Validator(
            {"$ref": f"{_DOCUMENT}#/webhooks/{event}{pointer}"}, registry=registry, format_checker=FormatChecker()
        )
        for event in document["webhooks"]
    }


def _problems(validator: Draft202012Validator, body: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(body)]


async def _produce_every_event(
    client: Client, tenant: Tenant, receiver: Receiver, settings: Settings
) -> tuple[dict[str, Any], int]:
    """Make the app send each event type once or more; the endpoint and how many requests to wait for."""
    form = await create_form(client, tenant)
    held = await create_form(client, tenant, name="Newsletter", settings={"double_opt_in": True})
    endpoint = await add_endpoint(client, tenant, receiver.url)
    assert (await client.post(f"/api/v1/endpoints/{endpoint['id']}/test", headers=tenant.headers)).status_code == 202
    browser = {"name": "Asha Rao", "email": "asha@example.com", "consent": ["sales_contact", "marketing"]}
    posted = await client.post(
        f"/f/{form['slug']}?utm_source=news&utm_campaign=spring",
        data={**browser, "_t": token(settings, form["id"]), "phone": "+91 98765 43210", "topics": ["api", "pricing"]},
        headers={"Referer": "https://acme.example/contact"},
        follow_redirects=False,
    )
    assert posted.status_code == 303, posted.text
    again = await client.post(f"/f/{form['slug']}", json=valid(seats=12, newsletter=True, message="Call me"))
    assert again.status_code == 201, again.text
    await receiver.wait_for(3)
    lead_id = (await client.get("/api/v1/leads", headers=tenant.headers)).json()["items"][0]["id"]
    withdraw = f"/api/v1/leads/{lead_id}/consents/withdraw"
    assert (await client.post(withdraw, json={"purposes": ["marketing"]}, headers=tenant.headers)).status_code == 200
    await client.post(f"/f/{held['slug']}", json=valid(email="ravi@example.com", consent=["sales_contact"]))
    await receiver.wait_for(5)
    requested = next(body for _, body in receiver.requests if b"lead.confirmation_requested" in body)
    confirmation_url = json.loads(requested)["data"]["confirmation_url"]
    assert (await client.post(urlsplit(confirmation_url).path)).status_code == 200
    erased = await client.post("/api/v1/privacy/erase", json={"email": "asha@example.com"}, headers=tenant.headers)
    assert erased.status_code == 200, erased.text
    return endpoint, 7


def _verified(endpoint: dict[str, Any], body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    verified: dict[str, Any] = Webhook(endpoint["secret"]).verify(body, headers)
    return verified


async def test_every_event_sent_validates_against_the_schema_published_for_its_type(
    app_client: Client, tenant: Tenant, receiver: Receiver, ingest_settings: Settings
) -> None:
    document = (await app_client.get("/schema/openapi.json")).json()
    assert set(document["webhooks"]) == EVENT_TYPES
    validators = _validators(document)

    endpoint, count = await _produce_every_event(app_client, tenant, receiver, ingest_settings)
    await receiver.wait_for(count)
    sent = [_verified(endpoint, body, headers) for headers, body in receiver.requests]
    deliveries = (await app_client.get("/api/v1/deliveries", params={"limit": 100}, headers=tenant.headers)).json()
    stored = [
        (await app_client.get(f"/api/v1/deliveries/{item['id']}", headers=tenant.headers)).json()
        for item in deliveries["items"]
    ]

    assert {event["type"] for event in sent} == EVENT_TYPES
    created = [e for e in sent if e["type"] == "lead.created"]
    assert any("confirmation" in e["data"] for e in created), "the confirmed double opt-in lead.created"
    for event in sent:
        assert not _problems(validators[event["type"]], event), (event, _problems(validators[event["type"]], event))
    redacted = [d for d in stored if d["payload"].get("erased") is True]
    assert redacted, "the erased person's earlier messages hold the redaction, not the lead"
    for delivery in stored:
        event = {"type": delivery["event_type"], "timestamp": "2026-01-01T00:00:00Z", "data": delivery["payload"]}
        assert not _problems(validators[event["type"]], event), (event, _problems(validators[event["type"]], event))

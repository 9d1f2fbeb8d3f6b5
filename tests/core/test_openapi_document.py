"""The OpenAPI document is valid OpenAPI 3.1 and says enough for a generated client to submit a form."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from openapi_spec_validator import validate

if TYPE_CHECKING:
    from tests.conftest import Client


async def _document(client: Client) -> dict[str, Any]:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


async def test_openapi_spec_validator_accepts_the_document(client: Client) -> None:
    validate(await _document(client))


async def test_the_public_submit_endpoints_document_their_bodies(client: Client) -> None:
    paths = (await _document(client))["paths"]
    submit = paths["/f/{slug}"]["post"]
    assert {"application/json", "application/x-www-form-urlencoded", "multipart/form-data"} <= set(
        submit["requestBody"]["content"]
    )
    assert "text/html" in submit["responses"]["422"]["content"]  # a browser post gets the form back
    hook = paths["/hooks/{source_id}"]["post"]
    assert {"application/json", "application/x-www-form-urlencoded", "multipart/form-data"} <= set(
        hook["requestBody"]["content"]
    )
    assert {"200", "207", "401", "403", "405"} <= set(hook["responses"])
    tryout = paths["/api/v1/sources/{source_id}/try"]["post"]
    assert "application/x-www-form-urlencoded" in tryout["requestBody"]["content"]
    assert "method" in {p["name"] for p in tryout["parameters"]}


async def test_idempotency_key_is_a_documented_parameter(client: Client) -> None:
    submit = (await _document(client))["paths"]["/f/{slug}"]["post"]
    headers = {p["name"] for p in submit["parameters"] if p["in"] == "header"}
    assert "Idempotency-Key" in headers


async def test_response_headers_are_documented(client: Client) -> None:
    paths = (await _document(client))["paths"]

    def headers(path: str, method: str, status: str) -> set[str]:
        return set(paths[path][method]["responses"][status].get("headers", {}))

    assert {"Location", "ETag", "X-Request-ID"} <= headers("/api/v1/forms", "post", "201")
    assert "Location" in headers("/api/v1/endpoints", "post", "201")
    assert "ETag" in headers("/api/v1/forms/{form_id}", "get", "200")
    assert {"Idempotent-Replayed", "X-Request-ID"} <= headers("/f/{slug}", "post", "201")
    assert "Location" in headers("/f/{slug}", "post", "303")
    assert "Retry-After" in headers("/f/{slug}", "post", "429")
    assert "Retry-After" in headers("/api/v1/forms", "get", "503")


async def test_the_receipt_documents_its_json_form(client: Client) -> None:
    receipt = (await _document(client))["paths"]["/c/{token}"]["get"]
    assert {"text/html", "application/json"} <= set(receipt["responses"]["200"]["content"])


async def test_a_get_lists_no_body_or_state_errors(client: Client) -> None:
    paths = (await _document(client))["paths"]
    for path, item in paths.items():
        if "get" in item:
            listed = set(item["get"].get("responses", {})) & {"409", "412", "413", "415"}
            assert not listed, f"GET {path} lists {listed}"


async def test_every_outgoing_event_type_has_a_webhook_schema(client: Client) -> None:
    webhooks = (await _document(client)).get("webhooks", {})
    assert {"lead.created", "lead.updated", "lead.confirmation_requested", "webhook.test"} <= set(webhooks)
    for name, item in webhooks.items():
        assert "application/json" in item["post"]["requestBody"]["content"], name

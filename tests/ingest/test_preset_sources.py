"""Sources of each preset kind are created through the API with their sender's scheme and nothing to fill in."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.ingest.conftest import create_form
from tests.ingest.preset_forms import LEAD_FORM

if TYPE_CHECKING:
    from tests.conftest import Client, Tenant

SIGNED = {
    "typeform": {"type": "hmac", "name": "Typeform-Signature", "encoding": "base64", "prefix": "sha256="},
    "tally": {"type": "hmac", "name": "Tally-Signature", "encoding": "base64", "prefix": ""},
}


@pytest.mark.parametrize("kind", ["justdial", "magicbricks", "housing", "jotform", "typeform", "tally"])
async def test_a_preset_source_needs_only_its_kind_and_form(app_client: Client, tenant: Tenant, kind: str) -> None:
    form = await create_form(app_client, tenant, **LEAD_FORM)

    created = await app_client.post(
        "/api/v1/sources",
        json={"kind": kind, "form_id": form["id"], "consent_purposes": ["sales_contact"]},
        headers=tenant.headers,
    )
    listed = await app_client.get("/api/v1/sources", headers=tenant.headers)

    assert created.status_code == 201, created.text
    source: dict[str, Any] = created.json()
    if kind in SIGNED:
        assert {k: source["auth"][k] for k in SIGNED[kind]} == SIGNED[kind]
        assert len(source["secrets"]["auth_secret"]) >= 32  # the HMAC key to paste into the sender, shown once
    else:
        assert source["auth"]["type"] == "url"  # the unguessable URL is the credential
        assert source["secrets"] == {}
    assert source["url"].endswith("/hooks/" + source["id"])
    assert "secrets" not in listed.json()["items"][0]

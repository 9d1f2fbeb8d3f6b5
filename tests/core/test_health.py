"""Probes and the OpenAPI document."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from litestar.testing import AsyncTestClient

from app import create_app
from tests.conftest import make_settings

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import Client


async def test_healthz_and_readyz(client: Client) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready"}


async def test_readyz_fails_when_the_database_is_unreachable(tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = make_settings(f"sqlite+aiosqlite:///{data}/leadwire.db")
    async with AsyncTestClient(app=create_app(settings), base_url="http://testserver.local") as client:
        assert (await client.get("/readyz")).status_code == 200
        # Take the database away from the running process: close its connections and put a file where its
        # folder was, so that no new connection can open it.
        await client.app.state.db.dispose()
        shutil.rmtree(data)
        data.write_text("not a directory")
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["title"] == "Service unavailable"
        assert (await client.get("/healthz")).status_code == 200


async def test_openapi_documents_the_admin_api(client: Client) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert {"/api/v1/forms", "/api/v1/forms/{form_id}", "/api/v1/api-keys", "/healthz"} <= set(document["paths"])
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"

"""Probes and the OpenAPI document."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from litestar.testing import AsyncTestClient
from sqlalchemy.util import greenlet_spawn

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
        db = client.app.state.db
        pool_taken_away = db.engine.pool
        await db.dispose()
        shutil.rmtree(data)
        data.write_text("not a directory")
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["title"] == "Service unavailable"
        assert (await client.get("/healthz")).status_code == 200
    # dispose() closes only the connections resting in the pool: one that the app's background tasks (the worker,
    # the Meta fetcher) held at that moment went back afterwards to the pool it came from, which the engine had
    # let go of. Close it, or the garbage collector finds it open in some later test.
    await greenlet_spawn(pool_taken_away.dispose)


async def test_openapi_documents_the_admin_api(client: Client) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert {"/api/v1/forms", "/api/v1/forms/{form_id}", "/api/v1/api-keys", "/healthz"} <= set(document["paths"])
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


async def test_openapi_documents_the_problems_each_route_can_answer(client: Client) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]

    def answers(path: str, method: str) -> dict[str, dict[str, object]]:
        return {status: spec.get("content", {}) for status, spec in paths[path][method]["responses"].items()}

    form = answers("/api/v1/forms/{form_id}", "patch")
    assert {"200", "401", "404", "412", "422", "503"} <= set(form)
    assert set(form["404"]) == {"application/problem+json"}
    assert "429" not in form
    submit = answers("/f/{slug}", "post")
    assert {"201", "404", "409", "413", "415", "422", "429", "503"} <= set(submit)
    assert "401" not in submit
    confirm = answers("/confirm/{token}", "post")  # a page for people: its refusals are pages too
    assert set(confirm["404"]) == {"text/html"}
    assert set(confirm["410"]) == {"text/html"}
    assert set(confirm["503"]) == {"application/problem+json"}
    assert "responses" not in paths["/healthz"]["get"] or "404" not in paths["/healthz"]["get"]["responses"]

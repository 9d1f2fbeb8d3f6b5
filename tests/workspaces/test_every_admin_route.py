"""Every admin route, found in the app's own route table, refuses a missing, malformed or revoked key, and hides
another workspace's things."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from app import create_app
from tests.conftest import make_settings
from tests.ingest.conftest import add_endpoint, create_form

if TYPE_CHECKING:
    from tests.conftest import Client, Tenant

_PARAM = re.compile(r"\{(\w+):\w+\}")


def _admin_routes() -> list[tuple[str, str]]:
    app = create_app(make_settings("sqlite+aiosqlite:///unused-route-listing.db"))
    routes: list[tuple[str, str]] = []
    for route in app.routes:
        if not route.path.startswith("/api/v1"):
            continue
        routes.extend((m, route.path) for m in sorted(getattr(route, "methods", ())) if m not in {"HEAD", "OPTIONS"})
    return routes


ADMIN_ROUTES = _admin_routes()


def test_the_route_table_was_read() -> None:
    assert len(ADMIN_ROUTES) >= 30
    assert ("POST", "/api/v1/privacy/erase") in ADMIN_ROUTES


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
async def test_without_a_valid_key_every_admin_route_is_401(
    client: Client, tenant: Tenant, method: str, path: str
) -> None:
    url = _PARAM.sub("x_00000000000000000000000000", path)
    revoked = await client.post("/api/v1/api-keys", json={"name": "soon gone"}, headers=tenant.headers)
    await client.delete(f"/api/v1/api-keys/{revoked.json()['id']}", headers=tenant.headers)

    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer lw_not-a-real-key"},
        {"Authorization": f"Bearer {revoked.json()['key']}"},
    ):
        response = await client.request(method, url, headers=headers, json={})
        assert response.status_code == 401, (method, path, headers)
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_another_workspaces_things_are_not_found_on_every_route_that_names_one(
    client: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    form = await create_form(client, tenant)
    endpoint = await add_endpoint(client, tenant, "https://93.184.216.34/hooks")  # a public address: no DNS
    ids = {"form_id": form["id"], "endpoint_id": endpoint["id"]}
    checked = 0
    for method, path in ADMIN_ROUTES:
        names = _PARAM.findall(path)
        if not names or any(name not in ids for name in names):
            continue
        url = _PARAM.sub(lambda m: ids[m.group(1)], path)
        response = await client.request(method, url, headers=other_tenant.headers, json={})
        assert response.status_code in {404, 422}, (method, path, response.status_code)  # 422: body checked first
        checked += 1
        mine = await client.get(f"/api/v1/forms/{form['id']}", headers=tenant.headers)
        assert mine.status_code == 200  # and nothing of ours was changed or removed
    assert checked >= 8

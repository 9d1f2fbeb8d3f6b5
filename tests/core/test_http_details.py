"""HTTP details a careful client notices: media types, problem type pages, titles, field names, status codes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from litestar.testing import AsyncTestClient

from app import create_app
from core.errors import LeadwireError
from core.problem_pages import PROBLEM_PAGES
from tests.conftest import make_settings

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from tests.conftest import Client, Tenant


@pytest.fixture
async def loopback_client(database_url: str) -> AsyncIterator[Client]:
    """The app with loopback webhook targets allowed (nothing is delivered: the worker is off)."""
    settings = make_settings(database_url, run_worker="false", allow_private_webhook_targets="true")
    async with AsyncTestClient(app=create_app(settings), base_url="http://testserver.local") as test_client:
        yield test_client


@pytest.mark.parametrize("path", ["/embed.js", "/metrics"])
async def test_content_type_names_the_charset_once(client: Client, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].lower().count("charset") == 1, response.headers["content-type"]


def _every_error_class(base: type[LeadwireError]) -> list[type[LeadwireError]]:
    return [cls for sub in base.__subclasses__() for cls in (sub, *_every_error_class(sub))]


async def test_every_problem_type_uri_answers_with_a_page(client: Client) -> None:
    import console.session  # noqa: F401  # its errors are subclasses too: every type any slice can send

    slugs = {cls.slug for cls in _every_error_class(LeadwireError)} | {"validation", "malformed-body", "bad-request"}
    assert slugs <= set(PROBLEM_PAGES)
    for slug in sorted(slugs):
        response = await client.get(f"/problems/{slug}")
        assert response.status_code == 200, slug
        assert response.headers["content-type"].startswith("text/html")
        assert PROBLEM_PAGES[slug].title in response.text
    missing = await client.get("/problems/no-such-problem")
    assert missing.status_code == 404


async def test_a_problem_links_to_a_page_that_exists(client: Client) -> None:
    problem = (await client.get("/api/v1/forms")).json()
    assert problem["status"] == 401
    assert (await client.get(problem["type"])).status_code == 200


async def test_too_large_is_titled_as_rfc_9110_says(client: Client, tenant: Tenant) -> None:
    huge = b'{"name": "' + b"x" * 2_000_000 + b'"}'
    response = await client.post(
        "/api/v1/forms", content=huge, headers={**tenant.headers, "content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["title"] == "Content Too Large"


async def test_a_bad_query_value_names_its_field_plainly(client: Client, tenant: Tenant) -> None:
    response = await client.get("/api/v1/forms?limit=abc", headers=tenant.headers)
    assert response.status_code in {400, 422}
    assert [error["field"] for error in response.json()["errors"]] == ["limit"]
    assert "ParamType" not in response.text


async def test_a_text_body_on_the_admin_api_is_415(client: Client, tenant: Tenant) -> None:
    response = await client.post(
        "/api/v1/forms", content=b"name=Contact", headers={**tenant.headers, "content-type": "text/plain"}
    )
    assert response.status_code == 415, response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("path", ["/api/v1/forms", "/api/v1/leads", "/api/v1/endpoints", "/api/v1/deliveries"])
async def test_a_cursor_this_api_never_gave_is_400(client: Client, tenant: Tenant, path: str) -> None:
    response = await client.get(f"{path}?cursor=not-a-cursor", headers=tenant.headers)
    assert response.status_code == 400, response.text
    assert "cursor" in response.json()["detail"]


async def test_a_cursor_this_api_gave_still_pages(client: Client, tenant: Tenant) -> None:
    for name in ("a", "b"):
        await client.post("/api/v1/forms", json={"name": name}, headers=tenant.headers)
    first = (await client.get("/api/v1/forms?limit=1", headers=tenant.headers)).json()
    second = await client.get(f"/api/v1/forms?limit=1&cursor={first['next_cursor']}", headers=tenant.headers)
    assert second.status_code == 200
    assert [form["name"] for form in second.json()["items"]] == ["a"]


async def test_a_new_endpoint_has_a_location(loopback_client: Client, tenant: Tenant) -> None:
    response = await loopback_client.post(
        "/api/v1/endpoints", json={"url": "http://127.0.0.1:9/hook"}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    location = response.headers["location"]
    assert location == f"/api/v1/endpoints/{response.json()['id']}"
    assert (await loopback_client.get(location, headers=tenant.headers)).status_code == 200

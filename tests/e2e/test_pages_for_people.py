"""People in a browser get pages, API clients keep problem+json: errors, the root, the favicon, the sign-in host."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.conftest import make_settings
from tests.ingest.conftest import INGEST, create_form, free_port, serve

if TYPE_CHECKING:
    import httpx

    from tests.conftest import Tenant

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"}


def _assert_page(response: httpx.Response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    text = response.text
    assert text.startswith("<!doctype html>"), text[:200]
    assert '<html lang="en">' in text
    assert "<title>" in text
    assert '"status"' not in text  # no problem+json shown to a person
    for word in words:
        assert word in text, text


@pytest.mark.parametrize("status", ["unknown", "draft", "archived"])
async def test_a_form_that_is_not_published_is_a_page_for_people_and_a_problem_for_programs(
    database_url: str, tenant: Tenant, status: str
) -> None:
    async with serve(make_settings(database_url, **INGEST)) as client:
        slug = "nosuchform000000"
        if status != "unknown":
            slug = (await create_form(client, tenant, status=status))["slug"]
        page = await client.get(f"/f/{slug}", headers=BROWSER)
        posted = await client.post(f"/f/{slug}", data={"email": "a@example.com"}, headers=BROWSER)
        program = await client.get(f"/f/{slug}", headers={"Accept": "application/json"})
        anything = await client.post(f"/f/{slug}", json={"email": "a@example.com"})

    _assert_page(page, 404, "This form is not available")
    _assert_page(posted, 404, "This form is not available")
    for answer in (program, anything):
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["status"] == 404


async def test_the_root_goes_to_the_console_and_mistyped_console_paths_are_pages(database_url: str) -> None:
    async with serve(make_settings(database_url, **INGEST)) as client:
        root = await client.get("/", headers=BROWSER)
        mistyped = await client.get("/console/froms", headers=BROWSER)
        elsewhere = await client.get("/nothing-here", headers=BROWSER)
        api = await client.get("/api/v1/nothing", headers=BROWSER)
        program = await client.get("/nothing-here")

    assert root.status_code in {302, 303, 307}
    assert root.headers["location"] == "/console"
    _assert_page(mistyped, 404, "Page not found", 'href="/console"')
    _assert_page(elsewhere, 404, "Page not found")
    assert api.headers["content-type"] == "application/problem+json"  # the API answers programs, whatever they accept
    assert program.headers["content-type"] == "application/problem+json"


async def test_there_is_a_favicon_and_the_pages_name_it(database_url: str, tenant: Tenant) -> None:
    async with serve(make_settings(database_url, **INGEST)) as client:
        form = await create_form(client, tenant)
        icon = await client.get("/favicon.ico")
        svg = await client.get("/favicon.svg")
        hosted = await client.get(f"/f/{form['slug']}")
        sign_in = await client.get("/console/sign-in")

    for answer in (icon, svg):
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "image/svg+xml"
        assert answer.content.startswith(b"<svg")
        assert "max-age" in answer.headers["cache-control"]
    for page in (hosted, sign_in):
        assert '<link rel="icon" href="/favicon.svg" type="image/svg+xml">' in page.text


async def test_signing_in_at_another_name_of_this_server_says_which_address_to_use(database_url: str) -> None:
    port = free_port()
    settings = make_settings(database_url, **INGEST, public_base_url=f"http://127.0.0.1:{port}")
    async with serve(settings, port=port) as client:
        # The browser is at http://localhost:PORT, a name of the same server that the public address does not use.
        at_localhost = {"Host": f"localhost:{port}", "Origin": f"http://localhost:{port}"}
        page = await client.get("/console/sign-in", headers={"Host": f"localhost:{port}"})
        posted = await client.post(
            "/console/sign-in", data={"email": "ada@example.com", "password": "x"}, headers=at_localhost
        )
        foreign = await client.post(
            "/console/sign-in",
            data={"email": "ada@example.com", "password": "x"},
            headers={"Origin": "http://evil.test"},
        )

    for answer in (page, posted):
        assert f"http://localhost:{port}" in answer.text
        assert f"http://127.0.0.1:{port}/console/sign-in" in answer.text
        assert "LEADWIRE_PUBLIC_BASE_URL" in answer.text
    assert posted.status_code == 403
    assert "Sign in from this page." not in posted.text
    assert foreign.status_code == 403
    assert "evil.test" not in foreign.text  # another site is not named back to it

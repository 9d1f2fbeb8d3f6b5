"""The forms admin API: CRUD, versions, validation and workspace isolation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.conftest import Client, Tenant

CONTACT_FORM: dict[str, Any] = {
    "name": "Contact us",
    "fields": [
        {"name": "name", "type": "text", "label": "Name", "required": True},
        {"name": "email", "type": "email", "required": True, "autocomplete": "email"},
        {"name": "country", "type": "select", "options": ["IN", {"value": "GB", "label": "United Kingdom"}]},
    ],
    "consents": [{"purpose": "marketing", "channel": "email", "text": "  Email me news.  "}],
    "settings": {
        "allowed_origins": ["https://WWW.Example.com:443/", "http://localhost:3000"],
        "redirect_url": "https://www.example.com/thanks",
        "default_phone_region": "in",
    },
}


async def create(client: Client, tenant: Tenant, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await client.post("/api/v1/forms", json=body or CONTACT_FORM, headers=tenant.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_create_normalises_and_returns_the_form(client: Client, tenant: Tenant) -> None:
    response = await client.post("/api/v1/forms", json=CONTACT_FORM, headers=tenant.headers)
    assert response.status_code == 201
    form = response.json()
    assert response.headers["location"] == f"/api/v1/forms/{form['id']}"
    assert response.headers["etag"] == '"v1"'
    assert form["id"].startswith("form_")
    assert form["status"] == "draft"
    assert form["version"] == 1
    assert len(form["slug"]) == 16
    assert form["public_url"] == f"http://testserver.local/f/{form['slug']}"
    assert form["fields"][1]["label"] == "Email"
    assert form["fields"][2]["options"] == [
        {"value": "IN", "label": "IN"},
        {"value": "GB", "label": "United Kingdom"},
    ]
    assert form["consents"][0]["text"] == "Email me news."
    assert form["settings"]["allowed_origins"] == ["https://www.example.com", "http://localhost:3000"]
    assert form["settings"]["default_phone_region"] == "IN"
    assert form["settings"]["dedupe_window_seconds"] == 86_400


async def test_slugs_are_unique_and_unguessable(client: Client, tenant: Tenant) -> None:
    slugs = {(await create(client, tenant))["slug"] for _ in range(5)}
    assert len(slugs) == 5


async def test_list_get_and_filter(client: Client, tenant: Tenant) -> None:
    draft = await create(client, tenant)
    published = await create(client, tenant, {**CONTACT_FORM, "name": "Live", "status": "published"})
    listing = (await client.get("/api/v1/forms", headers=tenant.headers)).json()
    assert [f["id"] for f in listing["items"]] == [published["id"], draft["id"]]
    assert listing["next_cursor"] is None
    only_published = (await client.get("/api/v1/forms?status=published", headers=tenant.headers)).json()
    assert [f["id"] for f in only_published["items"]] == [published["id"]]
    got = await client.get(f"/api/v1/forms/{draft['id']}", headers=tenant.headers)
    assert got.status_code == 200
    assert got.json() == draft
    assert (await client.get("/api/v1/forms?status=deleted", headers=tenant.headers)).status_code in {400, 422}


async def test_list_is_paged_with_a_cursor(client: Client, tenant: Tenant) -> None:
    created = [(await create(client, tenant))["id"] for _ in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        url = "/api/v1/forms?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(url, headers=tenant.headers)).json()
        seen += [f["id"] for f in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(created))


async def test_patch_changes_what_is_given_and_bumps_the_version(client: Client, tenant: Tenant) -> None:
    form = await create(client, tenant)
    response = await client.patch(
        f"/api/v1/forms/{form['id']}",
        json={"status": "published", "settings": {"success_message": "Thanks!"}},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["version"] == 2
    assert response.headers["etag"] == '"v2"'
    assert updated["status"] == "published"
    assert updated["settings"]["success_message"] == "Thanks!"
    # settings not named in the patch are kept
    assert updated["settings"]["allowed_origins"] == form["settings"]["allowed_origins"]
    assert updated["fields"] == form["fields"]
    assert updated["slug"] == form["slug"]

    same = await client.patch(f"/api/v1/forms/{form['id']}", json={"status": "published"}, headers=tenant.headers)
    assert same.json()["version"] == 2  # nothing changed, no new version

    events = (await client.get("/api/v1/audit-events", headers=tenant.headers)).json()["items"]
    assert events[0]["action"] == "form.updated"
    assert events[0]["details"]["status"] == {"from": "draft", "to": "published"}


async def test_if_match_refuses_lost_updates(client: Client, tenant: Tenant) -> None:
    form = await create(client, tenant)
    url = f"/api/v1/forms/{form['id']}"
    ok = await client.patch(url, json={"name": "A"}, headers={**tenant.headers, "If-Match": '"v1"'})
    assert ok.status_code == 200
    stale = await client.patch(url, json={"name": "B"}, headers={**tenant.headers, "If-Match": '"v1"'})
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    garbage = await client.patch(url, json={"name": "B"}, headers={**tenant.headers, "If-Match": "nope"})
    assert garbage.status_code == 400
    assert (await client.get(url, headers=tenant.headers)).json()["name"] == "A"


async def test_patch_revalidates_the_whole_definition(client: Client, tenant: Tenant) -> None:
    form = await create(client, tenant)
    response = await client.patch(
        f"/api/v1/forms/{form['id']}", json={"settings": {"allowed_origins": []}}, headers=tenant.headers
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["settings.redirect_url"]


async def test_delete_hides_the_form(client: Client, tenant: Tenant) -> None:
    form = await create(client, tenant)
    deleted = await client.delete(f"/api/v1/forms/{form['id']}", headers=tenant.headers)
    assert deleted.status_code == 204
    assert (await client.get(f"/api/v1/forms/{form['id']}", headers=tenant.headers)).status_code == 404
    assert (await client.get("/api/v1/forms", headers=tenant.headers)).json()["items"] == []
    assert (await client.delete(f"/api/v1/forms/{form['id']}", headers=tenant.headers)).status_code == 404


async def test_another_workspaces_forms_are_invisible(client: Client, tenant: Tenant, other_tenant: Tenant) -> None:
    theirs = await create(client, other_tenant)
    url = f"/api/v1/forms/{theirs['id']}"
    for response in (
        await client.get(url, headers=tenant.headers),
        await client.patch(url, json={"name": "mine now"}, headers=tenant.headers),
        await client.delete(url, headers=tenant.headers),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert theirs["name"] not in response.text
    assert (await client.get("/api/v1/forms", headers=tenant.headers)).json()["items"] == []
    still = await client.get(url, headers=other_tenant.headers)
    assert still.status_code == 200
    assert still.json() == theirs


def _with(**changes: Any) -> dict[str, Any]:
    return {**CONTACT_FORM, **changes}


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        (_with(fields=[{"name": "_secret", "type": "text"}]), "fields[0].name", "reserved"),
        (_with(fields=[{"name": "consent", "type": "text"}]), "fields[0].name", "reserved"),
        (_with(fields=[{"name": "9lives", "type": "text"}]), "fields[0].name", "invalid_name"),
        (
            _with(fields=[{"name": "email", "type": "email"}, {"name": "Email", "type": "text"}]),
            "fields[1].name",
            "duplicate",
        ),
        (_with(fields=[{"name": "plan", "type": "select"}]), "fields[0].options", "required"),
        (_with(fields=[{"name": "plan", "type": "multiselect", "options": []}]), "fields[0].options", "required"),
        (_with(fields=[{"name": "plan", "type": "select", "options": ["a", "a"]}]), "fields[0].options", "duplicate"),
        (_with(fields=[{"name": "age", "type": "number", "options": ["1"]}]), "fields[0].options", "not_allowed"),
        (
            _with(
                consents=[
                    {"purpose": "ads", "channel": "sms", "text": "a"},
                    {"purpose": "ads", "channel": "email", "text": "b"},
                ]
            ),
            "consents[1].purpose",
            "duplicate",
        ),
        (_with(consents=[{"purpose": "Ads!", "channel": "sms", "text": "a"}]), "consents[0].purpose", "invalid_name"),
        (_with(consents=[{"purpose": "ads", "channel": "sms", "text": "   "}]), "consents[0].text", "required"),
        (
            _with(settings={"allowed_origins": ["https://a.example"], "redirect_url": "https://evil.example/x"}),
            "settings.redirect_url",
            "origin_not_allowed",
        ),
        (_with(settings={"redirect_url": "https://a.example/thanks"}), "settings.redirect_url", "origin_not_allowed"),
        (_with(settings={"redirect_url": "javascript:alert(1)"}), "settings.redirect_url", "invalid_url"),
        (
            _with(settings={"allowed_origins": ["https://a.example/path"]}),
            "settings.allowed_origins[0]",
            "invalid_origin",
        ),
        (_with(settings={"allowed_origins": ["*"]}), "settings.allowed_origins[0]", "invalid_origin"),
        (_with(settings={"default_phone_region": "XX"}), "settings.default_phone_region", "invalid_region"),
        (_with(status="published", fields=[{"name": "src", "type": "hidden"}]), "fields", "required"),
    ],
)
async def test_bad_definitions_are_422_naming_the_field(
    client: Client, tenant: Tenant, body: dict[str, Any], field: str, code: str
) -> None:
    response = await client.post("/api/v1/forms", json=body, headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "/problems/validation"
    assert {"field": field, "code": code} in [{"field": e["field"], "code": e["code"]} for e in problem["errors"]]


async def test_every_problem_is_reported_at_once(client: Client, tenant: Tenant) -> None:
    body = _with(
        fields=[{"name": "_a", "type": "text"}, {"name": "x", "type": "select"}],
        consents=[{"purpose": "m", "channel": "sms", "text": "a"}, {"purpose": "m", "channel": "sms", "text": "a"}],
        settings={"default_phone_region": "QQ"},
    )
    response = await client.post("/api/v1/forms", json=body, headers=tenant.headers)
    assert len(response.json()["errors"]) == 4


@pytest.mark.parametrize(
    ("content", "status", "field"),
    [
        (b'{"name": ', 400, None),
        (b"\xff\xfe not utf-8", 400, None),
        (b"[]", 422, "body"),
        (b'{"name": "x", "unknown": 1}', 422, "body"),
        (b'{"name": 5}', 422, "name"),
        (b'{"name": "x", "fields": [{"name": "a", "type": "colour"}]}', 422, "fields[0].type"),
        (b'{"name": "x", "fields": [{"name": "a", "type": "text", "max_length": -1}]}', 422, "fields[0].max_length"),
        (
            b'{"name": "x", "consents": [{"purpose": "a", "channel": "pigeon", "text": "t"}]}',
            422,
            "consents[0].channel",
        ),
        (b'{"name": "x", "settings": {"dedupe_window_seconds": "soon"}}', 422, "settings.dedupe_window_seconds"),
        (b'{"name": ""}', 422, "name"),
    ],
)
async def test_unreadable_or_mistyped_bodies_are_4xx_problems(
    client: Client, tenant: Tenant, content: bytes, status: int, field: str | None
) -> None:
    response = await client.post(
        "/api/v1/forms", content=content, headers={**tenant.headers, "content-type": "application/json"}
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status
    if field is not None:
        assert field in [error["field"] for error in problem["errors"]]


async def test_unknown_routes_and_methods_are_problems(client: Client, tenant: Tenant) -> None:
    missing = await client.get("/api/v1/nothing-here", headers=tenant.headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    wrong_method = await client.put("/api/v1/forms", json={}, headers=tenant.headers)
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"] == "application/problem+json"


async def test_oversized_bodies_are_413(client: Client, tenant: Tenant) -> None:
    body = b'{"name": "' + b"x" * 2_000_000 + b'"}'
    response = await client.post(
        "/api/v1/forms", content=body, headers={**tenant.headers, "content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


async def test_an_unknown_key_in_settings_is_a_422_not_a_500(client: Client, tenant: Tenant) -> None:
    # Litestar reports a body error at `settings` as a failure of any dependency of that name (a 500); the app's
    # settings are provided as `app_settings` so that a body field called `settings` stays the client's error.
    created = await client.post("/api/v1/forms", json={"name": "F", "settings": {"bogus": 1}}, headers=tenant.headers)

    assert created.status_code == 422
    assert created.json()["errors"][0]["field"].startswith("settings")

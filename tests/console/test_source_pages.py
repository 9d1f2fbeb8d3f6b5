"""The console's Sources section, driven as a browser drives it (cookies, plain form posts, redirects) against the
app on a real socket, with senders posting to the sources it makes.

Senders post the formats of today's kinds: Google Ads lead form webhooks (the ``WebhookLead`` JSON of Google's
"Implementation" page: ``lead_id``, ``user_column_data`` of ``column_id``/``string_value``, ``google_key``,
``is_test``) and Meta's ``leadgen`` page webhook, whose leads are fetched from a fake Graph API answering as Meta's
"Retrieving Leads" guide shows.
"""

from __future__ import annotations

import html
import json
import re
from typing import TYPE_CHECKING, Any

import httpx

from tests.conftest import make_settings
from tests.fakes.indiamart import FakeIndiaMart, indiamart_lead
from tests.ingest.conftest import INGEST, create_form, serve
from tests.ingest.senders import fake_graph_api, meta_leadgen
from tests.webhooks import eventually

if TYPE_CHECKING:
    from tests.conftest import Tenant

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
GOOGLE_KEY = "k3y-from-google-ads"
SETTINGS = {**INGEST, "source_fetch_retry_schedule": "0.1,0.1"}


async def sign_in(client: httpx.AsyncClient, tenant: Tenant) -> str:
    """Sign in as the tenant's owner; the CSRF token of the new session."""
    response = await client.post("/console/sign-in", data={"email": tenant.email, "password": tenant.password})
    assert response.status_code == 303, response.text
    page = await client.get("/console/sources")
    assert page.status_code == 200, page.text
    match = _CSRF.search(page.text)
    assert match
    return match.group(1)


def _source_id(location: str) -> str:
    found = re.fullmatch(r"/console/sources/(src_[0-9a-z]+)/created", location)
    assert found, location
    return found.group(1)


def _field(page: str, element_id: str) -> str:
    """The value of the input ``element_id`` on the page, unescaped."""
    found = re.search(rf'<input [^>]*id="{re.escape(element_id)}"[^>]* value="([^"]*)"', page)
    assert found, f"no #{element_id}"
    return html.unescape(found.group(1))


async def _create(client: httpx.AsyncClient, csrf: str, form: dict[str, Any], **fields: Any) -> str:
    body = {"csrf": csrf, "form": form["id"], "consent_purposes": "sales_contact", **fields}
    created = await client.post("/console/sources", data=body)
    assert created.status_code == 303, created.text
    return _source_id(created.headers["location"])


def google(lead_id: str, key: str = GOOGLE_KEY, **columns: str) -> dict[str, Any]:
    return {
        "lead_id": lead_id,
        "api_version": "1.0",
        "form_id": 123,
        "campaign_id": 456,
        "google_key": key,
        "is_test": False,
        "user_column_data": [{"column_id": name, "string_value": value} for name, value in columns.items()],
    }


async def test_a_generic_source_is_made_and_its_url_and_secret_are_shown_once(
    database_url: str, tenant: Tenant
) -> None:
    async with serve(make_settings(database_url, **SETTINGS)) as client:
        form = await create_form(client, tenant)
        csrf = await sign_in(client, tenant)
        empty = await client.get("/console/sources")
        chosen = await client.get("/console/sources/new", params={"kind": "generic", "form": form["id"]})
        nameless = await client.post(
            "/console/sources",
            data={"csrf": csrf, "kind": "generic", "form": form["id"], "auth_type": "header", "auth_name": ""},
        )
        short = await client.post(
            "/console/sources",
            data={"csrf": csrf, "kind": "generic", "form": form["id"], "auth_type": "basic", "auth_value": "short"},
        )
        created = await client.post(
            "/console/sources",
            data={
                "csrf": csrf,
                "kind": "generic",
                "form": form["id"],
                "name": "Website chat",
                "consent_purposes": "sales_contact",
                "auth_type": "header",
                "auth_name": "X-Api-Key",
            },
        )
        source_id = _source_id(created.headers["location"])
        shown = await client.get(created.headers["location"])
        again = await client.get(created.headers["location"])
        source_page = await client.get(again.headers["location"])
        listing = await client.get("/console/sources")
        api = (await client.get(f"/api/v1/sources/{source_id}", headers=tenant.headers)).json()
        secret = _field(shown.text, "secret-auth_secret")
        sent = await client.post(f"/hooks/{source_id}", json={"email": "a@example.com"}, headers={"X-Api-Key": "no"})

    assert "No sources yet" in empty.text
    assert 'href="/console/sources" aria-current="page"' in empty.text  # the nav entry
    assert "Any sender (generic webhook)" in chosen.text
    assert "choose how it proves itself" in chosen.text  # the kind's setup sentence
    assert nameless.status_code == 422
    assert "header needs a name" in nameless.text
    assert short.status_code == 422
    assert "Key: too short (8 characters at least)" in short.text
    assert 'value="basic" selected' in short.text  # what was chosen stays; the key is typed again
    assert "short" not in re.sub(r"<[^>]*>", "", short.text).replace("too short", "")
    assert created.status_code == 303
    assert shown.status_code == 200
    assert _field(shown.text, "source-url") == f"http://testserver.local/hooks/{source_id}"
    assert 'data-copy="source-url"' in shown.text  # a copy button, once the script is there
    assert len(secret) >= 24
    assert (again.status_code, again.headers["location"]) == (303, f"/console/sources/{source_id}?done=secrets_shown")
    assert "shown only once" in source_page.text
    assert _field(source_page.text, "source-url") == api["url"]
    assert secret not in source_page.text + listing.text
    assert "Website chat" in listing.text
    assert api["auth"] == {"type": "header", "name": "X-Api-Key", "username": None, "algorithm": None,
                           "encoding": None, "prefix": None}  # fmt: skip
    assert api["consent_purposes"] == ["sales_contact"]
    assert sent.status_code == 401


async def test_a_preset_is_made_from_its_kind_and_form_with_the_secret_its_sender_chose(
    database_url: str, tenant: Tenant
) -> None:
    async with serve(make_settings(database_url, **SETTINGS)) as client:
        form = await create_form(client, tenant)
        csrf = await sign_in(client, tenant)
        chosen = await client.get("/console/sources/new", params={"kind": "typeform", "form": form["id"]})
        typeform = await _create(client, csrf, form, kind="typeform", auth_value="typeform-secret-123")
        typeform_shown = await client.get(f"/console/sources/{typeform}/created")
        justdial = await _create(client, csrf, form, kind="justdial")
        justdial_shown = await client.get(f"/console/sources/{justdial}/created")
        google_source = await _create(client, csrf, form, kind="google_ads")
        google_shown = await client.get(f"/console/sources/{google_source}/created")
        typeform_api = (await client.get(f"/api/v1/sources/{typeform}", headers=tenant.headers)).json()
        listing = await client.get("/console/sources")
        unknown_kind = await client.get("/console/sources/new", params={"kind": "carrier-pigeon", "form": form["id"]})

    assert "Typeform" in chosen.text
    assert "Any sender" not in chosen.text
    assert 'name="auth_type"' not in chosen.text  # a preset's scheme is its sender's
    assert _field(typeform_shown.text, "secret-auth_secret") == "typeform-secret-123"
    assert typeform_api["auth"]["name"] == "Typeform-Signature"
    assert typeform_api["kind"] == "typeform"
    assert "no secret" in justdial_shown.text  # the URL alone is the key
    assert _field(justdial_shown.text, "source-url").endswith(f"/hooks/{justdial}")
    assert len(_field(google_shown.text, "secret-google_key")) >= 24  # made here, long
    for label in ("Typeform", "JustDial", "Google Ads lead forms"):
        assert label in listing.text
    assert unknown_kind.status_code == 404


async def test_a_mapping_is_edited_in_rows_and_a_bad_path_is_refused_in_words(
    database_url: str, tenant: Tenant
) -> None:
    async with serve(make_settings(database_url, **SETTINGS)) as client:
        form = await create_form(client, tenant)
        csrf = await sign_in(client, tenant)
        source_id = await _create(client, csrf, form, kind="generic", auth_type="url")
        editor = await client.get(f"/console/sources/{source_id}")
        rows = {
            "csrf": csrf,
            "map_rows": "3",
            "map-0-path": "contact.email",
            "map-0-field": "email",
            "map-1-path": "contact.phone",
            "map-1-field": "phone",
            "map-2-path": "",
            "join_rows": "1",
            "join-0-field": "name",
            "join-0-paths": "contact.first\ncontact.last\n",
            "default_rows": "2",
            "default-0-field": "team_size",
            "default-0-value": "1-10",
            "default-1-field": "",
            "phone_region": "in",
            "id_field": "lead.id",
        }
        saved = await client.post(f"/console/sources/{source_id}/mapping", data=rows)
        after = (await client.get(f"/api/v1/sources/{source_id}", headers=tenant.headers)).json()
        shown = await client.get(f"/console/sources/{source_id}")
        removed = await client.post(
            f"/console/sources/{source_id}/mapping", data={**rows, "map-1-remove": "1", "id_field": ""}
        )
        after_removal = (await client.get(f"/api/v1/sources/{source_id}", headers=tenant.headers)).json()
        bad = await client.post(f"/console/sources/{source_id}/mapping", data={**rows, "map-0-path": "contact..email"})
        forged = await client.post(f"/console/sources/{source_id}/mapping", data={**rows, "map-0-field": "salary"})
        no_field = await client.post(f"/console/sources/{source_id}/mapping", data={**rows, "map-0-field": ""})
        region = await client.post(f"/console/sources/{source_id}/mapping", data={**rows, "phone_region": "India"})
        after_refusals = (await client.get(f"/api/v1/sources/{source_id}", headers=tenant.headers)).json()

    assert 'id="map-0-path"' in editor.text  # blank rows to fill in, without a script
    assert '<option value="email">' in editor.text  # the form's fields to choose from
    assert (saved.status_code, saved.headers["location"]) == (303, f"/console/sources/{source_id}?done=saved")
    assert after["mapping"] == {"contact.email": "email", "contact.phone": "phone"}
    assert after["join"] == {"name": ["contact.first", "contact.last"]}
    assert after["defaults"] == {"team_size": "1-10"}
    assert (after["phone_region"], after["id_field"]) == ("IN", "lead.id")
    assert _field(shown.text, "map-1-path") == "contact.phone"
    assert _field(shown.text, "id_field") == "lead.id"
    assert removed.status_code == 303
    assert after_removal["mapping"] == {"contact.email": "email"}
    assert after_removal["id_field"] is None
    assert bad.status_code == 422
    assert "a dot must be followed by a key" in bad.text
    assert 'value="contact..email"' in bad.text  # what was typed stays, to be corrected
    assert forged.status_code == 422
    assert "the form has no field &#39;salary&#39;" in forged.text
    assert no_field.status_code == 422
    assert "Mapping: choose the form field &#39;contact.email&#39; goes to" in no_field.text
    assert region.status_code == 422
    assert "Phone region: enter a two-letter country code, like IN" in region.text
    assert after_refusals["mapping"] == after_removal["mapping"]


async def test_a_pull_source_is_given_its_credentials_once_and_its_pulls_are_shown(
    database_url: str, tenant: Tenant
) -> None:
    """IndiaMART's CRM API v2 (``tests/fakes/indiamart.py``) answers the seller's key with one inquiry."""
    crm_key = "mRywEb5u4HfHTver432Y/1CPp1LEmzY="
    indiamart = FakeIndiaMart(crm_key, [indiamart_lead("2687336412", 3)])
    async with (
        indiamart.serving() as base,
        serve(make_settings(database_url, **SETTINGS, indiamart_base_url=base)) as client,
    ):
        form = await create_form(client, tenant)
        csrf = await sign_in(client, tenant)
        chosen = await client.get("/console/sources/new", params={"kind": "indiamart", "form": form["id"]})
        pull_only = await client.post("/console/sources", data={"csrf": csrf, "kind": "tradeindia", "form": form["id"]})
        source_id = await _create(client, csrf, form, kind="indiamart", **{"pull-crm_key": crm_key})
        shown = await client.get(f"/console/sources/{source_id}/created")

        async def pulled() -> bool:
            found = (await client.get(f"/api/v1/sources/{source_id}", headers=tenant.headers)).json()
            return bool(found["pull"] and found["pull"]["stored"] == 1)

        await eventually(pulled)
        page = await client.get(f"/console/sources/{source_id}")

    assert 'id="pull-crm_key"' in chosen.text
    assert pull_only.status_code == 422
    assert "Pull credential userid: TradeIndia pulls need userid, profile_id, key" in pull_only.text
    assert "Its leads are pulled from IndiaMART" in shown.text
    assert indiamart.calls[0]["glusr_crm_key"] == crm_key
    for text in (chosen.text, pull_only.text, shown.text, page.text):
        assert crm_key not in text
        assert html.escape(crm_key) not in text
    assert "Pulling from IndiaMART" in page.text
    assert re.search(r'<th scope="row">Stored</th><td class="num">1</td>', page.text)
    assert "Last pull: 20" in page.text


async def test_what_a_source_received_is_counted_and_a_refused_payload_shows_its_reason(
    database_url: str, tenant: Tenant
) -> None:
    async with serve(make_settings(database_url, **SETTINGS)) as client:
        form = await create_form(client, tenant)
        csrf = await sign_in(client, tenant)
        source_id = await _create(client, csrf, form, kind="google_ads", google_key=GOOGLE_KEY)
        hook = f"/hooks/{source_id}"
        sent = [
            await client.post(hook, json=google("L1", key="wrong-key-1234", EMAIL="x@example.com")),
            await client.post(hook, json=google("L2", FULL_NAME="<script>alert(1)</script>")),
            await client.post(hook, json=google("L3", FULL_NAME="Gita Rao", EMAIL="gita@example.com")),
            await client.post(hook, json=google("L3", FULL_NAME="Gita Rao", EMAIL="gita@example.com")),
        ]

        async def counted() -> bool:
            found = (await client.get(f"/api/v1/sources/{source_id}/activity", headers=tenant.headers)).json()
            payloads = (await client.get(f"/api/v1/sources/{source_id}/payloads", headers=tenant.headers)).json()
            return bool(found["received"] == len(sent) and len(payloads["items"]) == len(sent))

        await eventually(counted)
        page = await client.get(f"/console/sources/{source_id}")
        listing = await client.get("/console/sources")

    assert [r.status_code for r in sent[:2]] == [401, 422]
    assert all(r.is_success for r in sent[2:])
    text = page.text
    counts = re.search(r'<table class="counts">.*?</table>', text, re.S)
    assert counts
    for label, number in (("Received", 4), ("Accepted", 1), ("Duplicate", 1), ("Rejected", 2)):
        assert re.search(rf"<th[^>]*>{label}</th>\s*<td[^>]*>{number}</td>", counts.group(0)), label
    assert "unauthorized" in text
    assert "same_id" in text
    assert "google_key does not match" in text  # what the sender was told
    assert "<li><code>email</code>: Email is required</li>" in text  # the refused lead's problem, listed
    assert text.count("<details") >= 4  # every payload's raw body, collapsed
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<script>alert(1)" not in text
    assert GOOGLE_KEY not in text  # redacted from the payloads kept
    row = re.search(rf'<tr>\s*<td><a href="/console/sources/{source_id}">.*?</tr>', listing.text, re.S)
    assert row
    assert re.findall(r'<td class="num">(\d+)</td>', row.group(0)) == ["4", "1", "1", "2"]
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", row.group(0))  # the last lead's time


async def test_a_failed_meta_fetch_is_retried_from_the_source_page(database_url: str, tenant: Tenant) -> None:
    async with fake_graph_api("app-secret-123") as graph:
        graph.broken.add("901")
        settings = make_settings(database_url, **SETTINGS, meta_graph_base_url=graph.base)
        async with serve(settings) as client:
            form = await create_form(client, tenant)
            csrf = await sign_in(client, tenant)
            new_page = await client.get("/console/sources/new", params={"kind": "meta_lead_ads", "form": form["id"]})
            source_id = await _create(
                client,
                csrf,
                form,
                kind="meta_lead_ads",
                meta_app_secret="app-secret-123",
                meta_page_access_token="page-token-123",
            )
            body, headers = meta_leadgen("app-secret-123", "901")
            assert (await client.post(f"/hooks/{source_id}", content=body, headers=headers)).status_code == 200

            async def failed() -> bool:
                page = await client.get(f"/console/sources/{source_id}")
                return "Retry" in page.text and "901" in page.text

            await eventually(failed)
            before = await client.get(f"/console/sources/{source_id}")
            fetch_id = re.search(r'action="/console/sources/[^/]+/fetches/(fetch_[0-9a-z]+)/retry"', before.text)
            assert fetch_id
            graph.broken.clear()
            retried = await client.post(
                f"/console/sources/{source_id}/fetches/{fetch_id.group(1)}/retry", data={"csrf": csrf}
            )
            notice = await client.get(retried.headers["location"])

            async def done() -> bool:
                fetches = (await client.get(f"/api/v1/sources/{source_id}/fetches", headers=tenant.headers)).json()
                return bool(fetches["items"][0]["status"] == "done")

            await eventually(done)
            again = await client.post(
                f"/console/sources/{source_id}/fetches/{fetch_id.group(1)}/retry", data={"csrf": csrf}
            )
            after = await client.get(f"/console/sources/{source_id}")

    assert "page access token" in new_page.text
    assert "Graph API answered 500" in before.text  # why it failed
    assert (retried.status_code, retried.headers["location"]) == (
        303,
        f"/console/sources/{source_id}?done=fetch_retried",
    )
    assert "fetched again in a moment" in notice.text
    assert again.headers["location"] == f"/console/sources/{source_id}?done=fetch_not_retried"
    assert f'/fetches/{fetch_id.group(1)}/retry"' not in after.text  # done: nothing to retry


async def test_a_source_is_disabled_enabled_and_deleted_after_confirming(database_url: str, tenant: Tenant) -> None:
    async with serve(make_settings(database_url, **SETTINGS)) as client:
        form = await create_form(client, tenant)
        csrf = await sign_in(client, tenant)
        source_id = await _create(client, csrf, form, kind="justdial", name="JustDial listing")
        disabled = await client.post(f"/console/sources/{source_id}/status", data={"csrf": csrf, "status": "disabled"})
        disabled_api = (await client.get(f"/api/v1/sources/{source_id}", headers=tenant.headers)).json()
        disabled_page = await client.get(disabled.headers["location"])
        enabled = await client.post(f"/console/sources/{source_id}/status", data={"csrf": csrf, "status": "enabled"})
        enabled_api = (await client.get(f"/api/v1/sources/{source_id}", headers=tenant.headers)).json()
        unconfirmed = await client.post(f"/console/sources/{source_id}/delete", data={"csrf": csrf})
        still = await client.get(f"/api/v1/sources/{source_id}", headers=tenant.headers)
        deleted = await client.post(f"/console/sources/{source_id}/delete", data={"csrf": csrf, "confirm": "delete"})
        gone = await client.get(f"/api/v1/sources/{source_id}", headers=tenant.headers)
        listing = await client.get(deleted.headers["location"])

    assert disabled.headers["location"] == f"/console/sources/{source_id}?done=source_disabled"
    assert disabled_api["enabled"] is False
    assert "refuses what its sender pushes" in disabled_page.text
    assert enabled_api["enabled"] is True
    assert enabled.headers["location"] == f"/console/sources/{source_id}?done=source_enabled"
    assert unconfirmed.status_code == 422
    assert "Tick the box" in unconfirmed.text
    assert still.status_code == 200
    assert deleted.headers["location"] == "/console/sources?done=source_deleted"
    assert gone.status_code == 404
    assert "JustDial listing" not in listing.text
    assert "The source is deleted" in listing.text


async def test_another_workspaces_source_is_not_found(database_url: str, tenant: Tenant, other_tenant: Tenant) -> None:
    async with serve(make_settings(database_url, **SETTINGS)) as client:
        form = await create_form(client, tenant)
        csrf = await sign_in(client, tenant)
        source_id = await _create(client, csrf, form, kind="generic", auth_type="url", name="Acme's own")
        async with httpx.AsyncClient(base_url=str(client.base_url)) as stranger:
            theirs = await sign_in(stranger, other_tenant)
            answers = {
                "page": await stranger.get(f"/console/sources/{source_id}"),
                "created": await stranger.get(f"/console/sources/{source_id}/created"),
                "new with their form": await stranger.get(
                    "/console/sources/new", params={"kind": "generic", "form": form["id"]}
                ),
                "create with their form": await stranger.post(
                    "/console/sources",
                    data={"csrf": theirs, "kind": "generic", "form": form["id"], "auth_type": "url"},
                ),
                "status": await stranger.post(
                    f"/console/sources/{source_id}/status", data={"csrf": theirs, "status": "disabled"}
                ),
                "mapping": await stranger.post(
                    f"/console/sources/{source_id}/mapping", data={"csrf": theirs, "id_field": "x"}
                ),
                "delete": await stranger.post(
                    f"/console/sources/{source_id}/delete", data={"csrf": theirs, "confirm": "delete"}
                ),
                "retry": await stranger.post(
                    f"/console/sources/{source_id}/fetches/fetch_0/retry", data={"csrf": theirs}
                ),
            }
            their_list = await stranger.get("/console/sources")
        mine = (await client.get(f"/api/v1/sources/{source_id}", headers=tenant.headers)).json()

    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(answers, 404)
    assert "Acme&#39;s own" not in their_list.text
    assert (mine["enabled"], mine["id_field"]) == (True, None)


async def test_a_sample_is_tried_on_the_saved_mapping_and_nothing_is_stored(
    database_url: str, tenant: Tenant, other_tenant: Tenant
) -> None:
    sample = {"email": "asha@example.com", "contact": {"first": "Asha", "last": "Rao", "phone": "98765 43210"}}
    async with serve(make_settings(database_url, **SETTINGS)) as client:
        form = await create_form(client, tenant)
        csrf = await sign_in(client, tenant)
        source_id = await _create(client, csrf, form, kind="generic", auth_type="query", auth_name="key")
        rules = {
            "csrf": csrf,
            "map_rows": "2",
            "map-0-path": "email",
            "map-0-field": "email",
            "map-1-path": "contact.phone",
            "map-1-field": "phone",
            "join_rows": "1",
            "join-0-field": "name",
            "join-0-paths": "contact.first\ncontact.last",
            "phone_region": "IN",
            "id_field": "lead.id",
        }
        assert (await client.post(f"/console/sources/{source_id}/mapping", data=rules)).status_code == 303
        try_url = f"/console/sources/{source_id}/try"
        as_json = await client.post(
            try_url,
            data={"csrf": csrf, "sample_type": "json", "sample": json.dumps({**sample, "lead": {"id": "L-7"}})},
        )
        as_form = await client.post(
            try_url, data={"csrf": csrf, "sample_type": "form", "sample": "contact.first=Bo&key=secret-in-sample"}
        )
        as_query = await client.post(
            try_url, data={"csrf": csrf, "sample_type": "query", "sample": "email=bo%40example.com&key=x"}
        )
        unreadable = await client.post(try_url, data={"csrf": csrf, "sample_type": "json", "sample": "{not json"})
        activity = (await client.get(f"/api/v1/sources/{source_id}/activity", headers=tenant.headers)).json()
        leads = (await client.get("/api/v1/leads", headers=tenant.headers)).json()
        async with httpx.AsyncClient(base_url=str(client.base_url)) as stranger:
            theirs = await sign_in(stranger, other_tenant)
            foreign = await stranger.post(try_url, data={"csrf": theirs, "sample_type": "json", "sample": "{}"})

    assert as_json.status_code == 200
    tried = as_json.text
    assert 'id="sample"' in tried
    assert "L-7" in tried  # the sender's lead id, read at the id field
    assert "Asha Rao" in tried  # joined
    assert "+919876543210" in tried  # read as of India
    assert "No problems: this lead would be stored." in tried
    assert "&#34;first&#34;: &#34;Asha&#34;" in tried  # the sample stays in its box, escaped
    assert as_form.status_code == 200
    assert "Email is required" in as_form.text
    assert "secret-in-sample" not in as_form.text.split('id="sample"')[1].split("</textarea>")[1]
    assert as_query.status_code == 200
    assert "bo@example.com" in as_query.text
    assert unreadable.status_code == 422
    assert "Sample: the body is not valid JSON" in unreadable.text
    assert "{not json</textarea>" in unreadable.text  # kept, to be corrected
    assert activity["received"] == 0  # a try-out is not a request of the sender's
    assert leads["items"] == []
    assert foreign.status_code == 404

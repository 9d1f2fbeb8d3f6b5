"""API keys, signing secrets and vendor credentials never appear in logs or in what the API lists.

A real ``leadwire serve`` logs at debug level, as JSON, while every kind of secret is made and used: API keys
(created, used, revoked, guessed), endpoint secrets (created, rotated, used to sign deliveries) and each inbound
source's credentials (a Standard Webhooks secret, a Google Ads key, Meta's app secret, page token and verify token,
a generic source's key in the query string and its HTTP Basic password, all used by real senders, right and wrong,
and the page token by the Graph API fetch; an IndiaMART CRM key, sent in the query of every pull, and a 99acres
password, in the body of every pull). Afterwards no secret, nor its tail, is in the log or in any list or detail
answer of the API; each was shown once, when it was made (pull credentials are never shown).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import subprocess
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from bench.cluster import LEADWIRE, ROOT, Cluster, leadwire_env
from tests.conftest import TEST_SECRET_KEY
from tests.fakes.acres99 import Fake99acres, acres99_query
from tests.fakes.indiamart import FakeIndiaMart, indiamart_lead
from tests.ingest.conftest import FORM
from tests.ingest.senders import fake_graph_api
from tests.ingest.senders import hook_path as _hook
from tests.ingest.test_sources import _google, _signed

if TYPE_CHECKING:
    from pathlib import Path

    from tests.webhooks import Receiver

pytestmark = pytest.mark.slow

CRM_KEY = "mRywEb5u4HfHTver432Y/1CPp1LEmzY=-crm-key"
ACRES99_PASSWORD = "s3cret-99acres-password-" + "a" * 12
TAIL = 16
"""Characters from the end of a secret that must not appear anywhere (the start of an API key is its shown prefix)."""
META_APP_SECRET = "meta-app-secret-" + "m" * 24


def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in {200, 201}, response.text
    body: dict[str, Any] = response.json()
    return body


async def _make_and_use_secrets(api: httpx.AsyncClient, receiver: Receiver, secrets: dict[str, str]) -> None:
    """Every secret Leadwire holds, made and then used the way its owner uses it."""
    form = _created(await api.post("/api/v1/forms", json=FORM))
    endpoint = _created(await api.post("/api/v1/endpoints", json={"url": receiver.url}))
    secrets["endpoint secret"] = endpoint["secret"]
    rotated = _created(await api.post(f"/api/v1/endpoints/{endpoint['id']}/rotate-secret"))
    secrets["rotated endpoint secret"] = rotated["secret"]
    spare = _created(await api.post("/api/v1/api-keys", json={"name": "revoked soon"}))
    secrets["revoked API key"] = spare["key"]
    assert (await api.delete(f"/api/v1/api-keys/{spare['id']}")).status_code == 204
    refused = await api.get("/api/v1/forms", headers={"Authorization": f"Bearer {spare['key']}"})
    assert refused.status_code == 401
    guessed = secrets["API key"][:-4] + "abcd"
    assert (await api.get("/api/v1/forms", headers={"Authorization": f"Bearer {guessed}"})).status_code == 401

    base = {"form_id": form["id"], "consent_purposes": ["sales_contact"], "mapping": {"full_name": "name"}}
    standard = _created(await api.post("/api/v1/sources", json={**base, "kind": "standard_webhooks"}))
    secrets["source whsec"] = standard["secrets"]["whsec"]
    google_key = "google-key-" + "g" * 24
    google = _created(await api.post("/api/v1/sources", json={**base, "kind": "google_ads", "google_key": google_key}))
    secrets["Google key"] = google_key
    meta_credentials = {
        "meta_app_secret": META_APP_SECRET,
        "meta_page_access_token": "meta-page-token-" + "p" * 24,
        "meta_verify_token": "meta-verify-token-" + "v" * 24,
    }
    meta = _created(await api.post("/api/v1/sources", json={**base, "kind": "meta_lead_ads", **meta_credentials}))
    secrets.update(meta_credentials)

    lead = {"name": "Asha Rao", "email": "asha@example.com", "consent": ["sales_contact"]}
    assert (await api.post(f"/f/{form['slug']}", json=lead)).status_code == 201
    body, headers = _signed(standard["secrets"]["whsec"], {"data": {"full_name": "Ines Ito", "email": "i@x.io"}}, "e1")
    assert (await api.post(_hook(standard), content=body, headers=headers)).status_code == 200
    assert (await api.post(_hook(google), json=_google(google_key, "g-1"))).status_code in {200, 201}
    check = {"hub.mode": "subscribe", "hub.verify_token": meta_credentials["meta_verify_token"], "hub.challenge": "7"}
    assert (await api.get(_hook(meta), params=check)).status_code == 200
    payload = json.dumps(
        {
            "object": "page",
            "entry": [{"id": "p", "time": 1, "changes": [{"field": "leadgen", "value": {"leadgen_id": "9"}}]}],
        }
    ).encode()
    signature = "sha256=" + hmac.new(meta_credentials["meta_app_secret"].encode(), payload, hashlib.sha256).hexdigest()
    meta_headers = {"content-type": "application/json", "x-hub-signature-256": signature}
    assert (await api.post(_hook(meta), content=payload, headers=meta_headers)).status_code == 200
    await _use_generic_sources(api, base, secrets)
    assert (await api.post(f"/api/v1/endpoints/{endpoint['id']}/test")).status_code == 202

    pulled = {"form_id": form["id"], "consent_purposes": ["sales_contact"]}
    secrets["IndiaMART CRM key"] = CRM_KEY
    _created(await api.post("/api/v1/sources", json={**pulled, "kind": "indiamart", "pull": {"crm_key": CRM_KEY}}))
    login = {"username": "homes99", "password": ACRES99_PASSWORD}
    secrets["99acres password"] = ACRES99_PASSWORD
    _created(await api.post("/api/v1/sources", json={**pulled, "kind": "99acres", "pull": login}))


async def _use_generic_sources(api: httpx.AsyncClient, base: dict[str, Any], secrets: dict[str, str]) -> None:
    """A generic source's key sent in the query string, and another's HTTP Basic password: right, then wrong."""
    generic_key = "generic-key-" + "q" * 24
    query_auth = {"type": "query", "name": "key", "value": generic_key}
    in_query = _created(await api.post("/api/v1/sources", json={**base, "kind": "generic", "auth": query_auth}))
    secrets["generic source's key"] = generic_key
    basic_password = "basic-password-" + "b" * 24
    basic_auth = {"type": "basic", "username": "portal", "value": basic_password}
    basic = _created(await api.post("/api/v1/sources", json={**base, "kind": "generic", "auth": basic_auth}))
    secrets["generic source's Basic password"] = basic_password
    generic_lead = {"full_name": "Om Pal", "email": "om@example.com"}
    assert (await api.get(_hook(in_query), params={**generic_lead, "key": generic_key})).status_code == 200
    wrong = {**generic_lead, "key": generic_key[:-1] + "x"}  # refused and logged: without the key it carried
    assert (await api.get(_hook(in_query), params=wrong)).status_code == 401
    assert (await api.post(_hook(basic), json=generic_lead, auth=("portal", basic_password))).status_code == 200
    assert (await api.post(_hook(basic), json=generic_lead, auth=("portal", basic_password + "!"))).status_code == 401


async def _everything_listed(api: httpx.AsyncClient) -> str:
    """Every list of the API, and each item's own page: what a caller can read back."""
    answers: list[str] = []
    for path in ("forms", "endpoints", "sources", "api-keys", "audit-events", "deliveries", "leads", "submissions"):
        listing = await api.get(f"/api/v1/{path}", params={"limit": 100})
        assert listing.status_code == 200, (path, listing.text)
        answers.append(listing.text)
        if path in {"forms", "endpoints", "sources", "deliveries", "leads"}:
            answers.extend([(await api.get(f"/api/v1/{path}/{item['id']}")).text for item in listing.json()["items"]])
    answers.append((await api.get("/api/v1/workspace")).text)
    return "\n".join(answers)


async def test_no_secret_is_logged_or_listed(receiver: Receiver, tmp_path: Path) -> None:
    indiamart = FakeIndiaMart(CRM_KEY, [indiamart_lead("2687336412", 5, SENDER_EMAIL="pulled@example.com")])
    acres99 = Fake99acres("homes99", ACRES99_PASSWORD, [acres99_query("Q-1", 5, Email="pulled99@example.com")])
    async with (
        fake_graph_api(META_APP_SECRET, failures=1) as graph,
        indiamart.serving() as indiamart_url,
        acres99.serving() as acres99_url,
    ):
        database_url = f"sqlite+aiosqlite:///{tmp_path}/leadwire.db"
        env = leadwire_env(
            database_url,
            TEST_SECRET_KEY,
            log_level="debug",
            log_format="json",
            allow_private_webhook_targets="true",
            meta_graph_base_url=graph.base,
            source_fetch_retry_schedule="0.2,0.2",
            delivery_poll_seconds="0.1",
            indiamart_base_url=indiamart_url,
            **{"99acres_base_url": acres99_url, "tradeindia_base_url": "http://127.0.0.1:9/"},
        )
        with Cluster(tmp_path) as cluster:
            server = cluster.add("serve", "serve", env)
            server.spawn()
            await server.ready()
            created = await asyncio.to_thread(
                subprocess.run,
                [*LEADWIRE, "workspace", "create", "Acme", "--json"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
            key = json.loads(created.stdout)["api_key"]
            secrets = {"API key": key}
            headers = {"Authorization": f"Bearer {key}"}
            async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as api:
                await _make_and_use_secrets(api, receiver, secrets)
                # the form's lead, three sources' leads, the test event, and the two pulled leads
                await receiver.wait_for(7, seconds=30)
                listed = await _everything_listed(api)
            server.stop()
            log = server.log_path.read_text(encoding="utf-8")

    assert len(log.splitlines()) > 50, "the server logged too little for this test to mean anything"
    assert '"level":"debug"' in log
    for name, secret in secrets.items():
        assert len(secret) > TAIL + 8, name
        assert secret[-TAIL:] not in log, f"the {name} is in the log"
        assert secret[-TAIL:] not in listed, f"the {name} is in an API answer"
    print(f"\n  checked {len(secrets)} secrets against {len(log.splitlines())} log lines and {len(listed)} bytes")

"""Schemathesis against ``/schema/openapi.json`` of a running ``leadwire serve``: no 5xx, no answer off the schema.

Every operation is fuzzed with a valid API key and with real identifiers (a published form, a lead, a delivery, an
endpoint, a source, a receipt token), so requests reach the handlers instead of stopping at 404. Operations that
destroy or archive (DELETE, PATCH of a form, endpoint or source; revoking a key) get identifiers of their own, so
the rest of the run keeps a form to post to and a key that works.

The checks: no server error; the status code, content type, headers and body of every answer are the ones the
schema documents; an operation that declares authentication refuses requests without it; a deleted resource is
gone. Not ``negative_data_rejection``: Litestar converts bodies and query values with msgspec's lax rules, so ``0``
is read as ``false`` and a number as a Unix time, a leniency we accept and the schema does not describe.

The run is seeded, so a failure reproduces; schemathesis's own output, with a curl line per failure, is the
assertion message.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from bench.cluster import LEADWIRE, ROOT, Cluster, leadwire_env
from consent.tokens import receipt_token
from tests.conftest import TEST_SECRET_KEY, make_settings
from tests.ingest.conftest import FORM

if TYPE_CHECKING:
    from bench.cluster import Node

pytestmark = pytest.mark.slow

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "ignored_auth",
        "use_after_free",
    ]
)
MAX_EXAMPLES = 25
SEED = 20261122


def _toml(values: dict[str, str]) -> str:
    return "{ " + ", ".join(f'"{name}" = {json.dumps(value)}' for name, value in values.items()) + " }"


def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _identifiers(server: Node, env: dict[str, str]) -> tuple[str, dict[str, str], dict[str, str]]:
    """A demo workspace with one of everything: its key, the identifiers to fuzz with, and the disposable ones."""
    demo = subprocess.run(
        [*LEADWIRE, "demo", "--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    workspace = json.loads(demo.stdout)
    headers = {"Authorization": f"Bearer {workspace['api_key']}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as api:
        spare_key = _created(api.post("/api/v1/api-keys", json={"name": "spare"}))
        spare_form = _created(api.post("/api/v1/forms", json={**FORM, "name": "Spare"}))
        hook = "http://127.0.0.1:9/hook"  # nothing listens, and no worker runs in this server
        endpoint, spare_endpoint = (_created(api.post("/api/v1/endpoints", json={"url": hook})) for _ in "ab")
        source, spare_source = (
            _created(api.post("/api/v1/sources", json={"kind": "standard_webhooks", "form_id": workspace["form_id"]}))
            for _ in "ab"
        )
        lead = {"name": "Asha Rao", "email": "asha@example.com", "consent": ["sales_contact"]}
        submission = _created(api.post(f"/f/{workspace['form_slug']}", json=lead))
        lead_id = api.get("/api/v1/leads").json()["items"][0]["id"]
        delivery_id = api.get("/api/v1/deliveries").json()["items"][0]["id"]
    settings = make_settings(env["LEADWIRE_DATABASE_URL"])
    fuzzed = {
        "path.slug": workspace["form_slug"],
        "path.form_id": workspace["form_id"],
        "path.lead_id": lead_id,
        "path.delivery_id": delivery_id,
        "path.endpoint_id": endpoint["id"],
        "path.source_id": source["id"],
        "path.key_id": spare_key["id"],
        "path.token": receipt_token(settings, submission["id"]),
    }
    spare = {
        "path.form_id": spare_form["id"],
        "path.endpoint_id": spare_endpoint["id"],
        "path.source_id": spare_source["id"],
    }
    return workspace["api_key"], fuzzed, spare


def test_schemathesis_finds_no_server_error_and_no_answer_off_the_schema(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path}/leadwire.db"
    env = leadwire_env(
        database_url,
        TEST_SECRET_KEY,
        run_worker="false",
        allow_private_webhook_targets="true",
        meta_graph_base_url="http://127.0.0.1:9",  # Meta sources the fuzzer makes are never fetched from outside
        rate_limit_ip_form="1000000/minute",
        rate_limit_ip="1000000/minute",
        rate_limit_form="1000000/minute",
    )
    with Cluster(tmp_path) as cluster:
        server = cluster.add("serve", "serve", env)
        server.spawn()
        server.wait_ready()
        key, fuzzed, spare = _identifiers(server, env)
        config = tmp_path / "schemathesis.toml"
        config.write_text(
            f"parameters = {_toml(fuzzed)}\n\n"
            "[[operations]]\n"
            'include-path-regex = "^/api/v1/(forms|endpoints|sources)/[{][a-z_]+[}]$"\n'
            'include-method-regex = "^(DELETE|PATCH)$"\n'
            f"parameters = {_toml(spare)}\n",
            encoding="utf-8",
        )
        run = subprocess.run(
            [
                str(Path(sys.executable).with_name("schemathesis")),
                "--config-file",
                str(config),
                "run",
                f"{server.url}/schema/openapi.json",
                "--header",
                f"Authorization: Bearer {key}",
                "--checks",
                CHECKS,
                "--phases",
                "examples,coverage,fuzzing",
                "--max-examples",
                str(MAX_EXAMPLES),
                "--seed",
                str(SEED),
                "--workers",
                "2",
                "--no-color",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        log = server.log_tail(20_000)
    summary = run.stdout[run.stdout.rfind("SUMMARY") :] if "SUMMARY" in run.stdout else run.stdout[-3_000:]
    print(f"\n  schemathesis: {' '.join(summary.split())[:600]}")
    assert run.returncode == 0, f"{run.stdout[-30_000:]}\n{run.stderr[-5_000:]}"
    assert "Traceback" not in log, log
    assert "unhandled error" not in log, log

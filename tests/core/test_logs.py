"""Request ids on responses and log records; JSON log lines with LEADWIRE_LOG_FORMAT=json."""

from __future__ import annotations

import io
import json
import logging
from typing import TYPE_CHECKING

import pytest

from core.logs import configure_logging, redact_target
from tests.conftest import make_settings

if TYPE_CHECKING:
    from tests.conftest import Client


async def test_every_response_carries_a_request_id_and_a_sensible_one_from_the_client_is_kept(client: Client) -> None:
    mine = await client.get("/healthz", headers={"X-Request-ID": "trace-42"})
    made = await client.get("/healthz")
    odd = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})

    assert mine.headers["x-request-id"] == "trace-42"
    assert len(made.headers["x-request-id"]) == 16
    assert odd.headers["x-request-id"] != "bad id with spaces"


def test_json_logs_are_one_object_per_line_with_the_request_id(database_url: str) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging(make_settings(database_url, log_format="json"))
        stream = io.StringIO()
        handler = root.handlers[0]
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(stream)
        try:
            raise ValueError("boom")  # noqa: TRY301 - a real exception, for its traceback in the record
        except ValueError:
            logging.getLogger("leadwire.test").exception("it went %s", "wrong")
        line = json.loads(stream.getvalue().splitlines()[0])
    finally:
        root.handlers[:], level = saved[0], saved[1]
        root.setLevel(level)

    assert line["level"] == "error"
    assert line["logger"] == "leadwire.test"
    assert line["message"] == "it went wrong"
    assert line["request_id"] is None  # outside a request
    assert "ValueError: boom" in line["exception"]
    assert line["time"].endswith("Z")


@pytest.mark.parametrize(
    ("target", "logged"),
    [
        ("/api/v1/forms", "/api/v1/forms"),
        ("/api/v1/leads?email=asha%40example.com&limit=20", "/api/v1/leads?email=…&limit=20"),
        (
            "/hooks/src_1?hub.mode=subscribe&hub.verify_token=s3cret&hub.challenge=7",
            "/hooks/src_1?hub.mode=…&hub.verify_token=…&hub.challenge=…",
        ),
        ("/c/InN1Yl8wNmgw.abc/withdraw", "/c/…/withdraw"),
        ("/c/InN1Yl8wNmgw.abc?withdrawn=1", "/c/…?withdrawn=1"),
        ("/confirm/eyJzdWIi.xyz", "/confirm/…"),
        ("/console/invitations/Zm9v-YmFy_baz", "/console/invitations/…"),
        ("/console/reset-password/Zm9v-YmFy_baz", "/console/reset-password/…"),
        ("/console/members/invitations/inv_1/link", "/console/members/invitations/inv_1/link"),
        ("/f/slug?flag", "/f/slug?flag"),
    ],
)
def test_the_access_log_hides_link_tokens_and_query_values(target: str, logged: str) -> None:
    assert redact_target(target) == logged

"""Standard Webhooks signing, cross-checked with the standardwebhooks package and the README's example."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks import Webhook, WebhookVerificationError

from delivery.outbox import Claimed
from delivery.signing import new_secret, sign, signature_header, verify
from delivery.worker import encode_body

README = Path(__file__).resolve().parents[2] / "README.md"


def _headers(message_id: str, timestamp: int, signature: str) -> dict[str, str]:
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}


def test_secrets_are_whsec_and_32_random_bytes() -> None:
    secrets = {new_secret() for _ in range(100)}
    assert len(secrets) == 100
    assert all(re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret) for secret in secrets)


@settings(max_examples=50)
@given(body=st.binary(max_size=2_000), message_id=st.from_regex(r"msg_[0-9a-z]{26}", fullmatch=True))
def test_our_signatures_verify_with_standardwebhooks(body: bytes, message_id: str) -> None:
    secret = new_secret()
    now = int(time.time())
    # standardwebhooks parses the body as JSON; a JSON string holding the bytes keeps the property general.
    json_body = ('"' + body.hex() + '"').encode()
    headers = _headers(message_id, now, signature_header([secret], message_id, now, json_body))
    assert Webhook(secret).verify(json_body, headers) == body.hex()
    assert verify(secret, message_id, now, json_body, headers["webhook-signature"])


def test_a_tampered_body_or_other_secret_fails() -> None:
    secret, other = new_secret(), new_secret()
    now = int(time.time())
    body = b'{"type":"lead.created"}'
    header = sign(secret, "msg_1", now, body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"type":"lead.created "}', _headers("msg_1", now, header))
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(body, _headers("msg_1", now, header))
    assert not verify(other, "msg_1", now, body, header)
    assert not verify(secret, "msg_2", now, body, header)


def test_either_of_two_signatures_verifies_during_rotation() -> None:
    old, new = new_secret(), new_secret()
    now = int(time.time())
    body = b"{}"
    header = signature_header([new, old], "msg_1", now, body)
    assert len(header.split()) == 2
    for secret in (old, new):
        Webhook(secret).verify(body, _headers("msg_1", now, header))


def test_the_body_is_type_timestamp_and_data() -> None:
    claimed = Claimed(
        delivery_id="dlv_1", lease_token="t", message_id="msg_1", event_type="lead.created",
        payload={"lead": {"id": "lead_1"}}, message_created_at=datetime(2026, 11, 21, 23, 30, tzinfo=UTC),
        endpoint_id="ep_1", url="https://1.1.1.1/", secrets=[], rate_limit_per_second=None,
        lease_expires_at=datetime(2026, 11, 21, 23, 31, tzinfo=UTC),
    )  # fmt: skip
    assert encode_body(claimed) == (
        b'{"type":"lead.created","timestamp":"2026-11-21T23:30:00Z","data":{"lead":{"id":"lead_1"}}}'
    )


def test_the_readme_stdlib_verification_example_works() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)
    source = next(block for block in blocks if "def verify(" in block)
    namespace: dict[str, Any] = {}
    exec(compile(source, "README.md", "exec"), namespace)  # noqa: S102 - our own README, under test
    readme_verify = namespace["verify"]
    secret = new_secret()
    now = int(time.time())
    body = b'{"type":"lead.created","data":{}}'
    headers = _headers("msg_1", now, signature_header([new_secret(), secret], "msg_1", now, body))
    assert readme_verify(secret, headers, body)
    assert not readme_verify(secret, headers, body + b" ")
    assert not readme_verify(secret, _headers("msg_1", now - 3_600, headers["webhook-signature"]), body)

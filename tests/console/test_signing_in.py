"""Signing in with email and password: one answer for every failure, timed alike, throttled per account and per
address, recorded in the audit log, and a hash made with older parameters redone on the way in."""

from __future__ import annotations

import statistics
import time
from typing import TYPE_CHECKING

import argon2
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update

from app import create_app
from core.database import utcnow
from tests.conftest import make_settings
from tests.ingest.conftest import INGEST
from workspaces import passwords
from workspaces.models import Member

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx

    from core.database import Database
    from tests.conftest import Client, Tenant


def _client(database_url: str, **extra: str) -> AsyncTestClient:  # type: ignore[type-arg]
    settings = make_settings(database_url, **{**INGEST, "run_worker": "false", **extra})
    client = AsyncTestClient(app=create_app(settings), base_url="http://testserver.local")
    client.follow_redirects = False
    return client


@pytest.fixture
async def browser(database_url: str) -> AsyncIterator[Client]:
    async with _client(database_url) as client:
        yield client


async def _sign_in(client: Client, email: str, password: str) -> httpx.Response:
    return await client.post("/console/sign-in", data={"email": email, "password": password})


def _answer(response: httpx.Response, email: str) -> str:
    """The page without the address typed (it is put back in the form, whichever account it names)."""
    return response.text.replace(f'value="{email}"', 'value=""')


async def test_every_failure_gets_the_same_answer(browser: Client, tenant: Tenant, db: Database) -> None:
    async with db.session(write=True) as session:
        await session.execute(update(Member).values(disabled_at=None))
    wrong = await _sign_in(browser, tenant.email, "not the password at all")
    unknown = await _sign_in(browser, "nobody@example.com", tenant.password)
    malformed = await _sign_in(browser, "not an address", tenant.password)
    async with db.session(write=True) as session:
        await session.execute(update(Member).where(Member.id == tenant.member_id).values(disabled_at=utcnow()))
    disabled = await _sign_in(browser, tenant.email, tenant.password)

    answers = {
        (r.status_code, _answer(r, email))
        for r, email in (
            (wrong, tenant.email),
            (unknown, "nobody@example.com"),
            (malformed, "not an address"),
            (disabled, tenant.email),
        )
    }
    assert len(answers) == 1
    ((status, text),) = answers
    assert status == 401
    assert "do not match an account" in text
    assert "set-cookie" not in wrong.headers


async def test_an_unknown_account_takes_as_long_as_a_wrong_password(browser: Client, tenant: Tenant) -> None:
    """Without the dummy verification an unknown address would be answered a hundred times sooner. Measured in the
    process's CPU time (the app runs in this process, argon2 in its threads), which other work on a busy machine
    does not inflate as it does wall time."""
    await _sign_in(browser, "warm-up@example.com", "x" * 12)
    wrong, unknown = [], []
    for attempt in range(4):
        started = time.process_time()
        await _sign_in(browser, tenant.email, f"wrong password {attempt}")
        wrong.append(time.process_time() - started)
        started = time.process_time()
        await _sign_in(browser, f"nobody{attempt}@example.com", f"wrong password {attempt}")
        unknown.append(time.process_time() - started)

    assert statistics.median(unknown) > 0.5 * statistics.median(wrong)


async def test_signing_in_opens_a_session_and_the_audit_log_says_who_tried(
    browser: Client, tenant: Tenant, db: Database
) -> None:
    failed = await _sign_in(browser, tenant.email, "not the password at all")
    signed_in = await _sign_in(browser, tenant.email.upper(), tenant.password)  # addresses are not case-sensitive
    page = await browser.get("/console/account")
    events = (await browser.get("/api/v1/audit-events", headers=tenant.headers)).json()["items"]
    async with db.session(write=False) as session:
        last = await session.scalar(select(Member.last_sign_in_at).where(Member.id == tenant.member_id))

    assert failed.status_code == 401
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/console")
    assert page.status_code == 200
    assert tenant.email in page.text
    assert [e["action"] for e in events[:2]] == ["member.signed_in", "member.sign_in_failed"]
    assert events[0]["actor"] == f"member:{tenant.member_id}"
    assert (events[1]["actor"], events[1]["target_id"]) == ("anonymous", tenant.member_id)
    assert last is not None


async def test_a_hash_made_with_older_parameters_is_redone_at_sign_in(
    browser: Client, tenant: Tenant, db: Database
) -> None:
    old = argon2.PasswordHasher(time_cost=1, memory_cost=8_192, parallelism=1).hash(tenant.password)
    async with db.session(write=True) as session:
        await session.execute(update(Member).where(Member.id == tenant.member_id).values(password_hash=old))
    signed_in = await _sign_in(browser, tenant.email, tenant.password)
    async with db.session(write=False) as session:
        stored = await session.scalar(select(Member.password_hash).where(Member.id == tenant.member_id))

    assert signed_in.status_code == 303
    assert stored is not None
    assert stored != old
    assert not passwords.needs_rehash(stored)
    assert passwords.verify_password(stored, tenant.password)


async def test_sign_in_is_throttled_per_account_and_per_address_with_one_answer(
    database_url: str, tenant: Tenant
) -> None:
    limits = {"sign_in_limit_account": "3/minute", "sign_in_limit_address": "8/minute"}
    async with _client(database_url, **limits) as client:
        for _ in range(3):
            assert (await _sign_in(client, tenant.email, "not the password at all")).status_code == 401
        right_but_late = await _sign_in(client, tenant.email, tenant.password)
        for index in range(3):
            assert (await _sign_in(client, "nobody@example.com", f"guess {index} guess")).status_code == 401
        unknown_late = await _sign_in(client, "nobody@example.com", "one guess too many")
        address_late = await _sign_in(client, "someone-else@example.com", "a guess from here")

    for late in (right_but_late, unknown_late, address_late):
        assert late.status_code == 429
        assert "Too many attempts to sign in" in late.text
        assert int(late.headers["retry-after"]) >= 1
        assert "set-cookie" not in late.headers


async def test_the_account_limit_is_shared_through_redis(database_url: str, tenant: Tenant, redis_url: str) -> None:
    """Two instances (two apps) sharing Redis count one account's attempts together."""
    limits = {"sign_in_limit_account": "3/minute", "sign_in_limit_address": "1000/minute", "redis_url": redis_url}
    async with _client(database_url, **limits) as first, _client(database_url, **limits) as second:
        for client in (first, second, first):
            assert (await _sign_in(client, tenant.email, "not the password at all")).status_code == 401
        late = await _sign_in(second, tenant.email, tenant.password)

    assert late.status_code == 429

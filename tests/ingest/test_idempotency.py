"""Idempotency keys: a retry replays the stored answer, another body is refused, one in flight is 409."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import uuid
from typing import TYPE_CHECKING

import asyncpg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bench.cluster import asyncpg_dsn
from core.errors import Conflict
from ingest.idempotency import InFlight
from leads.models import Submission
from tests.conftest import make_settings
from tests.ingest.conftest import create_form, serve, token, valid

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from core.database import Database
    from core.settings import Settings
    from tests.conftest import Client, Tenant


async def test_a_retry_with_the_same_key_and_body_replays_the_stored_answer(
    app_client: Client, tenant: Tenant, db: Database
) -> None:
    form = await create_form(app_client, tenant)
    headers = {"Idempotency-Key": "order-42"}

    first = await app_client.post(f"/f/{form['slug']}", json=valid(), headers=headers)
    retry = await app_client.post(f"/f/{form['slug']}", json=valid(), headers=headers)

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    async with db.session(write=False) as session:
        assert await session.scalar(select(func.count()).select_from(Submission)) == 1


async def test_the_key_may_come_as_a_field_and_browser_answers_are_replayed_too(
    app_client: Client, tenant: Tenant, ingest_settings: Settings
) -> None:
    form = await create_form(app_client, tenant)
    body = {
        "name": "A",
        "email": "a@example.com",
        "consent": "sales_contact",
        "_t": token(ingest_settings, form["id"]),
        "_idempotency_key": "k1",
    }

    first = await app_client.post(f"/f/{form['slug']}", data=body, follow_redirects=False)
    retry = await app_client.post(f"/f/{form['slug']}", data=body, follow_redirects=False)

    assert first.status_code == retry.status_code == 303
    assert retry.headers["location"] == first.headers["location"]
    assert retry.headers["idempotent-replayed"] == "true"


async def test_the_same_key_with_another_body_is_refused(app_client: Client, tenant: Tenant) -> None:
    form = await create_form(app_client, tenant)
    headers = {"Idempotency-Key": "order-43"}

    await app_client.post(f"/f/{form['slug']}", json=valid(), headers=headers)
    other = await app_client.post(f"/f/{form['slug']}", json=valid(name="Someone else"), headers=headers)

    assert other.status_code == 422
    assert other.json()["errors"][0] == {
        "field": "Idempotency-Key",
        "code": "reused",
        "message": "this key was already used for a different request",
    }


async def test_keys_are_scoped_to_the_form(app_client: Client, tenant: Tenant) -> None:
    one = await create_form(app_client, tenant)
    two = await create_form(app_client, tenant)
    headers = {"Idempotency-Key": "same"}

    a = await app_client.post(f"/f/{one['slug']}", json=valid(), headers=headers)
    b = await app_client.post(f"/f/{two['slug']}", json=valid(), headers=headers)

    assert a.json()["id"] != b.json()["id"]
    assert "idempotent-replayed" not in b.headers


async def test_an_unusable_key_is_a_validation_error(app_client: Client, tenant: Tenant) -> None:
    form = await create_form(app_client, tenant)

    response = await app_client.post(f"/f/{form['slug']}", json=valid(), headers={"Idempotency-Key": "x" * 256})

    assert response.status_code == 422


@contextlib.asynccontextmanager
async def _database_held(database_url: str) -> AsyncIterator[None]:
    """Hold the database's write lock from outside the app, so that the app's next write waits."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        connection = sqlite3.connect(url.database or "", isolation_level=None, timeout=10, check_same_thread=False)
        await asyncio.to_thread(connection.execute, "BEGIN IMMEDIATE")  # the app's loop must go on meanwhile
        try:
            yield
        finally:
            connection.execute("ROLLBACK")
            connection.close()
        return
    holder = await asyncpg.connect(asyncpg_dsn(database_url))
    transaction = holder.transaction()
    await transaction.start()
    await holder.execute("LOCK TABLE idempotency_key IN ACCESS EXCLUSIVE MODE")
    try:
        yield
    finally:
        await transaction.rollback()
        await holder.close()


async def test_a_request_still_in_flight_with_the_same_key_is_a_conflict(
    ingest_settings: Settings, tenant: Tenant, database_url: str
) -> None:
    headers = {"Idempotency-Key": "slow-one"}
    async with serve(ingest_settings) as client:
        form = await create_form(client, tenant)

        async with _database_held(database_url):
            first = asyncio.ensure_future(client.post(f"/f/{form['slug']}", json=valid(), headers=headers))
            await asyncio.sleep(0.5)
            second = await client.post(f"/f/{form['slug']}", json=valid(), headers=headers)
            assert not first.done()
        answered = await first
        third = await client.post(f"/f/{form['slug']}", json=valid(), headers=headers)

        assert second.status_code == 409
        assert second.headers["content-type"].startswith("application/problem+json")
        assert answered.status_code == 201
        assert third.status_code == 201
        assert third.headers["idempotent-replayed"] == "true"


async def test_the_in_flight_lock_holds_across_instances_through_redis(database_url: str, redis_url: str) -> None:
    settings = make_settings(database_url, redis_url=redis_url)
    one, two = InFlight(settings), InFlight(settings)
    key = f"key-{uuid.uuid4()}"
    try:
        held = await one.acquire("form_a", key)
        with pytest.raises(Conflict):
            await two.acquire("form_a", key)
        other_form = await two.acquire("form_b", key)
        await one.release(held)
        again = await two.acquire("form_a", key)
        await two.release(again)
        await two.release(other_form)
    finally:
        await one.close()
        await two.close()


async def test_a_browser_resubmitting_the_same_multipart_form_gets_the_replay(
    app_client: Client, tenant: Tenant, ingest_settings: Settings
) -> None:
    form = await create_form(app_client, tenant)
    fields = {
        "name": "A",
        "email": "a@example.com",
        "consent": "sales_contact",
        "_t": token(ingest_settings, form["id"]),
        "_idempotency_key": "render-123",
    }

    answers = []
    for boundary in ("one", "two"):  # browsers pick a new boundary on every submit
        body = (
            b"".join(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
                for name, value in fields.items()
            )
            + f"--{boundary}--\r\n".encode()
        )
        answers.append(
            await app_client.post(
                f"/f/{form['slug']}",
                content=body,
                headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
                follow_redirects=False,
            )
        )

    assert [a.status_code for a in answers] == [303, 303]
    assert answers[1].headers["idempotent-replayed"] == "true"

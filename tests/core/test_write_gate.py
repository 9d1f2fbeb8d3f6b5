"""This process's SQLite write transactions take turns in the order they asked; PostgreSQL's are left alone."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text
from sqlalchemy.exc import TimeoutError as SATimeoutError

from core.database import Database
from core.write_gate import NestedWriteError
from tests.conftest import make_settings

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from sqlalchemy.ext.asyncio import AsyncSession


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(make_settings(f"sqlite+aiosqlite:///{tmp_path}/t.db", db_busy_timeout_ms="2000"))
    async with db.session(write=True) as session:
        await session.execute(text("CREATE TABLE log (who TEXT)"))
    try:
        yield db
    finally:
        await db.dispose()


async def _write(db: Database, who: str, order: list[str], *, hold: asyncio.Event | None = None) -> None:
    async with db.session(write=True) as session:
        await session.execute(text("INSERT INTO log VALUES (:who)"), {"who": who})
        order.append(who)
        if hold is not None:
            await hold.wait()


async def _stored(db: Database) -> list[str]:
    async with db.session(write=False) as session:
        return list((await session.scalars(text("SELECT who FROM log ORDER BY rowid"))).all())


async def _settle() -> None:
    """Let every task that can run do so (the aiosqlite threads answer within this)."""
    for _ in range(20):
        await asyncio.sleep(0.01)


async def test_write_transactions_get_the_lock_in_the_order_they_asked(sqlite_db: Database) -> None:
    order: list[str] = []
    release = asyncio.Event()
    holder = asyncio.create_task(_write(sqlite_db, "holder", order, hold=release))
    await _settle()
    waiting = []
    for who in ("first", "second", "third"):
        waiting.append(asyncio.create_task(_write(sqlite_db, who, order)))
        await _settle()  # each one asks while the holder still holds the lock
    assert order == ["holder"]
    release.set()
    await asyncio.gather(holder, *waiting)
    assert order == ["holder", "first", "second", "third"]
    assert await _stored(sqlite_db) == order


async def test_a_session_takes_its_turn_when_its_transaction_begins_not_when_it_opens(sqlite_db: Database) -> None:
    """A request may hold its session for a while (reading a body, resolving a host) before it writes, or never."""
    order: list[str] = []
    opened = asyncio.Event()
    done = asyncio.Event()

    async def idle_session() -> None:
        async with sqlite_db.session(write=True):
            opened.set()
            await done.wait()

    idle = asyncio.create_task(idle_session())
    await opened.wait()
    await asyncio.wait_for(_write(sqlite_db, "other", order), 5)
    done.set()
    await idle
    assert order == ["other"]


async def test_a_write_inside_a_write_of_the_same_task_fails_at_once(sqlite_db: Database) -> None:
    """On SQLite it would wait for itself (until the busy timeout); the outer transaction is unharmed."""
    order: list[str] = []
    async with sqlite_db.session(write=True) as outer:
        await outer.execute(text("INSERT INTO log VALUES ('outer')"))
        with pytest.raises(NestedWriteError):
            await _write(sqlite_db, "inner", order)
    await _write(sqlite_db, "after", order)
    assert await _stored(sqlite_db) == ["outer", "after"]


async def test_a_transaction_cancelled_while_waiting_leaves_the_line(sqlite_db: Database) -> None:
    order: list[str] = []
    release = asyncio.Event()
    holder = asyncio.create_task(_write(sqlite_db, "holder", order, hold=release))
    await _settle()
    cancelled = asyncio.create_task(_write(sqlite_db, "cancelled", order))
    await _settle()
    behind = asyncio.create_task(_write(sqlite_db, "behind", order))
    await _settle()
    cancelled.cancel()
    release.set()
    await asyncio.gather(holder, behind)
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    await _write(sqlite_db, "later", order)
    assert await _stored(sqlite_db) == ["holder", "behind", "later"]


async def test_a_transaction_cancelled_while_holding_the_lock_gives_it_back(sqlite_db: Database) -> None:
    order: list[str] = []
    holder = asyncio.create_task(_write(sqlite_db, "holder", order, hold=asyncio.Event()))
    await _settle()
    behind = asyncio.create_task(_write(sqlite_db, "behind", order))
    await _settle()
    holder.cancel()
    with pytest.raises(asyncio.CancelledError):
        await holder
    await asyncio.wait_for(behind, 5)
    assert await _stored(sqlite_db) == ["behind"]  # the holder's insert was rolled back


async def test_a_failed_transaction_gives_the_lock_back(sqlite_db: Database) -> None:
    order: list[str] = []
    with contextlib.suppress(RuntimeError):
        async with sqlite_db.session(write=True) as session:
            await session.execute(text("INSERT INTO log VALUES ('failed')"))
            raise RuntimeError("the caller's change failed")
    await asyncio.wait_for(_write(sqlite_db, "next", order), 5)
    assert await _stored(sqlite_db) == ["next"]


async def test_a_turn_that_does_not_come_within_the_busy_timeout_is_a_timeout(tmp_path: Path) -> None:
    """As when SQLite's busy handler gives up; the API answers it with 503 (core/problems.py)."""
    db = Database(make_settings(f"sqlite+aiosqlite:///{tmp_path}/t.db", db_busy_timeout_ms="200"))
    order: list[str] = []
    release = asyncio.Event()
    try:
        async with db.session(write=True) as session:
            await session.execute(text("CREATE TABLE log (who TEXT)"))
        holder = asyncio.create_task(_write(db, "holder", order, hold=release))
        await _settle()
        with pytest.raises(SATimeoutError, match="other write transactions"):
            await _write(db, "late", order)
        release.set()
        await holder
        await _write(db, "after", order)
        assert await _stored(db) == ["holder", "after"]
    finally:
        await db.dispose()


async def test_a_session_opened_used_and_closed_in_different_tasks_gives_its_turn_back(sqlite_db: Database) -> None:
    """As Litestar does with a request's session: set up in one task, used in the handler's, cleaned up in a third."""
    sessions = sqlite_db.session(write=True)
    session: AsyncSession = await asyncio.create_task(sessions.__aenter__())

    async def use() -> None:
        await session.execute(text("INSERT INTO log VALUES ('request')"))

    await asyncio.create_task(use())
    await asyncio.create_task(sessions.__aexit__(None, None, None))
    order: list[str] = []
    await asyncio.wait_for(_write(sqlite_db, "next", order), 5)
    assert await _stored(sqlite_db) == ["request", "next"]


async def test_another_database_on_the_same_file_waits_in_the_busy_handler(sqlite_db: Database, tmp_path: Path) -> None:
    """Another instance (as another process would) is not in this gate: SQLite's busy timeout orders the two."""
    other = Database(make_settings(f"sqlite+aiosqlite:///{tmp_path}/t.db", db_busy_timeout_ms="5000"))
    order: list[str] = []
    release = asyncio.Event()
    try:
        holder = asyncio.create_task(_write(sqlite_db, "holder", order, hold=release))
        await _settle()
        waiting = asyncio.create_task(_write(other, "other", order))
        await _settle()
        assert order == ["holder"]
        release.set()
        await asyncio.gather(holder, waiting)
    finally:
        await other.dispose()
    assert await _stored(sqlite_db) == ["holder", "other"]


async def test_postgres_write_transactions_do_not_queue_behind_each_other(postgres_url: str) -> None:
    """PostgreSQL locks rows: two write transactions of one process run side by side."""
    db = Database(make_settings(postgres_url))
    release = asyncio.Event()
    try:

        async def hold() -> None:
            async with db.session(write=True) as session:
                await session.execute(text("SELECT 1"))
                await release.wait()

        holder = asyncio.create_task(hold())
        await _settle()
        async with db.session(write=True) as session:
            await asyncio.wait_for(session.execute(text("SELECT 2")), 5)
        release.set()
        await holder
    finally:
        await db.dispose()

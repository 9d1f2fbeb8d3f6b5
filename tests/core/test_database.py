"""The SQLite engine: WAL, foreign keys, and write transactions that take the lock up front."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from core.database import Database
from tests.conftest import make_settings

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> Database:
    return Database(make_settings(f"sqlite+aiosqlite:///{tmp_path}/t.db"))


async def test_pragmas_are_set_on_every_connection(sqlite_db: Database) -> None:
    async with sqlite_db.session(write=False) as session:
        assert (await session.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await session.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await session.execute(text("PRAGMA synchronous"))).scalar() == 1  # NORMAL
        assert (await session.execute(text("PRAGMA busy_timeout"))).scalar() == 5000
    await sqlite_db.dispose()


async def test_foreign_keys_are_enforced(sqlite_db: Database) -> None:
    async with sqlite_db.session(write=True) as session:
        await session.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        await session.execute(text("CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent)"))
    with pytest.raises(IntegrityError):
        async with sqlite_db.session(write=True) as session:
            await session.execute(text("INSERT INTO child (parent_id) VALUES (42)"))
    await sqlite_db.dispose()


async def test_concurrent_read_modify_write_transactions_all_succeed(sqlite_db: Database) -> None:
    """With deferred BEGINs, two transactions that read and then write deadlock and one fails at once with
    'database is locked'; BEGIN IMMEDIATE makes writers queue instead, so every increment lands."""
    async with sqlite_db.session(write=True) as session:
        await session.execute(text("CREATE TABLE counter (n INTEGER)"))
        await session.execute(text("INSERT INTO counter VALUES (0)"))

    async def increment() -> None:
        async with sqlite_db.session(write=True) as session:
            value = (await session.execute(text("SELECT n FROM counter"))).scalar_one()
            await asyncio.sleep(0.005)  # let the other transactions start and read too
            await session.execute(text("UPDATE counter SET n = :n"), {"n": value + 1})

    await asyncio.gather(*(increment() for _ in range(20)))
    async with sqlite_db.session(write=False) as session:
        assert (await session.execute(text("SELECT n FROM counter"))).scalar_one() == 20
    await sqlite_db.dispose()


async def test_a_failed_block_rolls_back(sqlite_db: Database) -> None:
    async with sqlite_db.session(write=True) as session:
        await session.execute(text("CREATE TABLE t (n INTEGER)"))

    async def insert_then_fail() -> None:
        async with sqlite_db.session(write=True) as session:
            await session.execute(text("INSERT INTO t VALUES (1)"))
            raise RuntimeError

    with pytest.raises(RuntimeError):
        await insert_then_fail()
    async with sqlite_db.session(write=False) as session:
        assert (await session.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0
    await sqlite_db.dispose()

"""The async database engine and sessions: SQLite (WAL, ``BEGIN IMMEDIATE`` for writes) or PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar, cast

import msgspec
from sqlalchemy import JSON, DateTime, MetaData, func, make_url, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from core.database_errors import OutageLog
from core.encryption import EncryptedJSON, Keyring, install_keyring
from core.sqlite import WRITE_OPTION, SQLiteWriter, configure_sqlite
from core.write_gate import WriteGate, WriteTurn

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from pathlib import Path

    from sqlalchemy import Table
    from sqlalchemy.engine import Dialect
    from sqlalchemy.orm import Session

    from core.settings import Settings

__all__ = (
    "Base",
    "Database",
    "JSONType",
    "UTCDateTime",
    "call_after_commit",
    "counts_per_day",
    "insert_or_skip",
    "private_sqlite_file",
    "reencrypt_secrets",
    "utcnow",
)

# Named constraints, so that migrations (and SQLite batch mode) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(JSONB(), "postgresql")
_logger = logging.getLogger("leadwire.database")


_AFTER_COMMIT = "leadwire_after_commit"
P = ParamSpec("P")
T = TypeVar("T")


def call_after_commit(session: AsyncSession | Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the session's transaction has committed through :meth:`Database.session`.

    Used to wake the delivery worker: it must not look for a message before the message is durable, and must not
    be woken at all for a transaction that rolls back.
    """
    callbacks: list[Callable[[], None]] = session.info.setdefault(_AFTER_COMMIT, [])
    if callback not in callbacks:
        callbacks.append(callback)


async def counts_per_day(
    session: AsyncSession, created_at: Any, key: Any, *conditions: Any
) -> list[tuple[str, str, int]]:
    """Rows per day of ``created_at`` (``YYYY-MM-DD``, UTC on both databases) and value of ``key``."""
    day = func.date(created_at)
    statement = select(day, key, func.count()).where(*conditions).group_by(day, key)
    return [(str(d)[:10], str(k), int(n)) for d, k, n in await session.execute(statement)]


def insert_or_skip(session: AsyncSession | Session, model: type[Base]) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` into ``model``'s table, in the session's dialect (PostgreSQL or SQLite).

    A row another transaction inserted first is skipped, on PostgreSQL after waiting for that transaction.
    """
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # Into the table rather than the mapped class: a Core INSERT skips the ORM's bulk-insert work for every row.
    return dialect_insert(cast("Table", model.__table__)).on_conflict_do_nothing()


def _json_dumps(value: Any) -> str:
    # msgspec encodes several times faster than the json module; JSON columns sit on every hot path.
    return msgspec.json.encode(value).decode("utf-8")


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC everywhere (SQLite has no time zones) and always hands back aware datetimes."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {  # noqa: RUF012
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
        list[dict[str, Any]]: JSONType,
        list[str]: JSONType,
    }


async def reencrypt_secrets(session: AsyncSession, *, batch: int = 500) -> int:
    """Write every encrypted column of every table back under the first key (``leadwire rotate-encryption-key``).

    Values stored in clear by an earlier version are encrypted on the way. Reads go through the keyring, so every
    configured key must still be there; afterwards only the first one is needed.

    Returns:
        How many rows were rewritten.
    """
    rewritten = 0
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, EncryptedJSON)]
        if not columns:
            continue
        (key,) = table.primary_key.columns
        after: Any = None
        while True:
            page = select(key, *columns).order_by(key).limit(batch)
            rows = (await session.execute(page if after is None else page.where(key > after))).all()
            for row_key, *values in rows:
                changes = {column.name: value for column, value in zip(columns, values, strict=True)}
                await session.execute(table.update().where(key == row_key).values(**changes))
            rewritten += len(rows)
            if len(rows) < batch:
                break
            after = rows[-1][0]
    return rewritten


def private_sqlite_file(path: Path) -> None:
    """Create the SQLite file readable by its owner only (SQLite gives its ``-wal`` and ``-shm`` the file's mode),
    and take read access from others on a file an earlier version created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if each.stat().st_mode & 0o077:
                each.chmod(0o600)


def _transaction_ended(turn: WriteTurn, ended: asyncio.Future[tuple[Any, list[Callable[[], None]]]]) -> None:
    """A writer-thread transaction has ended: give back its turn, then run its callbacks if it committed."""
    turn.give_back()
    if ended.cancelled() or ended.exception() is not None:
        return
    for callback in ended.result()[1]:
        callback()


class Database:
    """The engine and its session factories; lives on ``app.state.db`` for the life of the process."""

    def __init__(self, settings: Settings) -> None:
        self._writer: SQLiteWriter | None = None
        if settings.is_sqlite:
            path = settings.sqlite_path
            if path is not None:
                private_sqlite_file(path)
            self.engine = create_async_engine(
                settings.database_url,
                connect_args={"timeout": settings.db_busy_timeout_ms / 1000},
                # Connections beyond the pool would be opened (a thread and four PRAGMAs each) and closed again on
                # every burst; SQLite has one writer anyway, so requests wait for a pooled connection instead.
                pool_size=settings.db_pool_size,
                max_overflow=0,
                json_serializer=_json_dumps,
                json_deserializer=msgspec.json.decode,
                hide_parameters=True,
            )
            configure_sqlite(self.engine.sync_engine, settings.db_busy_timeout_ms)
            if path is not None:  # an in-memory database exists only in its own connection: no second one
                self._writer = SQLiteWriter(
                    make_url(settings.database_url),
                    busy_timeout_ms=settings.db_busy_timeout_ms,
                    json_serializer=_json_dumps,
                    json_deserializer=msgspec.json.decode,
                    hide_parameters=True,
                )
        else:
            self.engine = create_async_engine(
                settings.database_url,
                json_serializer=_json_dumps,
                json_deserializer=msgspec.json.decode,
                hide_parameters=True,  # database errors are logged: they must not carry secrets or personal data
                # Day boundaries in SQL (date(), the console's charts) are UTC days, as on SQLite.
                connect_args={"server_settings": {"timezone": "UTC"}},
                pool_size=settings.db_pool_size,
                max_overflow=settings.db_pool_size,
                pool_pre_ping=True,
            )
        # Columns of stored secrets (EncryptedJSON) and keyed hashes (KeyedHash) find the keys on the engine's dialect.
        keyring = Keyring(settings.encryption_key_list, hash_key=settings.secret_key)
        install_keyring(self.engine.sync_engine.dialect, keyring)
        if self._writer is not None:
            install_keyring(self._writer.engine.dialect, keyring)
        self.is_sqlite = settings.is_sqlite
        self.outage = OutageLog(settings.database_url)
        """Where everything that meets the database down reports it, so that it is logged once, not per request."""
        # SQLite has one writer at a time; this process's write transactions take their turns in order.
        self._gate = WriteGate(timeout_s=settings.db_busy_timeout_ms / 1000) if settings.is_sqlite else None
        self._read = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write = async_sessionmaker(self.engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False)

    @contextlib.asynccontextmanager
    async def session(self, *, write: bool) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction, committed when the block ends cleanly and rolled back otherwise.

        Args:
            write: Whether the transaction writes; on SQLite it then waits for its turn among this process's write
                transactions (first come, first served) and starts with ``BEGIN IMMEDIATE``.

        Raises:
            core.write_gate.NestedWriteError: On SQLite, a task that holds a write transaction began another.
        """
        turn = self._gate.turn() if write and self._gate is not None else None
        if turn is not None:
            # The turn travels with the session's engine options to the "begin" event, wherever the session is used:
            # Litestar may open a request's session in one task, use it in another and close it in a third.
            session = self._write(bind=self.engine.execution_options(**{WRITE_OPTION: turn}))
        else:
            session = (self._write if write else self._read)()
        async with session:
            try:
                async with session.begin():
                    yield session
            finally:
                if turn is not None:
                    turn.give_back()  # committed or rolled back: SQLite's lock is free for the next in line
            for callback in session.info.pop(_AFTER_COMMIT, ()):
                callback()

    async def transact(self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn(session, *args, **kwargs)``, a synchronous function, in one write transaction, and commit it.

        For the hot write paths (a batch of submissions): on an SQLite file the whole transaction runs in one
        hand-over to this process's writer thread (:class:`core.sqlite.SQLiteWriter`), which holds the write turn
        throughout, so the event loop serves requests meanwhile instead of waking for every statement. Elsewhere it
        runs through :meth:`AsyncSession.run_sync`. Either way ``fn`` gets a synchronous :class:`Session`, so one set
        of statements serves both databases, and callbacks it registers with :func:`call_after_commit` run on the
        event loop after the commit.
        """
        if self._writer is None:
            async with self.session(write=True) as session:
                return await session.run_sync(fn, *args, **kwargs)
        assert self._gate is not None
        turn = self._gate.turn()
        await turn.take()
        call = functools.partial(fn, **kwargs) if kwargs else fn
        running = asyncio.get_running_loop().run_in_executor(
            self._writer.thread, self._writer.run, call, args, _AFTER_COMMIT
        )
        try:
            # A caller that is cancelled does not cancel the transaction: once it has ended, the turn is given back
            # and, if it committed, its callbacks run (a committed message still wakes the worker).
            result, _ = await asyncio.shield(running)
        except asyncio.CancelledError:
            running.add_done_callback(functools.partial(_transaction_ended, turn))
            raise
        except BaseException:
            turn.give_back()
            raise
        _transaction_ended(turn, running)
        return cast("T", result)

    async def flush_erased(self) -> None:
        """After an erasure on SQLite, copy the write-ahead log into the file and truncate it, so that the old
        versions of erased rows it still holds are gone from the disk too (``secure_delete`` zeroes them in the
        file). PostgreSQL needs nothing here: its old row versions are reclaimed by vacuum."""
        if not self.is_sqlite:
            return
        async with self.engine.connect() as connection:
            # Outside any transaction (the DBAPI connection runs in autocommit): a checkpoint cannot run inside one.
            raw = (await connection.get_raw_connection()).driver_connection
            assert raw is not None
            for attempt in range(20):  # a reader (the worker, a purge) may hold the log for a moment
                cursor = await raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                busy, *_ = await cursor.fetchone() or (1,)
                await cursor.close()
                if not busy:
                    return
                await asyncio.sleep(0.05 * (attempt + 1))
            _logger.warning("the write-ahead log is still in use; erased data leaves it at the next checkpoint")

    async def ping(self) -> None:
        """Run ``SELECT 1``; raises when the database cannot be reached."""
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        """Close every pooled connection, and the writer thread's."""
        if self._writer is not None:
            await asyncio.to_thread(self._writer.close)
        await self.engine.dispose()

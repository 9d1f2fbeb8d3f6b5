"""SQLite's connection set-up, and the thread of this process that runs whole write transactions of hot paths."""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event
from sqlalchemy.orm import sessionmaker

from core.write_gate import WriteTurn

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import URL, Engine
    from sqlalchemy.pool import ConnectionPoolEntry

__all__ = ("WRITE_OPTION", "SQLiteWriter", "configure_sqlite")

WRITE_OPTION = "leadwire_write"
"""The execution option that makes a transaction begin with ``BEGIN IMMEDIATE`` (a :class:`WriteTurn` or ``True``)."""

_PRAGMAS = (
    # busy_timeout first: switching a fresh file to WAL needs a lock that a concurrent first connection may hold for
    # a moment, and without a busy timeout that fails at once with "database is locked".
    "PRAGMA busy_timeout={busy_timeout_ms}",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    # Erased personal data must not linger in freed pages or cells of the file: overwrite it with zeros.
    "PRAGMA secure_delete=ON",
)


def configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """Pragmas on every connection, and explicit BEGINs so that writers take the lock up front.

    The sqlite3 module's own transaction handling is switched off (``isolation_level = None``) so that SQLAlchemy
    emits BEGIN itself: ``BEGIN IMMEDIATE`` for write transactions avoids the deadlock-prone upgrade of a read lock
    to a write lock, which otherwise fails at once with "database is locked" under concurrent writers. A write
    session's transaction first waits for its turn in the process's :class:`WriteGate`, when it begins, not when the
    session opens: a request may hold a session for a while before (or without) writing.

    Args:
        engine: A synchronous engine, or an async engine's ``sync_engine``.
        busy_timeout_ms: How long a connection waits for another process's write lock.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in _PRAGMAS:
            cursor.execute(pragma.format(busy_timeout_ms=int(busy_timeout_ms)))
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        if isinstance(write, WriteTurn):
            # A synchronous event inside SQLAlchemy's greenlet: run_async awaits on the session's event loop.
            connection.connection.dbapi_connection.run_async(lambda _driver: write.take())
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class SQLiteWriter:
    """One thread with one connection of the synchronous ``sqlite3`` driver, for whole write transactions.

    Through aiosqlite every statement is a round trip: the event loop hands it to the connection's thread and is
    woken for its result, about thirty times for one batch of submissions. Here the caller's function runs its
    statements in this thread from ``BEGIN`` to ``COMMIT`` in one hand-over, and the event loop serves requests
    meanwhile. The caller (:meth:`core.database.Database.transact`) holds the process's write turn throughout.
    """

    def __init__(self, url: URL, *, busy_timeout_ms: int, **engine_options: Any) -> None:
        self.engine = create_engine(
            url.set(drivername="sqlite+pysqlite"),
            # Made in this writer's thread, closed from the event loop's at shutdown.
            connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
            pool_size=1,
            max_overflow=0,
            **engine_options,
        ).execution_options(**{WRITE_OPTION: True})
        configure_sqlite(self.engine, busy_timeout_ms)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="leadwire-sqlite-writer")

    def run(self, fn: Callable[..., Any], args: tuple[Any, ...], after_commit: str) -> tuple[Any, list[Any]]:
        """In the writer's thread: ``fn(session, *args)`` in one transaction, committed when it returns.

        Returns:
            What ``fn`` returned, and the callbacks it left under ``after_commit`` in the session's ``info``.
        """
        with self._sessions() as session:
            with session.begin():
                result = fn(session, *args)
            return result, session.info.pop(after_commit, [])

    def close(self) -> None:
        """Let a running transaction finish, then close the connection and stop the thread."""
        self.thread.shutdown(wait=True)
        with contextlib.suppress(Exception):  # closing is best effort: the process is going away
            self.engine.dispose()

"""One line saying why the database cannot be used, for the command line and for the log of a running server.

An unreachable PostgreSQL, a database that does not exist or an SQLite file that cannot be created surface as
exceptions several layers deep (asyncpg inside SQLAlchemy inside Alembic); an operator needs the cause and the
setting to look at, not 147 lines of traceback. Nothing here prints the URL: it may carry a password.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ("OutageLog", "describe_database_error")

_logger = logging.getLogger("leadwire.database")
_FIRST_REPEAT_S = 5.0
_LONGEST_REPEAT_S = 300.0

_SETTING = "LEADWIRE_DATABASE_URL"
# PostgreSQL's SQLSTATE codes for a connection it refuses: what each means for the operator.
_REFUSED = {
    "3D000": "database {database!r} does not exist on {where} (create it, or correct " + _SETTING + ")",
    "28P01": "the password for user {user!r} on {where} was refused (check " + _SETTING + ")",
    "28000": "user {user!r} may not connect to {where} (check " + _SETTING + " and pg_hba.conf)",
    "57P03": "the database at {where} is starting up or shutting down; try again shortly",
}


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _place(database_url: str) -> dict[str, str]:
    try:
        url = make_url(database_url)
    except ArgumentError:
        return {"where": "the configured server", "database": "?", "user": "?"}
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    return {"where": where, "database": url.database or "", "user": url.username or ""}


def _is_database_file(filename: str | bytes | int, database_url: str) -> bool:
    """Whether ``filename`` is the SQLite file, one of its companions (``-wal``, ``-shm``, ``.keys``) or a folder on
    its way: another file that cannot be created (say, one the package should have shipped) is not the setting's
    fault, and its traceback is what a bug report needs."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        return False
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return False
    database = Path(url.database).absolute()
    path = Path(os.fsdecode(filename) if not isinstance(filename, int) else str(filename)).absolute()
    return (
        path == database
        or (path.parent == database.parent and path.name.startswith(database.name))
        or (path in database.parents)
    )


def _describe_one(exc: BaseException, database_url: str) -> str | None:
    place = _place(database_url)
    sqlstate = getattr(exc, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate in _REFUSED:
        return _REFUSED[sqlstate].format(**place)
    if isinstance(exc, socket.gaierror):
        return f"cannot reach the database at {place['where']}: the host name is unknown (check {_SETTING})"
    if isinstance(exc, ConnectionError | TimeoutError) or (
        isinstance(exc, OSError) and exc.errno in {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ETIMEDOUT}
    ):
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "no answer"
        if isinstance(exc, ConnectionRefusedError):
            reason = "connection refused"
        return f"cannot reach the database at {place['where']} ({reason}); is it running? (check {_SETTING})"
    if isinstance(exc, OSError) and exc.filename is not None and _is_database_file(exc.filename, database_url):
        return f"cannot create {exc.filename}: {exc.strerror} (check {_SETTING})"
    if isinstance(exc, sqlite3.OperationalError) and "unable to open" in str(exc):
        path = make_url(database_url).database
        return f"cannot open the SQLite database {path}: {exc} (check {_SETTING})"
    return None


def describe_database_error(exc: BaseException, database_url: str) -> str | None:
    """One line saying why the database at ``database_url`` cannot be used, or ``None`` if ``exc`` (or what caused
    it) is not a failure to reach, open or log in to the database."""
    for each in _chain(exc):
        message = _describe_one(each, database_url)
        if message is not None:
            return message
    return None


class OutageLog:
    """Logs a database outage once when it starts, again after 5, 10, 20 ... (at most 300) seconds while it lasts,
    and once when it ends, for every part of the process that meets it (requests, the delivery worker, the Meta
    fetcher, the submission writer): a down database used to log a traceback per request and per retry."""

    def __init__(self, database_url: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._url = database_url
        self._clock = clock
        self._since: float | None = None
        self._next_report = 0.0
        self._gap = _FIRST_REPEAT_S
        self._failures = 0

    @property
    def down(self) -> bool:
        """Whether the last use of the database failed for want of it."""
        return self._since is not None

    def failed(self, exc: BaseException) -> bool:
        """Note that the database could not be used because of ``exc``, logging it when due.

        Returns:
            Whether ``exc`` was an outage (the database unreachable, missing or refusing logins); otherwise nothing
            was logged and the caller reports the error itself.
        """
        reason = describe_database_error(exc, self._url)
        if reason is None:
            return False
        now = self._clock()
        self._failures += 1
        if self._since is None:
            self._since, self._next_report, self._gap, self._failures = now, now + _FIRST_REPEAT_S, _FIRST_REPEAT_S, 1
            _logger.error("the database is unavailable: %s", reason)
        elif now >= self._next_report:
            self._gap = min(self._gap * 2, _LONGEST_REPEAT_S)
            self._next_report = now + self._gap
            _logger.error(
                "the database is still unavailable after %.0f s (%d failures): %s",
                now - self._since,
                self._failures,
                reason,
            )
        return True

    def recovered(self) -> None:
        """Note that the database answered; logs the end of an outage."""
        if self._since is None:
            return
        _logger.warning("the database is available again after %.0f s", self._clock() - self._since)
        self._since = None

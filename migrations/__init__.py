"""Alembic migrations, and :func:`upgrade` for ``leadwire migrate`` and the tests."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from core.database import private_sqlite_file

__all__ = ("alembic_config", "upgrade")

_HERE = Path(__file__).resolve().parent


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration pointing at these migrations and ``database_url``; no ini file needed."""
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    # ConfigParser interpolates '%': escape it, since passwords in URLs may be percent-encoded.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database to ``revision``. Blocking: call it before the event loop starts, or in a thread.

    An SQLite file is left in WAL mode, so the application's first connections need not race to switch it.
    """
    url = make_url(database_url)
    path = url.database if url.get_backend_name() == "sqlite" and url.database != ":memory:" else None
    if path:
        private_sqlite_file(Path(path))  # before SQLite creates it with the default mode
    command.upgrade(alembic_config(database_url), revision)
    if path:
        with contextlib.closing(sqlite3.connect(path)) as connection:
            connection.execute("PRAGMA journal_mode=WAL")

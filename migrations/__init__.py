"""Alembic migrations, and :func:`upgrade` for ``leadwire migrate`` and the tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

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
    """Migrate the database to ``revision``. Blocking: call it before the event loop starts, or in a thread."""
    command.upgrade(alembic_config(database_url), revision)

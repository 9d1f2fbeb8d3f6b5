"""Alembic environment: async engines, batch mode on SQLite, every slice's tables."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

import consent.models
import delivery.models
import forms.models
import ingest.sources.models
import leads.models
import workspaces.models
from core.database import Base
from core.settings import load_settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

_MODELS = (
    workspaces.models,
    forms.models,
    consent.models,
    leads.models,
    ingest.sources.models,
    delivery.models,
)  # imported so that their tables are on Base.metadata
target_metadata = Base.metadata
config = context.config
database_url = config.get_main_option("sqlalchemy.url") or load_settings().database_url


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=database_url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=database_url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())

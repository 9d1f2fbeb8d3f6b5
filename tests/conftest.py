"""Shared fixtures: every API test runs on SQLite, and again on PostgreSQL when TEST_POSTGRES_URL is set."""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import threading
import uuid
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

import migrations
from app import create_app
from bench.cluster import database_named, execute_sql
from core.database import Base, Database
from core.settings import Settings, load_settings
from workspaces import members, passwords
from workspaces import service as workspaces

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
    from pathlib import Path


pytest_plugins = ["tests.webhooks", "tests.mail"]

T = TypeVar("T")
TEST_SECRET_KEY = "test-secret-key-" + "x" * 32
TEST_ENCRYPTION_KEY = "dGVzdC1lbmNyeXB0aW9uLWtleS0tLTMyLWJ5dGVzISE="  # 32 bytes, URL-safe base64
BACKENDS = ["sqlite", "postgres"] if os.environ.get("TEST_POSTGRES_URL") else ["sqlite"]

Client = AsyncTestClient[Litestar]


def pytest_configure(config: pytest.Config) -> None:
    """In CI, PostgreSQL and Redis are required: a run without them must fail, not quietly test less."""
    if os.environ.get("CI") == "true":
        for variable, service in (("TEST_POSTGRES_URL", "PostgreSQL"), ("TEST_REDIS_URL", "Redis")):
            if not os.environ.get(variable):
                raise pytest.UsageError(f"CI=true but {variable} is not set: the {service} run is required in CI")
    _redis_of_this_worker()


def _redis_of_this_worker() -> None:
    """Under pytest-xdist (``make test`` runs ``-n auto``), each worker process gets a Redis database of its own.

    Rate limits and idempotency locks in Redis are keyed by address and form: two workers sharing a database would
    count each other's requests. PostgreSQL needs nothing: each worker's session creates a database of its own
    (``postgres_url``). Set in the environment, so that the servers and benchmarks the tests start inherit it.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    url = os.environ.get("TEST_REDIS_URL")
    if not url or not worker.startswith("gw"):
        return
    parts = urlsplit(url)
    number = int(worker.removeprefix("gw")) + 1  # database 0 stays the serial run's
    os.environ["TEST_REDIS_URL"] = urlunsplit(parts._replace(path=f"/{number}"))


def run_in_thread(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion on its own loop in another thread (safe while a test loop is running)."""
    result: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(make()))
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


def make_settings(database_url: str, **extra: str) -> Settings:
    environ = {
        "LEADWIRE_DATABASE_URL": database_url,
        "LEADWIRE_SECRET_KEY": TEST_SECRET_KEY,
        "LEADWIRE_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
        "LEADWIRE_PUBLIC_BASE_URL": "http://testserver.local",
        # Pull sources a test makes without its own fake provider are polled here, never outside (nothing listens).
        **{f"LEADWIRE_{name}_BASE_URL": "http://127.0.0.1:9/" for name in ("INDIAMART", "TRADEINDIA", "99ACRES")},
    }
    environ.update({f"LEADWIRE_{key.upper()}": value for key, value in extra.items()})
    return load_settings(environ)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once keeps the suite fast)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrations.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test run, dropped afterwards."""
    base = os.environ.get("TEST_POSTGRES_URL")
    if not base:
        pytest.skip("TEST_POSTGRES_URL is not set")
    name = f"leadwire_test_{uuid.uuid4().hex[:12]}"
    run_in_thread(lambda: execute_sql(base, f'CREATE DATABASE "{name}"'))
    url = database_named(base, name)
    try:
        migrations.upgrade(url)
        yield url
    finally:
        run_in_thread(lambda: execute_sql(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _truncate_postgres(url: str) -> None:
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)

    run_in_thread(lambda: execute_sql(url, f"TRUNCATE {tables} CASCADE"))


@pytest.fixture
def redis_url() -> str:
    """The Redis of ``TEST_REDIS_URL`` (required in CI), for the tests of what instances share through it."""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set")
    return url


def empty_database(request: pytest.FixtureRequest, backend: str, directory: Path) -> str:
    """An empty, migrated database of ``backend``: a copy of the SQLite template in ``directory``, or the run's
    PostgreSQL database emptied (for a fixture of any scope whose tests are the only ones using it meanwhile)."""
    if backend == "sqlite":
        path = directory / "leadwire.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    _truncate_postgres(url)
    return url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database: a copy of the SQLite template, or the run's PostgreSQL database emptied."""
    return empty_database(request, request.param, tmp_path)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[Client]:
    """A client of a real app (lifespan run, real database) over ASGI."""
    async with AsyncTestClient(app=create_app(settings), base_url="http://testserver.local") as test_client:
        yield test_client


TEST_PASSWORD = "plum tree under the snow"
"""Every test owner's password (its argon2 hash is made once per process: hashing is slow on purpose)."""


@functools.cache
def owner_password_hash() -> str:
    return passwords.hash_password(TEST_PASSWORD)


class Tenant:
    """A workspace with a live API key and an owner who signs in with ``email`` and ``password``."""

    def __init__(self, workspace_id: str, key: str, email: str = "", member_id: str = "") -> None:
        self.workspace_id = workspace_id
        self.key = key
        self.email = email
        self.member_id = member_id
        self.password = TEST_PASSWORD

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    """Direct database access for tests, on the test's own event loop.

    The app under the test client runs on another loop (the client's portal), and asyncpg connections cannot
    cross loops, so tests never borrow ``client.app.state.db``.
    """
    database = Database(settings)
    try:
        yield database
    finally:
        await database.dispose()


async def new_tenant(db: Database, name: str) -> Tenant:
    async with db.session(write=True) as session:
        workspace, key = await workspaces.create_workspace(session, name=name)
        owner, _ = await members.add_member(
            session,
            workspace_id=workspace.id,
            email=f"owner-{workspace.id.replace('_', '-')}@example.com",
            role="owner",
            password_hash=owner_password_hash(),
            by=None,
        )
    return Tenant(workspace.id, key, owner.member.email, owner.member.id)


@pytest.fixture
async def tenant(db: Database) -> Tenant:
    return await new_tenant(db, "Acme")


@pytest.fixture
async def other_tenant(db: Database) -> Tenant:
    return await new_tenant(db, "Globex")

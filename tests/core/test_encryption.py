"""Secrets at rest: encrypted under LEADWIRE_ENCRYPTION_KEYS, rotated by `leadwire rotate-encryption-key`, and an
SQLite file that only its owner can read."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text

from app import create_app
from core.database import Database, reencrypt_secrets
from core.encryption import ENVELOPE_KEY, Keyring, KeyringMissing, UndecryptableSecret, new_key
from core.settings import SettingsError, load_settings
from delivery.models import WebhookEndpoint
from ingest.sources.models import Source
from tests.conftest import Client, make_settings
from tests.ingest.conftest import create_form

if TYPE_CHECKING:
    from core.settings import Settings
    from tests.conftest import Tenant

_SOURCES: list[dict[str, Any]] = [
    {"kind": "standard_webhooks"},
    {"kind": "google_ads", "google_key": "google-key-7f3a9c1e"},
    {
        "kind": "meta_lead_ads",
        "meta_app_secret": "meta-app-secret-5b2d8e",
        "meta_page_access_token": "meta-page-token-9c4f1a",
        "meta_verify_token": "meta-verify-token-3e7b2d",
    },
]


async def _make_every_secret(client: Client, tenant: Tenant) -> list[str]:
    """An endpoint (rotated once, so two secrets live) and one source of each kind; returns every secret made."""
    made: list[str] = []
    endpoint = await client.post("/api/v1/endpoints", json={"url": "http://127.0.0.1:9/hook"}, headers=tenant.headers)
    assert endpoint.status_code == 201, endpoint.text
    made.append(endpoint.json()["secret"])
    rotated = await client.post(f"/api/v1/endpoints/{endpoint.json()['id']}/rotate-secret", headers=tenant.headers)
    assert rotated.status_code in {200, 201}, rotated.text
    made.append(rotated.json()["secret"])
    form = await create_form(client, tenant)
    for body in _SOURCES:
        response = await client.post(
            "/api/v1/sources", json={"form_id": form["id"], "consent_purposes": [], **body}, headers=tenant.headers
        )
        assert response.status_code == 201, response.text
        made.extend(str(value) for value in response.json()["secrets"].values())
    assert len(made) == 7
    return made


def _file_bytes(settings: Settings) -> bytes:
    path = settings.sqlite_path
    assert path is not None
    return b"".join(each.read_bytes() for each in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if each.exists())


async def _raw_secret_columns(db: Database) -> str:
    async with db.session(write=False) as session:
        rows = [
            *(await session.execute(text("SELECT secrets FROM webhook_endpoint"))).scalars(),
            *(await session.execute(text("SELECT secrets FROM source"))).scalars(),
        ]
    return " ".join(row if isinstance(row, str) else msgspec.json.encode(row).decode() for row in rows)


def _client(settings: Settings) -> Client:
    return AsyncTestClient(app=create_app(settings), base_url="http://testserver.local")


async def test_no_stored_secret_can_be_read_from_the_database(database_url: str, tenant: Tenant, db: Database) -> None:
    settings = make_settings(database_url, allow_private_webhook_targets="true")
    async with _client(settings) as client:
        made = await _make_every_secret(client, tenant)
    raw = await _raw_secret_columns(db)
    assert raw.count(ENVELOPE_KEY) == 4  # one envelope per row: the endpoint and three sources
    for secret in made:
        assert secret not in raw
        assert secret.removeprefix("whsec_") not in raw
    if settings.is_sqlite:
        on_disk = _file_bytes(settings)
        for secret in made:
            assert secret.encode() not in on_disk, "a secret is readable in the SQLite file"
    async with db.session(write=False) as session:  # and the application still reads them
        endpoint = await session.scalar(select(WebhookEndpoint))
    assert endpoint is not None
    assert [entry["secret"] for entry in endpoint.secrets] == [made[1], made[0]]


async def test_rotation_re_encrypts_under_the_first_key_so_the_old_one_can_go(
    database_url: str, tenant: Tenant
) -> None:
    old, new = new_key(), new_key()
    before = make_settings(database_url, encryption_keys=old, allow_private_webhook_targets="true")
    async with _client(before) as client:
        made = await _make_every_secret(client, tenant)
    # A row an earlier version stored in clear is encrypted by the rotation too.
    legacy = Database(before)
    async with legacy.session(write=True) as session:
        clear = msgspec.json.encode({"google_key": "legacy-clear-key-42"}).decode()
        statement = "UPDATE source SET secrets = :clear WHERE kind = 'google_ads'"
        if not before.is_sqlite:
            statement = statement.replace(":clear", "CAST(:clear AS JSONB)")
        await session.execute(text(statement), {"clear": clear})
    await legacy.dispose()

    both = Database(make_settings(database_url, encryption_keys=f"{new},{old}"))
    async with both.session(write=True) as session:
        assert await reencrypt_secrets(session, batch=2) == 5  # in pages of two: endpoint, sources, owner
    await both.dispose()

    only_new = Database(make_settings(database_url, encryption_keys=new))
    async with only_new.session(write=False) as session:
        endpoint = await session.scalar(select(WebhookEndpoint))
        stored = (await session.execute(text("SELECT secrets FROM source"))).scalars().all()
        sources = (await session.scalars(select(Source))).all()
    await only_new.dispose()
    assert endpoint is not None
    assert endpoint.secrets[0]["secret"] == made[1]
    assert {s.kind: s.secrets for s in sources}["google_ads"] == {"google_key": "legacy-clear-key-42"}
    assert all(ENVELOPE_KEY in (row if isinstance(row, str) else msgspec.json.encode(row).decode()) for row in stored)

    only_old = Database(make_settings(database_url, encryption_keys=old))
    with pytest.raises(UndecryptableSecret):
        async with only_old.session(write=False) as session:
            await session.scalar(select(WebhookEndpoint))
    await only_old.dispose()


def test_a_keyed_hash_follows_the_secret_key_not_the_encryption_keys() -> None:
    value = "zoe@example.com"
    one = Keyring([new_key()], hash_key="a" * 40)
    rotated = Keyring([new_key(), new_key()], hash_key="a" * 40)
    other = Keyring([new_key()], hash_key="b" * 40)

    assert one.keyed_hash(value) == rotated.keyed_hash(value)  # encryption keys rotate; the hashes still match
    assert one.keyed_hash(value) != other.keyed_hash(value)
    assert one.keyed_hash(value) != hashlib.sha256(value.encode()).hexdigest()  # no dictionary reverses it
    assert len(one.keyed_hash(value)) == 64
    with pytest.raises(KeyringMissing):
        Keyring([new_key()]).keyed_hash(value)


def test_the_sqlite_file_and_its_journal_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    fresh = make_settings(f"sqlite+aiosqlite:///{tmp_path}/fresh/leadwire.db")
    import migrations

    migrations.upgrade(fresh.database_url)
    path = fresh.sqlite_path
    assert path is not None
    import sqlite3

    with sqlite3.connect(path) as connection:  # a write leaves -wal and -shm beside the file
        connection.execute("CREATE TABLE t (x)")
        for each in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            assert each.exists()
            assert stat.S_IMODE(each.stat().st_mode) == 0o600, each
    # A file an earlier version created world-readable is closed up when the app opens it.
    path.chmod(0o644)
    Database(fresh)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_encryption_keys_are_required_in_production_and_checked_everywhere(tmp_path: Path) -> None:
    base = {"LEADWIRE_SECRET_KEY": "k" * 32, "LEADWIRE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/a.db"}
    with pytest.raises(SettingsError, match="LEADWIRE_ENCRYPTION_KEYS is required"):
        load_settings({**base, "LEADWIRE_ENV": "production"})
    with pytest.raises(SettingsError, match="LEADWIRE_ENCRYPTION_KEYS"):
        load_settings({**base, "LEADWIRE_ENCRYPTION_KEYS": "not-a-key"})
    development = load_settings(base)  # a development key is made once and kept beside the database
    assert load_settings(base).encryption_keys == development.encryption_keys
    key_file = tmp_path / "a.db.keys"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    Keyring.check_key(development.encryption_keys)

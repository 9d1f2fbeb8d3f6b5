"""A new user's first minutes: the CLI, then `leadwire serve` as a real process, driven over HTTP."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

LEADWIRE = [sys.executable, "-m", "cli"]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADWIRE_")}
    env["LEADWIRE_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path}/leadwire.db"
    return env


def _run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LEADWIRE, *args],
        cwd=tmp_path,
        env={**_env(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    env = {**_env(tmp_path), "PYTHONPATH": str(Path.cwd())}
    log_path = tmp_path / "serve.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [*LEADWIRE, "serve", "--port", str(port)], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {log_path.read_text()}")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


def test_serve_migrates_and_a_cli_workspace_can_use_the_api(tmp_path: Path, server: str) -> None:
    created = _run(tmp_path, "workspace", "create", "Acme", "--json")
    assert created.returncode == 0, created.stderr
    acme = json.loads(created.stdout)
    assert acme["workspace_id"].startswith("ws_")
    other = json.loads(_run(tmp_path, "workspace", "create", "Globex", "--json").stdout)

    acme_headers = {"Authorization": f"Bearer {acme['api_key']}"}
    form = httpx.post(
        f"{server}/api/v1/forms",
        json={"name": "Webinar", "fields": [{"name": "email", "type": "email", "required": True}]},
        headers=acme_headers,
    )
    assert form.status_code == 201, form.text
    listing = httpx.get(f"{server}/api/v1/forms", headers=acme_headers).json()
    assert [f["name"] for f in listing["items"]] == ["Webinar"]

    globex_headers = {"Authorization": f"Bearer {other['api_key']}"}
    assert httpx.get(f"{server}/api/v1/forms", headers=globex_headers).json()["items"] == []
    assert httpx.get(f"{server}/api/v1/forms/{form.json()['id']}", headers=globex_headers).status_code == 404

    listed = _run(tmp_path, "workspace", "list", "--json")
    assert {row["name"] for row in json.loads(listed.stdout)} == {"Acme", "Globex"}
    assert (tmp_path / "leadwire.db.secret").exists()


def test_demo_creates_a_published_form_once(tmp_path: Path) -> None:
    first = _run(tmp_path, "demo", "--if-empty", "--json")
    assert first.returncode == 0, first.stderr
    demo = json.loads(first.stdout.strip().splitlines()[-1])
    assert demo["api_key"].startswith("lw_")
    assert demo["public_url"].endswith(f"/f/{demo['form_slug']}")
    second = _run(tmp_path, "demo", "--if-empty")
    assert second.returncode == 0
    assert "nothing created" in second.stdout


def test_a_typo_in_a_setting_stops_the_cli_with_a_clear_message(tmp_path: Path) -> None:
    env = {**_env(tmp_path), "LEADWIRE_SECRETKEY": "x" * 40}
    result = subprocess.run(
        [*LEADWIRE, "migrate"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "LEADWIRE_SECRETKEY (did you mean LEADWIRE_SECRET_KEY?)" in result.stderr


def test_workspace_key_mints_a_key_for_an_existing_workspace_only(tmp_path: Path) -> None:
    acme = json.loads(_run(tmp_path, "workspace", "create", "Acme", "--json").stdout)
    minted = _run(tmp_path, "workspace", "key", acme["workspace_id"], "--json")
    assert json.loads(minted.stdout)["api_key"] != acme["api_key"]
    missing = _run(tmp_path, "workspace", "key", "ws_nope")
    assert missing.returncode == 1
    assert "no workspace" in missing.stderr


def _insert_spam(database: Path, workspace_id: str, form_id: str, *, days_old: int) -> None:
    created_at = (datetime.now(UTC) - timedelta(days=days_old)).strftime("%Y-%m-%d %H:%M:%S.%f")
    with contextlib.closing(sqlite3.connect(database)) as connection, connection:
        connection.execute(
            "INSERT INTO submission (id, workspace_id, form_id, form_version, verdict, source, fields, consents,"
            " fingerprint, utm, created_at) VALUES (?, ?, ?, 1, 'spam', 'form', '{}', '[]', ?, '{}', ?)",
            (f"sub_{days_old:026d}", workspace_id, form_id, "0" * 64, created_at),
        )


def test_purge_applies_the_retention_periods_once_and_prints_the_counts(tmp_path: Path) -> None:
    demo = json.loads(_run(tmp_path, "demo", "--json").stdout.strip().splitlines()[-1])
    _insert_spam(tmp_path / "leadwire.db", demo["workspace_id"], demo["form_id"], days_old=31)
    _insert_spam(tmp_path / "leadwire.db", demo["workspace_id"], demo["form_id"], days_old=29)

    first = _run(tmp_path, "purge", "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {
        "workspaces": 1,
        "spam_deleted": 1,
        "submissions_deleted": 0,
        "attempt_bodies_blanked": 0,
        "source_payloads_deleted": 0,
    }
    assert "retention purge: 1 workspaces, 1 spam" in first.stderr  # the one-line summary is logged

    again = _run(tmp_path, "purge")
    assert again.returncode == 0, again.stderr
    assert "spam deleted:             0" in again.stdout


def test_a_new_encryption_key_is_made_and_rotated_in_from_the_command_line(tmp_path: Path) -> None:
    made = _run(tmp_path, "new-encryption-key", LEADWIRE_ENV="production")  # needs no settings: it makes them
    assert made.returncode == 0, made.stderr
    new = made.stdout.strip()
    assert _run(tmp_path, "demo", "--json").returncode == 0  # development: a key is made beside the database
    old = (tmp_path / "leadwire.db.keys").read_text(encoding="utf-8").strip()
    rotated = _run(tmp_path, "rotate-encryption-key", LEADWIRE_ENCRYPTION_KEYS=f"{new},{old}")
    assert rotated.returncode == 0, rotated.stderr
    assert "re-encrypted the secrets of" in rotated.stdout

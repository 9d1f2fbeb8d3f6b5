"""Bad configuration, as an operator meets it: one clear line on standard error and a non-zero exit, no traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from core.encryption import new_key

LEADWIRE = [sys.executable, "-m", "cli"]
ROOT = Path(__file__).resolve().parents[2]
CompletedProcess = subprocess.CompletedProcess[str]
PRODUCTION = {"LEADWIRE_ENV": "production", "LEADWIRE_SECRET_KEY": "s" * 40, "LEADWIRE_ENCRYPTION_KEYS": new_key()}


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _run(cwd: Path, *args: str, timeout: int = 60, env: dict[str, str] | None = None, **more: str) -> CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LEADWIRE_")}
    return subprocess.run(
        [*LEADWIRE, *args],
        cwd=cwd,
        env={**clean, "PYTHONPATH": str(ROOT), **(env or {}), **more},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _assert_one_line(result: CompletedProcess, *expected: str) -> None:
    assert result.returncode != 0, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for text in expected:
        assert text in lines[0], lines[0]


@pytest.mark.parametrize("command", [("workspace", "list"), ("migrate",), ("demo",), ("purge",)])
def test_an_unreachable_postgresql_is_one_line(tmp_path: Path, command: tuple[str, ...]) -> None:
    port = _closed_port()
    url = f"postgresql+asyncpg://leadwire:hunter2@127.0.0.1:{port}/leadwire"
    result = _run(tmp_path, *command, LEADWIRE_DATABASE_URL=url)
    _assert_one_line(result, f"cannot reach the database at 127.0.0.1:{port}", "LEADWIRE_DATABASE_URL")
    assert "hunter2" not in result.stderr


def test_a_bare_postgresql_url_reaches_asyncpg(tmp_path: Path) -> None:
    result = _run(tmp_path, "workspace", "list", LEADWIRE_DATABASE_URL=f"postgresql://lw@127.0.0.1:{_closed_port()}/x")
    _assert_one_line(result, "cannot reach the database")  # not ModuleNotFoundError: psycopg


def test_a_missing_postgresql_database_is_one_line(tmp_path: Path) -> None:
    base = os.environ.get("TEST_POSTGRES_URL")
    if not base:
        pytest.skip("TEST_POSTGRES_URL is not set")
    url = make_url(base).set(drivername="postgresql+asyncpg", database="leadwire_no_such_database")
    result = _run(tmp_path, "workspace", "list", LEADWIRE_DATABASE_URL=url.render_as_string(hide_password=False))
    _assert_one_line(result, "database 'leadwire_no_such_database' does not exist")


@pytest.mark.parametrize("env", [{}, PRODUCTION], ids=["development", "production"])
def test_an_sqlite_file_that_cannot_be_created_is_one_line(tmp_path: Path, env: dict[str, str]) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    url = f"sqlite+aiosqlite:///{blocker}/leadwire.db"
    result = _run(tmp_path, "workspace", "list", env=env, LEADWIRE_DATABASE_URL=url)
    _assert_one_line(result, f"cannot create {blocker}")


def test_serve_with_postgresql_down_stops_at_start_up_with_one_line(tmp_path: Path) -> None:
    port = _closed_port()
    url = f"postgresql+asyncpg://lw@127.0.0.1:{port}/leadwire"
    started = time.monotonic()
    result = _run(tmp_path, "serve", "--port", str(_closed_port()), timeout=30, LEADWIRE_DATABASE_URL=url)
    assert time.monotonic() - started < 20
    assert "Uvicorn running" not in result.stderr
    _assert_one_line(result, f"cannot reach the database at 127.0.0.1:{port}")


def test_cli_commands_are_quiet_about_migrations_unless_asked(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/leadwire.db"
    quiet = _run(tmp_path, "workspace", "list", LEADWIRE_DATABASE_URL=url)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    verbose = _run(tmp_path, "-v", "migrate", LEADWIRE_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/other.db")
    assert verbose.returncode == 0, verbose.stderr
    assert "Running upgrade" in verbose.stderr

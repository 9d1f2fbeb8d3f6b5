"""A Leadwire deployment on this machine, as real processes: ``leadwire serve`` and ``leadwire worker``.

Used by ``bench/scaleout.py`` and by the fault tests in ``tests/e2e``: each process is started from the CLI exactly as
an operator would start it, with its settings in ``LEADWIRE_*`` variables, its output in a log file, and can be
stopped gracefully (SIGTERM), killed (SIGKILL) and started again on the same port.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Literal

import httpx

ROOT = Path(__file__).resolve().parents[1]
LEADWIRE = [sys.executable, "-m", "cli"]
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0

Role = Literal["serve", "worker"]


def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def leadwire_env(database_url: str, secret_key: str, **settings: str) -> dict[str, str]:
    """This process's environment without its own ``LEADWIRE_*`` variables, plus the given settings.

    Every process of a cluster must hold the same encryption key; unless one is given, it is derived from the
    secret key, so that no process writes a development key file of its own.
    """
    env = {name: value for name, value in os.environ.items() if not name.startswith("LEADWIRE_")}
    derived = base64.urlsafe_b64encode(hashlib.sha256(f"encryption:{secret_key}".encode()).digest()).decode()
    env.update(
        PYTHONPATH=str(ROOT),
        LEADWIRE_DATABASE_URL=database_url,
        LEADWIRE_SECRET_KEY=secret_key,
        LEADWIRE_ENCRYPTION_KEYS=derived,
        LEADWIRE_LOG_LEVEL="warning",
    )
    env.update({f"LEADWIRE_{name.upper()}": value for name, value in settings.items()})
    return env


def asyncpg_dsn(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as a plain DSN for asyncpg."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def database_named(url: str, name: str) -> str:
    """The SQLAlchemy URL of database ``name`` on the server of ``url``."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)


async def execute_sql(url: str, statement: str) -> None:
    """One statement on its own connection (``CREATE DATABASE`` and ``DROP DATABASE`` cannot run in a transaction)."""
    import asyncpg

    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


class Node:
    """One process of the deployment. ``serve`` nodes keep their port across restarts."""

    def __init__(self, name: str, role: Role, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.role = role
        self.env = env
        self.port = free_port() if role == "serve" else 0
        self.log_path = log_dir / f"{name}.log"
        self.starts = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def spawn(self) -> None:
        """Start the process without waiting for it (see ``ready``)."""
        if self.running:
            raise RuntimeError(f"{self.name} is already running")
        command = [*LEADWIRE, "serve", "--port", str(self.port)] if self.role == "serve" else [*LEADWIRE, "worker"]
        self._log = self.log_path.open("ab")
        self._log.write(f"--- start {self.starts + 1} of {self.name}\n".encode())
        self._log.flush()
        self._process = subprocess.Popen(  # noqa: S603 (our own interpreter and CLI)
            command, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )
        self.starts += 1

    def _check_alive(self) -> None:
        if self._process is None or self._process.poll() is not None:
            raise RuntimeError(f"{self.name} exited while starting:\n{self.log_tail()}")

    async def ready(self, within: float = START_TIMEOUT_S) -> None:
        """Wait, without blocking the event loop, until a server answers ``/readyz`` 200 (a worker: a moment)."""
        deadline = time.monotonic() + within
        if self.role == "worker":
            await asyncio.sleep(0.5)
            self._check_alive()
            return
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < deadline:
                self._check_alive()
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} was not ready within {within:g} s:\n{self.log_tail()}")

    def wait_ready(self, within: float = START_TIMEOUT_S) -> None:
        """``ready`` for code without an event loop."""
        asyncio.run(self.ready(within))

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when the machine or the container dies."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(STOP_TIMEOUT_S)
        self._close_log()

    def stop(self) -> int | None:
        """SIGTERM, as a deploy or an orchestrator stops a process; SIGKILL if it has not exited in time."""
        if self._process is None:
            return None
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._close_log()
        return self._process.returncode

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, chars: int = 4_000) -> str:
        if self._log is not None:
            self._log.flush()
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]


class Cluster:
    """Several nodes that are stopped together (SIGTERM, then SIGKILL) however the caller ends."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.nodes: list[Node] = []

    def add(self, name: str, role: Role, env: dict[str, str]) -> Node:
        node = Node(name, role, env, self.log_dir)
        self.nodes.append(node)
        return node

    async def start(self) -> None:
        for node in self.nodes:
            node.spawn()
        for node in self.nodes:
            await node.ready()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def logs(self, chars: int = 2_000) -> str:
        return "\n".join(f"=== {node.name}\n{node.log_tail(chars)}" for node in self.nodes)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

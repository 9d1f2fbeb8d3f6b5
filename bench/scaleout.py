"""Scale-out throughput: two servers and two workers on PostgreSQL and Redis, next to one server on SQLite.

Run from the repository root::

    .venv/bin/python bench/scaleout.py [--duration S] [--connections C] [--postgres-url URL] [--redis-url URL]

Each deployment is started from the CLI exactly as an operator starts it (``bench/cluster.py``) on a fresh database
holding the demo form and one webhook endpoint, a minimal receiver on 127.0.0.1 (from ``bench/delivery.py``):

- ``sqlite``: one ``leadwire serve`` on an SQLite file, delivering from its in-process worker (the default);
- ``postgres x1``: one ``leadwire serve`` and one ``leadwire worker`` on PostgreSQL, limits shared in Redis;
- ``postgres x2``: two of each, the load split evenly over the two servers.

wrk sends distinct, valid submissions for S seconds over C connections in all (split over the servers), each from
its own forwarded address, with the Lua script of ``bench/ingest.py``. The figures per deployment: submissions
accepted per second during the load, latency, how long the workers took to deliver everything after the load ended,
and the end-to-end rate (accepted submissions over the time from the start of the load to the last delivery). The
ratio column compares each with the SQLite server, measured in the same run.

The last line printed is a JSON object with the figures. The exit status is 0 whatever the figures are, and 1 when a
request failed or when the database or the receiver does not hold exactly what was accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Run as ``python bench/scaleout.py``, this file's folder comes first on sys.path, where ``ingest`` would mean
# bench/ingest.py rather than the project's package: put the repository root there instead.
_BENCH_DIR = Path(__file__).resolve().parent
_ROOT = _BENCH_DIR.parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _BENCH_DIR]
sys.path.insert(0, str(_ROOT))

from bench.cluster import LEADWIRE, Cluster, Node, database_named, execute_sql, leadwire_env  # noqa: E402
from bench.delivery import Receiver  # noqa: E402
from bench.ingest import _LUA, _RESULT_MARK, _find_wrk  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ("main",)

_SECRET_KEY = "bench-secret-key-not-used-for-anything-real-0123456789"  # noqa: S105 (a throwaway database)
_DRAIN_TIMEOUT_S = 600.0
_UNLIMITED = "100000000/minute"


@dataclass
class Deployment:
    name: str
    database: str
    servers: int
    workers: int
    accepted: int = 0
    sent: int = 0
    non_2xx: int = 0
    errors: int = 0
    load_s: float = 0.0
    drain_s: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    stored: int = 0
    delivered: int = 0
    receiver_count: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def accepted_per_s(self) -> float:
        return self.accepted / self.load_s if self.load_s else 0.0

    @property
    def end_to_end_per_s(self) -> float:
        total = self.load_s + self.drain_s
        return self.accepted / total if total else 0.0


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per deployment (default 10)")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections in all (default 50)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads per wrk process (default 2)")
    default_pg = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--postgres-url", default=default_pg, help="a database to create the bench database from")
    default_redis = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    parser.add_argument("--redis-url", default=default_redis)
    parser.add_argument("--skip-single", action="store_true", help="leave out the one-server PostgreSQL deployment")
    return parser.parse_args(argv)


# --- databases --------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _postgres_database(base_url: str) -> Iterator[str]:
    """A new, migrated PostgreSQL database for one deployment, dropped afterwards."""
    import migrations

    name = f"leadwire_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(execute_sql(base_url, f'CREATE DATABASE "{name}"'))
    url = database_named(base_url, name)
    try:
        migrations.upgrade(url)
        yield url
    finally:
        asyncio.run(execute_sql(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _counts(database_url: str) -> tuple[int, int]:
    """Submissions stored, and deliveries succeeded."""
    from sqlalchemy import func, select

    from core.database import Database
    from core.settings import load_settings
    from delivery.models import Delivery
    from leads.models import Submission

    db = Database(load_settings({"LEADWIRE_DATABASE_URL": database_url, "LEADWIRE_SECRET_KEY": _SECRET_KEY}))
    try:
        async with db.session(write=False) as session:
            stored = await session.scalar(select(func.count()).select_from(Submission))
            done = await session.scalar(select(func.count()).where(Delivery.status == "succeeded"))
    finally:
        await db.dispose()
    return int(stored or 0), int(done or 0)


# --- one deployment ---------------------------------------------------------------------------------------------------


def _setup(server: Node, env: dict[str, str], receiver_url: str) -> str:
    """The demo workspace and form, and an endpoint for the receiver; returns the form's slug."""
    import httpx

    demo = subprocess.run(  # noqa: S603 (our own CLI)
        [*LEADWIRE, "demo", "--json"], cwd=_ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    workspace = json.loads(demo.stdout)
    headers = {"Authorization": f"Bearer {workspace['api_key']}"}
    created = httpx.post(f"{server.url}/api/v1/endpoints", json={"url": receiver_url}, headers=headers, timeout=30)
    if created.status_code != 201:
        raise RuntimeError(f"could not add the endpoint: {created.status_code} {created.text}")
    return str(workspace["form_slug"])


def _load(
    wrk: str, script: Path, servers: list[Node], slug: str, *, args: argparse.Namespace, run: int
) -> list[dict[str, Any]]:
    """wrk against every server at once, the connections split evenly; each wrk's figures."""
    per_server = max(1, args.connections // len(servers))
    processes = []
    for index, server in enumerate(servers):
        block = (run * 4 + index) % 16  # bench/ingest.py's address blocks: no client address repeats in a run
        command = [
            wrk,
            f"--connections={per_server}",
            f"--threads={min(args.threads, per_server)}",
            f"--duration={args.duration}s",
            "--timeout=10s",
            "--latency",
            f"--script={script}",
            f"{server.url}/f/{slug}",
            "--",
            f"s{run}x{index}",
            str(block),
            str(min(args.threads, per_server)),
        ]
        processes.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))  # noqa: S603
    results = []
    for process in processes:
        out, err = process.communicate(timeout=args.duration + 120)
        line = next((row for row in out.splitlines() if row.startswith(_RESULT_MARK)), None)
        if process.returncode != 0 or line is None:
            raise RuntimeError(f"wrk failed ({process.returncode}): {out[-2_000:]}{err[-2_000:]}")
        results.append(json.loads(line[len(_RESULT_MARK) :]))
    return results


def _measure(deployment: Deployment, database_url: str, args: argparse.Namespace, wrk: str, run: int) -> None:
    settings = {
        "trusted_proxies": "127.0.0.1",
        "rate_limit_ip_form": _UNLIMITED,
        "rate_limit_ip": _UNLIMITED,
        "rate_limit_form": _UNLIMITED,
        "allow_private_webhook_targets": "true",
        "delivery_poll_seconds": "0.2",
    }
    if deployment.database == "postgres":
        settings["redis_url"] = args.redis_url
    env = leadwire_env(database_url, _SECRET_KEY, **settings)
    receiver = Receiver(cpu=None)
    with tempfile.TemporaryDirectory(prefix="leadwire-scaleout-") as directory, Cluster(Path(directory)) as cluster:
        script = Path(directory) / "submit.lua"
        script.write_text(_LUA, encoding="utf-8")
        separate = deployment.workers > 0
        serve_env = {**env, "LEADWIRE_RUN_WORKER": "false"} if separate else env
        servers = [cluster.add(f"serve-{i}", "serve", serve_env) for i in range(deployment.servers)]
        for i in range(deployment.workers):
            cluster.add(f"worker-{i}", "worker", env)
        try:
            asyncio.run(cluster.start())
            slug = _setup(servers[0], env, receiver.url)
            results = _load(wrk, script, servers, slug, args=args, run=run)
            load_end = time.monotonic()
            deployment.load_s = max(result["duration_us"] for result in results) / 1e6
            deployment.sent = sum(result["sent"] for result in results)
            deployment.non_2xx = sum(result["non_2xx"] for result in results)
            deployment.errors = sum(
                result[name] for result in results for name in ("connect", "read", "write", "timeout")
            )
            deployment.accepted = sum(result["requests"] - result["non_2xx"] for result in results)
            deployment.p50_ms = max(result["p50_us"] for result in results) / 1e3
            deployment.p99_ms = max(result["p99_us"] for result in results) / 1e3
            deadline = time.monotonic() + _DRAIN_TIMEOUT_S
            while True:
                deployment.stored, deployment.delivered = asyncio.run(_counts(database_url))
                if deployment.delivered >= deployment.stored or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            deployment.drain_s = time.monotonic() - load_end
        except BaseException:
            print(cluster.logs(), file=sys.stderr)
            raise
        finally:
            deployment.receiver_count = receiver.count
            receiver.close()
    if deployment.non_2xx or deployment.errors:
        deployment.problems.append(f"{deployment.name}: {deployment.non_2xx} non-2xx, {deployment.errors} errors")
    # wrk counts answers it read; requests in flight when it stopped may be stored without being counted.
    if not deployment.accepted <= deployment.stored <= deployment.sent:
        deployment.problems.append(f"{deployment.name}: stored {deployment.stored}, accepted {deployment.accepted}")
    if deployment.delivered != deployment.stored or deployment.receiver_count < deployment.delivered:
        deployment.problems.append(
            f"{deployment.name}: stored {deployment.stored}, delivered {deployment.delivered}, "
            f"receiver counted {deployment.receiver_count}"
        )


def _report(deployments: list[Deployment], args: argparse.Namespace) -> dict[str, Any]:
    base = deployments[0]
    print(
        f"\nScale-out: {args.duration} s of wrk load per deployment, {args.connections} connections in all, "
        f"{os.cpu_count()} CPUs on this machine\n"
    )
    header = (
        f"{'deployment':<14}{'processes':>11}{'accepted/s':>12}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'drain s':>9}{'end-to-end/s':>14}{'ratio':>8}{'e2e ratio':>11}"
    )
    print(header)
    print("-" * len(header))
    for d in deployments:
        ratio = d.accepted_per_s / base.accepted_per_s if base.accepted_per_s else 0.0
        e2e = d.end_to_end_per_s / base.end_to_end_per_s if base.end_to_end_per_s else 0.0
        processes = f"{d.servers}+{d.workers}" if d.workers else f"{d.servers}"
        print(
            f"{d.name:<14}{processes:>11}{d.accepted_per_s:>12,.0f}{d.p50_ms:>9.1f}{d.p99_ms:>9.1f}"
            f"{d.drain_s:>9.1f}{d.end_to_end_per_s:>14,.0f}{ratio:>8.2f}{e2e:>11.2f}"
        )
    print("\nratio: accepted/s against the SQLite server; e2e ratio: the same for the end-to-end rate.")
    figures: dict[str, Any] = {
        "duration_s": args.duration,
        "connections": args.connections,
        "cpus": os.cpu_count(),
        "deployments": [
            {
                "name": d.name,
                "servers": d.servers,
                "workers": d.workers,
                "accepted": d.accepted,
                "stored": d.stored,
                "delivered": d.delivered,
                "accepted_per_s": round(d.accepted_per_s, 1),
                "end_to_end_per_s": round(d.end_to_end_per_s, 1),
                "drain_s": round(d.drain_s, 2),
                "p50_ms": d.p50_ms,
                "p99_ms": d.p99_ms,
                "ratio": round(d.accepted_per_s / base.accepted_per_s, 3) if base.accepted_per_s else 0.0,
            }
            for d in deployments
        ],
    }
    problems = [problem for d in deployments for problem in d.problems]
    figures["problems"] = problems
    figures["ok"] = not problems
    return figures


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    try:
        wrk = _find_wrk()
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 2
    deployments = [Deployment("sqlite", "sqlite", servers=1, workers=0)]
    if not args.skip_single:
        deployments.append(Deployment("postgres x1", "postgres", servers=1, workers=1))
    deployments.append(Deployment("postgres x2", "postgres", servers=2, workers=2))
    for run, deployment in enumerate(deployments):
        print(f"measuring {deployment.name} ...", file=sys.stderr)
        if deployment.database == "sqlite":
            with tempfile.TemporaryDirectory(prefix="leadwire-scaleout-db-") as directory:
                _measure(deployment, f"sqlite+aiosqlite:///{directory}/leadwire.db", args, wrk, run)
        else:
            with _postgres_database(args.postgres_url) as url:
                _measure(deployment, url, args, wrk, run)
    figures = _report(deployments, args)
    for problem in figures["problems"]:
        print(f"PROBLEM: {problem}")
    print(json.dumps(figures))
    return 0 if figures["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

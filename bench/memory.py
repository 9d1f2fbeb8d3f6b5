"""Memory: the RSS of ``leadwire serve`` before and after N submissions, each from a client address of its own.

Run from the repository root::

    .venv/bin/python bench/memory.py [--submissions N] [--concurrency C] [--family ipv6|ipv4]

One ``leadwire serve`` is started from the CLI (``bench/cluster.py``) on a fresh SQLite file holding the demo form,
with the delivery worker off and ``LEADWIRE_TRUSTED_PROXIES=127.0.0.1``, so that ``X-Forwarded-For`` names the
client. Its idle RSS is read from ``/proc``; then an aiohttp client sends N valid JSON submissions over C connections,
each with a new email address and a new client address (by default a new IPv6 /64, the unit the rate limits count:
an attacker rotating prefixes), and the RSS is read again, also at every tenth of the way. The per-address rate
limits keep their defaults, since their memory is what is measured; the per-form limit is raised out of the way.

The last line printed is a JSON object with the figures, among them ``growth_mib`` against ``target_growth_mib``
(50). The exit status is 0 whatever the figures are, and 1 when a submission was not answered 201, when the database
does not hold every accepted submission, or when the server did not stop cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Run as ``python bench/memory.py``, this file's folder comes first on sys.path, where ``ingest`` would mean
# bench/ingest.py rather than the project's package: put the repository root there instead.
_BENCH_DIR = Path(__file__).resolve().parent
_ROOT = _BENCH_DIR.parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _BENCH_DIR]
sys.path.insert(0, str(_ROOT))

from bench.cluster import LEADWIRE, Cluster, leadwire_env  # noqa: E402

__all__ = ("main",)

TARGET_GROWTH_MIB = 50.0
_SECRET_KEY = "bench-secret-key-not-used-for-anything-real-0123456789"  # noqa: S105 (a throwaway database)
_FORM_LIMIT = "100000000/minute"
_IDLE_PAUSE_S = 1.0
_CHECKPOINTS = 10
_MIB = 1024 * 1024


@dataclass
class Load:
    """What the client saw, and the server's RSS along the way."""

    sent: int = 0
    accepted: int = 0
    refused: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    first_bad: str = ""
    seconds: float = 0.0
    checkpoints: list[tuple[int, float]] = field(default_factory=list)
    """(submissions answered, RSS in MiB) at every tenth of the load."""


def rss_mib(pid: int) -> tuple[float, float]:
    """The process's resident set size now and its peak (``VmRSS`` and ``VmHWM`` of ``/proc/PID/status``), in MiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        name, _, rest = line.partition(":")
        if name in {"VmRSS", "VmHWM"}:
            values[name] = int(rest.split()[0]) / 1024  # kB
    return round(values["VmRSS"], 1), round(values["VmHWM"], 1)


def client_address(n: int, family: str) -> str:
    """The ``n``-th client address: a /64 of its own in 2001:db8::/32, or an address of 10.0.0.0/8."""
    if family == "ipv6":
        return f"2001:db8:{n >> 16 & 0xFFFF:x}:{n & 0xFFFF:x}::1"
    return f"10.{n >> 16 & 0xFF}.{n >> 8 & 0xFF}.{n & 0xFF}"


async def _send(url: str, pid: int, args: argparse.Namespace) -> Load:
    import aiohttp

    load = Load()
    tag = secrets.token_hex(3)
    step = max(1, args.submissions // _CHECKPOINTS)
    numbers = iter(range(args.submissions))

    async def one_connection(session: aiohttp.ClientSession) -> None:
        for n in numbers:
            body = {
                "name": f"Bench {n}",
                "email": f"memory-{tag}-{n}@example.com",
                "company": "Bench Ltd",
                "consent": ["sales_contact"],
            }
            headers = {"X-Forwarded-For": client_address(n, args.family), "Accept": "application/json"}
            load.sent += 1
            try:
                async with session.post(url, json=body, headers=headers) as response:
                    text = await response.text()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                load.errors += 1
                load.first_bad = load.first_bad or f"{type(exc).__name__}: {exc}"
                continue
            if status == 201:
                load.accepted += 1
            else:
                load.refused[status] = load.refused.get(status, 0) + 1
                load.first_bad = load.first_bad or f"{status} {text[:300]}"
            answered = load.accepted + sum(load.refused.values())
            if answered % step == 0:
                load.checkpoints.append((answered, rss_mib(pid)[0]))

    timeout = aiohttp.ClientTimeout(total=30)
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(one_connection(session) for _ in range(args.concurrency)))
    load.seconds = time.perf_counter() - started
    return load


def _stored(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        (count,) = connection.execute("SELECT count(*) FROM submission").fetchone()
    return int(count)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--submissions", "-n", type=int, default=100_000, help="submissions to send (100000)")
    parser.add_argument("--concurrency", "-c", type=int, default=50, help="connections at once (default 50)")
    parser.add_argument(
        "--family", choices=("ipv6", "ipv4"), default="ipv6", help="client addresses: a /64 each, or IPv4 (ipv6)"
    )
    parser.add_argument("--settle", type=float, default=0.0, help="seconds to wait before the last reading (0)")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="another setting for the server, e.g. rate_limit_memory_capacity=1000 (LEADWIRE_ prefix optional)",
    )
    args = parser.parse_args(argv)
    if args.submissions < 1 or args.concurrency < 1 or args.settle < 0:
        parser.error("--submissions and --concurrency must be positive, --settle not negative")
    args.settings = {}
    for setting in args.setting:
        name, equals, value = setting.partition("=")
        if not equals or not name.strip():
            parser.error(f"--setting {setting!r}: expected NAME=VALUE")
        args.settings[name.strip().lower().removeprefix("leadwire_")] = value
    return args


def _bench(args: argparse.Namespace, directory: Path) -> tuple[dict[str, Any], list[str]]:
    database = directory / "bench.db"
    env = leadwire_env(
        f"sqlite+aiosqlite:///{database}",
        _SECRET_KEY,
        run_worker="false",
        trusted_proxies="127.0.0.1",
        **{"rate_limit_form": _FORM_LIMIT, **args.settings},
    )
    problems: list[str] = []
    with Cluster(directory) as cluster:
        server = cluster.add("serve", "serve", env)
        try:
            asyncio.run(cluster.start())
            demo = subprocess.run(  # noqa: S603 (our own CLI)
                [*LEADWIRE, "demo", "--json"],
                cwd=_ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
            )
            slug = json.loads(demo.stdout)["form_slug"]
            pid = server.pid
            assert pid is not None
            time.sleep(_IDLE_PAUSE_S)
            idle, _ = rss_mib(pid)
            print(
                f"serve (pid {pid}) idle: {idle:.1f} MiB; sending {args.submissions} submissions ...", file=sys.stderr
            )
            load = asyncio.run(_send(f"{server.url}/f/{slug}", pid, args))
            time.sleep(args.settle)
            after, peak = rss_mib(pid)
        except BaseException:
            print(cluster.logs(), file=sys.stderr)
            raise
        status = server.stop()
    if status not in {0, -signal.SIGTERM}:
        problems.append(f"the server exited with status {status}: {server.log_tail()}")
    stored = _stored(database)
    if load.errors or load.refused:
        problems.append(f"{load.errors} errors and {load.refused} refusals; the first: {load.first_bad}")
    if stored != load.accepted:
        problems.append(f"{load.accepted} submissions were answered 201 but {stored} are stored")
    growth = round(after - idle, 1)
    figures = {
        "submissions": args.submissions,
        "accepted": load.accepted,
        "stored": stored,
        "errors": load.errors,
        "refused": {str(code): count for code, count in sorted(load.refused.items())},
        "idle_rss_mib": idle,
        "after_rss_mib": after,
        "peak_rss_mib": peak,
        "growth_mib": growth,
        "target_growth_mib": TARGET_GROWTH_MIB,
        "meets_target": growth <= TARGET_GROWTH_MIB,
        "bytes_per_address": round((after - idle) * _MIB / args.submissions),
        "checkpoints": [{"answered": answered, "rss_mib": rss} for answered, rss in load.checkpoints],
        "seconds": round(load.seconds, 1),
        "per_s": round(load.accepted / load.seconds, 1) if load.seconds else 0.0,
        "family": args.family,
        "concurrency": args.concurrency,
        "settle_s": args.settle,
        "database": "sqlite",
        "run_worker": False,
        "trusted_proxies": "127.0.0.1",
        "rate_limit_form": args.settings.get("rate_limit_form", _FORM_LIMIT),
        "settings": args.settings,
        "cpus": os.cpu_count(),
    }
    return figures, problems


def _report(figures: dict[str, Any]) -> None:
    print(
        f"\nMemory of `leadwire serve` (SQLite, worker off): {figures['submissions']} submissions, each from its own "
        f"{'IPv6 /64' if figures['family'] == 'ipv6' else 'IPv4 address'}, {figures['concurrency']} connections, "
        f"{figures['seconds']} s ({figures['per_s']}/s)\n"
    )
    print(f"{'answered':>10}{'RSS MiB':>10}{'growth':>10}")
    print(f"{0:>10}{figures['idle_rss_mib']:>10.1f}{0:>10.1f}")
    for point in figures["checkpoints"]:
        print(f"{point['answered']:>10}{point['rss_mib']:>10.1f}{point['rss_mib'] - figures['idle_rss_mib']:>10.1f}")
    verdict = "within" if figures["meets_target"] else "OVER"
    print(
        f"\nidle {figures['idle_rss_mib']:.1f} MiB, after {figures['after_rss_mib']:.1f} MiB (peak "
        f"{figures['peak_rss_mib']:.1f}): growth {figures['growth_mib']:.1f} MiB, {verdict} the "
        f"{figures['target_growth_mib']:.0f} MiB target ({figures['bytes_per_address']} bytes per address)"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every submission was accepted and stored and the server stopped cleanly."""
    args = _parse(argv)
    with tempfile.TemporaryDirectory(prefix="leadwire-bench-memory-") as directory:
        figures, problems = _bench(args, Path(directory))
    _report(figures)
    for problem in problems:
        print(f"PROBLEM: {problem}")
    figures["ok"] = not problems
    print(json.dumps(figures))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

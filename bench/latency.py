"""Latency under load: how long after its 201 a submission's webhook arrives, on one ``leadwire serve`` with SQLite.

Run from the repository root::

    .venv/bin/python bench/latency.py [--rate R] [--duration S]

One ``leadwire serve`` on a fresh SQLite file delivers with its in-process worker (the default set-up) to one webhook
endpoint: a receiver in its own process on 127.0.0.1 that notes when each webhook arrives, keyed by the submission id
in its body (``data.submission.id``). The load is open: submission ``i`` is sent at ``start + i / R`` whatever became
of the earlier ones, each by its own task, for S seconds. Every 201 carries the submission's id, which maps it to its
webhook. A few submissions at a walking pace (``--idle-rate``) are measured first, in the same run, as the idle
reference. Times are ``time.monotonic()`` in both processes (CLOCK_MONOTONIC: one clock for the whole machine).

The figures, idle and under load: p50, p95, p99 and maximum of the 201 (from the moment the request was due) and
of the arrival (from the 201). The last line printed is a JSON object with them. The exit status is 0 whatever the
figures are, and 1 when a submission was not answered 201 or its webhook did not arrive.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Run as ``python bench/latency.py``, this file's folder comes first on sys.path, where ``ingest`` would mean
# bench/ingest.py rather than the project's package: put the repository root there instead.
_BENCH_DIR = Path(__file__).resolve().parent
_ROOT = _BENCH_DIR.parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _BENCH_DIR]
sys.path.insert(0, str(_ROOT))

import aiohttp  # noqa: E402
import msgspec  # noqa: E402

from bench.cluster import LEADWIRE, Cluster, Node, leadwire_env  # noqa: E402

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

__all__ = ("main",)

TARGET_P99_ARRIVAL_MS = 100.0
_SECRET_KEY = "bench-secret-key-not-used-for-anything-real-0123456789"  # noqa: S105 (a throwaway database)
_UNLIMITED = "100000000/minute"
_RECEIVER_START_TIMEOUT_S = 20.0
_REQUEST_TIMEOUT_S = 30.0
_START_DELAY_S = 0.5


# --- the receiver (runs in its own process) -------------------------------------------------------------------------


class _Webhook(msgspec.Struct):
    data: dict[str, Any]


def _receiver_main(control: Connection) -> None:
    """Serve until the parent says stop or goes away; answer its questions on ``control``."""
    asyncio.run(_serve(control))


async def _serve(control: Connection) -> None:
    from aiohttp import web

    arrivals: dict[str, float] = {}
    repeats = 0
    decoder = msgspec.json.Decoder(_Webhook)

    async def handle(request: web.Request) -> web.Response:
        nonlocal repeats
        body = await request.read()
        arrived = time.monotonic()
        submission_id = str(decoder.decode(body).data.get("submission", {}).get("id", ""))
        if submission_id in arrivals:
            repeats += 1  # a retry: the first arrival counts
        else:
            arrivals[submission_id] = arrived
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hooks/latency", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_control() -> None:
        try:
            question = control.recv()
        except (EOFError, OSError):  # the parent has gone
            stop.set()
            return
        if question == "count":
            control.send(len(arrivals))
        elif question == "collect":
            control.send((dict(arrivals), repeats))
        else:
            stop.set()

    loop.add_reader(control.fileno(), on_control)
    control.send(runner.addresses[0][1])
    try:
        await stop.wait()
    finally:
        loop.remove_reader(control.fileno())
        await runner.cleanup()


class Receiver:
    """The receiver process, seen from the benchmark: its URL, and when each submission's webhook arrived."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._control, child_end = context.Pipe()
        self._process = context.Process(target=_receiver_main, args=(child_end,), name="latency-receiver", daemon=True)
        self._process.start()
        child_end.close()
        if not self._control.poll(_RECEIVER_START_TIMEOUT_S):
            self.close()
            raise RuntimeError("the receiver process did not start")
        self.url = f"http://127.0.0.1:{self._control.recv()}/hooks/latency"

    def count(self) -> int:
        """Distinct submissions whose webhook has arrived."""
        self._control.send("count")
        count: int = self._control.recv()
        return count

    def collect(self) -> tuple[dict[str, float], int]:
        """When each submission's webhook first arrived, and how many arrived again (retries)."""
        self._control.send("collect")
        arrivals: tuple[dict[str, float], int] = self._control.recv()
        return arrivals

    def close(self) -> None:
        with contextlib.suppress(OSError, BrokenPipeError):
            self._control.send("stop")
        self._process.join(3)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._control.close()


# --- the load ---------------------------------------------------------------------------------------------------------


@dataclass
class Sent:
    """One submission: when it was due, when its 201 came (0 when none did), and its id."""

    due: float
    answered: float = 0.0
    status: int = 0
    submission_id: str = ""
    error: str = ""


@dataclass
class Phase:
    """One load phase: its rate, its submissions, and what the receiver saw of them."""

    name: str
    rate: float
    duration_s: float
    sent: list[Sent] = field(default_factory=list)
    max_lag_ms: float = 0.0
    server_cpu_s: float = 0.0
    wall_s: float = 0.0
    arrivals: dict[str, float] = field(default_factory=dict)

    @property
    def accepted(self) -> list[Sent]:
        return [s for s in self.sent if s.status == 201 and s.submission_id]

    def response_ms(self) -> list[float]:
        return [(s.answered - s.due) * 1000 for s in self.accepted]

    def arrival_ms(self) -> list[float]:
        return [
            (self.arrivals[s.submission_id] - s.answered) * 1000
            for s in self.accepted
            if s.submission_id in self.arrivals
        ]

    @property
    def missing(self) -> int:
        return sum(1 for s in self.accepted if s.submission_id not in self.arrivals)

    @property
    def failed(self) -> list[Sent]:
        return [s for s in self.sent if s.status != 201 or not s.submission_id]


async def _submit(http: aiohttp.ClientSession, url: str, item: Sent, index: int, tag: str) -> None:
    body = {
        "name": f"Latency {index}",
        "email": f"latency-{tag}-{index}@example.com",
        "company": "Bench Ltd",
        "consent": ["sales_contact"],
    }
    # Each submission from its own address (trusted from 127.0.0.1), so per-address limits never apply.
    forwarded = f"10.{(index >> 16) & 255}.{(index >> 8) & 255}.{index & 255}"
    headers = {"Accept": "application/json", "X-Forwarded-For": forwarded}
    try:
        async with http.post(url, json=body, headers=headers) as response:
            answer = await response.read()
            item.answered = time.monotonic()
            item.status = response.status
            if response.status == 201:
                item.submission_id = str(json.loads(answer)["id"])
            else:
                item.error = answer[:300].decode("utf-8", "replace")
    except (aiohttp.ClientError, TimeoutError) as exc:
        item.answered = time.monotonic()
        item.error = f"{type(exc).__name__}: {exc}"


async def _run_phase(phase: Phase, url: str, tag: str) -> None:
    """Send ``rate`` submissions per second for ``duration_s``, each at its own time, whatever the answers."""
    count = max(1, round(phase.rate * phase.duration_s))
    connector = aiohttp.TCPConnector(limit=0)  # never make a due request wait for a pooled connection
    timeout = aiohttp.ClientTimeout(total=_REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        tasks = []
        start = time.monotonic() + _START_DELAY_S
        for index in range(count):
            due = start + index / phase.rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            phase.max_lag_ms = max(phase.max_lag_ms, (time.monotonic() - due) * 1000)
            item = Sent(due=due)
            phase.sent.append(item)
            tasks.append(asyncio.create_task(_submit(http, url, item, index, tag)))
        await asyncio.gather(*tasks)


def _wait_for_arrivals(receiver: Receiver, expected: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while receiver.count() < expected and time.monotonic() < deadline:
        time.sleep(0.1)


# --- set-up and report ------------------------------------------------------------------------------------------------


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


def _cpu_seconds(server: Node) -> float:
    """CPU time (user and system, every thread) the server process has used so far."""
    fields = Path(f"/proc/{server.pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0..1) of ``values``; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def _summary(values: list[float]) -> dict[str, float]:
    return {
        name: round(percentile(values, share), 1)
        for name, share in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))
    }


def _report(phases: list[Phase], args: argparse.Namespace) -> dict[str, Any]:
    print(
        f"\nLatency: one `leadwire serve` on SQLite with its in-process worker, {os.cpu_count()} CPUs on this machine\n"
    )
    header = (
        f"{'phase':<7}{'rate/s':>8}{'sent':>7}{'201':>7}{'arrived':>9}   "
        f"{'201 p50':>9}{'p95':>9}{'p99':>9}{'max':>9}   {'arrival p50':>11}{'p95':>9}{'p99':>9}{'max':>9}"
    )
    print(header)
    print("-" * len(header))
    figures: dict[str, Any] = {"cpus": os.cpu_count(), "target_p99_arrival_ms": TARGET_P99_ARRIVAL_MS}
    for phase in phases:
        response, arrival = _summary(phase.response_ms()), _summary(phase.arrival_ms())
        arrived = len(phase.accepted) - phase.missing
        print(
            f"{phase.name:<7}{phase.rate:>8g}{len(phase.sent):>7}{len(phase.accepted):>7}{arrived:>9}   "
            f"{response['p50']:>9.1f}{response['p95']:>9.1f}{response['p99']:>9.1f}{response['max']:>9.1f}   "
            f"{arrival['p50']:>11.1f}{arrival['p95']:>9.1f}{arrival['p99']:>9.1f}{arrival['max']:>9.1f}"
        )
        figures[phase.name] = {
            "rate_per_s": phase.rate,
            "duration_s": phase.duration_s,
            "sent": len(phase.sent),
            "accepted": len(phase.accepted),
            "arrived": arrived,
            "missing": phase.missing,
            "failed": len(phase.failed),
            "response_ms": response,
            "arrival_ms": arrival,
            "generator_max_lag_ms": round(phase.max_lag_ms, 1),
            "server_cpu_ms_per_submission": round(phase.server_cpu_s * 1000 / max(1, len(phase.sent)), 2),
            "server_cpu_share": round(phase.server_cpu_s / phase.wall_s, 2) if phase.wall_s else 0.0,
        }
    print("\nAll times in ms. 201: from the moment the request was due to its answer; arrival: from the 201 to the")
    print("webhook's arrival at the receiver.")
    load, idle = figures["load"], figures["idle"]
    figures["p99_arrival_ms"] = load["arrival_ms"]["p99"]
    figures["meets_target"] = load["arrival_ms"]["p99"] < TARGET_P99_ARRIVAL_MS
    figures["arrival_p99_over_idle_p50"] = (
        round(load["arrival_ms"]["p99"] / idle["arrival_ms"]["p50"], 1) if idle["arrival_ms"]["p50"] else None
    )
    print(
        f"load p99 to arrival: {load['arrival_ms']['p99']:.1f} ms (target < {TARGET_P99_ARRIVAL_MS:g} ms at "
        f"{args.rate:g}/s for {args.duration:g} s: {'met' if figures['meets_target'] else 'NOT met'}); "
        f"{figures['arrival_p99_over_idle_p50']}x the idle p50."
    )
    print(
        f"The server's CPU under load: {load['server_cpu_ms_per_submission']} ms per submission, "
        f"{load['server_cpu_share']:.0%} of one core from the first submission to the last webhook. "
        f"The generator's largest lag behind its schedule: {load['generator_max_lag_ms']} ms."
    )
    problems = [
        f"{phase.name}: {len(phase.failed)} submissions not answered 201 (first: {phase.failed[0].error[:200]!r})"
        for phase in phases
        if phase.failed
    ] + [f"{phase.name}: {phase.missing} webhooks never arrived" for phase in phases if phase.missing]
    figures["problems"] = problems
    figures["ok"] = not problems
    return figures


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="submissions per second under load (default 200)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load (default 30)")
    parser.add_argument("--idle-rate", type=float, default=5.0, help="submissions per second when idle (default 5)")
    parser.add_argument("--idle-duration", type=float, default=4.0, help="seconds of the idle phase (default 4)")
    parser.add_argument("--arrival-timeout", type=float, default=120.0, help="seconds to wait for the last webhook")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database and server log)")
    return parser.parse_args(argv)


def _measure(args: argparse.Namespace, directory: Path) -> list[Phase]:
    env = leadwire_env(
        f"sqlite+aiosqlite:///{directory}/leadwire.db",
        _SECRET_KEY,
        trusted_proxies="127.0.0.1",
        rate_limit_ip_form=_UNLIMITED,
        rate_limit_ip=_UNLIMITED,
        rate_limit_form=_UNLIMITED,
        allow_private_webhook_targets="true",
    )
    receiver = Receiver()
    phases = [Phase("idle", args.idle_rate, args.idle_duration), Phase("load", args.rate, args.duration)]
    try:
        with Cluster(directory) as cluster:
            server = cluster.add("serve", "serve", env)
            try:
                asyncio.run(cluster.start())
                slug = _setup(server, env, receiver.url)
                url = f"{server.url}/f/{slug}"
                asyncio.run(_run_phase(Phase("warmup", 20, 1), url, "warmup"))  # connections, caches: not counted
                _wait_for_arrivals(receiver, 20, args.arrival_timeout)
                expected = receiver.count()
                for phase in phases:
                    print(f"{phase.name}: {phase.rate:g}/s for {phase.duration_s:g} s ...", file=sys.stderr)
                    cpu, wall = _cpu_seconds(server), time.monotonic()
                    asyncio.run(_run_phase(phase, url, phase.name))
                    expected += len(phase.accepted)
                    _wait_for_arrivals(receiver, expected, args.arrival_timeout)
                    phase.server_cpu_s, phase.wall_s = _cpu_seconds(server) - cpu, time.monotonic() - wall
                    time.sleep(0.5)  # let the system settle before the next phase
            except BaseException:
                print(cluster.logs(), file=sys.stderr)
                raise
        arrivals, repeats = receiver.collect()
    finally:
        receiver.close()
    for phase in phases:
        phase.arrivals = arrivals
    if repeats:
        print(f"note: {repeats} webhooks arrived more than once (retries); the first arrival counts", file=sys.stderr)
    return phases


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    directory = Path(tempfile.mkdtemp(prefix="leadwire-latency-"))
    try:
        phases = _measure(args, directory)
    finally:
        if args.keep:
            print(f"kept {directory}", file=sys.stderr)
        else:
            shutil.rmtree(directory, ignore_errors=True)
    figures = _report(phases, args)
    for problem in figures["problems"]:
        print(f"PROBLEM: {problem}")
    print(json.dumps(figures))
    return 0 if figures["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

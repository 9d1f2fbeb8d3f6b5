"""Ingest throughput: ``POST /f/{slug}`` end to end against a bare handler in the same server, both driven by wrk.

Run from the repository root::

    .venv/bin/python bench/ingest.py [--duration S] [--runs N] [--connections C]

One uvicorn process on 127.0.0.1 serves the application, built by ``create_app(settings)`` on a fresh, migrated
SQLite database that holds the demo form, with ``run_worker`` off. Routes are added to the same app: the ceiling,
``POST /bench/ceiling/{slug}``, a bare handler that decodes the same JSON body and answers 201, and ``/bench/stats``
(CPU time and answer counts; with ``--profile``, also ``/bench/profile/start`` and ``stop``). wrk (Debian's
package, installed with apt-get when missing) sends valid, distinct submissions over C connections, built per
request by a Lua script: a new email address each time and a new ``X-Forwarded-For`` address, which the server
trusts from 127.0.0.1, so that the per-address rate limits apply as they would behind a proxy. Ceiling and pipeline
runs alternate; the best run of each counts. Afterwards the database must hold exactly the submissions the server
answered 201 to, all ``accepted``, each the ``lead.created`` of a new lead.

``--leads N`` also preloads N leads into the workspace of a second database's demo form (``bench/preload.py``) and
serves it from a second process. Its pipeline runs take turns with the others, and the summary compares throughput
and server CPU per submission at N leads with the empty database's, measured in the same run.

The last line printed is a JSON object with the figures. The exit status is 0 whatever the figures are, and 1 when
a request failed or was refused, or when the database does not hold what was accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import http.client
import io
import json
import os
import platform
import pstats
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Request, Response, get, post

# Run as ``python bench/ingest.py``, this file's folder comes first on sys.path, where ``ingest`` would mean this
# very file rather than the project's package: put the repository root there instead.
_BENCH_DIR = Path(__file__).resolve().parent
_ROOT = _BENCH_DIR.parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _BENCH_DIR]
sys.path.insert(0, str(_ROOT))

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from litestar import Litestar

    from core.settings import Settings

    Receive = Callable[[], Awaitable[dict[str, Any]]]
    Send = Callable[[dict[str, Any]], Awaitable[None]]

__all__ = ("main",)

TARGET_RATIO = 0.25
LEADS_TARGET = 0.10
"""With ``--leads N``: throughput and CPU per submission at N leads within 10 % of an empty database's."""
_SECRET_KEY = "bench-secret-key-not-used-for-anything-real-0123456789"  # noqa: S105 (a throwaway database)
_HOST = "127.0.0.1"
_FORM_LIMIT = "100000000/minute"
_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 20.0
_PAUSE_S = 0.5
_ADDRESS_BLOCKS = 16
"""wrk runs take their client addresses from 16 blocks of 2**20 in 10.0.0.0/8: no address repeats in a bench."""
_RESULT_MARK = "BENCH-RESULT "
_FIRST_BAD_MARK = "BENCH-FIRST-BAD "

# Every request builds its own body: a distinct email (run tag, thread, counter) and a distinct client address.
# The counters are per thread; ``done`` runs in the main Lua state and adds up what every thread counted.
_LUA = r"""
local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
  table.insert(threads, thread)
end

sent = 0
non2xx = 0
first_bad = ""

function init(args)
  tag = args[1]
  block = tonumber(args[2])
  stride = tonumber(args[3])
end

function request()
  sent = sent + 1
  local n = sent * stride + thread_id
  local a = block * 1048576 + n % 1048576
  local ip = string.format("10.%d.%d.%d", math.floor(a / 65536) % 256, math.floor(a / 256) % 256, a % 256)
  local body = string.format(
    '{"name":"Bench %d","email":"bench-%s-%d@example.com","company":"Bench Ltd","consent":["sales_contact"]}',
    n, tag, n)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["X-Forwarded-For"] = ip}, body)
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_bad == "" then
      first_bad = status .. " " .. string.sub(body or "", 1, 300)
    end
  end
end

function done(summary, latency, requests)
  local total_sent, total_non2xx, bad = 0, 0, ""
  for _, thread in ipairs(threads) do
    total_sent = total_sent + thread:get("sent")
    total_non2xx = total_non2xx + thread:get("non2xx")
    if bad == "" then bad = thread:get("first_bad") end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH-RESULT {"requests":%d,"duration_us":%d,"sent":%d,"non_2xx":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, total_sent, total_non2xx, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
  if bad ~= "" then
    io.write("BENCH-FIRST-BAD " .. string.gsub(bad, "\n", " ") .. "\n")
  end
end
"""


# --- the server (runs in its own process) ---------------------------------------------------------------------------


@dataclass
class _ServerState:
    """What the server process keeps for ``/bench/*``: answers counted by route, and the profiler."""

    counts: dict[str, list[int]] = field(default_factory=lambda: {"pipeline": [0, 0, 0], "ceiling": [0, 0, 0]})
    """Per route: [2xx answers, other answers, other answers to clients that had gone]."""
    in_flight: int = 0
    """Requests of either route that the app has not finished with yet."""
    profiler: cProfile.Profile | None = None
    profile_path: str = ""


_STATE = _ServerState()
_CEILING_DECODER = msgspec.json.Decoder(dict[str, Any])


@post("/bench/ceiling/{slug:str}", status_code=201, include_in_schema=False)
async def ceiling(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The ceiling: read and decode the body as the pipeline does, answer as it does, store nothing."""
    from core.ids import new_id

    document = _CEILING_DECODER.decode(await request.body())
    if not document:
        return Response(b"{}", status_code=422, media_type="application/json")
    body = msgspec.json.encode({"id": new_id("sub"), "status": "accepted"})
    return Response(body, status_code=201, headers={"Cache-Control": "no-store"}, media_type="application/json")


@get("/bench/stats", include_in_schema=False)
async def stats(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """CPU time of the whole process and of the event-loop thread (this handler runs on it), and answer counts."""
    services = getattr(request.app.state, "submit_services", None)
    return {
        "writer_batches": getattr(getattr(services, "writer", None), "batches", None),
        "process_cpu_s": time.process_time(),
        "loop_cpu_s": time.thread_time(),
        "counts": _STATE.counts,
        "in_flight": _STATE.in_flight,
        "loop": "uvloop" if type(asyncio.get_running_loop()).__module__.startswith("uvloop") else "asyncio",
        "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


@post("/bench/profile/start", status_code=200, include_in_schema=False)
async def profile_start() -> dict[str, bool]:
    """Profile the event-loop thread from now on."""
    if _STATE.profiler is None:
        _STATE.profiler = cProfile.Profile()
        _STATE.profiler.enable()
    return {"profiling": True}


@post("/bench/profile/stop", status_code=200, include_in_schema=False)
async def profile_stop() -> dict[str, bool]:
    """Stop profiling and save the statistics where ``--profile`` said."""
    profiler, _STATE.profiler = _STATE.profiler, None
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(_STATE.profile_path)
    return {"profiling": False}


class _Counting:
    """ASGI wrapper counting the answers of ``/f/`` and ``/bench/ceiling/`` when their status line is sent.

    A 2xx of the pipeline is sent only after its submission has committed, so the database must hold as many
    submissions as this counts, including the answers to requests wrk had stopped waiting for when a run ended.
    An error answered to a client that had already gone (the requests in flight when a wrk run ends: uvicorn then
    hands the app a disconnect instead of their body) is counted apart, as abandoned.
    """

    def __init__(self, app: Litestar) -> None:
        self.app: Callable[[Any, Any, Any], Awaitable[None]] = app

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        kind = "pipeline" if path.startswith("/f/") else "ceiling" if path.startswith("/bench/ceiling/") else None
        if kind is None:
            await self.app(scope, receive, send)
            return
        counts = _STATE.counts[kind]
        gone = False

        async def watching_receive() -> dict[str, Any]:
            nonlocal gone
            message = await receive()
            gone = gone or message["type"] == "http.disconnect"
            return message

        async def counting_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                counts[0 if 200 <= status < 300 else 2 if gone else 1] += 1
            await send(message)

        _STATE.in_flight += 1
        try:
            await self.app(scope, watching_receive, counting_send)
        finally:
            _STATE.in_flight -= 1


def _exit_with_parent(parent: int) -> None:
    """Stop (gracefully, as on SIGTERM) if the benchmark goes away without stopping the server."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="bench-parent-watch", daemon=True).start()


def _server_settings(config: dict[str, Any], port: int) -> dict[str, str]:
    return {
        "LEADWIRE_DATABASE_URL": config["database_url"],
        "LEADWIRE_SECRET_KEY": _SECRET_KEY,
        "LEADWIRE_PUBLIC_BASE_URL": f"http://{_HOST}:{port}",
        "LEADWIRE_LOG_LEVEL": "warning",
        "LEADWIRE_RUN_WORKER": "false",
        "LEADWIRE_TRUSTED_PROXIES": _HOST,
        "LEADWIRE_RATE_LIMIT_IP_FORM": config["rate_limit_ip_form"],
        "LEADWIRE_RATE_LIMIT_IP": config["rate_limit_ip"],
        "LEADWIRE_RATE_LIMIT_FORM": config["rate_limit_form"],
    }


def _serve(config: dict[str, Any]) -> None:
    """The server process: ``create_app(settings)`` plus the ``/bench`` routes, on one uvicorn worker."""
    import uvicorn

    from app import create_app
    from core.settings import load_settings

    _exit_with_parent(config["parent_pid"])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((_HOST, 0))
    port: int = sock.getsockname()[1]
    _STATE.profile_path = config["profile_path"] or ""

    def build() -> _Counting:
        app = create_app(load_settings(_server_settings(config, port)))
        handlers = [ceiling, stats] + ([profile_start, profile_stop] if _STATE.profile_path else [])
        for handler in handlers:
            app.register(handler)
        return _Counting(app)

    server = uvicorn.Server(
        uvicorn.Config(
            build,
            factory=True,
            loop=config["loop"],
            log_level="warning",
            access_log=False,
            server_header=False,
            proxy_headers=False,  # as `leadwire serve` without --forwarded-allow-ips: the app reads X-Forwarded-For
            lifespan="on",
        )
    )
    ready = Path(config["port_file"])
    ready.with_suffix(".tmp").write_text(str(port), encoding="utf-8")
    ready.with_suffix(".tmp").replace(ready)
    server.run(sockets=[sock])


# --- the server, seen from the benchmark -----------------------------------------------------------------------------


class BenchServer:
    """The uvicorn process: started, probed until ``/healthz`` answers, asked for its stats, stopped."""

    def __init__(self, config: dict[str, Any], directory: Path, *, slug: str, name: str = "server") -> None:
        self.slug = slug
        """The demo form's slug in this server's database."""
        self.log_path = directory / f"{name}.log"
        port_file = directory / f"{name}.port"
        config = {**config, "port_file": str(port_file), "parent_pid": os.getpid()}
        self._log = self.log_path.open("wb")
        self._process = subprocess.Popen(  # noqa: S603 (our own interpreter and file)
            [sys.executable, str(Path(__file__).resolve()), "--serve-config", json.dumps(config)],
            cwd=_ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.pid = self._process.pid
        try:
            self.port = self._wait_until_ready(port_file)
        except BaseException:
            self.close()
            raise

    def _wait_until_ready(self, port_file: Path) -> int:
        deadline = time.monotonic() + _START_TIMEOUT_S
        port = 0
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            if not port and port_file.exists():
                port = int(port_file.read_text(encoding="utf-8"))
            if port:
                with contextlib.suppress(OSError, http.client.HTTPException):
                    status, _ = _http(port, "GET", "/healthz")
                    if status == 200:
                        return port
            time.sleep(0.1)
        raise RuntimeError(f"the server did not start; its log:\n{self.log()}")

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-4_000:]

    def request(self, method: str, path: str) -> dict[str, Any]:
        status, body = _http(self.port, method, path)
        if status != 200:
            raise RuntimeError(f"{method} {path}: {status} {body[:200]!r}")
        document: dict[str, Any] = json.loads(body)
        return document

    def close(self) -> int | None:
        """SIGTERM (uvicorn drains and the app's lifespan ends: the writer commits what is queued), then SIGKILL."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._log.close()
        return self._process.returncode


def _http(port: int, method: str, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(_HOST, port, timeout=10)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# --- wrk --------------------------------------------------------------------------------------------------------------


def _find_wrk() -> str:
    """wrk's path; installs Debian's package when it is missing. Raises ``RuntimeError`` when that fails."""
    found = shutil.which("wrk") or ("/usr/bin/wrk" if Path("/usr/bin/wrk").exists() else None)
    if found:
        return found
    print("wrk is not installed; trying `apt-get install -y wrk` ...", file=sys.stderr)
    command = ["apt-get", "install", "-y", "wrk"]
    if os.geteuid() != 0:
        command = ["sudo", "-n", *command]
    executable = shutil.which(command[0])
    failure = f"{command[0]} not found"
    if executable is not None:
        try:
            done = subprocess.run(  # noqa: S603 (a fixed command)
                [executable, *command[1:]], capture_output=True, text=True, timeout=600, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            failure = str(exc)
        else:
            failure = (done.stderr or done.stdout).strip()[-1_000:]
    found = shutil.which("wrk")
    if found:
        return found
    raise RuntimeError(
        f"wrk is missing and could not be installed ({' '.join(command)}: {failure}). "
        "Install it with `sudo apt-get install wrk` (Debian/Ubuntu) and run the benchmark again."
    )


def _wrk_version(wrk: str) -> str:
    done = subprocess.run([wrk, "--version"], capture_output=True, text=True, timeout=10, check=False)  # noqa: S603
    return (done.stdout or done.stderr).split("Copyright")[0].strip()


@dataclass(frozen=True)
class WrkRun:
    """One wrk run and what the server spent on it."""

    kind: str
    """``ceiling``, ``pipeline``, or ``preloaded`` (the pipeline on the database that holds ``--leads`` leads)."""
    label: str
    counted: bool
    """Whether the run competes for best of its kind (warm-ups and the profiled run do not)."""
    requests: int
    """Responses wrk read (of any status)."""
    seconds: float
    sent: int
    """Requests wrk built; the ones still in flight when the run ended were answered to nobody."""
    non_2xx: int
    errors: dict[str, int]
    """Socket errors: connect, read, write, timeout."""
    latency_us: dict[str, float]
    server_cpu_s: float
    loop_cpu_s: float
    wrk_cpu_s: float
    first_bad: str

    @property
    def per_s(self) -> float:
        return (self.requests - self.non_2xx) / self.seconds if self.seconds > 0 else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def cpu_us(self, seconds: float) -> float:
        return seconds / max(self.requests, 1) * 1e6


def _child_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run_wrk(
    wrk: str,
    server: BenchServer,
    script: Path,
    args: argparse.Namespace,
    *,
    kind: str,
    label: str,
    seconds: int,
    counted: bool,
) -> WrkRun:
    """One run of ``wrk -c C -t T -d S`` against one route (the server's CPU is read before and after)."""
    path = f"/bench/ceiling/{server.slug}" if kind == "ceiling" else f"/f/{server.slug}"
    block = args.wrk_runs % _ADDRESS_BLOCKS
    tag = f"{args.tag}{args.wrk_runs}"
    args.wrk_runs += 1
    command = [
        wrk,
        f"--connections={args.connections}",
        f"--threads={args.threads}",
        f"--duration={seconds}s",
        f"--timeout={args.timeout:g}s",
        "--latency",
        f"--script={script}",
        f"http://{_HOST}:{server.port}{path}",
        "--",
        tag,
        str(block),
        str(args.threads),
    ]
    before = server.request("GET", "/bench/stats")
    wrk_before = _child_cpu_s()
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120, check=False)  # noqa: S603
    wrk_cpu = _child_cpu_s() - wrk_before
    time.sleep(_PAUSE_S)  # let the server finish what was in flight when wrk stopped, before reading its CPU
    after = server.request("GET", "/bench/stats")
    lines = done.stdout.splitlines()
    result = next((line[len(_RESULT_MARK) :] for line in lines if line.startswith(_RESULT_MARK)), None)
    if done.returncode != 0 or result is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout[-2_000:]}{done.stderr[-2_000:]}")
    if args.verbose:
        print(f"--- wrk, {label} ---\n{done.stdout.rstrip()}")
    figures = json.loads(result)
    first_bad = next((line[len(_FIRST_BAD_MARK) :] for line in lines if line.startswith(_FIRST_BAD_MARK)), "")
    return WrkRun(
        kind=kind,
        label=label,
        counted=counted,
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        sent=figures["sent"],
        non_2xx=figures["non_2xx"],
        errors={name: figures[name] for name in ("connect", "read", "write", "timeout")},
        latency_us={name: float(figures[f"{name}_us"]) for name in ("p50", "p90", "p99", "max", "mean")},
        server_cpu_s=after["process_cpu_s"] - before["process_cpu_s"],
        loop_cpu_s=after["loop_cpu_s"] - before["loop_cpu_s"],
        wrk_cpu_s=wrk_cpu,
        first_bad=first_bad,
    )


# --- the database -----------------------------------------------------------------------------------------------------


def _settings_for(database_url: str) -> Settings:
    from core.settings import load_settings

    return load_settings({"LEADWIRE_DATABASE_URL": database_url, "LEADWIRE_SECRET_KEY": _SECRET_KEY})


def _prepare_database(database_url: str, *, leads: int = 0, history: bool = False) -> tuple[str, float]:
    """Migrate a fresh database and create the demo workspace and its published form, then ``leads`` people of the
    workspace (``bench/preload.py``: executemany, one transaction); returns the form's slug and the preload's
    seconds."""
    from bench.preload import preload_people
    from core.database import Database
    from forms.demo import create_demo
    from migrations import upgrade
    from workspaces.passwords import hash_password, one_time_password

    upgrade(database_url)

    async def create() -> tuple[str, float]:
        db = Database(_settings_for(database_url))
        try:
            async with db.session(write=True) as session:
                owner = hash_password(one_time_password())
                demo = await create_demo(session, if_empty=False, owner_password_hash=owner)
            assert demo is not None
            started = time.perf_counter()
            if leads:
                async with db.session(write=True) as session:
                    await preload_people(
                        session,
                        workspace_id=demo["workspace_id"],
                        form_ids=[demo["form_id"]],
                        count=leads,
                        history=history,
                    )
        finally:
            await db.dispose()
        return demo["form_slug"], time.perf_counter() - started

    return asyncio.run(create())


@dataclass(frozen=True)
class Stored:
    """What the database holds after the runs."""

    verdicts: dict[str, int]
    lead_created: int
    leads: int

    @property
    def submissions(self) -> int:
        return sum(self.verdicts.values())

    def since(self, before: Stored) -> Stored:
        """What was stored after ``before`` (the preloaded rows) was."""
        verdicts = {k: n - before.verdicts.get(k, 0) for k, n in self.verdicts.items()}
        return Stored(
            {k: n for k, n in verdicts.items() if n}, self.lead_created - before.lead_created, self.leads - before.leads
        )


def _stored(database_url: str) -> Stored:
    from sqlalchemy import func, select

    from core.database import Database
    from leads.models import Lead, Submission

    async def count() -> Stored:
        db = Database(_settings_for(database_url))
        try:
            async with db.session(write=False) as session:
                rows = await session.execute(select(Submission.verdict, func.count()).group_by(Submission.verdict))
                verdicts = {str(verdict): int(n) for verdict, n in rows}
                created = select(func.count()).where(Submission.event_type == "lead.created")
                lead_created = await session.scalar(created) or 0
                leads = await session.scalar(select(func.count()).select_from(Lead)) or 0
        finally:
            await db.dispose()
        return Stored(verdicts, int(lead_created), int(leads))

    return asyncio.run(count())


# --- the profile ------------------------------------------------------------------------------------------------------


_AREAS = (
    (str(_ROOT / "ingest"), "leadwire ingest/"),
    (str(_ROOT / "core"), "leadwire core/"),
    (str(_ROOT / "forms"), "leadwire forms/"),
    (str(_ROOT / "leads"), "leadwire leads/"),
    (str(_ROOT / "consent"), "leadwire consent/"),
    (str(_ROOT / "delivery"), "leadwire delivery/"),
    (str(_ROOT / "workspaces"), "leadwire workspaces/"),
    (str(Path(__file__).resolve()), "this benchmark (/bench routes, counting)"),
    ("litestar", "Litestar"),
    ("uvicorn", "uvicorn"),
    ("sqlalchemy", "SQLAlchemy"),
    ("aiosqlite", "aiosqlite"),
    ("limits", "limits (rate limiter)"),
    ("email_validator", "email-validator"),
    ("phonenumbers", "phonenumbers"),
    ("itsdangerous", "itsdangerous"),
    ("msgspec", "msgspec"),
    ("asyncio", "asyncio"),
    ("threading", "threading"),
    ("concurrent", "concurrent.futures"),
    ("selectors", "asyncio"),
)


def _area(filename: str, function: str) -> str:
    if "epoll" in function or function.endswith("'select' objects>"):
        return "idle (waiting in select/epoll)"
    if "uvloop" in function or "uvloop" in filename:
        return "uvloop (its C loop, I/O, idle)"
    for needle, area in _AREAS:
        if needle in filename:
            return area
    return f"built-in: {function[:48]}" if filename == "~" else f"other: {Path(filename).name}"


def _print_profile(path: str, lines: int, run: WrkRun) -> None:
    """Own time by area, the top functions by own time, then the project's functions by cumulative time.

    Own times add up to the event-loop thread's wall time (aiosqlite's thread is not profiled). Cumulative times of
    coroutines are only a guide: every resumption counts as a call, and SQLAlchemy runs ORM code in greenlets,
    which cProfile follows poorly.
    """
    stats = pstats.Stats(path)
    by_area: dict[str, float] = {}
    for (filename, _line, function), (_cc, _nc, own, _cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        area = _area(filename, function)
        by_area[area] = by_area.get(area, 0.0) + own
    total = sum(by_area.values()) or 1.0
    per_request = 1e6 / max(run.requests, 1)
    print(
        f"--- pipeline profile ({run.requests} requests, {run.per_s:.0f}/s profiled): own time of the event-loop "
        f"thread by area ({total:.2f}s in all) ---"
    )
    for area, own in sorted(by_area.items(), key=lambda item: -item[1])[:18]:
        print(f"{area:52} {own:7.2f}s {own / total:6.1%} {own * per_request:8.1f} µs/request")
    out = io.StringIO()
    pstats.Stats(path, stream=out).strip_dirs().sort_stats("tottime").print_stats(lines)
    print(f"--- top functions by own time (full stats in {path}) ---")
    print(out.getvalue().split("\n", 6)[-1].rstrip())
    out = io.StringIO()
    project = f"^{_ROOT}/(?!\\.venv|bench)"
    pstats.Stats(path, stream=out).sort_stats("cumulative").print_stats(project, lines)
    print("--- leadwire functions by cumulative time (a guide only: coroutines and greenlets) ---")
    print(out.getvalue().split("\n", 6)[-1].replace(str(_ROOT) + "/", "").rstrip())


# --- reporting --------------------------------------------------------------------------------------------------------


def _ms(microseconds: float) -> float:
    return round(microseconds / 1000, 2)


def _report_table(
    args: argparse.Namespace, runs: list[WrkRun], best: dict[str, WrkRun], figures: dict[str, Any]
) -> None:
    print()
    print(
        f"{args.connections} connections, {args.threads} wrk threads, {args.duration}s a run, {args.runs} runs of "
        f"each (the best counts), {figures['loop']} loop, python {platform.python_version()}, {figures['wrk']}"
        f"{', PROFILED run at the end (not counted)' if figures['profiled'] else ''}"
    )
    print(
        f"SQLite, one uvicorn process, run_worker=False (ingest only: no webhook endpoints, nothing delivered); "
        f"rate limits ip_form={args.rate_limit_ip_form} ip={args.rate_limit_ip} form={args.rate_limit_form}; "
        f"every request from its own X-Forwarded-For address (trusted proxy {_HOST})"
    )
    header = (
        f"{'':30} {'requests/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>7} {'non-2xx':>8} "
        f"{'server CPU µs/req':>18} {'loop CPU µs/req':>16} {'wrk CPU':>8}"
    )
    print(header)
    for run in runs:
        mark = " *" if best.get(run.kind) is run else ""
        print(
            f"{run.label + mark:30} {run.per_s:10.1f} {_ms(run.latency_us['p50']):8.2f} "
            f"{_ms(run.latency_us['p99']):8.2f} {_ms(run.latency_us['max']):8.1f} {run.error_count:7d} "
            f"{run.non_2xx:8d} {run.cpu_us(run.server_cpu_s):18.0f} {run.cpu_us(run.loop_cpu_s):16.0f} "
            f"{run.wrk_cpu_s / run.seconds:8.0%}"
        )
    print("(* the best run of each route. CPU is the server process's and its event-loop thread's, per response;")
    print(" wrk CPU is the load generator's share of one core.)")
    print()
    print(f"{'':30} {'per s':>10} {'p50 ms':>8} {'p99 ms':>8}")
    print(
        f"{'ceiling (bare handler)':30} {figures['ceiling_per_s']:10.1f} {figures['ceiling_p50_ms']:8.2f} "
        f"{figures['ceiling_p99_ms']:8.2f}"
    )
    print(
        f"{'pipeline (POST /f/{slug})':30} {figures['pipeline_per_s']:10.1f} {figures['p50_ms']:8.2f} "
        f"{figures['p99_ms']:8.2f}"
    )
    print(
        f"ratio {figures['ratio']:.3f} (target ≥ {TARGET_RATIO}: {'met' if figures['meets_target'] else 'NOT met'}); "
        f"errors {figures['errors']}, non-2xx {figures['non_2xx']} (server: {figures['server_non_2xx']})"
    )
    print(
        f"wrk sent {figures['sent']} submissions; the server answered {figures['accepted']} with 201 (wrk read "
        f"{figures['wrk_2xx']} of them, the rest were in flight when a run ended) in {figures['writer_batches']} "
        f"transactions ({figures['mean_batch']} a batch on average); {figures['abandoned']} were abandoned by wrk "
        f"before their body was read; {figures['stored']} are stored, verdicts {figures['verdicts']}, "
        f"{figures['lead_created']} lead.created"
    )
    if "leads" in figures:
        _report_leads(figures)


def _report_leads(figures: dict[str, Any]) -> None:
    leads = f"{figures['leads']:,} leads"
    history = " (with their history)" if figures["preload_history"] else ""
    print()
    print(f"The pipeline on an empty database and on one holding {leads}{history}, same run, runs alternating:")
    print(f"{'':30} {'per s':>10} {'p50 ms':>8} {'p99 ms':>8} {'server CPU µs/sub':>18} {'mean batch':>11}")
    rows = (
        ("empty database", "pipeline_per_s", "p50_ms", "p99_ms", "pipeline_server_cpu_us", "mean_batch"),
        (leads, "preloaded_per_s", "preloaded_p50_ms", "preloaded_p99_ms",
         "preloaded_server_cpu_us", "preloaded_mean_batch"),
    )  # fmt: skip
    for label, per_s, p50, p99, cpu, batch in rows:
        print(
            f"{label:30} {figures[per_s]:10.1f} {figures[p50]:8.2f} {figures[p99]:8.2f} {figures[cpu]:18.0f} "
            f"{figures[batch]!s:>11}"
        )
    verdict = "met" if figures["leads_within_target"] else "NOT met"
    print(
        f"at {figures['leads']:,} leads / empty: throughput {figures['leads_per_s_ratio']:.3f}, server CPU per "
        f"submission {figures['leads_cpu_ratio']:.3f} (target: both within {figures['leads_target']:.0%}: {verdict}); "
        f"preloaded in {figures['preload_s']}s; {figures['preloaded_stored']} of {figures['preloaded_accepted']} "
        "accepted there are stored"
    )
    print(
        f"(the medians of the runs: throughput {figures['leads_per_s_ratio_median']:.3f}, CPU per submission "
        f"{figures['leads_cpu_ratio_median']:.3f})"
    )


def _problems(
    runs: list[WrkRun], counts: dict[str, list[int]], stored: Stored, *, kind: str = "pipeline", where: str = ""
) -> list[str]:
    """What went wrong on one server: ``runs`` are its runs, ``kind`` those of its submissions, ``stored`` what its
    database gained during the runs."""
    problems = []
    for run in runs:
        if run.error_count:
            problems.append(f"{run.label}: socket errors {run.errors}")
        if run.non_2xx:
            problems.append(f"{run.label}: {run.non_2xx} non-2xx answers, the first: {run.first_bad}")
    accepted, refused, abandoned = counts["pipeline"]
    if counts["ceiling"][1]:
        problems.append(f"the server gave {counts['ceiling'][1]} non-2xx answers on the ceiling route")
    wrk_2xx = sum(run.requests - run.non_2xx for run in runs if run.kind == kind)
    sent = sum(run.sent for run in runs if run.kind == kind)
    if refused:
        problems.append(f"the server{where} gave {refused} non-2xx answers to submissions")
    if stored.submissions != accepted:
        problems.append(f"{accepted} submissions were answered 201 but {stored.submissions} are stored{where}")
    if not wrk_2xx <= accepted <= accepted + refused + abandoned <= sent:
        problems.append(
            f"wrk sent {sent} submissions and read {wrk_2xx} 2xx answers, but the server answered {accepted} with "
            f"a 2xx, {refused} otherwise, and {abandoned} after the client had gone"
        )
    if stored.verdicts.get("accepted", 0) != stored.submissions:
        problems.append(f"not every submission was accepted: {stored.verdicts}")
    if stored.lead_created != stored.submissions or stored.leads != stored.submissions:
        problems.append(
            f"{stored.submissions} submissions made {stored.leads} leads, {stored.lead_created} lead.created"
        )
    return problems


# --- main -------------------------------------------------------------------------------------------------------------


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--duration", "-d", type=int, default=10, help="whole seconds of each wrk run (default 10)")
    parser.add_argument("--runs", "-r", type=int, default=3, help="runs of each route; the best counts (default 3)")
    parser.add_argument("--connections", "-c", type=int, default=50, help="wrk connections (default 50)")
    parser.add_argument("--threads", "-t", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--warmup", type=int, default=2, help="whole seconds of warm-up per route, not counted (2)")
    parser.add_argument("--timeout", type=float, default=10.0, help="wrk's per-request timeout in seconds (10)")
    parser.add_argument(
        "--loop", choices=("auto", "asyncio", "uvloop"), default="auto", help="uvicorn's loop (auto, as leadwire serve)"
    )
    parser.add_argument("--rate-limit-ip-form", default="10/minute;100/day", help="per address and form (default)")
    parser.add_argument("--rate-limit-ip", default="60/minute;1000/day", help="per address (the default)")
    parser.add_argument("--rate-limit-form", default=_FORM_LIMIT, help=f"per form (default {_FORM_LIMIT})")
    parser.add_argument(
        "--leads", type=int, default=0, metavar="N", help="also run the pipeline on a database preloaded with N leads"
    )
    parser.add_argument(
        "--history", action="store_true", help="with --leads: each lead also gets its submission, consents, message"
    )
    parser.add_argument("--profile", metavar="FILE", help="after the runs, cProfile one more pipeline run; save here")
    parser.add_argument("--profile-lines", type=int, default=30, help="rows of the printed profile (default 30)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, server log)")
    parser.add_argument("--verbose", "-v", action="store_true", help="print wrk's own output of every run")
    parser.add_argument("--serve-config", help=argparse.SUPPRESS)  # the server process
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.runs < 1 or args.connections < 1 or args.threads < 1 or args.warmup < 0:
        parser.error("--duration, --runs, --connections and --threads must be positive, --warmup not negative")
    if args.leads < 0 or (args.history and not args.leads):
        parser.error("--leads must not be negative; --history needs --leads")
    if args.threads > args.connections:
        parser.error("wrk needs at least one connection per thread")
    return args


def _kinds(args: argparse.Namespace) -> dict[str, str]:
    """The routes and databases that are measured, with their labels."""
    kinds = {"ceiling": "ceiling", "pipeline": "pipeline"}
    if args.leads:
        kinds["pipeline"] = "pipeline, empty"
        kinds["preloaded"] = f"pipeline, {args.leads:,} leads"
    return kinds


def _plan(args: argparse.Namespace) -> list[tuple[str, str, int, bool]]:
    """Warm-ups, then ceiling and pipeline runs (and with ``--leads``, pipeline runs on the preloaded database) in
    turn, so that noise on the machine hits them all alike."""
    kinds = _kinds(args)
    plan = []
    if args.warmup > 0:
        plan += [(kind, f"{label}, warm-up", args.warmup, False) for kind, label in kinds.items()]
    for index in range(1, args.runs + 1):
        plan += [(kind, f"{label}, run {index}", args.duration, True) for kind, label in kinds.items()]
    return plan


def _best(runs: list[WrkRun]) -> dict[str, WrkRun]:
    kinds = dict.fromkeys(run.kind for run in runs)
    return {
        kind: max((run for run in runs if run.kind == kind and run.counted), key=lambda run: run.per_s)
        for kind in kinds
    }


def _settled_stats(server: BenchServer) -> dict[str, Any]:
    """The server's stats once every request is finished and its answer counts stop moving.

    Unchanged counts alone are not enough: a batch that takes longer to commit than the pause between two reads
    (a slow database) is answered after them.
    """
    previous = server.request("GET", "/bench/stats")
    for _ in range(300):
        time.sleep(0.1)
        current = server.request("GET", "/bench/stats")
        if current["in_flight"] == 0 and current["counts"] == previous["counts"]:
            return current
        previous = current
    return previous


@dataclass(frozen=True)
class Preloaded:
    """The second database of ``--leads``: where it is, its demo form, how long the preload took, what it holds."""

    url: str
    slug: str
    seconds: float
    before: Stored


def _preload(args: argparse.Namespace, directory: Path) -> Preloaded:
    what = "leads with their first submission, consent events and message" if args.history else "leads"
    print(f"preloading {args.leads:,} {what} into a second database ...", flush=True)
    url = f"sqlite+aiosqlite:///{directory / 'preloaded.db'}"
    slug, seconds = _prepare_database(url, leads=args.leads, history=args.history)
    size = (directory / "preloaded.db").stat().st_size / 2**20
    print(f"preloaded in {seconds:.1f}s ({size:.0f} MiB)", flush=True)
    return Preloaded(url, slug, seconds, _stored(url))


def _bench(args: argparse.Namespace, wrk: str, directory: Path) -> tuple[dict[str, Any], list[str]]:
    database_url = f"sqlite+aiosqlite:///{directory / 'bench.db'}"
    slug, _ = _prepare_database(database_url)
    preloaded = _preload(args, directory) if args.leads else None
    args.tag = secrets.token_hex(3)
    args.wrk_runs = 0
    script = directory / "ingest.lua"
    script.write_text(_LUA, encoding="utf-8")
    profile_path = str(Path(args.profile).resolve()) if args.profile else ""
    config = {
        "database_url": database_url,
        "loop": args.loop,
        "rate_limit_ip_form": args.rate_limit_ip_form,
        "rate_limit_ip": args.rate_limit_ip,
        "rate_limit_form": args.rate_limit_form,
        "profile_path": profile_path,
    }
    server = BenchServer(config, directory, slug=slug)
    servers = {"ceiling": server, "pipeline": server}
    runs: list[WrkRun] = []
    profiled: WrkRun | None = None
    try:
        if preloaded is not None:  # the same app on the other database, idle while the first one is measured
            other = {**config, "database_url": preloaded.url, "profile_path": ""}
            servers["preloaded"] = BenchServer(other, directory, slug=preloaded.slug, name="preloaded")
        for kind, label, seconds, counted in _plan(args):
            runs.append(
                _run_wrk(wrk, servers[kind], script, args, kind=kind, label=label, seconds=seconds, counted=counted)
            )
        if profile_path:
            server.request("POST", "/bench/profile/start")
            profiled = _run_wrk(
                wrk,
                server,
                script,
                args,
                kind="pipeline",
                label="pipeline, profiled",
                seconds=args.duration,
                counted=False,
            )
            server.request("POST", "/bench/profile/stop")
            runs.append(profiled)
        finals = {kind: _settled_stats(each) for kind, each in servers.items() if kind != "ceiling"}
    except BaseException:
        for kind, each in servers.items():
            if kind != "ceiling":
                print(f"--- {kind} server log ---\n{each.log()}", file=sys.stderr)
        raise
    finally:
        statuses = {kind: each.close() for kind, each in servers.items() if kind != "ceiling"}
    # uvicorn re-raises the SIGTERM it was stopped with once it has shut down cleanly.
    problems = [
        f"the {kind} server exited with status {status}: {servers[kind].log()}"
        for kind, status in statuses.items()
        if status not in {0, -signal.SIGTERM, None}
    ]
    stored = _stored(database_url)
    problems += _problems([r for r in runs if r.kind != "preloaded"], finals["pipeline"]["counts"], stored)
    if profiled is not None:
        _print_profile(profile_path, args.profile_lines, profiled)
    figures = _figures(args, runs, finals["pipeline"], stored, profiled=profiled is not None)
    if preloaded is not None:
        gained = _stored(preloaded.url).since(preloaded.before)
        where = f" on the database with {args.leads:,} leads"
        pre_runs = [r for r in runs if r.kind == "preloaded"]
        problems += _problems(pre_runs, finals["preloaded"]["counts"], gained, kind="preloaded", where=where)
        figures.update(_leads_figures(args, runs, finals["preloaded"], gained, preloaded))
    figures["ok"] = not problems
    figures["wrk"] = _wrk_version(wrk)
    _report_table(args, runs, _best(runs), figures)
    return figures, problems


def _leads_figures(
    args: argparse.Namespace, runs: list[WrkRun], final: dict[str, Any], gained: Stored, preloaded: Preloaded
) -> dict[str, Any]:
    """The pipeline on the preloaded database next to the empty one, measured in the same run."""
    best = _best(runs)
    empty, full = best["pipeline"], best["preloaded"]
    per_s_ratio = round(full.per_s / empty.per_s, 3) if empty.per_s else 0.0
    empty_cpu, full_cpu = empty.cpu_us(empty.server_cpu_s), full.cpu_us(full.server_cpu_s)
    cpu_ratio = round(full_cpu / empty_cpu, 3) if empty_cpu else 0.0
    batches = final["writer_batches"]
    accepted = final["counts"]["pipeline"][0]
    counted = {kind: [r for r in runs if r.counted and r.kind == kind] for kind in ("pipeline", "preloaded")}
    per_s = {kind: statistics.median(r.per_s for r in each) for kind, each in counted.items()}
    cpu = {kind: statistics.median(r.cpu_us(r.server_cpu_s) for r in each) for kind, each in counted.items()}
    return {
        "leads": args.leads,
        "preload_history": args.history,
        "preload_s": round(preloaded.seconds, 1),
        "preloaded_per_s": round(full.per_s, 1),
        "preloaded_p50_ms": _ms(full.latency_us["p50"]),
        "preloaded_p99_ms": _ms(full.latency_us["p99"]),
        "preloaded_server_cpu_us": round(full_cpu, 1),
        "preloaded_loop_cpu_us": round(full.cpu_us(full.loop_cpu_s), 1),
        "preloaded_runs_per_s": [round(r.per_s, 1) for r in runs if r.counted and r.kind == "preloaded"],
        "preloaded_accepted": accepted,
        "preloaded_stored": gained.submissions,
        "preloaded_mean_batch": round(accepted / batches, 1) if batches else None,
        "leads_per_s_ratio": per_s_ratio,
        "leads_cpu_ratio": cpu_ratio,
        # The medians of the runs, to show the spread a busy machine causes next to the best runs' ratios.
        "leads_per_s_ratio_median": round(per_s["preloaded"] / per_s["pipeline"], 3) if per_s["pipeline"] else 0.0,
        "leads_cpu_ratio_median": round(cpu["preloaded"] / cpu["pipeline"], 3) if cpu["pipeline"] else 0.0,
        "leads_target": LEADS_TARGET,
        "leads_within_target": per_s_ratio >= 1 - LEADS_TARGET and cpu_ratio <= 1 + LEADS_TARGET,
    }


def _figures(
    args: argparse.Namespace, runs: list[WrkRun], final: dict[str, Any], stored: Stored, *, profiled: bool
) -> dict[str, Any]:
    best = _best(runs)
    pipeline, ceiling_run = best["pipeline"], best["ceiling"]
    ratio = round(pipeline.per_s / ceiling_run.per_s, 3) if ceiling_run.per_s else 0.0
    accepted, refused, abandoned = final["counts"]["pipeline"]
    batches = final["writer_batches"]
    return {
        "pipeline_per_s": round(pipeline.per_s, 1),
        "ceiling_per_s": round(ceiling_run.per_s, 1),
        "ratio": ratio,
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio >= TARGET_RATIO,
        "p50_ms": _ms(pipeline.latency_us["p50"]),
        "p99_ms": _ms(pipeline.latency_us["p99"]),
        "ceiling_p50_ms": _ms(ceiling_run.latency_us["p50"]),
        "ceiling_p99_ms": _ms(ceiling_run.latency_us["p99"]),
        "errors": sum(run.error_count for run in runs),
        "non_2xx": sum(run.non_2xx for run in runs),
        "server_non_2xx": refused + final["counts"]["ceiling"][1],
        "sent": sum(run.sent for run in runs if run.kind == "pipeline"),
        "wrk_2xx": sum(run.requests - run.non_2xx for run in runs if run.kind == "pipeline"),
        "accepted": accepted,
        "abandoned": abandoned,
        "stored": stored.submissions,
        "verdicts": stored.verdicts,
        "lead_created": stored.lead_created,
        "writer_batches": batches,
        "mean_batch": round(accepted / batches, 1) if batches else None,
        "pipeline_runs_per_s": [round(r.per_s, 1) for r in runs if r.counted and r.kind == "pipeline"],
        "ceiling_runs_per_s": [round(r.per_s, 1) for r in runs if r.counted and r.kind == "ceiling"],
        "pipeline_server_cpu_us": round(pipeline.cpu_us(pipeline.server_cpu_s), 1),
        "pipeline_loop_cpu_us": round(pipeline.cpu_us(pipeline.loop_cpu_s), 1),
        "ceiling_server_cpu_us": round(ceiling_run.cpu_us(ceiling_run.server_cpu_s), 1),
        "ceiling_loop_cpu_us": round(ceiling_run.cpu_us(ceiling_run.loop_cpu_s), 1),
        "connections": args.connections,
        "threads": args.threads,
        "duration_s": args.duration,
        "runs": args.runs,
        "database": "sqlite",
        "run_worker": False,
        "rate_limit_ip_form": args.rate_limit_ip_form,
        "rate_limit_ip": args.rate_limit_ip,
        "rate_limit_form": args.rate_limit_form,
        "trusted_proxies": _HOST,
        "loop": final["loop"],
        "server_max_rss_mib": round(final["max_rss_kib"] / 1024, 1),
        "profiled": profiled,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every request was accepted and every accepted submission is stored."""
    args = _parse(argv)
    if args.serve_config:
        _serve(json.loads(args.serve_config))
        return 0
    try:
        wrk = _find_wrk()
    except RuntimeError as exc:
        print(f"bench/ingest.py: {exc}", file=sys.stderr)
        return 2
    directory = Path(tempfile.mkdtemp(prefix="leadwire-bench-ingest-"))
    try:
        figures, problems = _bench(args, wrk, directory)
    finally:
        if args.keep:
            print(f"(kept {directory})")
        else:
            shutil.rmtree(directory, ignore_errors=True)
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print(json.dumps(figures))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

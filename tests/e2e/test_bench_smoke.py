"""The benchmarks still run and report (their speed is measured by running them, never asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_delivery_benchmark_runs_and_ends_with_its_figures() -> None:
    result = subprocess.run(
        [sys.executable, "bench/delivery.py", "--messages", "300", "--skip-httpx", "--ceiling-runs", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["messages"] == 300
    assert figures["ok"] is True
    assert figures["worker_per_s"] > 0
    assert figures["aiohttp_ceiling_per_s"] > 0
    assert 0 < figures["ratio"] == pytest.approx(figures["worker_per_s"] / figures["aiohttp_ceiling_per_s"], rel=0.01)


def test_delivery_benchmark_drains_a_backlog_with_a_worker_process() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "bench/delivery.py",
            "--worker-process",
            "--messages",
            "300",
            "--skip-httpx",
            "--ceiling-runs",
            "1",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["mode"] == "worker process"
    assert (figures["messages"], figures["endpoints"], figures["ok"]) == (300, 1, True)
    assert (figures["concurrency"], figures["endpoint_concurrency"]) == (100, 20)  # the defaults
    assert figures["worker_per_s"] > 0
    assert figures["worker_first_request_s"] > 0
    assert (figures["target_ratio"], figures["target_per_s"]) == (0.45, 2000)

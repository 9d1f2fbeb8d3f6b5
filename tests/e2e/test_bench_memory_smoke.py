"""The memory benchmark still runs and reports (the growth it measures is reported by running it, never asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_memory_benchmark_runs_a_real_server_and_ends_with_its_figures() -> None:
    result = subprocess.run(
        [sys.executable, "bench/memory.py", "--submissions", "200", "--concurrency", "10"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["ok"] is True
    assert figures["submissions"] == figures["accepted"] == figures["stored"] == 200
    assert figures["errors"] == 0
    assert figures["refused"] == {}
    assert 0 < figures["idle_rss_mib"] <= figures["peak_rss_mib"]
    assert 0 < figures["after_rss_mib"] <= figures["peak_rss_mib"]
    assert figures["growth_mib"] == pytest.approx(figures["after_rss_mib"] - figures["idle_rss_mib"], abs=0.11)
    assert figures["target_growth_mib"] == 50
    assert [point["answered"] for point in figures["checkpoints"]] == list(range(20, 201, 20))
    assert figures["family"] == "ipv6"
    assert "growth" in result.stdout

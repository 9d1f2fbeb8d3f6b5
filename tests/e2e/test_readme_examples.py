"""Every shell example in README.md, run as written against a real ``leadwire serve`` on 127.0.0.1.

The README is read as a new user reads it: the ``sh`` blocks are run in order in one shell (so a variable set in
one is there in the next), from a directory where ``.venv/bin/leadwire`` and ``leadwire`` are this checkout's
command, after ``leadwire demo --if-empty`` as ``make run`` does. Only the port (``127.0.0.1:8000`` becomes the
test server's) and ``KEY=lw_...`` (the key ``make run`` printed) are replaced. ``curl`` fails on a 4xx or 5xx
answer; a block followed by a plain code block must print what that block shows (ids, slugs and keys stand for
any). A block that cannot run here is named in ``NOT_RUN`` with the test that covers it instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from cryptography.fernet import Fernet

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BASH = shutil.which("bash") or "/bin/bash"  # for the strict preamble (`set -o pipefail`); the examples are POSIX sh
# What pip writes as the `leadwire` script, run from the checkout under test (the shared venv's own points elsewhere).
LEADWIRE_SCRIPT = f"#!{sys.executable}\nimport sys\nfrom cli import main\nsys.exit(main())\n"

# First line of a block that is not run here -> why, and what checks it instead.
NOT_RUN = {
    "make run": "installs a virtualenv; `leadwire demo --if-empty` and `leadwire serve` are what it runs, as here",
    "docker build -t leadwire .": "no Docker daemon here: tests/e2e/test_docker_image.py builds the image's files",
    "export LEADWIRE_DATABASE_URL=postgresql+asyncpg://leadwire:...@db/leadwire": "tests/e2e/test_scaleout.py",
    ".venv/bin/python bench/delivery.py": "minutes long: tests/e2e/test_bench_smoke.py",
    ".venv/bin/python bench/ingest.py": "minutes long: tests/e2e/test_bench_ingest_smoke.py",
    ".venv/bin/python bench/memory.py": "minutes long: tests/e2e/test_bench_memory_smoke.py",
    ".venv/bin/python bench/scaleout.py": "minutes long: tests/e2e/test_bench_scaleout_smoke.py",
    "leadwire workspace list": "names a workspace of its own: tests/e2e/test_member_cli.py runs these commands",
}

_CURL_FAILS_LOUDLY = """
set -euo pipefail
curl() {  # as written, and an error answer stops the run with its body
  local out
  out=$(command curl --fail-with-body "$@") || { printf 'curl %s\\nfailed: %s\\n' "$*" "$out" >&2; return 22; }
  printf '%s\\n' "$out"
}
"""


class Block:
    """One fenced code block of the README: its language, text, line, and the plain block shown after it."""

    def __init__(self, language: str, text: str, line: int) -> None:
        self.language, self.text, self.line = language, text, line
        self.shown_output: str | None = None

    @property
    def not_run_because(self) -> str | None:
        first_line = next(line for line in self.text.splitlines() if line.strip())
        return next((why for start, why in NOT_RUN.items() if first_line.startswith(start)), None)


def _blocks(markdown: str) -> list[Block]:
    blocks: list[Block] = []
    pattern = re.compile(r"^```(\w*)\n(.*?)^```\n", re.MULTILINE | re.DOTALL)
    previous_end = -1
    for match in pattern.finditer(markdown):
        block = Block(match.group(1), match.group(2), markdown.count("\n", 0, match.start()) + 1)
        between = markdown[previous_end : match.start()]
        if block.language == "" and blocks and blocks[-1].language == "sh" and not between.strip():
            blocks[-1].shown_output = block.text  # the output of the block right above
        blocks.append(block)
        previous_end = match.end()
    return blocks


def _shell_blocks() -> list[Block]:
    return [block for block in _blocks(README.read_text()) if block.language == "sh"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


_SHORTEST_ID = 16  # a slug; ids, keys and tokens are longer


def _as_pattern(shown: str) -> re.Pattern[str]:
    """A line the README shows, as a pattern: ids, slugs, keys and tokens stand for any of their kind."""
    parts = re.split(r"([0-9a-z]*[0-9][0-9a-z]*[a-z][0-9a-z]*|[0-9a-z]*[a-z][0-9a-z]*[0-9][0-9a-z]*)", shown.strip())
    regex = "".join(
        "[0-9a-z]+" if i % 2 and len(part) >= _SHORTEST_ID else re.escape(part) for i, part in enumerate(parts)
    )
    return re.compile(regex, re.IGNORECASE)


def _assert_shows(shown: str, printed: str, block: Block) -> None:
    """Every line the README shows is printed, in that order (the README may leave lines out)."""
    lines = iter(printed.splitlines())
    for wanted in filter(str.strip, shown.splitlines()):
        pattern = _as_pattern(wanted)
        assert any(pattern.fullmatch(line.strip()) for line in lines), (
            f"README.md line {block.line}: {wanted!r} is not printed; printed:\n{printed}"
        )


class Checkout:
    """A directory standing in for a checkout after ``make run``, and the server it started."""

    def __init__(self, path: Path, env: dict[str, str], base: str, key: str) -> None:
        self.path, self.env, self.base, self.key = path, env, base, key

    def leadwire(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.path / ".venv" / "bin" / "leadwire", *args],
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


@pytest.fixture
def checkout(tmp_path: Path) -> Iterator[Checkout]:
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    command = bin_dir / "leadwire"
    command.write_text(LEADWIRE_SCRIPT)
    command.chmod(0o755)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADWIRE_")}
    env |= {
        "PATH": f"{bin_dir}:{env.get('PATH', '')}",  # for the production section's bare `leadwire`
        "PYTHONPATH": str(ROOT),
        "LEADWIRE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/leadwire.db",
        "LEADWIRE_SECRET_KEY": Fernet.generate_key().decode(),
        "LEADWIRE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "LEADWIRE_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "LEADWIRE_ALLOW_PRIVATE_WEBHOOK_TARGETS": "true",
    }
    probe = Checkout(tmp_path, env, f"http://127.0.0.1:{port}", "")
    demo = probe.leadwire("demo", "--if-empty", "--json")
    assert demo.returncode == 0, demo.stderr
    key = json.loads(demo.stdout.strip().splitlines()[-1])["api_key"]
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [command, "serve", "--port", str(port)], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{probe.base}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.1)
            yield Checkout(tmp_path, env, probe.base, key)
        finally:
            process.terminate()
            process.wait(timeout=15)


def test_every_shell_block_is_run_or_named_with_what_covers_it() -> None:
    reasons = {block.not_run_because for block in _shell_blocks()}
    assert set(NOT_RUN.values()) <= reasons, f"stale NOT_RUN entries: {set(NOT_RUN.values()) - reasons}"
    assert len([block for block in _shell_blocks() if block.not_run_because is None]) >= 4


def test_the_readme_s_shell_examples_run_as_written(checkout: Checkout) -> None:
    port = checkout.base.rsplit(":", 1)[1]
    script = [_CURL_FAILS_LOUDLY]
    run = [block for block in _shell_blocks() if block.not_run_because is None]
    for index, block in enumerate(run):
        text = block.text.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        text = re.sub(r"^KEY=lw_\.\.\.", f"KEY={checkout.key}", text, flags=re.MULTILINE)
        script += [f"echo '@@@ {index}'; echo '@@@ {index}' >&2", text]
    result = subprocess.run(
        [BASH, "-c", "\n".join(script)],
        cwd=checkout.path,
        env=checkout.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    outputs = re.split(r"^@@@ \d+\n", result.stdout, flags=re.MULTILINE)[1:]
    errors = re.split(r"^@@@ \d+\n", result.stderr, flags=re.MULTILINE)[1:]
    failed = len(outputs) - 1
    assert result.returncode == 0, (
        f"README.md line {run[failed].line} failed (exit {result.returncode}):\n{errors[failed]}\n{outputs[failed]}"
    )
    for block, printed in zip(run, outputs, strict=True):
        if block.shown_output is not None:
            _assert_shows(block.shown_output, printed, block)

    # What the examples say they did, they did: the submissions are leads, not spam kept in silence.
    headers = {"Authorization": f"Bearer {checkout.key}"}
    submissions = httpx.get(f"{checkout.base}/api/v1/submissions", headers=headers).json()["items"]
    assert submissions
    assert {(s["verdict"], s.get("spam_reason")) for s in submissions} == {("accepted", None)}, submissions


def test_make_run_prints_what_the_readme_shows_and_names_the_workspace_on_a_second_run(tmp_path: Path) -> None:
    readme = README.read_text()
    shown = readme.split("On an empty database `make run` prints", 1)[1].split("```\n", 2)[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADWIRE_")}
    env |= {"PYTHONPATH": str(ROOT), "LEADWIRE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/leadwire.db"}
    program = tmp_path / ".venv" / "bin" / "leadwire"
    program.parent.mkdir(parents=True)
    program.write_text(LEADWIRE_SCRIPT)
    program.chmod(0o755)
    first = subprocess.run(
        [".venv/bin/leadwire", "demo", "--if-empty"], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    block = Block("", shown, 0)
    _assert_shows(shown, first.stdout, block)
    workspace = re.search(r"ws_[0-9a-z]+", first.stdout)
    assert workspace

    second = subprocess.run(
        [".venv/bin/leadwire", "demo", "--if-empty"], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    assert workspace.group() in second.stdout
    # The way to a new key, as a command that works from where `make run` was typed.
    assert f".venv/bin/leadwire workspace key {workspace.group()}" in second.stdout

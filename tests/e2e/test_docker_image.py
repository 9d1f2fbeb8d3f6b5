"""The Docker image, built and started without a Docker daemon: exactly the files its Dockerfile copies, installed.

No daemon runs here and no base image can be pulled, so this test does what the Dockerfile's build stage does, by
hand: it reads the Dockerfile's ``COPY`` lines, takes those files from the build context as ``.dockerignore`` leaves
it, builds the package from only them, installs it into a fresh virtualenv and starts the image's ``CMD`` from an
empty directory in production mode. What it checks is the file set and the package built from it (a slice the
Dockerfile or the package leaves out fails here, as ``console`` once did). The third-party dependencies are the
ones installed for the tests, reached through a ``.pth`` file, not resolved again from the registry.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]

# Folders of the repository that are not part of the application, so never part of the image.
NOT_SHIPPED = {"tests", "bench", "docs", ".ci"}


def _instructions(dockerfile: str) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs, with continuation lines joined and comments dropped."""
    lines = [line for line in dockerfile.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    pairs = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def _stages(dockerfile: str) -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, rest in _instructions(dockerfile):
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, rest))
    return stages


def _ignore_rules(context: Path) -> list[tuple[bool, re.Pattern[str]]]:
    """``.dockerignore`` as (excludes, pattern) rules, Docker's way: the last rule that matches a path decides."""
    rules = []
    ignore = context / ".dockerignore"
    for raw in ignore.read_text().splitlines() if ignore.exists() else []:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        excludes = not line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        regex = ""
        for token in re.split(r"(\*\*/?|\*|\?)", pattern):
            if token.startswith("**"):
                regex += "(.*/)?" if token.endswith("/") else ".*"
            elif token == "*":
                regex += "[^/]*"
            elif token == "?":
                regex += "[^/]"
            else:
                regex += re.escape(token)
        rules.append((excludes, re.compile(regex + r"(/.*)?")))  # a matched folder takes its contents with it
    return rules


def _context_files(context: Path) -> set[str]:
    """Every file of the build context that ``.dockerignore`` lets through, as POSIX paths relative to it."""
    rules = _ignore_rules(context)
    kept = set()
    for folder, dirs, files in os.walk(context):
        here = Path(folder).relative_to(context)
        for name in files:
            path = (here / name).as_posix()
            excluded = False
            for excludes, regex in rules:
                if regex.fullmatch(path):
                    excluded = excludes
            if not excluded:
                kept.add(path)
        dirs[:] = [d for d in dirs if d not in {".git", ".venv"}]  # never sent: both are in .dockerignore (asserted)
    return kept


def _copy_build_context(dockerfile: str, context: Path, into: Path) -> None:
    """Copy what the build stage's ``COPY`` lines copy (relative to its ``WORKDIR``) from the filtered context."""
    files = _context_files(context)
    build_stage = _stages(dockerfile)[0]
    copies = [rest for keyword, rest in build_stage if keyword == "COPY"]
    assert copies, "the build stage copies nothing"
    for rest in copies:
        *sources, dest = shlex.split(rest)
        assert not any(s.startswith("--") for s in sources), f"unsupported COPY option in {rest!r}"
        for source in sources:
            prefix = "" if source in {".", "./"} else source.rstrip("/") + "/"
            matched = [f for f in files if f == source or f.startswith(prefix)]
            assert matched, f"COPY {source}: nothing in the build context"
            for relative in matched:
                if relative == source:  # one file: into a folder (dest ends with /, or is .) or to that name
                    target = into / dest / Path(relative).name if dest.endswith("/") or dest == "." else into / dest
                else:  # a folder's contents go into dest
                    target = into / dest / relative.removeprefix(prefix)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(context / relative, target)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _install_like_the_image(tmp_path: Path, dockerfile: str) -> Path:
    """The build stage: copy, build, install into a fresh virtualenv. Returns the virtualenv's ``bin``."""
    source = tmp_path / "src"
    _copy_build_context(dockerfile, ROOT, source)
    build_stage = _stages(dockerfile)[0]
    assert any(k == "RUN" and re.search(r"pip install .* \.$", r) for k, r in build_stage), "the image installs `.`"
    dist = tmp_path / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    # Offline: setuptools comes from the test environment instead of being fetched into an isolated one.
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", dist, source], check=True)
    wheel = next(dist.glob("leadwire-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        packaged = {name.split("/")[0] for name in archive.namelist() if "/" in name}
    slices = {p.parent.name for p in ROOT.glob("*/__init__.py")} - NOT_SHIPPED
    assert slices <= packaged, f"the package leaves out {sorted(slices - packaged)}"

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = venv / "bin" / "python"
    subprocess.run([*pip, "--python", python, "install", "--no-deps", "--no-index", wheel], check=True)
    # The dependencies: the test environment's site-packages, added as a plain path (its .pth files, among them
    # the editable install of the checkout, are not run), after the fresh install, so `cli` and the slices are
    # the installed copies.
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv / "bin"


def _final_stage_command(dockerfile: str, port: int) -> list[str]:
    cmd = next(rest for keyword, rest in reversed(_stages(dockerfile)[-1]) if keyword == "CMD")
    argv: list[str] = json.loads(cmd)
    # Only the address changes: the image listens on every interface, the test on loopback alone.
    argv[argv.index("--host") + 1] = "127.0.0.1"
    argv[argv.index("--port") + 1] = str(port)
    return argv


def test_dockerignore_keeps_the_checkout_s_private_files_out() -> None:
    files = _context_files(ROOT)
    assert not {f for f in files if f.split("/")[0] in NOT_SHIPPED | {".git", ".venv"}}
    assert {"pyproject.toml", "app.py", "cli.py", "console/__init__.py", "migrations/env.py"} <= files


def test_the_image_s_files_install_and_serve_in_production_from_an_empty_directory(tmp_path: Path) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    bin_dir = _install_like_the_image(tmp_path, dockerfile)
    home = tmp_path / "home"  # the image's WORKDIR: empty
    home.mkdir()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEADWIRE_", "PYTHON", "VIRTUAL_ENV"))}
    env |= {
        "PATH": f"{bin_dir}:{env.get('PATH', '')}",
        "LEADWIRE_ENV": "production",
        "LEADWIRE_SECRET_KEY": Fernet.generate_key().decode(),
        "LEADWIRE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "LEADWIRE_DATABASE_URL": f"sqlite+aiosqlite:///{home}/leadwire.db",
        "LEADWIRE_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }
    where = subprocess.run(
        [bin_dir / "python", "-c", "import cli, console; print(cli.__file__, console.__file__)"],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert where.returncode == 0, where.stderr
    assert all(path.startswith(str(bin_dir.parent)) for path in where.stdout.split()), where.stdout

    demo = subprocess.run(
        [bin_dir / "leadwire", "demo", "--json"],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr
    slug = json.loads(demo.stdout.strip().splitlines()[-1])["form_slug"]

    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            _final_stage_command(dockerfile, port), cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    ready = httpx.get(f"{base}/readyz", timeout=1)
                    if ready.status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, f"the image's CMD stopped: {log_path.read_text()}"
                assert time.monotonic() < deadline, f"not ready after 30 s: {log_path.read_text()}"
                time.sleep(0.2)
            form = httpx.get(f"{base}/f/{slug}")
            assert form.status_code == 200, form.text
            assert 'name="email"' in form.text
            sign_in = httpx.get(f"{base}/console/sign-in")
            assert sign_in.status_code == 200, sign_in.text
            assert "Email address" in sign_in.text
        finally:
            process.terminate()
            process.wait(timeout=15)

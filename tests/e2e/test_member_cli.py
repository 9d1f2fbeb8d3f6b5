"""An operator recovers a team from the command line: `leadwire member create|reset-password|disable-mfa` as real
processes, against `leadwire serve` as a real process, signed in to over real HTTP."""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING

import httpx

from tests.e2e.test_cli_and_serve import _run, server  # noqa: F401 (server is a fixture)

if TYPE_CHECKING:
    from pathlib import Path


def _sign_in(base: str, email: str, password: str) -> httpx.Client | None:
    """A browser-like client signed in as ``email``, or ``None`` when the console refuses."""
    client = httpx.Client(base_url=base, follow_redirects=False)
    answer = client.post("/console/sign-in", data={"email": email, "password": password})
    if answer.status_code != 303:
        client.close()
        return None
    return client


def test_an_operator_makes_the_first_owner_and_recovers_them(tmp_path: Path, server: str) -> None:  # noqa: F811
    workspace = json.loads(_run(tmp_path, "workspace", "create", "Acme", "--json").stdout)
    made = _run(tmp_path, "member", "create", "--workspace", workspace["workspace_id"], "--email", "Ada@Example.com",
                "--role", "owner", "--json")  # fmt: skip
    assert made.returncode == 0, made.stderr
    owner = json.loads(made.stdout)
    plain = _run(tmp_path, "member", "create", "--workspace", workspace["workspace_id"], "--email", "eve@example.com",
                 "--role", "viewer")  # fmt: skip
    signed_in = _sign_in(server, "ada@example.com", owner["password"])
    assert signed_in is not None
    events = httpx.get(
        f"{server}/api/v1/audit-events", headers={"Authorization": f"Bearer {workspace['api_key']}"}
    ).json()["items"]

    reset = _run(tmp_path, "member", "reset-password", "--email", "ada@example.com", "--json")
    assert reset.returncode == 0, reset.stderr
    new = json.loads(reset.stdout)
    ended = signed_in.get("/console")
    old_password = _sign_in(server, "ada@example.com", owner["password"])
    new_password = _sign_in(server, "ada@example.com", new["password"])
    nobody = _run(tmp_path, "member", "reset-password", "--email", "nobody@example.com")
    bad_role = _run(tmp_path, "member", "create", "--workspace", workspace["workspace_id"], "--email", "x@example.com",
                    "--role", "king")  # fmt: skip

    assert (owner["email"], owner["role"]) == ("ada@example.com", "owner")
    assert len(owner["password"]) >= 20
    assert "password: " in plain.stdout
    assert "shown only now" in plain.stdout
    signed = next(e for e in events if e["action"] == "member.signed_in")
    assert signed["address"] == "127.0.0.0"  # truncated, as submissions' addresses are
    assert next(e for e in events if e["action"] == "member.added")["actor"] == "cli"
    assert new["password"] != owner["password"]
    assert new["sessions_ended"] == 1
    assert (ended.status_code, ended.headers["location"]) == (303, "/console/sign-in")
    assert old_password is None
    assert new_password is not None
    assert nobody.returncode == 1
    assert "no member has the address nobody@example.com" in nobody.stderr
    assert bad_role.returncode == 2
    signed_in.close()
    new_password.close()


def test_disable_mfa_clears_a_members_second_factors(tmp_path: Path) -> None:
    workspace = json.loads(_run(tmp_path, "workspace", "create", "Acme", "--json").stdout)
    _run(tmp_path, "member", "create", "--workspace", workspace["workspace_id"], "--email", "ada@example.com",
         "--role", "owner")  # fmt: skip
    with sqlite3.connect(tmp_path / "leadwire.db") as connection:  # second factors, as the console keeps them
        connection.execute("""UPDATE member SET mfa = '{"totp": "stored", "passkeys": 1}'""")
        connection.execute(
            "INSERT INTO passkey (id, member_id, name, credential_id, public_key, sign_count, transports, created_at)"
            " SELECT 'pk_1', id, 'Laptop', 'Y3JlZGVudGlhbA', x'a5', 0, '[]', created_at FROM member"
        )
    cleared = _run(tmp_path, "member", "disable-mfa", "--email", "ada@example.com")
    again = _run(tmp_path, "member", "disable-mfa", "--email", "ada@example.com", "--json")
    with sqlite3.connect(tmp_path / "leadwire.db") as connection:
        left = connection.execute("SELECT mfa FROM member").fetchall()
        passkeys = connection.execute("SELECT count(*) FROM passkey").fetchone()

    assert cleared.returncode == 0, cleared.stderr
    assert "ada@example.com: second factors removed" in cleared.stdout
    assert json.loads(again.stdout) == {"email": "ada@example.com", "had_mfa": False}
    assert left == [(None,)]
    assert passkeys == (0,)


def test_the_demo_prints_its_owners_email_and_a_one_time_password(tmp_path: Path, server: str) -> None:  # noqa: F811
    demo = _run(tmp_path, "demo", "--json")
    assert demo.returncode == 0, demo.stderr
    shown = json.loads(demo.stdout)
    with sqlite3.connect(tmp_path / "leadwire.db") as connection:
        stored = connection.execute("SELECT password_hash FROM member").fetchall()
    signed_in = _sign_in(server, shown["owner_email"], shown["owner_password"])

    assert shown["owner_email"] == "owner@example.com"
    assert len(shown["owner_password"]) >= 20
    assert stored[0][0].startswith("$argon2id$")
    assert shown["owner_password"] not in stored[0][0]
    assert signed_in is not None
    assert "Demo workspace" in signed_in.get("/console").text
    signed_in.close()

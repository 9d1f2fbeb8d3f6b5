"""An authenticator app as a second factor: set up from "Your account" with a QR code drawn on the server and
confirmed with a first code; asked for after the password, in the same session, which opens nothing else until it is
given; a code is not taken twice, each recovery code once; tries are throttled; turning it off needs the password;
every change ends the member's other sessions. A workspace can require a second factor of every member."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

import pyotp

from tests.conftest import owner_password_hash
from tests.console.test_console import sign_in
from tests.console.test_invitations import _client
from workspaces import members

if TYPE_CHECKING:
    import httpx

    from core.database import Database
    from tests.conftest import Client, Tenant

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_SECRET = re.compile(r'id="totp-secret">([A-Z2-7 ]+)<')
_RECOVERY = re.compile(r"\b[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}\b")


def _csrf(response: httpx.Response) -> str:
    found = _CSRF.search(response.text)
    assert found, response.text
    return found.group(1)


async def _set_up_totp(client: Client, csrf: str) -> tuple[pyotp.TOTP, float, list[str]]:
    """Set up an authenticator app from the account's page: the app, when its first code was made, and the codes."""
    assert (await client.post("/console/account/totp", data={"csrf": csrf})).status_code == 303
    setup = await client.get("/console/account/totp")
    assert setup.status_code == 200
    assert "<svg" in setup.text  # the QR code, drawn here
    found = _SECRET.search(setup.text)
    assert found, setup.text
    app = pyotp.TOTP(found.group(1).replace(" ", ""))
    wrong = next(c for c in (f"{n:06d}" for n in range(10)) if c not in {app.at(time.time() + d) for d in (-30, 0, 30)})
    refused = await client.post("/console/account/totp/confirm", data={"csrf": csrf, "code": wrong})
    assert refused.status_code == 422
    assert "That code is not right" in refused.text
    made_at = time.time()
    confirmed = await client.post("/console/account/totp/confirm", data={"csrf": csrf, "code": app.at(made_at)})
    assert (confirmed.status_code, confirmed.headers["location"]) == (303, "/console/account/recovery-codes")
    shown = await client.get("/console/account/recovery-codes")
    again = await client.get("/console/account/recovery-codes")
    assert again.status_code == 303  # shown once
    return app, made_at, _RECOVERY.findall(shown.text)


async def _password_step(client: Client, email: str, password: str) -> str:
    """Sign in with the password; the CSRF token of the page of the second step, where it leads."""
    signed_in = await client.post("/console/sign-in", data={"email": email, "password": password})
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/console/sign-in/verify")
    return _csrf(await client.get("/console/sign-in/verify"))


async def test_an_authenticator_app_guards_sign_in_and_its_codes_and_recovery_codes_work_once(
    database_url: str, tenant: Tenant
) -> None:
    async with (
        _client(database_url, second_factor_limit="4/minute") as browser,
        _client(database_url, second_factor_limit="4/minute") as elsewhere,
        _client(database_url, second_factor_limit="4/minute") as later,
    ):
        csrf = await sign_in(browser, tenant)
        await sign_in(elsewhere, tenant)
        before = (await browser.get("/console/account/mfa")).text
        app, made_at, codes = await _set_up_totp(browser, csrf)
        other_ended = await elsewhere.get("/console")
        this_one = await browser.get("/console/forms")
        wrong_password = await browser.post(
            "/console/account/totp/disable", data={"csrf": csrf, "password": "not the password at all"}
        )

        step_csrf = await _password_step(later, tenant.email, tenant.password)
        blocked = await later.get("/console/forms")
        replayed = await later.post("/console/sign-in/verify", data={"csrf": step_csrf, "code": app.at(made_at)})
        next_code = app.at(made_at + 30)
        verified = await later.post(
            "/console/sign-in/verify", data={"csrf": step_csrf, "code": next_code[:3] + " " + next_code[3:]}
        )
        forms = await later.get("/console/forms")
        await later.post("/console/sign-out", data={"csrf": _csrf(forms)})
        step_csrf = await _password_step(later, tenant.email, tenant.password)
        recovered = await later.post("/console/sign-in/verify", data={"csrf": step_csrf, "code": codes[0].upper()})
        await later.post("/console/sign-out", data={"csrf": _csrf(await later.get("/console"))})
        step_csrf = await _password_step(later, tenant.email, tenant.password)
        recovered_again = await later.post("/console/sign-in/verify", data={"csrf": step_csrf, "code": codes[0]})
        throttled = await later.post("/console/sign-in/verify", data={"csrf": step_csrf, "code": codes[1]})
        listed = (await browser.get("/api/v1/members", headers=tenant.headers)).json()["items"]

        turned_off = await browser.post(
            "/console/account/totp/disable", data={"csrf": csrf, "password": tenant.password}
        )
        later_ended = await later.get("/console")
        plain = await later.post("/console/sign-in", data={"email": tenant.email, "password": tenant.password})
        events = (await browser.get("/api/v1/audit-events", headers=tenant.headers)).json()["items"]

    assert "Set up an authenticator app" in before
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert (other_ended.status_code, other_ended.headers["location"]) == (303, "/console/sign-in")
    assert this_one.status_code == 200  # the session that set it up has given its second factor
    assert wrong_password.status_code == 422
    assert (blocked.status_code, blocked.headers["location"]) == (
        303,
        "/console/sign-in/verify?next=%2Fconsole%2Fforms",
    )
    assert replayed.status_code == 401
    assert "That code is not right" in replayed.text
    assert (verified.status_code, verified.headers["location"]) == (303, "/console")
    assert forms.status_code == 200
    assert recovered.status_code == 303
    assert recovered_again.status_code == 401  # a recovery code works once
    assert throttled.status_code == 429  # four tries a minute, the right code's too
    assert next(m for m in listed if m["id"] == tenant.member_id)["mfa"] is True
    assert turned_off.status_code == 303
    assert (later_ended.status_code, later_ended.headers["location"]) == (303, "/console/sign-in")
    assert (plain.status_code, plain.headers["location"]) == (303, "/console")  # no second step any more
    methods = [e["details"].get("method") for e in events if e["action"] == "member.signed_in"]
    assert {"totp", "recovery_code"} <= set(methods)
    actions = [e["action"] for e in events]
    for action in ("member.totp_enabled", "member.second_factor_failed", "member.totp_disabled"):
        assert action in actions


async def test_a_workspace_can_require_a_second_factor_of_every_member(
    database_url: str, tenant: Tenant, db: Database
) -> None:
    async with db.session(write=True) as session:
        await members.add_member(
            session,
            workspace_id=tenant.workspace_id,
            email="grace@example.com",
            role="admin",
            password_hash=owner_password_hash(),
            by=None,
        )
    async with _client(database_url) as owner, _client(database_url) as admin:
        owner_csrf = await sign_in(owner, tenant)
        signed_in = await admin.post(
            "/console/sign-in", data={"email": "grace@example.com", "password": tenant.password}
        )
        admin_csrf = _csrf(await admin.get("/console/members"))
        by_admin = await admin.post("/console/members/require-mfa", data={"csrf": admin_csrf, "require_mfa": "1"})
        by_owner = await owner.post("/console/members/require-mfa", data={"csrf": owner_csrf, "require_mfa": "1"})
        sent_away = [await admin.get(path) for path in ("/console", "/console/forms", "/console/members")]
        mfa_page = await admin.get(sent_away[0].headers["location"])
        await _set_up_totp(admin, admin_csrf)
        allowed = await admin.get("/console/forms")
        owner_sent = await owner.get("/console/forms")
        workspace = (await owner.get("/api/v1/workspace", headers=tenant.headers)).json()

    assert signed_in.status_code == 303
    assert by_admin.status_code == 403
    assert "only an owner" in by_admin.text
    assert by_owner.status_code == 303
    assert workspace["settings"]["require_mfa"] is True
    for response in sent_away:
        assert (response.status_code, response.headers["location"]) == (303, "/console/account/mfa?done=mfa_needed")
    assert "requires a second factor" in mfa_page.text
    assert allowed.status_code == 200
    assert owner_sent.status_code == 303  # the owner has none either

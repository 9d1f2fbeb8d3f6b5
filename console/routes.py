"""The console's router: every page group's handlers under ``/console``, its script, and its error pages.

Each page group has a module of its own (``signing_in``, ``dashboard``, ``form_pages``, ``lead_pages``,
``source_pages``, ``webhook_pages``, ``settings_pages``, ``account_pages``, ``member_pages``) over ``console.pages``,
which they share.
Every page declares its permission, checked by ``console.pages.require_permission`` against the member's role; every
page but sign-in needs a session (``console.session``); every POST needs its CSRF token.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from litestar import Request, Response, Router, get
from litestar.di import Provide
from litestar.response import Redirect, Template

from console.account_pages import account_page, password_change, session_end, workspace_switch
from console.dashboard import dashboard
from console.form_pages import (
    form_create,
    form_edit,
    form_preview,
    form_preview_unsaved,
    form_save,
    form_status,
    forms_list,
)
from console.invitation_pages import (
    invitation_accept,
    invitation_create,
    invitation_link,
    invitation_page,
    invitation_revoke,
)
from console.lead_pages import lead_erase, lead_export, lead_page, lead_withdraw, leads_list
from console.member_pages import (
    member_add,
    member_new,
    member_remove,
    member_role,
    members_page,
    require_mfa_change,
)
from console.mfa_pages import mfa_page, recovery_codes, totp_confirm, totp_disable, totp_setup, totp_start
from console.pages import PUBLIC, page, provide_user, require_permission
from console.passkey_pages import (
    passkey_add,
    passkey_add_options,
    passkey_remove,
    passkey_second_factor,
    passkey_second_factor_options,
    passkey_sign_in,
    passkey_sign_in_options,
)
from console.reset_pages import forgot_password, forgot_password_page, reset_password, reset_password_page
from console.second_factor_pages import second_factor, second_factor_page
from console.session import CsrfFailed, MfaSetupRequired, SecondFactorRequired, SignInRequired, clear_cookie
from console.settings_pages import audit_export, key_create, key_new, key_revoke, settings_page
from console.signing_in import sign_in, sign_in_page, sign_out, sign_out_everywhere
from console.source_creation import source_create, source_created, source_new
from console.source_pages import (
    source_delete,
    source_fetch_retry,
    source_mapping,
    source_page,
    source_status,
    source_try,
    sources_list,
)
from console.webhook_pages import (
    deliveries_list,
    delivery_page,
    delivery_retry,
    endpoint_create,
    endpoint_page,
    endpoint_recover,
    endpoint_rotate,
    endpoint_secret,
    endpoint_status,
    endpoint_test,
    webhooks,
)
from core.errors import Forbidden, NotFound

if TYPE_CHECKING:
    from core.settings import Settings

__all__ = ("CONSOLE_TEMPLATES", "console_router")

STATIC = Path(__file__).parent / "static"
CONSOLE_TEMPLATES = Path(__file__).parent / "templates"
"""Holds ``console/*.html``: the app's template directories are this and the hosted page's."""
_SCRIPT = (STATIC / "console.js").read_bytes()
_PASSKEYS = (STATIC / "passkeys.js").read_bytes()
_SCRIPT_HEADERS = {"Cache-Control": "public, max-age=300"}


@get("/static/console.js", media_type="text/javascript", opt={"permission": PUBLIC})
async def console_script() -> Response[bytes]:
    return Response(_SCRIPT, media_type="text/javascript", headers=_SCRIPT_HEADERS)


@get("/static/passkeys.js", media_type="text/javascript", opt={"permission": PUBLIC})
async def passkeys_script() -> Response[bytes]:
    """Passkeys in the browser (``navigator.credentials``), for the pages that offer them."""
    return Response(_PASSKEYS, media_type="text/javascript", headers=_SCRIPT_HEADERS)


def _to_sign_in(request: Request[Any, Any, Any], exc: SignInRequired) -> Response[Any]:
    del exc
    settings: Settings = request.app.state.settings
    wanted = request.url.path if request.method == "GET" else "/console"
    target = "/console/sign-in" + (f"?{urlencode({'next': wanted})}" if wanted != "/console" else "")
    return Redirect(target, status_code=303, cookies=[clear_cookie(settings)])


def _to_second_step(request: Request[Any, Any, Any], exc: SecondFactorRequired) -> Response[Any]:
    del exc
    wanted = request.url.path if request.method == "GET" else None
    query = f"?{urlencode({'next': wanted})}" if wanted and wanted.startswith("/console/") else ""
    return Redirect(f"/console/sign-in/verify{query}", status_code=303)


def _to_mfa_setup(request: Request[Any, Any, Any], exc: MfaSetupRequired) -> Response[Any]:
    del request, exc
    return Redirect("/console/account/mfa?done=mfa_needed", status_code=303)


def _message_page(request: Request[Any, Any, Any], status: int, heading: str, message: str) -> Template:
    return page(request, "message", None, status_code=status, heading=heading, message=message)


def _forbidden(request: Request[Any, Any, Any], exc: CsrfFailed) -> Template:
    return _message_page(request, 403, "That did not work", str(exc.detail))


def _not_allowed(request: Request[Any, Any, Any], exc: Forbidden) -> Template:
    message = f"{exc.detail}. An owner or admin of the workspace can give you another role."
    return _message_page(request, 403, "Your role does not allow this", message)


def _not_found(request: Request[Any, Any, Any], exc: NotFound) -> Template:
    del exc
    return _message_page(request, 404, "Not found", "There is nothing here, or it belongs to another workspace.")


console_router = Router(
    path="/console",
    route_handlers=[
        sign_in_page,
        sign_in,
        sign_out,
        sign_out_everywhere,
        dashboard,
        forms_list,
        form_create,
        form_edit,
        form_save,
        form_status,
        form_preview,
        form_preview_unsaved,
        leads_list,
        lead_page,
        lead_withdraw,
        lead_export,
        lead_erase,
        sources_list,
        source_new,
        source_create,
        source_created,
        source_page,
        source_status,
        source_mapping,
        source_delete,
        source_fetch_retry,
        source_try,
        webhooks,
        endpoint_create,
        endpoint_secret,
        endpoint_page,
        endpoint_rotate,
        endpoint_test,
        endpoint_status,
        endpoint_recover,
        deliveries_list,
        delivery_page,
        delivery_retry,
        settings_page,
        key_create,
        key_new,
        key_revoke,
        audit_export,
        account_page,
        password_change,
        session_end,
        workspace_switch,
        members_page,
        member_add,
        member_new,
        member_role,
        member_remove,
        require_mfa_change,
        invitation_create,
        invitation_link,
        invitation_revoke,
        invitation_page,
        invitation_accept,
        forgot_password_page,
        forgot_password,
        reset_password_page,
        reset_password,
        second_factor_page,
        second_factor,
        mfa_page,
        totp_start,
        totp_setup,
        totp_confirm,
        recovery_codes,
        totp_disable,
        passkey_add_options,
        passkey_add,
        passkey_remove,
        passkey_second_factor_options,
        passkey_second_factor,
        passkey_sign_in_options,
        passkey_sign_in,
        console_script,
        passkeys_script,
    ],
    guards=[require_permission],
    dependencies={"user": Provide(provide_user)},
    exception_handlers={
        SignInRequired: _to_sign_in,
        SecondFactorRequired: _to_second_step,
        MfaSetupRequired: _to_mfa_setup,
        CsrfFailed: _forbidden,
        Forbidden: _not_allowed,
        NotFound: _not_found,
    },
    include_in_schema=False,
)

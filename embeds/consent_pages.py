"""The prospect's own pages: the consent receipt with one-click withdrawal, and double opt-in confirmation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from consent import lifecycle, tokens
from core.client_ip import truncated_ip
from core.errors import Conflict, NotFound
from core.settings import Settings
from embeds.render import DEFAULT_THEME
from ingest import service as ingest
from ingest import spam
from ingest.parse import clean_text

if TYPE_CHECKING:
    from consent.schemas import ConsentReceipt

__all__ = ("confirm", "confirm_page", "receipt_page", "withdraw")

_STATES = {
    "given": "agreed",
    "refused": "not agreed",
    "confirmed": "agreed and confirmed",
    "withdrawn": "withdrawn",
    "pending": "waiting for your confirmation",
}
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'self'; "
    "frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",  # the URL is the person's key to their receipt
    "X-Content-Type-Options": "nosniff",
}


def _message(heading: str, message: str, status_code: int = 200, **extra: Any) -> Template:
    context = {"heading": heading, "message": message, "theme_color": DEFAULT_THEME, **extra}
    return Template(template_name="message.html", context=context, headers=_HEADERS, status_code=status_code)


def _same_origin(request: Request[Any, Any, Any], settings: Settings) -> bool:
    """A post from our own page (or from a client that sends no Origin at all, like curl)."""
    origin = spam.request_origin(request.headers.get("origin"), None)
    return origin is None or origin == spam.own_origin(settings.public_base_url)


def _who(request: Request[Any, Any, Any]) -> tuple[str | None, str | None]:
    """The person's address (truncated, as on submissions; through trusted proxies) and user agent."""
    agent = request.headers.get("user-agent")
    return truncated_ip(ingest.client_address(request)), (clean_text(agent, 500) if agent else None)


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _invalid_link() -> Template:
    return _message("This link is not valid", "Please check that you copied the whole link.", status_code=404)


def _receipt_response(request: Request[Any, Any, Any], receipt: ConsentReceipt, token: str, notice: str | None) -> Any:
    if _wants_json(request):
        return Response(receipt, headers=_HEADERS, media_type=MediaType.JSON)
    context = {
        "receipt": receipt,
        "controller": receipt.controller.name,
        "states": _STATES,
        "withdraw_action": f"/c/{token}/withdraw",
        "notice": notice,
        "theme_color": DEFAULT_THEME,
    }
    return Template(template_name="receipt.html", context=context, headers=_HEADERS)


@get(
    "/c/{token:str}",
    summary="A consent receipt (HTML, or JSON with Accept: application/json)",
    tags=["public"],
    media_type=MediaType.HTML,
)
async def receipt_page(
    token: FromPath[str],
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    app_settings: NamedDependency[Settings],
) -> Any:
    try:
        submission_id = tokens.read_receipt(app_settings, token)
        receipt = await lifecycle.receipt_of(db_session, app_settings, submission_id=submission_id)
    except (tokens.InvalidLink, NotFound) as exc:
        # A person who follows a broken link gets a page; a program that asked for JSON gets a problem.
        if _wants_json(request):
            raise NotFound("no such receipt") from exc
        return _invalid_link()
    notice = "Your consent has been withdrawn." if request.query_params.get("withdrawn") else None
    return _receipt_response(request, receipt, token, notice)


@post(
    "/c/{token:str}/withdraw",
    summary="Withdraw one consent from its receipt",
    tags=["public"],
    status_code=303,
    media_type=MediaType.HTML,
)
async def withdraw(
    token: FromPath[str],
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    app_settings: NamedDependency[Settings],
) -> Any:
    try:
        submission_id = tokens.read_receipt(app_settings, token)
    except tokens.InvalidLink:
        return _invalid_link()
    if not _same_origin(request, app_settings):
        return _message("Not withdrawn", "Use the button on your receipt page.", status_code=403)
    form = await request.form()
    purpose = str(form.get("purpose") or "")
    client_ip, user_agent = _who(request)
    try:
        await lifecycle.withdraw_from_receipt(
            db_session,
            app_settings,
            submission_id=submission_id,
            purpose=purpose,
            client_ip=client_ip,
            user_agent=user_agent,
        )
    except NotFound:
        return _message("Nothing to withdraw", "This receipt holds no such consent.", status_code=404)
    return Redirect(f"/c/{token}?withdrawn=1", status_code=303)


@get("/confirm/{token:str}", summary="The double opt-in confirmation page", tags=["public"], media_type=MediaType.HTML)
async def confirm_page(
    token: FromPath[str], db_session: NamedDependency[AsyncSession], app_settings: NamedDependency[Settings]
) -> Template:
    # Opening the link changes nothing (mail scanners open links): confirming takes the button's POST.
    try:
        submission_id = tokens.read_confirmation(app_settings, token)
        await lifecycle.pending_confirmation(db_session, submission_id=submission_id)
    except tokens.ExpiredLink:
        return _message("This link has expired", "Please fill in the form again.", status_code=410)
    except (tokens.InvalidLink, NotFound):
        return _invalid_link()
    except Conflict:
        return _message("Already confirmed", "You have already confirmed; there is nothing more to do.", 409)
    return _message(
        "Confirm your details",
        "Press the button to confirm that you asked to be contacted.",
        action=f"/confirm/{token}",
        button="Confirm",
    )


@post(
    "/confirm/{token:str}",
    summary="Confirm a double opt-in submission",
    tags=["public"],
    status_code=200,
    media_type=MediaType.HTML,
)
async def confirm(
    token: FromPath[str],
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    app_settings: NamedDependency[Settings],
) -> Template:
    try:
        submission_id = tokens.read_confirmation(app_settings, token)
    except tokens.ExpiredLink:
        return _message("This link has expired", "Please fill in the form again.", status_code=410)
    except tokens.InvalidLink:
        return _invalid_link()
    if not _same_origin(request, app_settings):
        return _message("Not confirmed", "Use the button on the confirmation page.", status_code=403)
    client_ip, user_agent = _who(request)
    try:
        await lifecycle.confirm_submission(
            db_session, submission_id=submission_id, client_ip=client_ip, user_agent=user_agent
        )
    except NotFound:
        return _invalid_link()
    except Conflict:
        return _message("Already confirmed", "This link has already been used.", status_code=409)
    return _message("Thank you", "Your details are confirmed.")

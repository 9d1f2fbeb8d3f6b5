"""Step 3 of the pipeline: the spam verdict (honeypot, time trap, origin), and the render tokens it checks."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from forms.definition import normalise_origin

if TYPE_CHECKING:
    from core.settings import Settings
    from ingest.parse import RawSubmission

__all__ = ("SpamVerdict", "allowed_redirect", "issue_render_token", "judge", "own_origin", "request_origin")

_SALT = "leadwire.render-token"


@dataclass(frozen=True, slots=True)
class SpamVerdict:
    """``reason`` is ``None`` for a submission that looks human, else why it is spam."""

    reason: str | None

    @property
    def is_spam(self) -> bool:
        return self.reason is not None


class _SignerAt(TimestampSigner):
    """A timestamp signer whose clock can be set: render tokens are issued "as of" a time in tests and previews."""

    def __init__(self, *args: object, issued_at: int | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._issued_at = issued_at

    def get_timestamp(self) -> int:
        return self._issued_at if self._issued_at is not None else int(time.time())


def _serializer(secret_key: str, issued_at: int | None = None) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_SALT, signer=_SignerAt, signer_kwargs={"issued_at": issued_at})


def issue_render_token(settings: Settings, *, form_id: str, issued_at: float | None = None) -> str:
    """The ``_t`` value a rendered form carries: the form's id, signed with the time it was rendered."""
    return _serializer(settings.secret_key, None if issued_at is None else int(issued_at)).dumps(form_id)


def _token_problem(token: str | None, *, form_id: str, settings: Settings) -> str | None:
    if not token:
        return "no_render_token"
    try:
        signed_for, issued = _serializer(settings.secret_key).loads(
            token, max_age=settings.render_token_max_age_seconds, return_timestamp=True
        )
    except SignatureExpired:
        return "render_token_expired"
    except BadSignature:
        return "render_token_invalid"
    if signed_for != form_id:
        return "render_token_invalid"
    if time.time() - issued.timestamp() < settings.spam_min_fill_seconds:
        return "too_fast"
    return None


def request_origin(origin: str | None, referer: str | None) -> str | None:
    """The origin the post came from: the ``Origin`` header, else the origin of ``Referer``."""
    if origin:
        return "null" if origin.strip() == "null" else normalise_origin(origin) or "invalid"
    if referer:
        try:
            parts = urlsplit(referer)
        except ValueError:  # e.g. "http://[x"
            return "invalid"
        return normalise_origin(f"{parts.scheme}://{parts.netloc}") or "invalid"
    return None


def _origin_allowed(origin: str | None, allowed: list[str], own_origin: str | None) -> bool:
    if not allowed or origin is None:
        return True  # no list: any site may embed; no header: a server-to-server client, left to the rate limits
    return origin == own_origin or origin in allowed


def own_origin(public_base_url: str) -> str | None:
    """The origin Leadwire's own pages are served from (``LEADWIRE_PUBLIC_BASE_URL`` may carry a path)."""
    base = urlsplit(public_base_url)
    return normalise_origin(f"{base.scheme}://{base.netloc}")


def judge(
    raw: RawSubmission,
    *,
    form_id: str,
    allowed_origins: list[str],
    origin: str | None,
    own_origin: str | None,
    settings: Settings,
    accept_plain_posts: bool = False,
) -> SpamVerdict:
    """Look for the marks of a bot, cheapest first.

    - ``honeypot``: the hidden ``_hp`` field, which people never see, was filled in;
    - the render token ``_t`` is missing (browser posts only: JSON clients may post without one, and so may browser
      posts to a form that ``accept_plain_posts`` from the marketer's own pages), forged, for another form, older
      than ``render_token_max_age_seconds``, or younger than ``spam_min_fill_seconds``;
    - ``origin``: the post came from a site that is not in the form's ``allowed_origins`` (the hosted page's
      own origin is always allowed).
    """
    if raw.meta.get("_hp", "").strip():
        return SpamVerdict("honeypot")
    if (raw.is_json or accept_plain_posts) and not raw.meta.get("_t"):
        problem = None
    else:
        problem = _token_problem(raw.meta.get("_t"), form_id=form_id, settings=settings)
    if problem is not None:
        return SpamVerdict(problem)
    if not _origin_allowed(origin, allowed_origins, own_origin):
        return SpamVerdict("origin")
    return SpamVerdict(None)


def allowed_redirect(url: str | None, allowed_origins: list[str]) -> str | None:
    """``url`` if its origin is one of the form's allowed origins, else ``None``: never an open redirect."""
    if not url:
        return None
    parts = urlsplit(url)
    origin = normalise_origin(f"{parts.scheme}://{parts.netloc}")
    return url if origin is not None and origin in allowed_origins else None

"""Leadwire settings: one frozen struct read once from ``LEADWIRE_*`` environment variables."""

from __future__ import annotations

import difflib
import os
import secrets
import typing
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import msgspec
from limits import parse_many
from sqlalchemy.engine import make_url

from core.encryption import Keyring, new_key
from core.env_values import parse_value
from core.mail import parse_smtp_url, sender_address
from core.ratelimit_memory import DEFAULT_CAPACITY

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ("PREFIX", "Settings", "SettingsError", "load_settings")

PREFIX = "LEADWIRE_"
_MIN_SECRET_KEY_LENGTH = 32
_MAX_RETRY_DELAY_S = 7 * 86_400
_LEASE_MARGIN_S = 2


class SettingsError(Exception):
    """The environment does not describe a valid configuration; the message says which variable is wrong."""


class Settings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Everything Leadwire can be configured with. Each field is read from ``LEADWIRE_<FIELD NAME>``."""

    env: Literal["development", "production"] = "development"
    """``production`` refuses to start without an explicit secret key."""

    database_url: str = "sqlite+aiosqlite:///./leadwire.db"
    """SQLAlchemy URL. ``sqlite+aiosqlite:///path`` (default) or ``postgresql+asyncpg://user@host/db``; ``sqlite://``,
    ``postgresql://`` and ``postgres://`` mean the same drivers."""

    secret_key: str = ""
    """Signs tokens and links. In development a random key is generated and kept beside the database."""

    encryption_keys: str = ""
    """Comma-separated keys (``leadwire new-encryption-key``) that encrypt stored secrets: the first encrypts, all
    decrypt, so a new key goes first and ``leadwire rotate-encryption-key`` re-encrypts under it. Required in
    production; in development one is generated and kept beside the secret key file."""

    public_base_url: str = "http://127.0.0.1:8000"
    """The address prospects and receivers reach this service at; used in links and snippets."""

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """Minimum level of log records written to standard error."""

    log_format: Literal["text", "json"] = "text"
    """``json``: one JSON object per line (time, level, logger, message, request id), for log collectors."""

    db_pool_size: Annotated[int, msgspec.Meta(ge=1, le=200)] = 10
    """Connections kept open per process on PostgreSQL (SQLite uses one writer and a few readers)."""

    db_busy_timeout_ms: Annotated[int, msgspec.Meta(ge=0, le=600_000)] = 5_000
    """How long an SQLite write waits for its turn among this process's writes, and for a lock another process holds,
    before giving up."""

    max_request_bytes: Annotated[int, msgspec.Meta(ge=1_024, le=64 * 1_024 * 1_024)] = 1_048_576
    """Largest request body the admin API accepts."""

    header_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=300)] = 10.0
    """How long a client may take to send a request's headers, from opening the connection (for later requests on it,
    from their first byte); then the connection is closed, with a 408 if part of a request had arrived."""

    body_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=3_600)] = 30.0
    """How long a client may take to send a request body once the server reads it (408 and the connection closed);
    also how long an answered request's unread rest may keep arriving before the connection is closed."""

    run_worker: bool = True
    """Run the delivery worker inside ``leadwire serve``; set false when ``leadwire worker`` processes do it."""

    purge_interval_seconds: Annotated[int, msgspec.Meta(ge=60, le=7 * 86_400)] = 3_600
    """How often each worker (``leadwire worker``, or ``serve`` with ``run_worker``) deletes and blanks what the
    workspaces' retention periods have run out on; ``leadwire purge`` does it once."""

    delivery_retry_schedule: str = "5,300,1800,7200,18000,36000,36000"
    """Seconds to wait before each retry after the first attempt, comma-separated; ±20 % jitter is added."""

    delivery_concurrency: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 100
    """Requests in flight at once per worker process."""

    delivery_endpoint_concurrency: Annotated[int, msgspec.Meta(ge=1, le=1_000)] = 20
    """Requests in flight at once to one endpoint, per worker process."""

    delivery_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=120)] = 15.0
    """Total time allowed for one POST, connection included."""

    delivery_lease_seconds: Annotated[int, msgspec.Meta(ge=5, le=3_600)] = 60
    """How long a claimed delivery belongs to a worker before another may take it over."""

    delivery_poll_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 1.0
    """How often an idle worker looks for due deliveries and due pull sources (it is also woken at once by new
    messages, and by sources created or enabled in its process)."""

    delivery_disable_after_seconds: Annotated[int, msgspec.Meta(ge=60)] = 5 * 86_400
    """An endpoint whose deliveries have all failed for this long is disabled."""

    secret_rotation_overlap_seconds: Annotated[int, msgspec.Meta(ge=0, le=30 * 86_400)] = 86_400
    """How long a rotated-out webhook secret keeps signing beside the new one."""

    allow_private_webhook_targets: bool = False
    """Development and tests only: let webhook URLs point at loopback and private addresses."""

    redis_url: str = ""
    """``redis://host:6379/0``: share rate limits and idempotency locks between instances. Empty: in-process."""

    trusted_proxies: str = ""
    """Comma-separated addresses or networks of reverse proxies whose ``X-Forwarded-For`` names the client."""

    rate_limit_ip_form: str = "10/minute;100/day"
    """Submissions one client address may make to one form, in the ``limits`` notation (``;`` separates several)."""

    rate_limit_ip: str = "60/minute;1000/day"
    """Submissions one client address may make to all forms together."""

    rate_limit_form: str = "600/minute"
    """Submissions one form accepts from everyone together."""

    rate_limit_memory_capacity: Annotated[int, msgspec.Meta(ge=1_000, le=100_000_000)] = DEFAULT_CAPACITY
    """Most rate-limit counts kept in this process (without Redis, or while it is down): one per client address,
    form and limit, about 300 bytes each (15 MiB at the default). When full, the count hit least recently is
    forgotten, and its client starts afresh as after an idle window; a client or form that keeps being hit stays
    counted."""

    ingest_max_body_bytes: Annotated[int, msgspec.Meta(ge=1_024, le=16 * 1_024 * 1_024)] = 65_536
    """Largest submission body accepted by ``POST /f/{slug}``."""

    ingest_max_fields: Annotated[int, msgspec.Meta(ge=10, le=10_000)] = 200
    """Most name/value pairs one submission may carry (repeated names count each time)."""

    ingest_max_value_length: Annotated[int, msgspec.Meta(ge=100, le=1_000_000)] = 10_000
    """Longest single value accepted, in characters, whatever the field's own limit."""

    spam_min_fill_seconds: Annotated[float, msgspec.Meta(ge=0, le=3_600)] = 2.0
    """A form sent back sooner than this after it was rendered is taken for a bot."""

    render_token_max_age_seconds: Annotated[int, msgspec.Meta(ge=60, le=30 * 86_400)] = 2 * 86_400
    """How long a rendered form stays valid; a later post is stored as spam (and visible as such)."""

    idempotency_ttl_seconds: Annotated[int, msgspec.Meta(ge=60, le=30 * 86_400)] = 86_400
    """How long an ``Idempotency-Key`` and its stored response are kept."""

    meta_graph_base_url: str = "https://graph.facebook.com/v21.0"
    """Where Meta Lead Ads leads are fetched from (``GET {base}/{leadgen_id}``); tests point it at a local server."""

    source_fetch_retry_schedule: str = "5,30,120,600,1800,7200"
    """Seconds between attempts to fetch a Meta lead from the Graph API; it is given up after the last."""

    indiamart_base_url: str = "https://mapi.indiamart.com/wservce/crm/crmListing/v2/"
    """IndiaMART's CRM API v2 (Lead Manager), which ``indiamart`` sources with a CRM key pull leads from. Tenants
    give only their key: where pulls go is the operator's choice, and tests point it at a local server."""

    tradeindia_base_url: str = "https://www.tradeindia.com/utils/my_inquiry.html"
    """TradeIndia's "My Inquiry" API, which ``tradeindia`` sources pull inquiries from."""

    acres99_base_url: str = msgspec.field(
        default="https://www.99acres.com/99api/v1/getmy99Response/OeAuXClO43hwseaXEQ/uid/", name="99acres_base_url"
    )
    """99acres' lead (response) XML API, which ``99acres`` sources pull from. Read from
    ``LEADWIRE_99ACRES_BASE_URL``."""

    pull_interval_seconds: Annotated[int, msgspec.Meta(ge=0, le=86_400)] = 0
    """How often a pull source is polled. 0: each provider's own default (10 minutes); never less than a provider's
    documented minimum (IndiaMART: 5 minutes between calls)."""

    pull_lease_seconds: Annotated[int, msgspec.Meta(ge=5, le=3_600)] = 120
    """How long a worker holds a pull source while it polls it (renewed at every call); a worker that dies holds it
    this long, then another takes over. A provider call may take a third of it."""

    confirmation_max_age_seconds: Annotated[int, msgspec.Meta(ge=300, le=90 * 86_400)] = 7 * 86_400
    """How long a double opt-in confirmation link stays valid."""
    console_session_seconds: Annotated[int, msgspec.Meta(ge=300, le=30 * 86_400)] = 8 * 3_600
    """How long a console sign-in lasts at most, however busy (the absolute timeout)."""

    console_idle_seconds: Annotated[int, msgspec.Meta(ge=60, le=30 * 86_400)] = 30 * 60
    """A console session left without a request this long ends (the idle timeout)."""

    sign_in_limit_account: str = "5/minute;30/hour"
    """Console sign-in attempts for one email address, whether or not it has an account (``limits`` notation)."""

    sign_in_limit_address: str = "20/minute;200/hour"
    """Console sign-in attempts from one client address (an IPv6 /64), whatever the accounts."""

    second_factor_limit: str = "5/minute;20/hour"
    """Second-factor codes (TOTP or recovery) one member may try, in whatever sessions (``limits`` notation)."""

    password_reset_limit_account: str = "3/hour;10/day"  # noqa: S105 - a limit, not a password
    """Password reset requests for one email address, whether or not it has an account."""

    password_reset_limit_address: str = "10/hour;50/day"  # noqa: S105 - a limit, not a password
    """Password reset requests from one client address (an IPv6 /64), whatever the addresses typed."""

    invitation_max_age_seconds: Annotated[int, msgspec.Meta(ge=3_600, le=30 * 86_400)] = 7 * 86_400
    """How long an invitation link works (once)."""

    smtp_url: str = ""
    """``smtp://user:password@host:587`` (STARTTLS when the server offers it) or ``smtps://...:465`` (TLS from the
    start): mail invitations and password reset links. Empty: nothing is mailed; invitation links are shown to the
    inviter only, and passwords are reset by an operator (``leadwire member reset-password``)."""

    smtp_from: str = ""
    """The sender of that mail, ``Leadwire <team@example.com>`` or a bare address; required with ``smtp_url``."""

    @property
    def retry_delays(self) -> tuple[float, ...]:
        """The parsed ``delivery_retry_schedule``."""
        return tuple(float(part) for part in self.delivery_retry_schedule.split(",") if part.strip())

    @property
    def trusted_proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """The parsed ``trusted_proxies``."""
        return tuple(ip_network(part.strip(), strict=False) for part in self.trusted_proxies.split(",") if part.strip())

    @property
    def encryption_key_list(self) -> list[str]:
        """The parsed ``encryption_keys``, the encrypting one first."""
        return [part.strip() for part in self.encryption_keys.split(",") if part.strip()]

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is an SQLite file."""
        return make_url(self.database_url).get_backend_name() == "sqlite"

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite database file, or ``None`` for another database or an in-memory one."""
        url = make_url(self.database_url)
        if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
            return None
        return Path(url.database)


def _field_names() -> tuple[str, ...]:
    """The settings' names as variables spell them (``99acres_base_url`` for the field ``acres99_base_url``)."""
    return tuple(field.encode_name for field in msgspec.structs.fields(Settings))


def _type_hints() -> dict[str, object]:
    """Each setting's type, by the name its variable spells."""
    hints = typing.get_type_hints(Settings, include_extras=True)
    return {field.encode_name: hints[field.name] for field in msgspec.structs.fields(Settings)}


def _read_environment(environ: dict[str, str]) -> dict[str, str]:
    known = _field_names()
    values: dict[str, str] = {}
    unknown: list[str] = []
    for name, value in environ.items():
        if not name.startswith(PREFIX):
            continue
        field = name[len(PREFIX) :].lower()
        if field in known:
            values[field] = value
        else:
            unknown.append(name)
    if unknown:
        hints = []
        for name in sorted(unknown):
            close = difflib.get_close_matches(name[len(PREFIX) :].lower(), known, n=1)
            hint = f" (did you mean {PREFIX}{close[0].upper()}?)" if close else ""
            hints.append(f"{name}{hint}")
        raise SettingsError("unknown setting(s): " + ", ".join(hints))
    return values


def _convert(values: dict[str, str]) -> Settings:
    hints = _type_hints()
    parsed: dict[str, object] = {}
    for name, text in values.items():
        try:
            parsed[name] = parse_value(text, hints[name])
        except ValueError as exc:
            raise SettingsError(f"{PREFIX}{name.upper()}: {exc}") from None
    try:
        return msgspec.convert(parsed, Settings, strict=False)
    except msgspec.ValidationError as exc:
        # msgspec says "... - at `$.field`": name the environment variable instead.
        message = str(exc)
        if " - at `$." in message:
            text, _, path = message.rpartition(" - at `$.")
            message = f"{PREFIX}{path.rstrip('`').upper()}: {text}"
        raise SettingsError(message) from exc


# The drivers Leadwire runs on, by what a URL may say instead: the bare scheme is what most guides and hosts print.
_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}


def _with_driver(settings: Settings) -> Settings:
    """``database_url`` with its driver named: ``postgresql://`` is asyncpg, ``sqlite://`` aiosqlite; another driver
    (psycopg, pysqlite) is not installed, so it is refused here rather than failing at the first connection."""
    scheme, separator, rest = settings.database_url.partition("://")
    if not separator:
        return settings
    scheme = _DRIVERS.get(scheme.lower(), scheme)
    backend = scheme.partition("+")[0].lower()
    wanted = _DRIVERS.get(backend)
    if wanted is not None and scheme.lower() != wanted:
        raise SettingsError(f"{PREFIX}DATABASE_URL: the {scheme!r} driver is not supported; use {wanted}://...")
    return msgspec.structs.replace(settings, database_url=f"{scheme}://{rest}")


def _check(settings: Settings) -> None:
    try:
        backend = make_url(settings.database_url).get_backend_name()
    except Exception as exc:  # SQLAlchemy raises ArgumentError and ValueError for malformed URLs
        raise SettingsError(f"{PREFIX}DATABASE_URL: not a database URL: {settings.database_url!r}") from exc
    if backend not in {"sqlite", "postgresql"}:
        raise SettingsError(f"{PREFIX}DATABASE_URL: unsupported database {backend!r} (use sqlite or postgresql)")
    for name, url in (
        ("PUBLIC_BASE_URL", settings.public_base_url),
        ("INDIAMART_BASE_URL", settings.indiamart_base_url),
        ("TRADEINDIA_BASE_URL", settings.tradeindia_base_url),
        ("99ACRES_BASE_URL", settings.acres99_base_url),
    ):
        if not url.startswith(("http://", "https://")):
            raise SettingsError(f"{PREFIX}{name}: must start with http:// or https://")
    try:
        delays = settings.retry_delays
    except ValueError:
        delays = (-1.0,)
    if not all(0 <= delay <= _MAX_RETRY_DELAY_S for delay in delays):  # also refuses nan and inf
        raise SettingsError(
            f"{PREFIX}DELIVERY_RETRY_SCHEDULE: expected seconds (0 to 7 days) separated by commas, e.g. 5,300,1800"
        )
    if settings.delivery_lease_seconds < settings.delivery_timeout_seconds + _LEASE_MARGIN_S:
        # A claim is sent only while its lease outlasts a whole request, so a shorter lease would never send.
        raise SettingsError(
            f"{PREFIX}DELIVERY_LEASE_SECONDS must exceed {PREFIX}DELIVERY_TIMEOUT_SECONDS by at least "
            f"{_LEASE_MARGIN_S} seconds"
        )
    _check_ingest(settings)
    if settings.secret_key and len(settings.secret_key) < _MIN_SECRET_KEY_LENGTH:
        raise SettingsError(f"{PREFIX}SECRET_KEY: must be at least {_MIN_SECRET_KEY_LENGTH} characters")
    for key in settings.encryption_key_list:
        try:
            Keyring.check_key(key)
        except ValueError as exc:
            raise SettingsError(f"{PREFIX}ENCRYPTION_KEYS: {exc}") from exc


def _check_ingest(settings: Settings) -> None:
    limits = (
        "rate_limit_ip_form",
        "rate_limit_ip",
        "rate_limit_form",
        "sign_in_limit_account",
        "sign_in_limit_address",
        "second_factor_limit",
        "password_reset_limit_account",
        "password_reset_limit_address",
    )
    for name in limits:
        value = getattr(settings, name)
        try:
            parsed = parse_many(value)
        except ValueError:
            parsed = []
        if not parsed:
            raise SettingsError(f"{PREFIX}{name.upper()}: expected limits like 10/minute or 10/minute;100/day")
    try:
        settings.trusted_proxy_networks  # noqa: B018 - parsing is the check
    except ValueError as exc:
        raise SettingsError(f"{PREFIX}TRUSTED_PROXIES: {exc}") from exc
    if settings.redis_url and not settings.redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError(f"{PREFIX}REDIS_URL: expected redis://host:port/db")
    _check_mail(settings)


def _check_mail(settings: Settings) -> None:
    if not settings.smtp_url:
        return
    try:
        parse_smtp_url(settings.smtp_url)
    except ValueError as exc:
        raise SettingsError(f"{PREFIX}SMTP_URL: {exc}") from None
    if sender_address(settings.smtp_from) is None:
        raise SettingsError(
            f"{PREFIX}SMTP_FROM: set the sender of mail, e.g. 'Leadwire <team@example.com>', with {PREFIX}SMTP_URL"
        )


def _key_file(settings: Settings, suffix: str) -> Path:
    """A development key file kept beside the database (``<db><suffix>``, or ``./.leadwire<suffix>``)."""
    db_path = settings.sqlite_path
    return db_path.with_name(db_path.name + suffix) if db_path else Path(".leadwire" + suffix.replace(".", "-"))


def _read_or_create(key_file: Path, make: Callable[[], str], valid: Callable[[str], bool]) -> str:
    """The key in ``key_file``, or a new one written there, readable by this user only."""
    if key_file.exists():
        key = key_file.read_text(encoding="utf-8").strip()
        if valid(key):
            return key
    key = make()
    try:
        key_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        # The key lives beside the database: a directory that cannot be made here cannot hold the database either.
        raise SettingsError(f"{PREFIX}DATABASE_URL: cannot create {exc.filename or key_file}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key


def _development_secret_key(settings: Settings) -> str:
    return _read_or_create(
        _key_file(settings, ".secret"),
        lambda: secrets.token_urlsafe(48),
        lambda key: len(key) >= _MIN_SECRET_KEY_LENGTH,
    )


def _development_encryption_key(settings: Settings) -> str:
    def valid(key: str) -> bool:
        try:
            Keyring.check_key(key)
        except ValueError:
            return False
        return True

    return _read_or_create(_key_file(settings, ".keys"), new_key, valid)


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read the settings from the environment and make sure a secret key is available.

    Args:
        environ: The variables to read; ``os.environ`` when omitted.

    Returns:
        The validated, frozen settings.

    Raises:
        SettingsError: An unknown ``LEADWIRE_`` variable, a bad value, or no secret key in production.
    """
    settings = _with_driver(_convert(_read_environment(dict(os.environ if environ is None else environ))))
    _check(settings)
    if not settings.secret_key:
        if settings.env == "production":
            raise SettingsError(f"{PREFIX}SECRET_KEY is required when {PREFIX}ENV=production")
        settings = msgspec.structs.replace(settings, secret_key=_development_secret_key(settings))
    if not settings.encryption_keys:
        if settings.env == "production":
            raise SettingsError(
                f"{PREFIX}ENCRYPTION_KEYS is required when {PREFIX}ENV=production "
                "(make one with: leadwire new-encryption-key)"
            )
        settings = msgspec.structs.replace(settings, encryption_keys=_development_encryption_key(settings))
    return settings

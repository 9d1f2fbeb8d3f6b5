"""The ``leadwire`` command: serve, worker, migrate, purge, workspace, member, demo, and the encryption keys."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from core.database import Database
from core.database_errors import describe_database_error
from core.logs import configure_logging
from core.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("main",)

_logger = logging.getLogger("leadwire")


def _with_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[Any]], *, write: bool) -> Any:
    if settings.is_sqlite:
        _migrate(settings)  # an SQLite file belongs to this machine: bring it up to date before using it

    async def run() -> Any:
        db = Database(settings)
        try:
            async with db.session(write=write) as session:
                return await work(session)
        finally:
            await db.dispose()

    return asyncio.run(run())


def _migrate(settings: Settings) -> None:
    import migrations

    migrations.upgrade(settings.database_url)


_START_UP_PING_S = 10.0


def _require_database(settings: Settings) -> None:
    """Stop now, with the reason, when the database cannot be reached: a server that starts anyway answers every
    request with 503 and fills its log, where one line at start-up says what to fix."""

    async def ping() -> None:
        db = Database(settings)
        try:
            await asyncio.wait_for(db.ping(), timeout=_START_UP_PING_S)
        finally:
            await db.dispose()

    asyncio.run(ping())


def _cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    _migrate(settings)
    print("database is up to date")
    return 0


def _cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from core.http_protocol import http_protocol

    if settings.is_sqlite and not args.no_migrate:
        # One process owns an SQLite file, so it is safe to migrate here; on PostgreSQL run `leadwire migrate`
        # once per release instead of letting several instances race.
        _migrate(settings)
    _require_database(settings)
    uvicorn.run(
        "app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=settings.log_level,
        # The client address comes from LEADWIRE_TRUSTED_PROXIES alone (core/client_ip.py): uvicorn's own
        # proxy handling would trust X-Forwarded-For from 127.0.0.1 by default, letting local clients pick theirs.
        proxy_headers=False,
        log_config=None,  # uvicorn's records go through configure_logging's handler and format
        server_header=False,
        # uvicorn bounds only the silence between requests; this also bounds the time to send each request's headers
        # (LEADWIRE_HEADER_TIMEOUT_SECONDS) and the unread rest of a body after an early answer.
        http=http_protocol(settings),
    )
    return 0


def _freeze_start_up_objects() -> None:
    """Keep what start-up made (modules, classes, mappers, pools) out of every later garbage collection.

    Each full pass of the collector traversed the ~110,000 objects of start-up, none of which will ever be garbage:
    about 70 µs a delivery while draining a backlog (bench/delivery.py --worker-process), 2 µs once they are frozen.
    """
    gc.collect()
    gc.freeze()


def _cmd_worker(settings: Settings, _args: argparse.Namespace) -> int:
    import signal

    from delivery.worker import DeliveryWorker
    from ingest.idempotency import InFlight
    from ingest.pipeline import SubmitServices
    from ingest.sources.pull import SourcePoller
    from ingest.writer import SubmissionWriter
    from privacy.retention import PurgeScheduler

    if settings.is_sqlite:
        _migrate(settings)
    _require_database(settings)

    async def run() -> None:
        db = Database(settings)
        worker = DeliveryWorker(db, settings)
        purger = PurgeScheduler(db, settings)
        # Pulled leads take the same pipeline as posted ones: this process writes them with a writer of its own.
        writer = SubmissionWriter(db)
        in_flight = InFlight(settings)
        poller = SourcePoller(
            SubmitServices.start(db, writer, in_flight, settings), poll_seconds=settings.delivery_poll_seconds
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            await worker.start()
            await purger.start()
            await writer.start()
            await poller.start()
            _freeze_start_up_objects()
            _logger.info(
                "delivery worker and pull sources' poller started; retention purge every %d s",
                settings.purge_interval_seconds,
            )
            await stop.wait()
            await poller.stop()
            await writer.stop()
            await purger.stop()
            await worker.stop()
        finally:
            await in_flight.close()
            await db.dispose()

    asyncio.run(run())
    return 0


def _cmd_purge(settings: Settings, args: argparse.Namespace) -> int:
    from privacy.retention import purge

    if settings.is_sqlite:
        _migrate(settings)

    async def run() -> dict[str, int]:
        db = Database(settings)
        try:
            return msgspec.structs.asdict(await purge(db))
        finally:
            await db.dispose()

    counts = asyncio.run(run())
    _print(
        counts,
        as_json=args.json,
        lines=[
            f"workspaces:               {counts['workspaces']}",
            f"spam deleted:             {counts['spam_deleted']}",
            f"submissions deleted:      {counts['submissions_deleted']}",
            f"response bodies blanked:  {counts['attempt_bodies_blanked']}",
            f"source payloads deleted:  {counts['source_payloads_deleted']}",
        ],
    )
    return 0


def _print(payload: dict[str, Any], *, as_json: bool, lines: list[str]) -> None:
    print(json.dumps(payload) if as_json else "\n".join(lines))


def _cmd_workspace_create(settings: Settings, args: argparse.Namespace) -> int:
    from workspaces import service

    async def work(session: AsyncSession) -> tuple[str, str, str]:
        workspace, key = await service.create_workspace(session, name=args.name)
        return workspace.id, workspace.name, key

    workspace_id, name, key = _with_session(settings, work, write=True)
    _print(
        {"workspace_id": workspace_id, "name": name, "api_key": key},
        as_json=args.json,
        lines=[f"workspace: {workspace_id} ({name})", f"API key:   {key}", "(the key is shown only now; keep it safe)"],
    )
    return 0


def _cmd_workspace_list(settings: Settings, args: argparse.Namespace) -> int:
    from workspaces import service

    async def work(session: AsyncSession) -> list[dict[str, str]]:
        return [
            {"workspace_id": w.id, "name": w.name, "created_at": w.created_at.isoformat()}
            for w in await service.list_workspaces(session)
        ]

    rows = _with_session(settings, work, write=False)
    if args.json:
        print(json.dumps(rows))
    else:
        for row in rows:
            print(f"{row['workspace_id']}  {row['created_at']}  {row['name']}")
    return 0


def _cmd_workspace_key(settings: Settings, args: argparse.Namespace) -> int:
    from workspaces import keys, service

    async def work(session: AsyncSession) -> str:
        await service.get_workspace(session, args.workspace_id)
        _, key = await keys.create_api_key(session, workspace_id=args.workspace_id, name=args.name, actor="cli")
        return key

    key = _with_session(settings, work, write=True)
    _print({"workspace_id": args.workspace_id, "api_key": key}, as_json=args.json, lines=[f"API key: {key}"])
    return 0


def _cmd_member_create(settings: Settings, args: argparse.Namespace) -> int:
    from workspaces import members, passwords, service

    password = passwords.one_time_password()
    hashed = passwords.hash_password(password)  # before the transaction: it takes a tenth of a second

    async def work(session: AsyncSession) -> tuple[str, str, bool]:
        await service.get_workspace(session, args.workspace)
        found, created = await members.add_member(
            session,
            workspace_id=args.workspace,
            email=args.email,
            role=args.role,
            password_hash=hashed,
            by=None,
            name=args.name,
        )
        return found.member.id, found.member.email, created

    member_id, email, created = _with_session(settings, work, write=True)
    lines = [f"member:   {member_id} ({email}), {args.role} in {args.workspace}"]
    if created:
        lines += [f"password: {password}", "(a one-time password, shown only now: change it after signing in)"]
    else:
        lines.append("(the account existed already: it signs in with its own password)")
    payload = {"member_id": member_id, "email": email, "role": args.role, "workspace_id": args.workspace}
    _print({**payload, "password": password if created else None}, as_json=args.json, lines=lines)
    return 0


def _find_member_id(session: AsyncSession, email: str) -> Awaitable[str]:
    from core.errors import NotFound
    from workspaces import members

    async def find() -> str:
        member = await members.find_member(session, email)
        if member is None:
            raise NotFound(f"no member has the address {email}")
        return member.id

    return find()


def _cmd_member_reset_password(settings: Settings, args: argparse.Namespace) -> int:
    from workspaces import members, passwords

    password = passwords.one_time_password()
    hashed = passwords.hash_password(password)

    async def work(session: AsyncSession) -> int:
        member_id = await _find_member_id(session, args.email)
        return await members.set_password(session, member_id=member_id, password_hash=hashed, actor="cli")

    ended = _with_session(settings, work, write=True)
    _print(
        {"email": args.email, "password": password, "sessions_ended": ended},
        as_json=args.json,
        lines=[
            f"password: {password}",
            f"(a one-time password, shown only now; {ended} open session(s) of {args.email} ended)",
        ],
    )
    return 0


def _cmd_member_disable_mfa(settings: Settings, args: argparse.Namespace) -> int:
    from workspaces import members

    async def work(session: AsyncSession) -> bool:
        member_id = await _find_member_id(session, args.email)
        return await members.clear_mfa(session, member_id=member_id, actor="cli")

    had = _with_session(settings, work, write=True)
    said = "second factors removed" if had else "had no second factor; nothing to remove"
    _print({"email": args.email, "had_mfa": had}, as_json=args.json, lines=[f"{args.email}: {said}"])
    return 0


def _cmd_rotate_encryption_key(settings: Settings, _args: argparse.Namespace) -> int:
    import app  # noqa: F401 - every slice's tables, so that every encrypted column is found
    from core.database import reencrypt_secrets

    count = _with_session(settings, reencrypt_secrets, write=True)
    print(f"re-encrypted the secrets of {count} rows under the first key of LEADWIRE_ENCRYPTION_KEYS")
    return 0


def _program() -> str:
    """This command as the user can type it again here: ``leadwire`` when the shell finds it, else its path.

    ``make run`` starts ``.venv/bin/leadwire``, which is not on ``PATH`` unless the virtualenv is activated.
    """
    invoked = sys.argv[0]
    if Path(invoked).name != "leadwire":
        return "leadwire"  # `python -m cli`
    found = shutil.which("leadwire")
    if found and Path(found).resolve() == Path(invoked).resolve():
        return "leadwire"
    return min(invoked, os.path.relpath(invoked), key=len)


_WORKSPACES_SHOWN = 5  # `make run` on an operator's database is not the place for all of them


def _print_existing_workspaces(settings: Settings) -> None:
    from workspaces import service

    async def work(session: AsyncSession) -> list[tuple[str, str]]:
        return [(w.id, w.name) for w in await service.list_workspaces(session)]

    base = settings.public_base_url.rstrip("/")
    print("demo: the database already has a workspace; nothing created (keys and passwords are shown only once).")
    workspaces = _with_session(settings, work, write=False)
    for workspace_id, name in workspaces[:_WORKSPACES_SHOWN]:
        print(f"  workspace:  {workspace_id}  ({name})")
        print(f"  new key:    {_program()} workspace key {workspace_id}")
    if len(workspaces) > _WORKSPACES_SHOWN:
        print(f"  and {len(workspaces) - _WORKSPACES_SHOWN} more: {_program()} workspace list")
    print(f"  console:    {base}/console")
    print(f"  lost the password?  {_program()} member reset-password --email EMAIL")


def _cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from forms import demo
    from workspaces import passwords

    password = passwords.one_time_password()
    hashed = passwords.hash_password(password)  # before the transaction: it takes a tenth of a second

    def create(session: AsyncSession) -> Awaitable[dict[str, str] | None]:
        return demo.create_demo(session, if_empty=args.if_empty, owner_password_hash=hashed)

    result = _with_session(settings, create, write=True)
    if result is None:
        _print_existing_workspaces(settings)
        return 0
    base = settings.public_base_url.rstrip("/")
    new_owner = result.pop("new_owner") == "yes"
    shown = password if new_owner else "(the account's own; unchanged)"
    _print(
        {**result, "owner_password": password if new_owner else None, "public_url": f"{base}/f/{result['form_slug']}"},
        as_json=args.json,
        lines=[
            "Demo workspace created.",
            f"  workspace:  {result['workspace_id']}",
            f"  console:    {base}/console",
            f"  owner:      {result['owner_email']}",
            f"  password:   {shown}   (one-time: shown only now; change it under Your account)",
            f"  API key:    {result['api_key']}   (shown only now; for the API, not the console)",
            f"  form:       {result['form_id']}  slug {result['form_slug']}",
            f"  public URL: {base}/f/{result['form_slug']}",
            f"  new key:    {_program()} workspace key {result['workspace_id']}",
            f"  try:        curl -H 'Authorization: Bearer {result['api_key']}' {base}/api/v1/forms",
        ],
    )
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leadwire", description="Lead-capture forms and signed webhook delivery.")
    parser.add_argument("-v", "--verbose", action="store_true", help="also log each migration as it is applied")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the HTTP API (migrates an SQLite database first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    serve.add_argument("--no-migrate", action="store_true", help="do not migrate an SQLite database on start")
    serve.set_defaults(handler=_cmd_serve)

    worker = commands.add_parser(
        "worker", help="deliver webhooks and pull the pull sources' leads (run any number beside `serve`)"
    )
    worker.set_defaults(handler=_cmd_worker)

    migrate = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate.set_defaults(handler=_cmd_migrate)

    purge = commands.add_parser(
        "purge", help="apply the workspaces' retention periods now (workers also do it on a schedule)"
    )
    purge.add_argument("--json", action="store_true")
    purge.set_defaults(handler=_cmd_purge)

    # Needs no settings: it is how a production operator makes the key that the settings then require.
    commands.add_parser("new-encryption-key", help="print a new key for LEADWIRE_ENCRYPTION_KEYS")
    commands.add_parser(
        "rotate-encryption-key",
        help="re-encrypt every stored secret under the first key of LEADWIRE_ENCRYPTION_KEYS (then drop the others)",
    ).set_defaults(handler=_cmd_rotate_encryption_key)
    demo = commands.add_parser("demo", help="create a demo workspace, key and published form")
    demo.add_argument("--if-empty", action="store_true", help="only when the database has no workspace yet")
    demo.add_argument("--json", action="store_true")
    demo.set_defaults(handler=_cmd_demo)

    workspace = commands.add_parser("workspace", help="manage workspaces").add_subparsers(dest="action", required=True)
    create = workspace.add_parser("create", help="create a workspace and print its first API key")
    create.add_argument("name")
    create.add_argument("--json", action="store_true")
    create.set_defaults(handler=_cmd_workspace_create)
    listing = workspace.add_parser("list", help="list workspaces")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_cmd_workspace_list)
    key = workspace.add_parser("key", help="mint another API key for a workspace (e.g. after losing one)")
    key.add_argument("workspace_id")
    key.add_argument("--name", default="cli key")
    key.add_argument("--json", action="store_true")
    key.set_defaults(handler=_cmd_workspace_key)
    _add_member_commands(commands)
    return parser


def _add_member_commands(commands: Any) -> None:
    member = commands.add_parser("member", help="manage the people who sign in to the console").add_subparsers(
        dest="action", required=True
    )
    made = member.add_parser("create", help="add a person to a workspace with a role; prints a one-time password")
    made.add_argument("--workspace", required=True, help="the workspace id (leadwire workspace list)")
    made.add_argument("--email", required=True)
    made.add_argument("--role", required=True, choices=["owner", "admin", "editor", "viewer"])
    made.add_argument("--name", help="a new account's name (by default the part of the address before the @)")
    made.add_argument("--json", action="store_true")
    made.set_defaults(handler=_cmd_member_create)
    reset = member.add_parser("reset-password", help="give a member a new one-time password; ends their sessions")
    reset.add_argument("--email", required=True)
    reset.add_argument("--json", action="store_true")
    reset.set_defaults(handler=_cmd_member_reset_password)
    mfa = member.add_parser("disable-mfa", help="remove a locked-out member's second factors")
    mfa.add_argument("--email", required=True)
    mfa.add_argument("--json", action="store_true")
    mfa.set_defaults(handler=_cmd_member_disable_mfa)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    from core.errors import LeadwireError

    args = _parser().parse_args(argv)
    if args.command == "new-encryption-key":
        from core.encryption import new_key

        print(new_key())
        return 0
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"leadwire: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings)
    if not args.verbose:
        # Alembic logs two INFO lines on every command, even when there is nothing to migrate.
        logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        status: int = args.handler(settings, args)
    except LeadwireError as exc:
        print(f"leadwire: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        # A database that cannot be reached, opened or logged in to is the operator's to fix: one line saying why.
        message = describe_database_error(exc, settings.database_url)
        if message is None:
            raise
        print(f"leadwire: {message}", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())

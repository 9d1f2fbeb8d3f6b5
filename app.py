"""``create_app(settings) -> Litestar``: wiring only (routes, dependencies, error handlers, lifespan)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from litestar import Litestar, Request, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig
from sqlalchemy.ext.asyncio import AsyncSession

from consent.routes import LeadConsentController, NoticeController
from console.entry import root
from console.routes import CONSOLE_TEMPLATES, console_router
from core.api_docs import docs_render_plugins
from core.compression import compression_config
from core.database import Database
from core.dependencies import provide_db_session
from core.health import healthz, readyz
from core.logs import request_id_middleware
from core.mail import Mailer
from core.metrics import Metrics
from core.middleware import limit_body_read_time, refuse_nul_in_url, refuse_unreadable_body, remember_client
from core.problem_pages import problem_page
from core.problems import document_problems, exception_handlers
from core.ratelimit import SignInLimiter, SubmitLimiter
from core.settings import Settings, load_settings
from delivery.routes import DeliveryController, EndpointController, metrics
from delivery.schemas import TEST_EVENT
from delivery.worker import DeliveryWorker
from embeds.consent_pages import confirm, confirm_page, receipt_page, withdraw
from embeds.favicon import favicon_ico, favicon_svg
from embeds.render import TEMPLATES
from embeds.routes import EmbedController, embed_js, hosted_form, submit, thank_you
from forms.routes import FormController
from ingest.idempotency import InFlight
from ingest.pipeline import SubmitServices
from ingest.sources.activity import SourceActivity
from ingest.sources.fetcher import MetaFetcher
from ingest.sources.pull import SourcePoller
from ingest.sources.routes import SourceController, hook_query, hook_receive
from ingest.writer import SubmissionWriter
from leads.events import LEAD_EVENTS
from leads.routes import LeadController, SubmissionController
from privacy.retention import PurgeScheduler
from privacy.routes import PrivacyController
from workspaces.auth import provide_caller, require_api_key
from workspaces.invitation_routes import InvitationController
from workspaces.passwords import dummy_hash
from workspaces.routes import MemberController, WorkspaceController
from workspaces.schemas import Caller

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ("VERSION", "create_app")

VERSION = "0.1.0"


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the application. Nothing touches the network or the disk until the lifespan starts.

    Args:
        settings: The configuration; read from ``LEADWIRE_*`` environment variables when omitted.
    """
    settings = settings or load_settings()
    registry = Metrics()

    @contextlib.asynccontextmanager
    async def database(app: Litestar) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            db = app.state.db = Database(settings)
            stack.push_async_callback(db.dispose)
            limiter = app.state.submit_limiter = SubmitLimiter(settings, registry)
            stack.push_async_callback(limiter.close)
            sign_in_limiter = app.state.sign_in_limiter = SignInLimiter(settings, registry)
            stack.push_async_callback(sign_in_limiter.close)
            mailer = app.state.mailer = Mailer(settings)
            stack.push_async_callback(mailer.close)  # before the database closes: a reset's mail reads it first
            await asyncio.to_thread(dummy_hash)  # made once, so the first unknown account's answer is not slower
            in_flight = InFlight(settings)
            stack.push_async_callback(in_flight.close)
            writer = SubmissionWriter(db, metrics=registry)
            await writer.start()
            stack.push_async_callback(writer.stop)
            app.state.submit_services = SubmitServices.start(db, writer, in_flight, settings, registry)
            recorder = app.state.source_activity = SourceActivity(db)
            await recorder.start()
            stack.push_async_callback(recorder.stop)  # after the fetcher has stopped: it records too
            fetcher = app.state.meta_fetcher = MetaFetcher(app.state.submit_services, activity=recorder)
            await fetcher.start()
            stack.push_async_callback(fetcher.stop)
            if settings.run_worker:
                poller = app.state.source_poller = SourcePoller(
                    app.state.submit_services, poll_seconds=settings.delivery_poll_seconds
                )
                await poller.start()
                stack.push_async_callback(poller.stop)
                worker = DeliveryWorker(db, settings, registry)
                await worker.start()
                stack.push_async_callback(worker.stop)
                purger = PurgeScheduler(db, settings)
                await purger.start()
                stack.push_async_callback(purger.stop)
            yield

    async def provide_settings() -> Settings:
        return settings

    api = Router(
        "/api/v1",
        route_handlers=[
            WorkspaceController,
            MemberController,
            InvitationController,
            FormController,
            EmbedController,
            NoticeController,
            LeadController,
            LeadConsentController,
            SubmissionController,
            PrivacyController,
            SourceController,
            EndpointController,
            DeliveryController,
        ],
        guards=[require_api_key],
        before_request=refuse_unreadable_body,
        dependencies={"caller": Provide(provide_caller)},
        security=[{"bearer": []}],
    )
    app = Litestar(
        route_handlers=[
            healthz,
            readyz,
            metrics,
            problem_page,
            hosted_form,
            submit,
            thank_you,
            embed_js,
            receipt_page,
            withdraw,
            confirm_page,
            confirm,
            hook_query,
            hook_receive,
            api,
            console_router,
            root,
            favicon_svg,
            favicon_ico,
        ],
        template_config=TemplateConfig(directory=[TEMPLATES, CONSOLE_TEMPLATES], engine=JinjaTemplateEngine),
        dependencies={"db_session": Provide(provide_db_session), "app_settings": Provide(provide_settings)},
        exception_handlers=exception_handlers(),
        compression_config=compression_config(),
        middleware=[
            request_id_middleware,
            refuse_nul_in_url,
            remember_client(settings.trusted_proxy_networks),
            limit_body_read_time(settings.body_timeout_seconds),
        ],
        logging_config=None,  # the process's logging is configured once, by configure_logging (cli.py)
        # Handlers import these only for type checking; Litestar resolves signatures with them at start-up.
        signature_types=[AsyncSession, Caller, Settings, Request],
        lifespan=[database],
        state=State({"settings": settings, "metrics": registry}),
        request_max_body_size=settings.max_request_bytes,
        openapi_config=OpenAPIConfig(
            title="Leadwire",
            version=VERSION,
            description="Lead-capture forms and signed webhook delivery. Admin calls take a Bearer API key.",
            path="/schema",
            render_plugins=docs_render_plugins("/schema", webhooks={**LEAD_EVENTS, **TEST_EVENT}),
            components=Components(
                security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer", description="lw_… API key")}
            ),
        ),
    )
    document_problems(app)
    return app

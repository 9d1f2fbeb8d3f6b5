"""The dashboard: submissions and deliveries per day over the last 30 days, and what to do first on a new workspace."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from console.charts import last_days, stacked_bars
from console.pages import OUTCOMES, VERDICTS, page
from console.session import ConsoleUser
from delivery import service as delivery
from forms import service as forms
from leads import service as leads

__all__ = ("dashboard",)


@get("/", opt={"permission": "leads:read"})
async def dashboard(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], user: NamedDependency[ConsoleUser]
) -> Template:
    days = last_days(datetime.now(UTC).date())
    since = datetime.fromisoformat(days[0]).replace(tzinfo=UTC)
    verdicts = await leads.daily_verdicts(db_session, workspace_id=user.workspace_id, since=since)
    outcomes = await delivery.daily_outcomes(db_session, workspace_id=user.workspace_id, since=since)
    submissions = stacked_bars("Submissions per day", days, VERDICTS, {(d, k): n for d, k, n in verdicts})
    deliveries = stacked_bars("Deliveries per day", days, OUTCOMES, {(d, k): n for d, k, n in outcomes})
    form_list, _ = await forms.list_forms(db_session, workspace_id=user.workspace_id, status=None, limit=1, cursor=None)
    endpoints, _ = await delivery.list_endpoints(db_session, workspace_id=user.workspace_id, limit=1, cursor=None)
    return page(
        request,
        "dashboard",
        user,
        submissions=submissions,
        deliveries=deliveries,
        verdicts=VERDICTS,
        outcomes=OUTCOMES,
        has_form=bool(form_list),
        has_endpoint=bool(endpoints),
    )

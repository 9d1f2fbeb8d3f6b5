"""The console's form editor shows a form's limits as it shows any other problem: on the page, with the values kept."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from tests.console.test_console import _editor, browser, console_settings, sign_in

if TYPE_CHECKING:
    from tests.conftest import Client, Tenant

__all__ = ("browser", "console_settings")


async def test_the_editor_names_the_limit_a_form_goes_over(browser: Client, tenant: Tenant) -> None:
    csrf = await sign_in(browser, tenant)
    created = await browser.post("/console/forms", data={"name": "Book a demo", "csrf": csrf})
    form_id = created.headers["location"].split("/")[3].split("?")[0]
    countries = "\n".join(f"Country {i}" for i in range(501))

    saved = await browser.post(f"/console/forms/{form_id}", data=_editor(csrf, 1, **{"field-2-options": countries}))
    preview = await browser.post(
        f"/console/forms/{form_id}/preview", data=_editor(csrf, 1, **{"field-2-options": countries})
    )
    form = (await browser.get(f"/api/v1/forms/{form_id}", headers=tenant.headers)).json()

    assert saved.status_code == 422
    assert "fields[2].options: at most 500 options" in html.unescape(saved.text)
    assert "Country 500" in saved.text  # what was typed is kept on the page
    assert preview.status_code == 422
    assert "at most 500 options" in preview.text
    assert form["version"] == 1

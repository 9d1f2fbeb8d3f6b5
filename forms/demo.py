"""The demo workspace and published form that ``make run`` creates on an empty database."""

from __future__ import annotations

from typing import TYPE_CHECKING

from forms import service
from forms.schemas import ConsentSpec, FieldOption, FieldSpec, FormCreate, FormSettings
from workspaces import members
from workspaces import service as workspaces

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("DEMO_FORM", "DEMO_OWNER", "create_demo")

DEMO_OWNER = "owner@example.com"
"""The demo workspace's owner, who signs in to the console with the one-time password ``make run`` prints."""

DEMO_FORM = FormCreate(
    name="Contact sales",
    status="published",
    fields=[
        FieldSpec(name="name", type="text", label="Full name", required=True, autocomplete="name", max_length=120),
        FieldSpec(name="email", type="email", label="Work email", required=True, autocomplete="email"),
        FieldSpec(name="phone", type="phone", label="Phone", help="Include your country code if outside India."),
        FieldSpec(name="company", type="text", label="Company", autocomplete="organization", max_length=120),
        FieldSpec(
            name="team_size",
            type="select",
            label="Team size",
            options=[FieldOption("1-10"), FieldOption("11-50"), FieldOption("51-200"), FieldOption("201+")],
        ),
        FieldSpec(name="message", type="textarea", label="How can we help?", max_length=2000),
    ],
    consents=[
        ConsentSpec(
            purpose="sales_contact",
            channel="email",
            text="I agree that Demo Co may contact me by email about this enquiry.",
            required=True,
        ),
        ConsentSpec(
            purpose="marketing",
            channel="email",
            text="Send me product news and offers by email. I can unsubscribe at any time.",
        ),
    ],
    settings=FormSettings(
        success_message="Thanks! We will be in touch within one working day.", default_phone_region="IN"
    ),
)


async def create_demo(session: AsyncSession, *, if_empty: bool, owner_password_hash: str) -> dict[str, str] | None:
    """Create the demo workspace, its owner, its key and a published form.

    Args:
        session: A write session.
        if_empty: Do nothing (and return ``None``) when any workspace exists already.
        owner_password_hash: The hash of the owner's one-time password (made by the caller, who prints it).

    Returns:
        The workspace id, the plaintext API key, the form's id and slug, the owner's email, and ``new_owner``
        (``"yes"``, or ``"no"`` when that address had an account already, whose own password stays).
    """
    if if_empty and await workspaces.count_workspaces(session) > 0:
        return None
    workspace, key = await workspaces.create_workspace(session, name="Demo workspace")
    _, created = await members.add_member(
        session,
        workspace_id=workspace.id,
        email=DEMO_OWNER,
        role="owner",
        password_hash=owner_password_hash,
        by=None,
        name="Demo owner",
    )
    form = await service.create_form(session, workspace_id=workspace.id, data=DEMO_FORM, actor="cli")
    return {
        "workspace_id": workspace.id,
        "api_key": key,
        "form_id": form.id,
        "form_slug": form.slug,
        "owner_email": DEMO_OWNER,
        "new_owner": "yes" if created else "no",
    }

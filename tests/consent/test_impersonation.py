"""A submission proves nothing about who sent it: someone who knows a person's email or phone learns nothing of
them, and changes neither their consent nor their lead (issue 14, item 1)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from standardwebhooks import Webhook

from tests.ingest.conftest import add_endpoint, create_form, token

if TYPE_CHECKING:
    from core.settings import Settings
    from tests.conftest import Client, Tenant
    from tests.webhooks import Receiver

VICTIM = {"name": "Pat Victim", "email": "pat.victim@example.com", "phone": "+44 20 7946 0958"}
VICTIM_PHONE = "+442079460958"


async def _post(client: Client, form: dict[str, Any], settings: Settings, **values: Any) -> str:
    """A browser post of the hosted page; returns the receipt path of the thank-you page's link."""
    body = {"_t": token(settings, form["id"]), **values}
    response = await client.post(f"/f/{form['slug']}", data=body, follow_redirects=False)
    assert response.status_code == 303, response.text
    return "/c/" + response.headers["location"].split("r=", 1)[1]


def _phone_form_fields() -> list[dict[str, Any]]:
    return [
        {"name": "name", "type": "text"},
        {"name": "email", "type": "email"},
        {"name": "phone", "type": "phone"},
        {"name": "message", "type": "textarea"},
    ]


async def _events(receiver: Receiver, endpoint: dict[str, Any], count: int) -> list[dict[str, Any]]:
    await receiver.wait_for(count)
    return [Webhook(endpoint["secret"]).verify(body, headers) for headers, body in receiver.requests[:count]]


async def _lead(client: Client, tenant: Tenant) -> dict[str, Any]:
    leads = (await client.get("/api/v1/leads", headers=tenant.headers)).json()["items"]
    assert len(leads) == 1
    detail: dict[str, Any] = (await client.get(f"/api/v1/leads/{leads[0]['id']}", headers=tenant.headers)).json()
    return detail


def _state(detail: dict[str, Any]) -> dict[str, str]:
    return {s["purpose"]: s["state"] for s in detail["consent_state"]}


async def test_a_receipt_shows_only_what_its_own_submission_carried(
    app_client: Client, tenant: Tenant, ingest_settings: Settings
) -> None:
    form = await create_form(app_client, tenant, fields=_phone_form_fields())
    await _post(app_client, form, ingest_settings, **VICTIM, consent=["sales_contact", "marketing"])

    by_phone = await _post(
        app_client, form, ingest_settings, name="Attacker", phone=VICTIM["phone"], consent="sales_contact"
    )
    by_email = await _post(
        app_client, form, ingest_settings, name="Attacker", email=VICTIM["email"], consent="sales_contact"
    )

    lead_id = (await _lead(app_client, tenant))["lead"]["id"]
    for path, known, hidden in ((by_phone, VICTIM_PHONE, "pat.victim"), (by_email, VICTIM["email"], "7946")):
        page = (await app_client.get(path)).text
        as_json = (await app_client.get(path, headers={"Accept": "application/json"})).text
        for shown in (page, as_json):
            assert hidden not in shown, "the receipt shows the lead's stored contact"
            assert "Pat Victim" not in shown
            assert lead_id not in shown
        assert known in as_json  # what the submission itself carried is its own to see


async def test_not_ticking_a_box_is_not_a_withdrawal(
    app_client: Client, tenant: Tenant, ingest_settings: Settings, receiver: Receiver
) -> None:
    form = await create_form(app_client, tenant, fields=_phone_form_fields())
    endpoint = await add_endpoint(app_client, tenant, receiver.url)
    victim = await _post(app_client, form, ingest_settings, **VICTIM, consent=["sales_contact", "marketing"])
    attacker = await _post(
        app_client, form, ingest_settings, name="Attacker", email=VICTIM["email"], consent="sales_contact"
    )

    created, updated = await _events(receiver, endpoint, 2)
    detail = await _lead(app_client, tenant)
    own = (await app_client.get(victim, headers={"Accept": "application/json"})).json()
    theirs = (await app_client.get(attacker, headers={"Accept": "application/json"})).json()

    # The attacker's submission recorded that it gave no marketing consent ...
    assert [(c["purpose"], c["state"]) for c in updated["data"]["consent"]] == [
        ("sales_contact", "given"),
        ("marketing", "refused"),
    ]
    assert [(p["purpose"], p["state"], p["current_state"]) for p in theirs["purposes"]] == [
        ("marketing", "refused", "refused"),
        ("sales_contact", "given", "given"),
    ]
    # ... and the person's consent stands, the same everywhere: their own receipt, API, webhook.
    assert [p["current_state"] for p in own["purposes"]] == ["given", "given"]
    assert _state(detail) == {"marketing": "given", "sales_contact": "given"}
    assert {s["purpose"]: s["state"] for s in updated["data"]["consent_state"]} == _state(detail)
    assert {s["purpose"]: s["state"] for s in created["data"]["consent_state"]} == _state(detail)


async def test_an_unticked_box_under_double_opt_in_takes_no_effect_either(
    app_client: Client, tenant: Tenant, ingest_settings: Settings, receiver: Receiver
) -> None:
    form = await create_form(app_client, tenant, fields=_phone_form_fields(), settings={"double_opt_in": True})
    endpoint = await add_endpoint(app_client, tenant, receiver.url)
    await _post(app_client, form, ingest_settings, **VICTIM, consent=["sales_contact", "marketing"])
    (requested,) = await _events(receiver, endpoint, 1)
    confirmed = await app_client.post(urlsplit(requested["data"]["confirmation_url"]).path)
    assert confirmed.status_code == 200
    await _events(receiver, endpoint, 2)
    assert _state(await _lead(app_client, tenant)) == {"marketing": "confirmed", "sales_contact": "confirmed"}

    pending = await _post(
        app_client, form, ingest_settings, name="Attacker", email=VICTIM["email"], consent="sales_contact"
    )
    await _events(receiver, endpoint, 3)

    assert _state(await _lead(app_client, tenant)) == {"marketing": "confirmed", "sales_contact": "confirmed"}
    receipt = (await app_client.get(pending, headers={"Accept": "application/json"})).json()
    assert receipt["awaiting_confirmation"] is True
    assert {p["current_state"] for p in receipt["purposes"]} == {"pending"}
    assert not any(p["withdrawable"] for p in receipt["purposes"])


async def test_an_unverified_submission_never_overwrites_a_known_persons_details(
    app_client: Client, tenant: Tenant, ingest_settings: Settings, receiver: Receiver
) -> None:
    form = await create_form(app_client, tenant, fields=_phone_form_fields())
    endpoint = await add_endpoint(app_client, tenant, receiver.url)
    await _post(app_client, form, ingest_settings, **VICTIM, consent=["sales_contact"])
    await _post(
        app_client,
        form,
        ingest_settings,
        name="Attacker",
        email=VICTIM["email"],
        phone="+44 20 7946 0000",
        consent="sales_contact",
    )

    _, updated = await _events(receiver, endpoint, 2)
    lead = (await _lead(app_client, tenant))["lead"]

    assert (lead["name"], lead["email"], lead["phone"]) == ("Pat Victim", VICTIM["email"], VICTIM_PHONE)
    assert lead["submission_count"] == 2
    assert lead["fields"]["name"] == "Pat Victim"
    assert updated["type"] == "lead.updated"
    assert (updated["data"]["lead"]["name"], updated["data"]["lead"]["phone"]) == ("Pat Victim", VICTIM_PHONE)
    # What the new submission said goes to the CRM in its own block: the CRM decides what to merge.
    assert updated["data"]["submission"]["fields"]["name"] == "Attacker"
    assert updated["data"]["submission"]["fields"]["phone"] == "+442079460000"


async def test_a_withdrawal_is_explicit_and_a_later_refusal_does_not_bring_back_or_lower_anything(
    app_client: Client, tenant: Tenant, ingest_settings: Settings
) -> None:
    form = await create_form(app_client, tenant, fields=_phone_form_fields())
    first = await _post(app_client, form, ingest_settings, **VICTIM, consent=["sales_contact", "marketing"])
    withdrawn = await app_client.post(f"{first}/withdraw", data={"purpose": "marketing"}, follow_redirects=False)
    await _post(app_client, form, ingest_settings, **VICTIM, consent=["sales_contact"], message="again")
    state_after_refusal = _state(await _lead(app_client, tenant))
    await _post(app_client, form, ingest_settings, **VICTIM, consent=["sales_contact", "marketing"], message="3")

    assert withdrawn.status_code == 303
    assert state_after_refusal == {"marketing": "withdrawn", "sales_contact": "given"}
    assert _state(await _lead(app_client, tenant)) == {"marketing": "given", "sales_contact": "given"}
    receipt = (await app_client.get(first, headers={"Accept": "application/json"})).json()
    # The first receipt's marketing consent was withdrawn: giving it again later is a new consent, on a new receipt.
    assert {p["purpose"]: p["current_state"] for p in receipt["purposes"]} == {
        "marketing": "withdrawn",
        "sales_contact": "given",
    }

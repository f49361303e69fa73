"""Opening a prospect's profile: picked in Find's type-ahead, from Find's list, or from an opt-out notification.
"Edit prospect" on the profile is the edit feature's."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from handlers import payloads
from handlers.access import MEMBERS
from handlers.blocks import build_notice_modal
from handlers.campaign_choices import UNAVAILABLE
from handlers.errors import user_message
from handlers.listening import acknowledge
from handlers.profile.views import build_profile_modal
from handlers.services import services_of
from storage.campaigns import is_member
from storage.db import Database
from storage.errors import ProspectNotFound
from storage.prospects import prospect_details


def handle_prospect_picked(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    value = body["actions"][0].get("selected_option", {}).get("value", "")
    if value == UNAVAILABLE:
        return  # the "database unavailable" placeholder option
    try:
        metadata = payloads.decode(body["view"].get("private_metadata"))
    except payloads.StalePayload:
        metadata = {"c": "stale"}  # turned into "this screen is out of date" below
    # Not an id (a forged value): "this screen is out of date" too.
    _push_profile(client, services_of(context).database, body,
                  prospect_value={"p": payloads.option_id(value), "c": metadata.get("c")})


def handle_listed_prospect(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    try:
        data = payloads.decode(body["actions"][0].get("value"))
    except payloads.StalePayload:
        data = {}
    _push_profile(client, services_of(context).database, body, prospect_value=data)


def handle_notification_profile(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    try:
        data = payloads.decode(body["actions"][0].get("value"))
        with services_of(context).database.snapshot() as session:
            details = prospect_details(session, payloads.identifier(data, "p"))
        view = build_profile_modal(details)
    except Exception as error:  # noqa: BLE001
        view = build_notice_modal("Prospect", f":warning: {user_message(error)}")
    client.views_open(trigger_id=body["trigger_id"], view=view)


def _push_profile(client: WebClient, database: Database, body: dict[str, Any], *,
                  prospect_value: dict[str, Any]) -> None:
    """Pushes the profile of the prospect named by `prospect_value` ({"p": id, "c": campaign id or None}) over the
    current view, after checking that the ids exist and belong together."""
    try:
        prospect_id = payloads.identifier(prospect_value, "p")
        campaign_id = payloads.identifier(prospect_value, "c", required=False)
        with database.snapshot() as session:
            details = prospect_details(session, prospect_id)
            if campaign_id is not None and not is_member(session, prospect_id, campaign_id):
                raise ProspectNotFound("This prospect is no longer in that campaign. Run /prospect to search again.")
        view = build_profile_modal(details, campaign_id=campaign_id, close="Back")
    except Exception as error:  # noqa: BLE001
        view = build_notice_modal("Prospect", f":warning: {user_message(error)}", close="Back")
    client.views_push(trigger_id=body["trigger_id"], view=view)


def register(app: App) -> None:
    app.action("find.prospect", middleware=MEMBERS)(ack=acknowledge, lazy=[handle_prospect_picked])
    app.action("find.view", middleware=MEMBERS)(ack=acknowledge, lazy=[handle_listed_prospect])
    app.action("notify.open_profile", middleware=MEMBERS)(ack=acknowledge, lazy=[handle_notification_profile])

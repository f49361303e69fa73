"""Opening a prospect's profile, and "Edit prospect" on it."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from handlers import payloads
from handlers.access import gate
from handlers.blocks import build_notice_modal
from handlers.context import Services
from handlers.edit.views import build_edit_modal
from handlers.errors import user_message
from handlers.profile.views import build_profile_modal
from storage.campaigns import is_member
from storage.db import Database
from storage.errors import ProspectNotFound
from storage.prospects import prospect_details


def register(app: App, services: Services) -> None:
    database = services.database

    def acknowledge(ack: Ack) -> None:
        ack()

    def edit_prospect(body: dict[str, Any], client: WebClient) -> None:
        try:
            data = payloads.decode(body["actions"][0].get("value"))
            prospect_id = payloads.identifier(data, "p")
            campaign_id = payloads.identifier(data, "c", required=False)
            with database.snapshot() as session:
                details = prospect_details(session, prospect_id)
            access = services.roles.access(body["user"]["id"])
            view = build_edit_modal(details, campaign_id=campaign_id, is_manager=access.is_manager,
                                    can_delete=access.is_manager or services.members_can_delete)
        except Exception as error:  # noqa: BLE001
            view = build_notice_modal("Edit prospect", f":warning: {user_message(error)}", close="Back")
        client.views_push(trigger_id=body["trigger_id"], view=view)

    app.action("profile.edit", middleware=[gate(services.roles)])(ack=acknowledge, lazy=[edit_prospect])


def open_profile(client: WebClient, database: Database, body: dict[str, Any], *, prospect_value: dict[str, Any]) -> None:
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

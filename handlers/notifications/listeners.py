"""The "Open profile" button on opt-out notifications."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from handlers import payloads
from handlers.access import gate
from handlers.blocks import build_notice_modal
from handlers.context import Services
from handlers.errors import user_message
from handlers.profile.views import build_profile_modal
from storage.prospects import prospect_details


def register(app: App, services: Services) -> None:
    def acknowledge(ack: Ack) -> None:
        ack()

    def open_profile(body: dict[str, Any], client: WebClient) -> None:
        try:
            data = payloads.decode(body["actions"][0].get("value"))
            with services.database.snapshot() as session:
                details = prospect_details(session, payloads.identifier(data, "p"))
            view = build_profile_modal(details)
        except Exception as error:  # noqa: BLE001
            view = build_notice_modal("Prospect", f":warning: {user_message(error)}")
        client.views_open(trigger_id=body["trigger_id"], view=view)

    app.action("notify.open_profile", middleware=[gate(services.roles)])(ack=acknowledge, lazy=[open_profile])

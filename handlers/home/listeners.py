"""App Home: published when a user opens it."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from handlers.access import gate
from handlers.context import Services
from handlers.find.views import build_find_modal
from handlers.home.views import build_home


def register(app: App, services: Services) -> None:
    def publish_home(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab") == "home":
            client.views_publish(user_id=event["user"], view=build_home(event["user"]))

    def acknowledge(ack: Ack) -> None:
        ack()

    app.event("app_home_opened")(ack=acknowledge, lazy=[publish_home])

    def open_find(body: dict[str, Any], client: WebClient) -> None:
        client.views_open(trigger_id=body["trigger_id"], view=build_find_modal())

    app.action("home.find", middleware=[gate(services.roles)])(ack=acknowledge, lazy=[open_find])

"""Slack listeners, grouped by feature. `register_listeners` is the one entry the app factory calls."""

from __future__ import annotations

from slack_bolt import App

from handlers.bulk import listeners as bulk_listeners
from handlers.context import Services
from handlers.edit import listeners as edit_listeners
from handlers.find import listeners as find_listeners
from handlers.home import listeners as home_listeners
from handlers.notifications import listeners as notification_listeners
from handlers.profile import listeners as profile_listeners


def register_listeners(app: App, services: Services) -> None:
    for feature in (find_listeners, profile_listeners, edit_listeners, bulk_listeners, home_listeners,
                    notification_listeners):
        feature.register(app, services)

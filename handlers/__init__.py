"""Slack listeners, grouped by feature. `register_listeners` is the one entry the app factory calls, after
installing the services every listener reads from its context (handlers.services.provide).

Layers, from the bottom: Block Kit helpers, payload parsing and error sentences (blocks, payloads, errors);
each feature's pure view builders (<feature>/views.py); what listeners share (services, access, listening,
campaign_choices, app_home, decision_announcer); each feature's listeners (<feature>/listeners.py). A listener
never imports another feature's listeners; it may show another feature's view."""

from __future__ import annotations

from slack_bolt import App

from handlers.bulk import listeners as bulk
from handlers.edit import listeners as edit
from handlers.find import listeners as find
from handlers.home import listeners as home
from handlers.profile import listeners as profile
from handlers.replies import listeners as replies


def register_listeners(app: App) -> None:
    for feature in (find, profile, edit, bulk, home, replies):
        feature.register(app)

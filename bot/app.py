"""The app factory: builds the Bolt app from settings. Production (Socket Mode and HTTP) and the tests use it."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from slack_bolt import App, BoltResponse

from bot.settings import Settings
from bot.slack_client import slack_client
from handlers import register_listeners
from handlers.access import RoleDirectory
from handlers.services import Services, provide
from storage.db import Database

log = logging.getLogger(__name__)


def create_app(settings: Settings, database: Database, *, socket_mode: bool = False, verify_token: bool = False) -> App:
    """`verify_token`: ask Slack who the bot is (auth.test) now, as the runners do once they have checked the token
    themselves. Otherwise Bolt asks on the first request, before it is acknowledged: a Slack outage or slowness
    at that moment would turn it into Bolt's "reinstall this app", a 500, or an answer past Slack's three seconds."""
    client = slack_client(settings.slack_bot_token, settings.slack_api_url)
    app = App(
        client=client,
        # Socket Mode connections are authenticated by the app-level token. HTTP requests by their signature, which
        # bot/web.py checks on the bytes Slack signed before it hands Bolt the body re-read as JSON (Bolt misreads
        # some forms): Bolt's own check would see those other bytes.
        signing_secret=None if socket_mode else settings.slack_signing_secret,
        request_verification_enabled=False,
        # The runners check the token themselves first, to say clearly what is wrong with it.
        token_verification_enabled=verify_token,
        # Listeners run in the request thread and answer as soon as they ack; anything slow is a lazy listener.
        process_before_response=True,
        raise_error_for_unhandled_request=False,
    )
    # Role checks run before the acknowledgement, inside Slack's three seconds: a short timeout, no retries.
    role_client = slack_client(settings.slack_bot_token, settings.slack_api_url, timeout=2, retries=False)
    directory = RoleDirectory(database, role_client, manager_group=settings.slack_manager_group,
                              member_group=settings.slack_member_group, cache_seconds=settings.role_cache_seconds)
    app.use(provide(Services(
        database=database, secret_key=settings.secret_key, roles=directory,
        approvals_channel=settings.slack_approvals_channel,
        request_ttl=dt.timedelta(days=settings.bulk_request_ttl_days), members_can_delete=settings.members_can_delete,
    )))
    register_listeners(app)

    @app.error
    def log_unexpected(error: Exception, body: dict[str, Any]) -> BoltResponse:
        log.error("unhandled error in a Slack listener (payload type %s)", body.get("type"), exc_info=error)
        return BoltResponse(status=500, body="")

    return app

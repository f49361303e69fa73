"""Running the bot: Socket Mode (`prospectbot run`) and HTTP on a production WSGI server (`prospectbot serve`)."""

from __future__ import annotations

import logging
import threading

from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.app import create_app
from bot.notifier import Notifier
from bot.settings import WHERE_TO_FIND, ConfigurationError, Settings, require_slack
from bot.web import SLACK_PATH, create_wsgi_app
from storage.db import Database

log = logging.getLogger(__name__)
REFUSED_TOKEN_ERRORS = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}


def check_bot_token(client: WebClient, settings: Settings) -> str:
    """Asks Slack who the bot is; returns the workspace name, or says clearly what is wrong with the token."""
    try:
        identity = client.auth_test()
    except SlackApiError as error:
        code = error.response.get("error", "unknown_error")
        if code in REFUSED_TOKEN_ERRORS:
            raise ConfigurationError(
                f"SLACK_BOT_TOKEN was refused by Slack ({code}): use {WHERE_TO_FIND['SLACK_BOT_TOKEN']}."
            ) from None
        raise ConfigurationError(f"Slack answered {code} when checking SLACK_BOT_TOKEN.") from None
    except (SlackClientError, OSError) as error:
        raise ConfigurationError(f"Can not reach Slack at {settings.slack_api_url} ({error}).") from None
    return str(identity.get("team") or identity.get("team_id") or "your workspace")


def run_socket_mode(settings: Settings, database: Database, *, stop: threading.Event | None = None) -> None:
    require_slack(settings, "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")
    team = check_bot_token(WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url), settings)
    app = create_app(settings, database, socket_mode=True, verify_token=True)
    handler = SocketModeHandler(app, app_token=settings.slack_app_token)
    try:
        handler.connect()
    except SlackApiError as error:
        code = error.response.get("error", "unknown_error")
        raise ConfigurationError(
            f"SLACK_APP_TOKEN was refused by Slack ({code}): use {WHERE_TO_FIND['SLACK_APP_TOKEN']}."
        ) from None
    stop = stop or threading.Event()
    notifier = start_notifier(settings, database, app.client, stop)
    log.info("connected to %s over Socket Mode; press Ctrl+C to stop", team)
    try:
        stop.wait()
    finally:
        stop.set()
        handler.close()
        notifier.join(timeout=15)


def serve_http(settings: Settings, database: Database, *, host: str, port: int, threads: int = 8) -> None:
    from waitress import create_server

    require_slack(settings, "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    check_bot_token(WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url), settings)
    app = create_app(settings, database, verify_token=True)
    server = create_server(create_wsgi_app(app, database, settings), host=host, port=port, threads=threads)
    stop = threading.Event()
    notifier = start_notifier(settings, database, app.client, stop)
    log.info("listening on http://%s:%s — Slack requests at %s, unsubscribe links at /unsubscribe/…, health check "
             "at /healthz", host, server.effective_port, SLACK_PATH)
    try:
        server.run()
    finally:
        stop.set()
        notifier.join(timeout=15)


def start_notifier(settings: Settings, database: Database, client: WebClient,
                   stop: threading.Event) -> threading.Thread:
    """The outbox worker, in a thread beside the listeners."""
    if not settings.slack_notify_channel:
        log.info("SLACK_NOTIFY_CHANNEL is not set: opt-outs are announced only in campaigns with their own channel")
    return Notifier(database, client, default_channel=settings.slack_notify_channel).start_in_background(stop)


def run_worker(settings: Settings, database: Database, *, stop: threading.Event | None = None) -> None:
    require_slack(settings, "SLACK_BOT_TOKEN")
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    check_bot_token(client, settings)
    log.info("delivering opt-out notifications; press Ctrl+C to stop")
    Notifier(database, client, default_channel=settings.slack_notify_channel).run(stop or threading.Event())

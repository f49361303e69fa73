"""Running the bot: Socket Mode (`prospectbot run`) and HTTP on a production WSGI server (`prospectbot serve`)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.app import create_app
from bot.notifier import Notifier
from bot.settings import WHERE_TO_FIND, ConfigurationError, Settings, require_slack
from bot.slack_client import slack_client
from bot.web import SLACK_MAX_BODY, SLACK_PATH, create_wsgi_app
from storage.db import Database

log = logging.getLogger(__name__)
REFUSED_TOKEN_ERRORS = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
SLACK_LIBRARIES = ("slack_sdk", "slack_bolt")

# waitress as it faces the internet (README: "Limits and slow clients"). A connection costs a socket and a few
# KiB, not a thread: 1,000 leave room for hundreds of slow or idle clients (120 filled waitress's default of 100
# and starved everyone else). What a client that trickles a header line forever holds, only a proxy in front takes
# back: waitress times out idle connections, not slow ones.
CONNECTION_LIMIT = 1000
SERVER_SETTINGS = {
    # Above the largest body an endpoint reads (Slack's), refused before it is buffered: waitress refuses a
    # Content-Length at or above this at once, and a chunked body as soon as it grows to it.
    "max_request_body_size": SLACK_MAX_BODY + 1,
    # Slack's and browsers' headers take 1-4 KiB; Node.js allows 16 KiB too. Held in memory per connection.
    "max_request_header_size": 16 << 10,
    # A body above 64 KiB waits in a temporary file, not memory: 1,000 connections hold at most 64 MiB of bodies.
    "inbuf_overflow": 64 << 10,
    # A connection that sent nothing for 30 s is closed (never one with a request in progress); checked every
    # 10 s. Above a proxy's keepalive timeout for its idle upstream connections (20 s in the README's nginx).
    "channel_timeout": 30,
    "cleanup_interval": 10,
    # poll(), not select(): select() can not watch a descriptor numbered 1,024 or above.
    "asyncore_use_poll": True,
}
# The open files a connection can hold (its socket, and the temporary file of a body above inbuf_overflow), and
# what the rest of the process needs (the database's pool, Slack's client, waitress's own pipe, logs).
FILES_PER_CONNECTION = 2
FILES_BESIDE_CONNECTIONS = 100


class _SlackLibraries(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith(SLACK_LIBRARIES)


@contextmanager
def quiet_start() -> Iterator[None]:
    """Until the bot is connected, a failure ends the process with one line that says what to fix (a
    ConfigurationError); the Slack libraries' own lines about it (the failed request, the retry, Bolt's warnings)
    would only bury that line. At DEBUG level they are shown."""
    if logging.getLogger().getEffectiveLevel() <= logging.DEBUG:
        yield
        return
    quiet = _SlackLibraries()
    # Records reach the root logger's handlers, or Python's last resort when logging is not configured.
    handlers = [*logging.getLogger().handlers, logging.lastResort]
    for handler in handlers:
        if handler is not None:
            handler.addFilter(quiet)
    try:
        yield
    finally:
        for handler in handlers:
            if handler is not None:
                handler.removeFilter(quiet)


def check_bot_token(settings: Settings) -> str:
    """Asks Slack who the bot is; returns the workspace name, or says clearly what is wrong with the token."""
    try:
        identity = slack_client(settings.slack_bot_token, settings.slack_api_url).auth_test()
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
    with quiet_start():
        team = check_bot_token(settings)
        app = create_app(settings, database, socket_mode=True, verify_token=True)
        handler = SocketModeHandler(app, app_token=settings.slack_app_token)
        _connect(handler)
    stop = stop or threading.Event()
    notifier = start_notifier(settings, database, stop)
    log.info("connected to %s over Socket Mode; press Ctrl+C to stop", team)
    try:
        stop.wait()
    finally:
        stop.set()
        handler.close()
        notifier.join(timeout=15)


def _connect(handler: SocketModeHandler) -> None:
    try:
        handler.connect()
    except SlackApiError as error:
        handler.close()
        code = error.response.get("error", "unknown_error")
        if error.response.status_code >= 500:
            raise ConfigurationError(f"Slack answered {error.response.status_code} ({code}) when opening the "
                                     "Socket Mode connection: try again in a moment.") from None
        raise ConfigurationError(
            f"SLACK_APP_TOKEN was refused by Slack ({code}): use {WHERE_TO_FIND['SLACK_APP_TOKEN']}."
        ) from None
    except (SlackClientError, OSError) as error:
        handler.close()
        raise ConfigurationError(f"Can not open a Socket Mode connection to Slack ({error}).") from None


def serve_http(settings: Settings, database: Database, *, host: str, port: int, threads: int = 8) -> None:
    """`threads` run requests once they have fully arrived: waitress reads them in its own loop, so a slow client
    never holds a thread, only a connection."""
    from waitress import create_server

    require_slack(settings, "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    with quiet_start():
        check_bot_token(settings)
        app = create_app(settings, database, verify_token=True)
    try:
        server = create_server(create_wsgi_app(app, database, settings), host=host, port=port, threads=threads,
                               connection_limit=connection_limit_for_open_files(CONNECTION_LIMIT),
                               **SERVER_SETTINGS)
    except OSError as error:
        raise ConfigurationError(f"Can not listen on {host}:{port} ({error.strerror or error}).") from None
    stop = threading.Event()
    notifier = start_notifier(settings, database, stop)
    log.info("listening on http://%s:%s — Slack requests at %s, unsubscribe links at /unsubscribe/…, health check "
             "at /healthz", host, server.effective_port, SLACK_PATH)
    try:
        server.run()
    finally:
        stop.set()
        notifier.join(timeout=15)


def connection_limit_for_open_files(wanted: int) -> int:
    """Raises the soft limit on open files (`ulimit -n`, often 1,024) to what `wanted` connections need, as far as
    the hard limit allows, and returns how many connections fit under it: past it, accept() would fail on every turn
    of waitress's loop, and a connection that had its socket could not get a temporary file for its body."""
    import resource

    needed = wanted * FILES_PER_CONNECTION + FILES_BESIDE_CONNECTIONS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return wanted
    raised = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
    except (ValueError, OSError):
        raised = soft
    if raised >= needed:
        log.info("raised the open-file limit (ulimit -n) from %d to %d, what %d connections need", soft, raised, wanted)
        return wanted
    allowed = max(1, (raised - FILES_BESIDE_CONNECTIONS) // FILES_PER_CONNECTION)
    log.warning("the open-file limit (ulimit -n) is %d, which allows %d connections at once, not %d: raise its hard "
                "limit to %d (LimitNOFILE= in a systemd unit, nofile in limits.conf)", raised, allowed, wanted, needed)
    return allowed


def notifier_for(settings: Settings, database: Database) -> Notifier:
    # No retries in the client: the outbox retries, without holding up the rest of the queue.
    return Notifier(database, slack_client(settings.slack_bot_token, settings.slack_api_url, retries=False),
                    default_channel=settings.slack_notify_channel)


def start_notifier(settings: Settings, database: Database, stop: threading.Event) -> threading.Thread:
    """The outbox worker, in a thread beside the listeners; and the mailbox readers, when mailboxes are set."""
    if not settings.slack_notify_channel:
        log.info("SLACK_NOTIFY_CHANNEL is not set: opt-outs are announced only in campaigns with their own channel")
    start_inbox(settings, database, stop)
    return notifier_for(settings, database).start_in_background(stop)


def start_inbox(settings: Settings, database: Database, stop: threading.Event) -> list[threading.Thread]:
    if not settings.mailboxes:
        return []
    from bot.inbox import InboxReader

    return InboxReader(settings, database).start_in_background(stop)


def run_worker(settings: Settings, database: Database, *, stop: threading.Event | None = None) -> None:
    require_slack(settings, "SLACK_BOT_TOKEN")
    with quiet_start():
        check_bot_token(settings)
    log.info("delivering opt-out notifications; press Ctrl+C to stop")
    stop = stop or threading.Event()
    start_inbox(settings, database, stop)
    notifier_for(settings, database).run(stop)

"""The long-running processes: the Slack bot over Socket Mode (`run`) or HTTP (`serve`), the notification
worker alone (`worker`), and the mailbox reader alone (`inbox`), with the logging they share."""

from __future__ import annotations

import logging
import os

import click

from bot.cli.runtime import Runtime, pass_runtime
from bot.settings import ConfigurationError, require_slack
from storage.db import Database

LOG_LEVEL_VARIABLE = "PROSPECTBOT_LOG_LEVEL"
LOG_LEVELS = ("debug", "info", "warning", "error")


def log_level() -> int:
    """PROSPECTBOT_LOG_LEVEL, in any case; unset or empty is info."""
    value = os.environ.get(LOG_LEVEL_VARIABLE, "")
    name = value.strip().lower() or "info"
    if name not in LOG_LEVELS:
        raise ConfigurationError(f'{LOG_LEVEL_VARIABLE} must be one of {", ".join(LOG_LEVELS)}, not "{value}".')
    return logging.getLevelNamesMapping()[name.upper()]


def start(runtime: Runtime, *slack_settings: str) -> Database:
    """Checks what the process needs, opens the database, then logs to stderr at PROSPECTBOT_LOG_LEVEL. Logging
    starts once the database is open, as in the other commands, so that a first start that fails says one line,
    not a migration notice before it."""
    level = log_level()
    require_slack(runtime.settings, *slack_settings)
    database = runtime.database()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return database


@click.command()
@pass_runtime
def run(runtime: Runtime) -> None:
    """Run the Slack bot over Socket Mode (no public URL needed): SLACK_BOT_TOKEN and SLACK_APP_TOKEN."""
    from bot.runners import run_socket_mode

    database = start(runtime, "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")
    run_socket_mode(runtime.settings, database)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=3000, show_default=True)
@pass_runtime
def serve(runtime: Runtime, host: str, port: int) -> None:
    """Serve Slack's requests over HTTP at /slack/events (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET), plus /healthz."""
    from bot.runners import serve_http

    database = start(runtime, "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    serve_http(runtime.settings, database, host=host, port=port)


@click.command()
@pass_runtime
def worker(runtime: Runtime) -> None:
    """Deliver opt-out notifications to Slack (also runs inside `run` and `serve`)."""
    from bot.runners import run_worker

    database = start(runtime, "SLACK_BOT_TOKEN")
    run_worker(runtime.settings, database)


@click.command()
@click.option("--once", is_flag=True, help="Read every mailbox to the end once, print what was done, and exit.")
@pass_runtime
def inbox(runtime: Runtime, once: bool) -> None:
    """Read the mailboxes in IMAP_MAILBOXES for replies, bounces and mailto: unsubscribes, and act on them (also
    runs inside `worker`, `run` and `serve`)."""
    import threading

    from bot.inbox import InboxReader

    if not runtime.settings.mailboxes:
        raise ConfigurationError("No mailbox to read: set IMAP_MAILBOXES (see the README, \"Replies, bounces and "
                                 "mailto: unsubscribes\").")
    database = start(runtime)
    reader = InboxReader(runtime.settings, database)
    if once:
        counts = reader.read_all_once()
        summary = ", ".join(f"{count:,} {outcome}" for outcome, count in sorted(counts.items())) or "no new message"
        click.echo(f"Read {len(runtime.settings.mailboxes)} mailbox(es): {summary}.")
        if counts.get("mailbox-error"):
            raise click.exceptions.Exit(1)
        return
    stop = threading.Event()
    threads = reader.start_in_background(stop)
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=1.0)
    except KeyboardInterrupt:
        stop.set()

"""The HTTP endpoints `prospectbot serve` runs: Slack's requests and a health check for load balancers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import text

from storage.db import Database

SLACK_PATH = "/slack/events"
StartResponse = Callable[..., Any]


def create_wsgi_app(app: App, database: Database) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    slack = SlackRequestHandler(app, path=SLACK_PATH)

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == SLACK_PATH:
            return slack(environ, start_response)
        if path == "/healthz" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return _health(database, start_response)
        return _reply(start_response, "404 Not Found", {"error": "not found"})

    return application


def _health(database: Database, start_response: StartResponse) -> Iterable[bytes]:
    try:
        with database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not ready"; the reason is for logs, not callers
        return _reply(start_response, "503 Service Unavailable", {"ok": False, "database": "unavailable"})
    return _reply(start_response, "200 OK", {"ok": True, "database": "ok"})


def _reply(start_response: StartResponse, status: str, payload: dict[str, Any]) -> Iterable[bytes]:
    body = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]

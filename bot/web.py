"""The HTTP endpoints `prospectbot serve` runs: Slack's requests and a health check for load balancers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import text

from bot import unsubscribe_pages as pages
from bot.settings import Settings, sender_name
from storage import unsubscribe
from storage.db import Database
from storage.errors import DatabaseUnavailable

SLACK_PATH = "/slack/events"
UNSUBSCRIBE_PREFIX = "/unsubscribe/"
ONE_CLICK_BODY = b"List-Unsubscribe=One-Click"
StartResponse = Callable[..., Any]


def create_wsgi_app(app: App, database: Database, settings: Settings) -> Callable[[dict[str, Any], StartResponse],
                                                                                   Iterable[bytes]]:
    slack = SlackRequestHandler(app, path=SLACK_PATH)
    sender = sender_name(settings)

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == SLACK_PATH:
            return slack(environ, start_response)
        if path.startswith(UNSUBSCRIBE_PREFIX):
            return _unsubscribe(environ, start_response, path[len(UNSUBSCRIBE_PREFIX):], method)
        if path == "/healthz" and method in ("GET", "HEAD"):
            return _health(database, start_response)
        return _reply(start_response, "404 Not Found", {"error": "not found"})

    def _unsubscribe(environ: dict[str, Any], start_response: StartResponse, token: str,
                     method: str) -> Iterable[bytes]:
        membership_id = unsubscribe.membership_for_token(settings.secret_key, token)
        if membership_id is None:
            return _html(start_response, "404 Not Found", pages.not_found_page())
        try:
            if method in ("GET", "HEAD"):
                # Link scanners fetch every URL in a message: a GET only shows the question.
                with database.snapshot() as session:
                    target = unsubscribe.describe(session, membership_id)
                if target is None:
                    return _html(start_response, "404 Not Found", pages.not_found_page())
                return _html(start_response, "200 OK", pages.confirm_page(sender, target.masked_email,
                                                                           UNSUBSCRIBE_PREFIX + token))
            if method != "POST":
                return _html(start_response, "405 Method Not Allowed", pages.not_found_page(), allow="GET, POST")
            body = _read_body(environ)
            with database.transaction() as session:
                result = unsubscribe.unsubscribe(session, membership_id)
        except DatabaseUnavailable:
            return _html(start_response, "503 Service Unavailable", pages.unavailable_page(), retry_after="60")
        if result is None:
            return _html(start_response, "404 Not Found", pages.not_found_page())
        # Committed above: only now is the person told it is done.
        if ONE_CLICK_BODY in body:
            return _text(start_response, "200 OK", "Unsubscribed.")
        return _html(start_response, "200 OK", pages.done_page(sender, result.masked_email,
                                                                already=result.outcome != "unsubscribed"))

    return application


def _read_body(environ: dict[str, Any], limit: int = 4096) -> bytes:
    try:
        length = min(int(environ.get("CONTENT_LENGTH") or 0), limit)
    except ValueError:
        length = 0
    return environ["wsgi.input"].read(length) if length > 0 else b""


def _html(start_response: StartResponse, status: str, body: bytes, *, allow: str | None = None,
          retry_after: str | None = None) -> Iterable[bytes]:
    headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body))),
               ("Cache-Control", "no-store"), ("Referrer-Policy", "no-referrer")]
    if allow:
        headers.append(("Allow", allow))
    if retry_after:
        headers.append(("Retry-After", retry_after))
    start_response(status, headers)
    return [body]


def _text(start_response: StartResponse, status: str, text: str) -> Iterable[bytes]:
    body = text.encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


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

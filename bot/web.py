"""The HTTP endpoints `prospectbot serve` runs: Slack's requests and a health check for load balancers."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier
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

log = logging.getLogger(__name__)


def create_wsgi_app(app: App, database: Database, settings: Settings) -> Callable[[dict[str, Any], StartResponse],
                                                                                   Iterable[bytes]]:
    slack = SlackRequestHandler(app, path=SLACK_PATH)
    verifier = SignatureVerifier(settings.slack_signing_secret) if settings.slack_signing_secret else None
    sender = sender_name(settings)

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == SLACK_PATH:
            return _slack(environ, start_response)
        if path.startswith(UNSUBSCRIBE_PREFIX):
            return _unsubscribe(environ, start_response, path[len(UNSUBSCRIBE_PREFIX):], method)
        if path == "/healthz" and method in ("GET", "HEAD"):
            return _health(database, start_response)
        return _reply(start_response, "404 Not Found", {"error": "not found"})

    def _slack(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """The signature is checked here, before Bolt reads the request: Bolt parses the body first and raises on
        one it can not read (not JSON, not UTF-8), and its own check raises on a timestamp that is not a number.
        Whoever posts such garbage without Slack's signature gets a 401 like any other forger, not a 500 and a
        traceback in the log. (Bolt checks the signature again.) A signed request Bolt can not read is a 400."""
        body = _read_body(environ, limit=None)
        if verifier is not None and not _signed(verifier, environ, body):
            return _reply(start_response, "401 Unauthorized", {"error": "invalid request"})
        environ = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
        try:
            return slack(environ, start_response)
        except Exception as error:  # noqa: BLE001 - raised before Bolt answered anything
            log.warning("could not read a signed request to %s (%s)", SLACK_PATH, type(error).__name__)
            return _reply(start_response, "400 Bad Request", {"error": "bad request"})

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


def _read_body(environ: dict[str, Any], limit: int | None = 4096) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if limit is not None:
        length = min(length, limit)
    return environ["wsgi.input"].read(length) if length > 0 else b""


def _signed(verifier: SignatureVerifier, environ: dict[str, Any], body: bytes) -> bool:
    """Whether Slack signed this request, by the same rule as Bolt (a signature less than five minutes old)."""
    try:
        return verifier.is_valid(body=body.decode(), timestamp=environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP"),
                                 signature=environ.get("HTTP_X_SLACK_SIGNATURE"))
    except ValueError:  # a body that is not UTF-8, a timestamp that is not a number
        return False


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

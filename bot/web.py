"""The HTTP endpoints `prospectbot serve` runs: Slack's requests and a health check for load balancers."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import text

from bot import unsubscribe_pages as pages
from bot.settings import Settings, sender_name
from storage import replays, unsubscribe
from storage.db import Database
from storage.errors import DatabaseUnavailable
from storage.models import utcnow
from storage.replays import StoredAnswer

SLACK_PATH = "/slack/events"
UNSUBSCRIBE_PREFIX = "/unsubscribe/"
ONE_CLICK_BODY = b"List-Unsubscribe=One-Click"
# The most each endpoint ever legitimately receives: a request that declares more is refused (413) from its
# Content-Length, before a byte of its body is read or decoded; waitress refuses anything above the largest of them
# before buffering it (bot/runners.py). Slack's largest request is an interaction carrying one view, which Slack
# caps at 250 KB of JSON (`view_too_large`), with what Slack adds to it and what was typed into its inputs (the
# longest here takes 2,400 characters). Form-encoding at most triples a byte, so even a view made only of bytes it
# triples arrives under 1 MiB, and 2 MiB leaves that worst case twice over. A modal filled with text to Block Kit's
# limits (100 sections of 3,000 characters) arrives as about 270 KB; a slash command, as a few hundred bytes.
SLACK_MAX_BODY = 2 << 20
# An unsubscribe POST is `List-Unsubscribe=One-Click` (RFC 8058) or the confirmation page's empty form.
UNSUBSCRIBE_MAX_BODY = 4 << 10
StartResponse = Callable[..., Any]
TOO_LARGE = "413 Request Entity Too Large"
TOO_LARGE_PAGE = pages.page("Request too large", "<p>This request is larger than an unsubscribe ever is. Please "
                            "use the link from the email exactly as it was sent.</p>")

# The kinds of Slack request that change something here: each is applied once, however often the same signed
# request arrives (a replay inside the five minutes its signature is valid), and a repeat gets the first answer.
# The other kinds only read and are answered afresh, with no write in their way: slash commands open a modal or
# search, type-aheads (block_suggestion) must answer in a few milliseconds (p99 ≤ 5 ms), and the one event,
# app_home_opened, publishes App Home again.
APPLIED_ONCE = ("block_actions", "view_submission")
# Longer than a signature is valid (five minutes), with room for clocks that disagree.
REQUEST_RECORDS_KEPT = dt.timedelta(minutes=10)
# How long a repeat waits for the first arrival's answer: Slack gives up on a request after three seconds.
REPEAT_WAIT_SECONDS = 2.5
EMPTY_ACK = StoredAnswer(200, "text/plain;charset=utf-8", "")

log = logging.getLogger(__name__)


def create_wsgi_app(app: App, database: Database, settings: Settings) -> Callable[[dict[str, Any], StartResponse],
                                                                                   Iterable[bytes]]:
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
        """The signature is checked here, on the bytes Slack signed, and only here (Bolt's own check is off): then
        the body is read by Slack's rules, not Bolt's (see `read_slack_body`), and Bolt is handed JSON it can not
        misread. Whoever posts garbage without Slack's signature gets a 401 like any other forger, not a 500 and a
        traceback in the log; a signed request that can not be read is a 400. More than Slack ever sends is a 413,
        before anything is read."""
        length = _declared_length(environ)
        if length > SLACK_MAX_BODY:
            log.info("refused a request of %d bytes to %s: Slack never sends more than %d", length, SLACK_PATH,
                     SLACK_MAX_BODY)
            return _reply(start_response, TOO_LARGE, {"error": "request too large"})
        body = _read_body(environ, limit=SLACK_MAX_BODY)
        if verifier is None or not _signed(verifier, environ, body):
            return _reply(start_response, "401 Unauthorized", {"error": "invalid request"})
        if environ.get("REQUEST_METHOD") != "POST":
            return _reply(start_response, "404 Not Found", {"error": "not found"})
        try:
            payload = read_slack_body(body.decode(), environ.get("CONTENT_TYPE"))
            as_json = json.dumps(payload)
        except (ValueError, RecursionError) as error:
            log.warning("could not read a signed request to %s (%s)", SLACK_PATH, type(error).__name__)
            return _reply(start_response, "400 Bad Request", {"error": "bad request"})
        dispatch = partial(_dispatch, as_json, environ.get("QUERY_STRING", ""), _bolt_headers(environ))
        answer = _once(_request_key(environ), dispatch) if payload.get("type") in APPLIED_ONCE else dispatch()
        return _answer(start_response, answer)

    def _dispatch(body: str, query: str, headers: dict[str, str | Sequence[str]]) -> StoredAnswer:
        try:
            response: BoltResponse = app.dispatch(BoltRequest(body=body, query=query, headers=headers))
        except Exception as error:  # noqa: BLE001 - raised before Bolt answered anything
            log.warning("could not read a signed request to %s (%s)", SLACK_PATH, type(error).__name__)
            return StoredAnswer(400, "application/json", json.dumps({"error": "bad request"}))
        content_type = response.headers.get("content-type") or ["text/plain;charset=utf-8"]
        return StoredAnswer(response.status, content_type[0], response.body)

    def _once(key: str, dispatch: Callable[[], StoredAnswer]) -> StoredAnswer:
        """Applies a request the first time its key arrives, at any instance, and answers every later arrival as
        the first was answered, without applying it again."""
        try:
            with database.transaction() as session:
                first = replays.claim(session, key)
        except DatabaseUnavailable:
            # The listener needs the database too, and tells the user in a sentence that it is unavailable.
            log.warning("could not record a Slack request before applying it: the database is unavailable")
            return dispatch()
        if not first:
            return _first_answer(key)
        answer = dispatch()
        try:
            with database.transaction() as session:
                replays.record_answer(session, key, answer)
        except DatabaseUnavailable:
            log.warning("could not record the answer to a Slack request: a repeat of it gets an empty "
                        "acknowledgement")
        return answer

    def _first_answer(key: str) -> StoredAnswer:
        deadline = time.monotonic() + REPEAT_WAIT_SECONDS
        while True:
            try:
                with database.snapshot() as session:
                    answer = replays.stored_answer(session, key)
            except DatabaseUnavailable:
                answer = None
            if answer is not None:
                return answer
            if time.monotonic() >= deadline:
                # Still being answered, or its process died: either way it must not be applied twice.
                log.info("a Slack request arrived again before its first arrival was answered; acknowledged "
                         "without applying it")
                return EMPTY_ACK
            time.sleep(0.02)

    def _unsubscribe(environ: dict[str, Any], start_response: StartResponse, token: str,
                     method: str) -> Iterable[bytes]:
        membership_id = unsubscribe.membership_for_token(settings.secret_key, token)
        if membership_id is None:
            return _html(start_response, "404 Not Found", pages.not_found_page())
        try:
            if method in ("GET", "HEAD"):
                # Link scanners fetch every URL in a message: a GET only asks, or says it is already done.
                with database.snapshot() as session:
                    target = unsubscribe.describe(session, membership_id)
                if target is None:
                    return _html(start_response, "404 Not Found", pages.not_found_page())
                if target.already:
                    return _html(start_response, "200 OK", pages.done_page(sender, target.masked_email,
                                                                            already=True))
                return _html(start_response, "200 OK", pages.confirm_page(sender, target.masked_email,
                                                                           UNSUBSCRIBE_PREFIX + token))
            if method != "POST":
                return _html(start_response, "405 Method Not Allowed", pages.not_found_page(), allow="GET, POST")
            if _declared_length(environ) > UNSUBSCRIBE_MAX_BODY:
                return _html(start_response, TOO_LARGE, TOO_LARGE_PAGE)
            body = _read_body(environ, limit=UNSUBSCRIBE_MAX_BODY)
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


def read_slack_body(body: str, content_type: str | None) -> dict[str, Any]:
    """A Slack request's body as Slack means it. Bolt's own reading takes any form that merely contains the
    letters "payload" for an interaction and finds nothing in it, so `/prospect payload`, a command from
    #payload-team or by a user called payload… went unhandled. Here a form is an interaction only when `payload`
    is its one field (its value the interaction's JSON); any other form is its fields (a slash command, Slack's
    ssl_check); JSON is JSON."""
    if not body:
        return {}
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type == "application/json" or body.startswith("{"):
        value = json.loads(body)
    else:
        fields = dict(parse_qsl(body, keep_blank_values=True))
        value = json.loads(fields["payload"]) if fields.keys() == {"payload"} else fields
    if not isinstance(value, dict):
        raise ValueError("a Slack request's body is an object")
    return value


def _bolt_headers(environ: dict[str, Any]) -> dict[str, str | Sequence[str]]:
    """What Bolt reads of the headers: Slack's own (retries, signature); the body it gets is JSON. Bolt's internal
    x-slack-bolt-* headers are dropped: no signature covers headers, and with them a resent request could run one
    lazy listener alone, skipping its acknowledgement's checks."""
    headers: dict[str, str | Sequence[str]] = {"content-type": "application/json"}
    for key, value in environ.items():
        if key.startswith("HTTP_X_SLACK_") and not key.startswith("HTTP_X_SLACK_BOLT_"):
            headers[key[len("HTTP_"):].lower().replace("_", "-")] = value
    return headers


def _request_key(environ: dict[str, Any]) -> str:
    """The signature covers the timestamp and every byte of the body: the same signature is the same request,
    and two clicks, even on one button, are two requests."""
    return hashlib.sha256(environ.get("HTTP_X_SLACK_SIGNATURE", "").encode()).hexdigest()


def forget_old_requests(database: Database) -> int:
    """Deletes the records of Slack requests too old to arrive again (their signature has run out); the
    notification worker's periodic sweep calls it."""
    with database.transaction() as session:
        return replays.forget_older_than(session, utcnow() - REQUEST_RECORDS_KEPT)


def _answer(start_response: StartResponse, answer: StoredAnswer) -> Iterable[bytes]:
    body = answer.body.encode()
    try:
        status = f"{answer.status} {HTTPStatus(answer.status).phrase}"
    except ValueError:
        status = f"{answer.status} Unknown"
    start_response(status, [("Content-Type", answer.content_type), ("Content-Length", str(len(body)))])
    return [body]


def _declared_length(environ: dict[str, Any]) -> int:
    """The body's length as the request declares it. waitress declares it for a chunked body too, once it holds
    the whole (at most its max_request_body_size); a length missing or not a number reads nothing."""
    try:
        return max(0, int(environ.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def _read_body(environ: dict[str, Any], limit: int) -> bytes:
    length = min(_declared_length(environ), limit)
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

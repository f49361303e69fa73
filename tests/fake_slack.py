"""A local stand-in for the Slack Web API: a real HTTP server on a random port that records every call.

Point the app at it with SLACK_API_URL=fake.api_url. Each call is recorded as (method, arguments); tests read
what the bot "showed" a user from there. Responses can be scripted per method (status, headers, body) to play
Slack being slow, rate-limiting (429 + Retry-After) or failing.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

TEAM_ID = "T0TEAM"
BOT_USER_ID = "U0BOT"
# The workspace's people, as users.info describes them. Anyone else is an ordinary full member.
MEMBER, OTHER_MEMBER = "U0ALICE", "U0BOB"
MANAGER, OTHER_MANAGER = "U0BOSS", "U0BOSS2"  # workspace admins: managers when no manager group is set
GUEST = "U0GUEST"
OUTSIDER = "U0STRANGER"  # from another workspace, e.g. through a Slack Connect channel
PEOPLE = {
    MANAGER: {"is_admin": True},
    OTHER_MANAGER: {"is_owner": True},
    GUEST: {"is_restricted": True},
    OUTSIDER: {"team_id": "T0OTHER"},
}


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str
    response: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)


@dataclass
class Scripted:
    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False  # close the connection without answering: Slack unreachable


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        # The views the app answered Slack's own requests with (response_action), as the driver received them.
        self.answered_views: list[dict[str, Any]] = []
        self._scripts: dict[str, deque[Scripted]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._view_counter = 0
        self.people: dict[str, dict[str, Any]] = {user: dict(facts) for user, facts in PEOPLE.items()}
        # What usergroups.list answers: [{"id": "S…", "handle": "…", "name": "…", "users": [...]}].
        self.usergroups: list[dict[str, Any]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.server.daemon_threads = True
        # A short poll, so that stopping at the end of a test does not wait half a second.
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def api_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/api/"

    def start(self) -> FakeSlack:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def script(self, method: str, *responses: Scripted) -> None:
        """The next calls to `method` get these responses, in order; later calls get the default."""
        with self._lock:
            self._scripts[method].extend(responses)

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [call.args for call in self.calls if call.method == method]

    def views_shown(self) -> list[dict[str, Any]]:
        """Every view the bot opened, pushed or updated, as Slack answered it (with its id and hash)."""
        with self._lock:
            return [call.response["view"] for call in self.calls
                    if call.method in ("views.open", "views.push", "views.update") and call.response.get("ok")]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            calls = self.calls_to(method)
            if len(calls) >= count:
                return calls
            time.sleep(0.01)
        raise AssertionError(f"expected {count} call(s) to {method}, got {self.calls_to(method)}")

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.answered_views.clear()

    # -- responses ------------------------------------------------------------------------------------------

    def _respond(self, method: str, args: dict[str, Any]) -> Scripted:
        with self._lock:
            if self._scripts[method]:
                return self._scripts[method].popleft()
            self._view_counter += 1
            counter = self._view_counter
        if method == "users.info":
            user = args.get("user", "")
            facts = {"id": user, "team_id": TEAM_ID, "name": user.lower(), "deleted": False, "is_bot": False,
                     "is_admin": False, "is_owner": False, "is_restricted": False, "is_ultra_restricted": False}
            return Scripted(body={"ok": True, "user": {**facts, **self.people.get(user, {})}})
        if method == "usergroups.list":
            return Scripted(body={"ok": True, "usergroups": self.usergroups})
        if method == "chat.update":
            return Scripted(body={"ok": True, "channel": args.get("channel"), "ts": args.get("ts")})
        if method == "auth.test":
            return Scripted(body={"ok": True, "url": "https://acme.slack.com/", "team": "Acme", "user": "prospectbot",
                                  "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": "B0BOT"})
        if method in ("views.open", "views.push", "views.update", "views.publish"):
            view = args.get("view")
            view = json.loads(view) if isinstance(view, str) else dict(view or {})
            view.update({"id": args.get("view_id") or f"V{counter:06}", "hash": f"hash-{counter}", "team_id": TEAM_ID})
            return Scripted(body={"ok": True, "view": view})
        if method == "chat.postMessage":
            return Scripted(body={"ok": True, "channel": args.get("channel"), "ts": f"1700000000.{counter:06}",
                                  "message": {"text": args.get("text", "")}})
        if method == "chat.postEphemeral":
            return Scripted(body={"ok": True, "message_ts": f"1700000000.{counter:06}"})
        if method == "apps.connections.open":
            return Scripted(body={"ok": False, "error": "not_scripted"})
        return Scripted(body={"ok": True})

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                method = self.path.split("/api/", 1)[-1]
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    args = json.loads(raw or "{}")
                else:
                    args = {key: values[-1] for key, values in parse_qs(raw).items()}
                for key in ("view", "blocks", "attachments"):
                    if isinstance(args.get(key), str):
                        try:
                            args[key] = json.loads(args[key])
                        except ValueError:
                            pass
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                scripted = fake._respond(method, args)
                with fake._lock:
                    fake.calls.append(Call(method, args, token, {} if scripted.status != 200 or scripted.drop
                                           else scripted.body or {}))
                if scripted.delay:
                    time.sleep(scripted.delay)
                if scripted.drop:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                body = json.dumps(scripted.body if scripted.body is not None else {"ok": False}).encode()
                self.send_response(scripted.status)
                self.send_header("Content-Type", "application/json")
                for name, value in scripted.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

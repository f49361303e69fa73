"""A real IMAP server for tests: Dovecot, started by .ci/start-dovecot in a throwaway folder (apt-installing it when
the machine has none), and a local OAuth 2.0 stand-in that hands out access tokens for refresh tokens and answers
Dovecot's introspection requests about them, so XOAUTH2 logins go the whole way.

A test module uses the session-wide server with

    from tests.imap_server import imap_server_fixture  # noqa: F401

and a test takes `imap_server: ImapServer` (the fixture's function has another name than the fixture, so the
import does not clash with the tests' parameter). Messages arrive as the issue asks real mail to: by IMAP APPEND over a
connection of their own.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import imapclient
import pytest

from bot.imap_settings import MailboxSettings
from bot.oauth import OAuthSettings

ROOT = Path(__file__).resolve().parent.parent
START_SCRIPT = ROOT / ".ci" / "start-dovecot"
# Installing Dovecot with apt on a fresh machine takes a minute or two; starting it, well under a second.
START_TIMEOUT_SECONDS = 900


@dataclass
class IssuedToken:
    user: str
    expires_at: float


@dataclass
class TokenRequest:
    user: str | None  # whose refresh token it was; None for one the stand-in never issued
    granted: bool


class OAuthStandIn:
    """The provider's token endpoint (refresh_token grant) and an RFC 7662 introspection endpoint for Dovecot, on
    a loopback port. It records each request, and can expire every access token it issued, as an hour passing
    would."""

    client_id = "prospectbot-test-client"
    client_secret = "test-client-secret"

    def __init__(self, *, lifetime: float = 3600.0) -> None:
        self.lifetime = lifetime
        self.token_requests: list[TokenRequest] = []
        self.introspections: list[bool] = []  # whether each token Dovecot asked about was active
        self._refresh_tokens: dict[str, str] = {}  # refresh token -> user
        self._access_tokens: dict[str, IssuedToken] = {}
        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, name="oauth-stand-in", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    @property
    def introspection_url(self) -> str:
        return f"{self.base_url}/introspect"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def new_refresh_token(self, user: str) -> str:
        """A refresh token of user's own; each call gives a new one, so a test starts with no access token cached."""
        token = f"rt-{secrets.token_urlsafe(12)}"
        with self._lock:
            self._refresh_tokens[token] = user
        return token

    def revoke(self, refresh_token: str) -> None:
        with self._lock:
            self._refresh_tokens.pop(refresh_token, None)

    def expire_all(self) -> None:
        with self._lock:
            for issued in self._access_tokens.values():
                issued.expires_at = 0.0

    def requests_for(self, user: str) -> list[TokenRequest]:
        with self._lock:
            return [request for request in self.token_requests if request.user == user]

    # -- the two endpoints -------------------------------------------------------------------------------------

    def grant(self, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        with self._lock:
            user = self._refresh_tokens.get(form.get("refresh_token", ""))
            if form.get("grant_type") != "refresh_token":
                return 400, {"error": "unsupported_grant_type"}
            if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
                self.token_requests.append(TokenRequest(user, granted=False))
                return 401, {"error": "invalid_client", "error_description": "The OAuth client was not found."}
            if user is None:
                self.token_requests.append(TokenRequest(None, granted=False))
                return 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
            token = f"at-{secrets.token_urlsafe(16)}"
            self._access_tokens[token] = IssuedToken(user, time.monotonic() + self.lifetime)
            self.token_requests.append(TokenRequest(user, granted=True))
            return 200, {"access_token": token, "token_type": "Bearer", "expires_in": int(self.lifetime)}

    def introspect(self, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        with self._lock:
            issued = self._access_tokens.get(form.get("token", ""))
            active = issued is not None and issued.expires_at > time.monotonic()
            self.introspections.append(active)
            if not active or issued is None:
                return 200, {"active": False}
            return 200, {"active": True, "username": issued.user, "token_type": "Bearer"}


def _handler_for(stand_in: OAuthStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            length = int(self.headers.get("Content-Length") or 0)
            fields = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
            form = {name: values[0] for name, values in fields.items()}
            if self.path == "/token":
                status, answer = stand_in.grant(form)
            elif self.path == "/introspect":
                status, answer = stand_in.introspect(form)
            else:
                status, answer = 404, {"error": "not_found"}
            body = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
            pass  # quiet: pytest shows the records the tests assert on

    return Handler


@dataclass
class ImapServer:
    host: str
    port: int
    ca_file: str
    directory: Path
    users: dict[str, str]  # user name -> password
    oauth: OAuthStandIn

    @property
    def config(self) -> Path:
        return self.directory / "dovecot.conf"

    def settings(self, user: str, *, folder: str = "INBOX", name: str = "jane", **changes: object) -> MailboxSettings:
        """Settings that log user in with their password and trust the test CA."""
        settings = MailboxSettings(name=name, host=self.host, port=self.port, username=user, folder=folder,
                                   password=self.users[user], ca_file=self.ca_file)
        return replace(settings, **changes)

    def oauth_settings(self, user: str, *, folder: str = "INBOX", refresh_token: str | None = None,
                       name: str = "jane") -> MailboxSettings:
        """Settings that log user in with XOAUTH2 through the stand-in, with a refresh token of their own."""
        oauth = OAuthSettings(token_url=self.oauth.token_url, client_id=self.oauth.client_id,
                              client_secret=self.oauth.client_secret,
                              refresh_token=refresh_token or self.oauth.new_refresh_token(user))
        return self.settings(user, folder=folder, name=name, password=None, oauth=oauth)

    # -- acting as someone else on the server ------------------------------------------------------------------

    def connect(self, user: str) -> imapclient.IMAPClient:
        context = ssl.create_default_context(cafile=self.ca_file)
        client = imapclient.IMAPClient(self.host, self.port, ssl=True, ssl_context=context, timeout=30)
        client.login(user, self.users[user])
        return client

    def append(self, user: str, raw: bytes, folder: str = "INBOX") -> int:
        """Delivers raw into user's folder by IMAP APPEND; returns the message's UID."""
        with self.connect(user) as client:
            answer = client.append(folder, raw)
        # b"[APPENDUID <uidvalidity> <uid>] Append completed."
        return int(answer.split(b"]", 1)[0].split()[-1])

    def create_folder(self, user: str, prefix: str = "test") -> str:
        """A new, empty folder, so a test sees only its own messages."""
        folder = f"{prefix}-{uuid.uuid4().hex[:8]}"
        with self.connect(user) as client:
            client.create_folder(folder)
        return folder

    def flags(self, user: str, uid: int, folder: str = "INBOX") -> set[bytes]:
        """The message's flags, looked at read-only (EXAMINE), so looking changes nothing."""
        with self.connect(user) as client:
            client.select_folder(folder, readonly=True)
            return set(client.get_flags([uid]).get(uid, ()))

    def count(self, user: str, folder: str = "INBOX") -> int:
        with self.connect(user) as client:
            return int(client.folder_status(folder, [b"MESSAGES"])[b"MESSAGES"])

    # -- the server itself -----------------------------------------------------------------------------------

    def restart(self) -> None:
        """Stops Dovecot, which drops every connection, and starts it again on the same port."""
        self.stop_dovecot()
        with (self.directory / "dovecot.log").open("ab") as log:
            subprocess.run(["dovecot", "-c", str(self.config)], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                           check=True)
        _wait_for(lambda: _accepts(self.host, self.port), "Dovecot to listen again after a restart", self)

    def stop_dovecot(self) -> None:
        """Stops the master (SIGTERM, as `doveadm stop` does, without its second of waiting), then every process it
        had started: on its own the master leaves those serving open connections to end in their own time, and a
        client would read on as if nothing had happened, where a real restart (systemd's, a machine's) ends them."""
        pid_file = self.directory / "run" / "master.pid"
        master = int(pid_file.read_text()) if pid_file.exists() else None
        if master is None:
            return
        children = _children_of(master)
        try:
            os.kill(master, signal.SIGTERM)
        except ProcessLookupError:
            pass
        # Only once the master is gone: before, it would start a new process for each one killed.
        _wait_for(lambda: not _running(master), "Dovecot's master process to stop", self)
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _wait_for(lambda: not _accepts(self.host, self.port) and not any(_running(pid) for pid in children),
                  "Dovecot to stop", self)

    def log(self) -> str:
        path = self.directory / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _children_of(parent: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == parent:
            children.append(int(stat.parent.name))
    return children


def _running(pid: int) -> bool:
    """Whether pid is alive; a zombie nobody reaped (our init may not) counts as ended."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _accepts(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True


def _wait_for(condition: Callable[[], bool], what: str, server: ImapServer, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out waiting for {what}; the end of Dovecot's log:\n{server.log()[-3000:]}",
                        pytrace=False)
        time.sleep(0.05)


def start_imap_server() -> ImapServer:
    """Starts the OAuth stand-in, then Dovecot; fails the test run with one sentence when Dovecot cannot start."""
    if os.geteuid() != 0:
        pytest.fail("The IMAP tests start Dovecot, which must be started as root (it then drops to its own users); "
                    "run them as root, as CI does.", pytrace=False)
    # Short and world-searchable: Dovecot's sockets have a path length limit, and its mail processes run as "mail".
    directory = Path(tempfile.mkdtemp(prefix="prospectbot-imap-", dir="/tmp"))
    directory.chmod(0o755)
    oauth = OAuthStandIn()
    oauth.start()
    try:
        started = subprocess.run(["bash", str(START_SCRIPT), str(directory), oauth.introspection_url],
                                 capture_output=True, text=True, timeout=START_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        oauth.stop()
        shutil.rmtree(directory, ignore_errors=True)
        pytest.fail(f"Dovecot did not start within {START_TIMEOUT_SECONDS} s (.ci/start-dovecot, which installs it "
                    "with apt when missing).", pytrace=False)
    if started.returncode != 0:
        oauth.stop()
        shutil.rmtree(directory, ignore_errors=True)
        details = "\n".join(started.stderr.strip().splitlines()[-25:])
        pytest.fail(f"Dovecot could not be started for the IMAP tests (.ci/start-dovecot exited "
                    f"{started.returncode}):\n{details}", pytrace=False)
    exported = dict(word.split("=", 1) for line in started.stdout.splitlines() if line.startswith("export ")
                    for word in shlex.split(line)[1:])
    passwords = {}
    for line in (directory / "users").read_text().splitlines():
        user, _, password = line.partition(":")
        passwords[user] = password.removeprefix("{PLAIN}").split(":", 1)[0]
    return ImapServer(host=exported["TEST_IMAP_HOST"], port=int(exported["TEST_IMAP_PORT"]),
                      ca_file=exported["TEST_IMAP_CA"], directory=Path(exported["TEST_IMAP_DIR"]), users=passwords,
                      oauth=oauth)


@pytest.fixture(scope="session", name="imap_server")
def imap_server_fixture() -> Iterator[ImapServer]:
    server = start_imap_server()
    try:
        yield server
    finally:
        try:
            server.stop_dovecot()
        finally:
            server.oauth.stop()
            shutil.rmtree(server.directory, ignore_errors=True)

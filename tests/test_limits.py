"""Limits before work, and slow clients (issue 12): every endpoint refuses, from the declared length and before
reading a byte, a body larger than it ever legitimately receives; `prospectbot serve` refuses a huge body at once,
whether it declares its length or is chunked, and its memory stays flat; connections held open by slow clients
leave room for health checks and Slack; the open-file limit is raised to what the connection limit needs, or the
log says what it allows."""

from __future__ import annotations

import json
import re
import resource
import select
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import func
from sqlalchemy import select as select_rows

from benchmarks.slow_clients import SlowClients, open_sockets, peak_memory_kib
from bot.runners import CONNECTION_LIMIT, FILES_BESIDE_CONNECTIONS, FILES_PER_CONNECTION
from bot.web import SLACK_MAX_BODY, UNSUBSCRIBE_MAX_BODY
from storage.db import Database
from storage.models import DoNotContact, Membership
from storage.unsubscribe import unsubscribe_token
from tests import factories
from tests.fake_slack import TEAM_ID, FakeSlack
from tests.harness import running
from tests.slack_driver import SIGNING_SECRET, SlackDriver
from tests.support import TEST_SECRET_KEY, empty_database_url
from tests.test_serve import environment, free_port, prospectbot

MiB = 1 << 20
SLACK_DEADLINE = 3.0
PEAK_GROWTH_ALLOWED_KIB = 50 * 1024  # generous: the machine is shared, and the point is hundreds of MB


@dataclass
class Served:
    port: int
    pid: int
    fake: FakeSlack
    tokens: list[str]
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def slack(self) -> SlackDriver:
        return SlackDriver(self.base, self.fake)


def start_serve(database_url: str, fake: FakeSlack, directory: Path, *,
                open_files: tuple[int, int] | None = None) -> tuple[subprocess.Popen[str], int, Path]:
    port = free_port()
    env = environment(database_url, SLACK_BOT_TOKEN="xoxb-test-token", SLACK_SIGNING_SECRET=SIGNING_SECRET,
                      SLACK_API_URL=fake.api_url)
    log = directory / f"serve-{port}.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [prospectbot(), "serve", "--port", str(port)], cwd=directory, env=env, stdout=output, stderr=output,
            text=True,
            preexec_fn=(lambda: resource.setrlimit(resource.RLIMIT_NOFILE, open_files)) if open_files else None)
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return process, port, log
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"serve did not start: {log.read_text()}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("limits")
    database_url = empty_database_url("sqlite", request, directory)
    database = Database(database_url)
    with database.transaction() as session:
        campaign = factories.campaign(session, "Q4 Outreach")
        for number in range(5):
            factories.prospect(session, f"person{number}@acme.com", campaign)
        memberships = session.scalars(select_rows(Membership.id).order_by(Membership.id)).all()
    database.dispose()
    fake = FakeSlack().start()
    process, port, log = start_serve(database_url, fake, directory)
    try:
        yield Served(port, process.pid, fake, [unsubscribe_token(TEST_SECRET_KEY, m) for m in memberships], log)
    finally:
        process.terminate()
        process.wait(timeout=15)
        fake.stop()


# -- the endpoints --------------------------------------------------------------------------------------------


class Unread:
    """A request body that must not be read."""

    def read(self, *args: Any) -> bytes:
        raise AssertionError("the body was read")


def call(wsgi: Any, method: str, path: str, length: int, body: Any = None) -> tuple[str, bytes]:
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "prospectbot.test",
               "SERVER_PORT": "443", "wsgi.url_scheme": "https", "wsgi.input": body or Unread(),
               "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(length)}
    answered: list[str] = []
    chunks = wsgi(environ, lambda status, headers, exc_info=None: answered.append(status))
    return answered[0], b"".join(chunks)


def padded_command(size: int) -> str:
    """`/prospect` as Slack sends it, padded with a field of its own to exactly `size` bytes."""
    fields = urlencode({"token": "legacy", "team_id": TEAM_ID, "team_domain": "acme", "channel_id": "C0SALES",
                        "channel_name": "sales", "user_id": "U0ALICE", "user_name": "alice", "command": "/prospect",
                        "text": "", "api_app_id": "A0APP", "response_url": "https://hooks.slack.test/x",
                        "trigger_id": f"trigger-{time.time_ns()}"}) + "&pad="
    return fields + "x" * (size - len(fields))


def test_each_endpoint_refuses_more_than_it_ever_receives_before_reading_it(request, tmp_path):
    with running(empty_database_url("sqlite", request, tmp_path)) as live:
        with live.database.transaction() as session:
            campaign = factories.campaign(session, "Q4 Outreach")
            factories.prospect(session, "jane@acme.com", campaign)
            membership = session.scalars(select_rows(Membership.id)).one()
        link = "/unsubscribe/" + unsubscribe_token(TEST_SECRET_KEY, membership)

        # Declared too large: refused from the Content-Length, the body never read, signed or not.
        status, body = call(live.wsgi, "POST", "/slack/events", SLACK_MAX_BODY + 1)
        assert status.startswith("413") and json.loads(body) == {"error": "request too large"}
        assert call(live.wsgi, "POST", "/slack/events", 500 * MiB)[0].startswith("413")
        status, page = call(live.wsgi, "POST", link, UNSUBSCRIBE_MAX_BODY + 1)
        assert status.startswith("413") and b"<p>This request is larger than an unsubscribe ever is." in page

        # Through a server that lets anything through (waitress's defaults, as the harness runs it): the endpoint's
        # own limit is what answers. Slack's largest is read and handled; one byte more is refused, signed.
        largest = live.slack.post(padded_command(SLACK_MAX_BODY), "application/x-www-form-urlencoded")
        assert largest.status == 200
        assert live.slack.post(padded_command(SLACK_MAX_BODY + 1), "application/x-www-form-urlencoded").status == 413
        live.drain()
        one_click = b"List-Unsubscribe=One-Click"
        too_long = urllib.request.Request(live.slack.base_url + link, method="POST",
                                          data=one_click + b"&" + b"x" * (UNSUBSCRIBE_MAX_BODY - len(one_click)))
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(too_long, timeout=10)
        assert refused.value.code == 413
        with live.database.snapshot() as session:
            assert session.scalar(select_rows(func.count()).select_from(DoNotContact)) == 0
        longest = one_click + b"&" + b"x" * (UNSUBSCRIBE_MAX_BODY - len(one_click) - 1)
        with urllib.request.urlopen(urllib.request.Request(live.slack.base_url + link, data=longest, method="POST"),
                                    timeout=10) as response:
            assert response.status == 200 and response.read() == b"Unsubscribed."
        assert live.errors.take() == []


# -- the server -----------------------------------------------------------------------------------------------


def send(port: int, head: bytes, body: Iterable[bytes] = ()) -> tuple[int, float]:
    """Sends `head`, then `body` piece by piece until the server answers; returns the answer's status and the
    seconds it took to come."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(head)
        for piece in body:
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(piece)
            except OSError:  # answered, and closed with the rest unread
                break
        answer = b""
        while b"\r\n" not in answer:
            more = sock.recv(4096)
            if not more:
                break
            answer += more
        elapsed = time.monotonic() - started
    match = re.match(rb"HTTP/1\.[01] (\d{3}) ", answer)
    assert match, answer[:200]
    return int(match.group(1)), elapsed


def zeros(total: int, piece: int = MiB) -> Iterator[bytes]:
    """`total` bytes, streamed: never all in memory at once."""
    block = b"0" * piece
    for start in range(0, total, piece):
        yield block[:min(piece, total - start)]


def chunked(pieces: Iterable[bytes]) -> Iterator[bytes]:
    for piece in pieces:
        yield b"%x\r\n%s\r\n" % (len(piece), piece)
    yield b"0\r\n\r\n"


def head(path: str, *, length: int | None = None, signed_body: str | None = None, extra: str = "") -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: prospectbot.test", "Content-Type: application/x-www-form-urlencoded"]
    lines.append(f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked")
    if signed_body is not None:
        timestamp = str(int(time.time()))
        signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=timestamp, body=signed_body)
        lines += [f"X-Slack-Request-Timestamp: {timestamp}", f"X-Slack-Signature: {signature}"]
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()


def test_serve_refuses_huge_bodies_at_once_and_its_memory_stays_flat(served):
    slack = served.slack()
    assert slack.command("").status == 200  # everything a request touches is loaded before the baseline
    link = "/unsubscribe/" + served.tokens[0]
    before = peak_memory_kib(served.pid)

    refusals = {
        # 500 MB, unsigned, its length declared: waitress refuses it from the header.
        "500 MB unsigned": send(served.port, head("/slack/events", length=500 * MiB), zeros(500 * MiB)),
        # The same, chunked: waitress stops as soon as it has read more than the largest endpoint's limit.
        "500 MB unsigned, chunked": send(served.port, head("/slack/events"), chunked(zeros(500 * MiB))),
        # Signed, one byte over Slack's limit, declared and chunked.
        "signed, 1 byte over": send(served.port, head("/slack/events", length=SLACK_MAX_BODY + 1,
                                                      signed_body=padded_command(SLACK_MAX_BODY + 1)),
                                   [padded_command(SLACK_MAX_BODY + 1).encode()]),
        "signed, 8 MiB, chunked": send(served.port, head("/slack/events", signed_body=padded_command(8 * MiB)),
                                       chunked([padded_command(8 * MiB).encode()])),
        # An unsubscribe link, far over its own limit but under the server's: the endpoint refuses it, chunked too.
        "unsubscribe, 512 KiB": send(served.port, head(link, length=512 << 10), zeros(512 << 10, 64 << 10)),
        "unsubscribe, 16 KiB chunked": send(served.port, head(link), chunked(zeros(16 << 10, 4 << 10))),
    }
    assert {name: status for name, (status, _) in refusals.items()} == dict.fromkeys(refusals, 413)
    slowest = max(elapsed for _, elapsed in refusals.values())
    assert slowest < 2.0, refusals
    # A header of 64 KiB: over waitress's limit (16 KiB), refused as such.
    assert send(served.port, head("/healthz", length=0, extra=f"X-Big: {'y' * (64 << 10)}\r\n"))[0] == 431

    grown = peak_memory_kib(served.pid) - before
    print(f"\npeak memory of serve grew by {grown:,} KiB; slowest refusal {slowest * 1000:.0f} ms")
    assert grown < PEAK_GROWTH_ALLOWED_KIB

    # What reaches the app of a chunked body is the whole of it, with its length: a signed command sent chunked is
    # answered; nobody was unsubscribed by the refused POSTs.
    command = padded_command(600)
    assert send(served.port, head("/slack/events", signed_body=command), chunked([command.encode()]))[0] == 200
    with urllib.request.urlopen(served.base + link) as response:
        assert b"Stop emails" in response.read()


def test_slow_clients_leave_room_for_health_checks_and_slack(served):
    """150 connections, more than waitress's default limit of 100 (which 120 such clients filled), each sending a
    header line every second and never finishing: health checks and signed commands are still answered in time."""
    slack = served.slack()
    with SlowClients("127.0.0.1", served.port, 150, interval=1.0) as clients:
        deadline = time.monotonic() + 10
        # Every one accepted, each holding a place in waitress: 150 sockets, and the one it listens on.
        while open_sockets(served.pid) < 150 + 1:
            assert time.monotonic() < deadline, "serve did not accept the slow connections"
            time.sleep(0.1)
        for _ in range(5):
            started = time.monotonic()
            with urllib.request.urlopen(served.base + "/healthz", timeout=SLACK_DEADLINE) as response:
                assert response.status == 200
            assert slack.command("").status == 200
            assert time.monotonic() - started < SLACK_DEADLINE
        time.sleep(1.5)  # one more header line each
        assert clients.open == 150  # held all along


@pytest.mark.parametrize("hard", [4096, 256])
def test_serve_raises_its_open_file_limit_or_says_what_it_allows(request, tmp_path, hard):
    fake = FakeSlack().start()
    process, _, log = start_serve(empty_database_url("sqlite", request, tmp_path), fake, tmp_path,
                                  open_files=(256, hard))
    try:
        limits = Path(f"/proc/{process.pid}/limits").read_text()
    finally:
        process.terminate()
        process.wait(timeout=15)
        fake.stop()
    [soft] = re.findall(r"Max open files\s+(\d+)", limits)
    needed = CONNECTION_LIMIT * FILES_PER_CONNECTION + FILES_BESIDE_CONNECTIONS
    if hard >= needed:
        assert int(soft) == needed
        assert (f"raised the open-file limit (ulimit -n) from 256 to {needed}, what {CONNECTION_LIMIT} connections "
                "need") in log.read_text()
    else:
        allowed = (hard - FILES_BESIDE_CONNECTIONS) // FILES_PER_CONNECTION
        assert int(soft) == hard
        assert (f"the open-file limit (ulimit -n) is {hard}, which allows {allowed} connections at once, not "
                f"{CONNECTION_LIMIT}: raise its hard limit to {needed}") in log.read_text()

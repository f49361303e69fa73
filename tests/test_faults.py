"""Faults, with real parts only: Slack's Web API rate-limiting, failing, unreachable or slow; the database server
restarting in the middle of traffic; a process killed with SIGKILL in the middle of a bulk approval or an import.
What users are told, and what the database holds afterwards.

(One notification's delivery through 429s, 5xxs and dropped connections is in test_notifications.py; the
database unreachable from the start is in test_slack_security.py.)
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from bot.cli import cli
from bot.notifier import Notifier
from bot.slack_client import slack_client
from handlers.access import UNREACHABLE
from handlers.edit.views import build_edit_modal
from storage import bulk_requests as bulk
from storage.audit import Actor
from storage.db import Database
from storage.fast_insert import bulk_insert
from storage.importing import MAX_CHUNK
from storage.keys import address_identity
from storage.models import AuditEntry, BulkRequest, DoNotContact, Import, Membership, Notification, Prospect, utcnow
from storage.prospects import insert_new_prospects, new_prospect_row, prospect_details
from storage.unsubscribe import unsubscribe_token
from tests import factories
from tests.fake_slack import MEMBER, FakeSlack, Scripted
from tests.slack_driver import SIGNING_SECRET, SlackDriver, texts
from tests.support import TEST_SECRET_KEY
from tests.test_serve import environment, free_port, prospectbot
from tests.test_slack_edit import reason

REPO = Path(__file__).resolve().parent.parent
SLACK_LIMIT_S = 3.0  # Slack shows the person an error when an acknowledgement takes longer
OPT_OUTS_CHANNEL = "C0OPTOUTS"
UNAVAILABLE = re.compile(r"^The database is unavailable right now \(.+\); please try again in a moment\.$")
REINSTALL = "reinstall this app"  # what Bolt says when it can not ask Slack who the bot is


# -- helpers ----------------------------------------------------------------------------------------------------

OUTAGES = {
    "rate-limited": Scripted(status=429, body={"ok": False, "error": "ratelimited"}, headers={"Retry-After": "1"}),
    "failing": Scripted(status=503, body={"ok": False, "error": "service_unavailable"}),
    "unreachable": Scripted(drop=True),
    "hanging 5 s": Scripted(status=504, body={"ok": False, "error": "request_timeout"}, delay=5.0),
}


class Outage:
    """Switches the fake Slack's answers, for every method or a few, until `end`: a scripted failure, or the
    usual answer `slower` by some seconds. Calls are still recorded."""

    def __init__(self, fake: FakeSlack) -> None:
        self._normal = fake._respond
        self._failure: Scripted | None = None
        self._slower = 0.0
        self._methods: set[str] | None = None

    def respond(self, method: str, args: dict[str, Any]) -> Scripted:
        if self._methods is None or method in self._methods:
            if self._failure is not None:
                return self._failure
            if self._slower:
                return dataclasses.replace(self._normal(method, args), delay=self._slower)
        return self._normal(method, args)

    def start(self, failure: Scripted | None = None, *, slower: float = 0.0, methods: set[str] | None = None) -> None:
        self._failure, self._slower, self._methods = failure, slower, methods

    def end(self) -> None:
        self._failure, self._slower, self._methods = None, 0.0, None


@pytest.fixture
def outage(fake_slack, monkeypatch) -> Outage:
    controller = Outage(fake_slack)
    monkeypatch.setattr(fake_slack, "_respond", controller.respond)
    return controller


def make_people(database, count: int) -> dict[str, Any]:
    """person0@acme.com … in Q4 Outreach, which has no channel of its own: opt-outs go to the default channel."""
    with database.transaction() as session:
        campaign = factories.campaign(session, "Q4 Outreach")
        ids = [factories.prospect(session, f"person{n}@acme.com", campaign, first_name=f"Person{n}", last_name="Doe")
               for n in range(count)]
        memberships = dict(session.execute(select(Membership.prospect_id, Membership.id)
                                           .where(Membership.campaign_id == campaign)).all())
    return {"campaign": campaign, "ids": ids, "memberships": memberships}


def edit_view(database, campaign_id: int, prospect_id: int) -> dict[str, Any]:
    """The Edit modal as Slack holds it while someone fills it in, over the profile it was opened from."""
    with database.snapshot() as session:
        details = prospect_details(session, prospect_id)
    return {**build_edit_modal(details, campaign_id=campaign_id, can_delete=False), "id": f"V0EDIT{prospect_id}",
            "hash": "hash-edit", "previous_view_id": "V0PROFILE"}


def timed(request: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
    started = time.monotonic()
    reply = request(*args, **kwargs)
    return reply, time.monotonic() - started


def wait_until(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(interval)


def opt_out_posts(fake_slack: FakeSlack, *, delivered: bool = True) -> list[dict[str, Any]]:
    return [call.args for call in list(fake_slack.calls) if call.method == "chat.postMessage"
            and call.args.get("channel") == OPT_OUTS_CHANNEL and bool(call.response.get("ok")) == delivered]


def one_click_unsubscribe(base_url: str, membership_id: int) -> tuple[int, str]:
    request = urllib.request.Request(f"{base_url}/unsubscribe/{unsubscribe_token(TEST_SECRET_KEY, membership_id)}",
                                     data=b"List-Unsubscribe=One-Click", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read().decode()


def saved(database, prospect_id: int) -> tuple[DoNotContact | None, list[str]]:
    """The prospect's do-not-contact row and the actors of its do-not-contact audit rows."""
    with database.snapshot() as session:
        actors = session.scalars(select(AuditEntry.actor).where(AuditEntry.prospect_id == prospect_id,
                                                                AuditEntry.action == "do_not_contact")).all()
        return session.get(DoNotContact, prospect_id), list(actors)


def undelivered(database) -> int:
    with database.snapshot() as session:
        return session.scalar(select(func.count()).where(Notification.delivered_at.is_(None)))


def said(fake_slack: FakeSlack) -> list[str]:
    """What the bot answered Alice through response_url: ephemeral messages."""
    return [call["text"] for call in fake_slack.calls_to(f"response_url/{MEMBER}")]


def background_worker(database, fake_slack: FakeSlack) -> tuple[threading.Event, threading.Thread]:
    worker = Notifier(database, slack_client("xoxb-test-token", fake_slack.api_url, retries=False),
                      default_channel=OPT_OUTS_CHANNEL, retry_base=0.05)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), kwargs={"interval": 0.05}, daemon=True)
    thread.start()
    return stop, thread


# -- 1. Slack's Web API down, rate-limiting or slow ---------------------------------------------------------------


def test_saves_while_slack_is_down_are_answered_in_time_kept_and_announced_once_it_is_back(
        slack, fake_slack, database, outage):
    people = make_people(database, 2 * len(OUTAGES))
    slack.command("")  # Slack is up: the bot knows who it is and who Alice is
    fake_slack.wait_for("views.open")
    stop, worker = background_worker(database, fake_slack)
    try:
        for n, kind in enumerate(OUTAGES):
            saver, clicker = people["ids"][2 * n], people["ids"][2 * n + 1]
            edit = edit_view(database, people["campaign"], saver)
            tried_before = len(opt_out_posts(fake_slack, delivered=False))
            posted_before = len(opt_out_posts(fake_slack))
            outage.start(OUTAGES[kind])
            try:
                # Every Web API call fails from now on; the save is answered in its own HTTP acknowledgement.
                reply, took = timed(slack.submit, edit, reason("no-interest", "Asked on a call"))
                assert reply.status == 200 and took < SLACK_LIMIT_S, (kind, took)
                assert reply.json["response_action"] == "update", kind
                assert f"Saved. *Person{2 * n} Doe* will not be contacted again (No interest)." in texts(
                    reply.json["view"])
                # Meanwhile someone clicks the unsubscribe link in an email: that needs no Slack either.
                assert one_click_unsubscribe(slack.base_url, people["memberships"][clicker]) == (200, "Unsubscribed.")
                assert saved(database, saver)[1] == [f"slack:{MEMBER}"]
                assert saved(database, clicker)[0].reason == "requested"
                # The worker tries while Slack is down, and nothing is posted.
                wait_until(lambda tried=tried_before: len(opt_out_posts(fake_slack, delivered=False)) > tried, 5,
                           f"the worker's attempt while Slack is {kind}")
                assert len(opt_out_posts(fake_slack)) == posted_before
            finally:
                outage.end()
            # Slack is back: both opt-outs are announced.
            wait_until(lambda: undelivered(database) == 0, 15, f"delivery after Slack was {kind}", interval=0.05)
        time.sleep(0.3)  # a duplicate, if any, would be posted by now
    finally:
        stop.set()
        worker.join(timeout=15)
    posts = opt_out_posts(fake_slack)
    for n in range(2 * len(OUTAGES)):
        assert sum(f"person{n}@acme.com" in texts(post) for post in posts) == 1, n
    assert len(posts) == 2 * len(OUTAGES)
    with database.snapshot() as session:
        assert session.scalar(select(func.sum(Notification.attempts))) >= len(OUTAGES)  # the failures, recorded


def test_the_prospect_command_is_acknowledged_at_once_while_views_open_hangs(slack, fake_slack, database, outage):
    make_people(database, 1)
    outage.start(slower=5.0, methods={"views.open"})
    reply, took = timed(slack.command, "person0")
    assert reply.status == 200 and reply.body == "" and took < 1.0
    [opened] = fake_slack.wait_for("views.open")  # recorded as it arrives, answered five seconds later
    assert "person0@acme.com" in texts(opened["view"])


def test_right_after_a_start_slack_failing_or_slow_still_gets_answers_in_time(database_url, database, fake_slack,
                                                                              outage, tmp_path):
    """`prospectbot serve` as deployed, then Slack fails in each way, or answers every call 1.5 s late, before
    anyone used the bot. Someone without an operator grant is told clearly that their access can not be checked
    (never Bolt's "reinstall this app"); a grant holder's save is kept; every answer comes within three seconds."""
    kinds: list[tuple[str, Scripted | None]] = [*OUTAGES.items(), ("slow 1.5 s", None)]
    people = make_people(database, len(kinds))
    for n in range(len(kinds) + 1):
        granted = CliRunner().invoke(cli, ["roles", "grant", "member", f"U0DAVE{n}"], catch_exceptions=False,
                                     env=environment(database_url))
        assert granted.exit_code == 0, granted.output
    port = free_port()
    env = environment(database_url, SLACK_BOT_TOKEN="xoxb-test-token", SLACK_SIGNING_SECRET=SIGNING_SECRET,
                      SLACK_API_URL=fake_slack.api_url)
    with open(tmp_path / "serve.log", "w") as log:
        process = subprocess.Popen([prospectbot(), "serve", "--port", str(port)], cwd=tmp_path, env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
    driver = SlackDriver(f"http://127.0.0.1:{port}", fake_slack)
    try:
        def serving() -> bool:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                return driver.get("/healthz").status == 200
            except OSError:
                return False

        wait_until(serving, 30, "prospectbot serve to start", interval=0.1)
        for n, (kind, failure) in enumerate(kinds):
            outage.start(failure, slower=0.0 if failure else 1.5)
            try:
                reply, took = timed(driver.command, "person0", user="U0CAROL")
                assert reply.status == 200 and took < SLACK_LIMIT_S, (kind, took)
                if failure:
                    assert reply.json == {"response_type": "ephemeral", "text": UNREACHABLE}, kind
                else:
                    assert reply.body == ""  # slow, not down: Carol is a member, and the profile opens later
                reply, took = timed(driver.submit, edit_view(database, people["campaign"], people["ids"][n]),
                                    reason("not-target"), user=f"U0DAVE{n}")
                assert reply.status == 200 and took < SLACK_LIMIT_S, (kind, took)
                assert "will not be contacted again" in texts(reply.json["view"]), kind
                assert saved(database, people["ids"][n])[1] == [f"slack:U0DAVE{n}"]
            finally:
                outage.end()
        # Only the role lookup fails: a grant holder still finds prospects and opens profiles.
        outage.start(OUTAGES["failing"], methods={"users.info"})
        assert driver.command("person0", user=f"U0DAVE{len(kinds)}").body == ""
        wait_until(lambda: any(call["view"]["title"]["text"] == "Prospect" and "person0@acme.com" in texts(call["view"])
                               for call in fake_slack.calls_to("views.open")), 5, "the profile to open")
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert REINSTALL not in (tmp_path / "serve.log").read_text()


# -- 2. The database server restarting in the middle of traffic ---------------------------------------------------


@dataclass
class PrivatePostgres:
    """A throwaway PostgreSQL server of this test's own (.ci/start-postgres), which it may stop and start."""

    url: str
    bin_dir: Path
    data_dir: Path

    def pg_ctl(self, *args: str) -> None:
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*as_postgres, str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("stop", "-m", mode, "-w")

    def start(self) -> None:
        # The options it was started with (port, socket directory, ...), as the server wrote them down.
        recorded = shlex.split((self.data_dir / "postmaster.opts").read_text())[1:]
        options = [arg for index, arg in enumerate(recorded)
                   if arg != "-D" and (index == 0 or recorded[index - 1] != "-D")]
        self.pg_ctl("start", "-w", "-t", "60", "-l", str(self.data_dir.parent / "server.log"),
                    "-o", shlex.join(options))


def _postgres_server_binaries() -> bool:
    return bool(shutil.which("initdb") or glob.glob("/usr/lib/postgresql/*/bin/initdb"))


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    if not _postgres_server_binaries():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) are needed for the restart test")
        pytest.skip("needs PostgreSQL server binaries (initdb, pg_ctl): bash .ci/run installs them")
    directory = Path(tempfile.mkdtemp(prefix="prospectbot-faults-pg."))
    directory.chmod(0o755)  # the server runs as the postgres user when the tests run as root
    server: PrivatePostgres | None = None
    try:
        started = subprocess.run(["bash", str(REPO / ".ci" / "start-postgres"), str(directory)], capture_output=True,
                                 text=True, timeout=180)
        exported = dict(re.findall(r"(TEST_\w+)=(\S+)", started.stdout))
        if (directory / "data" / "postmaster.pid").exists():
            bin_dir = exported.get("TEST_POSTGRES_BIN") or str(Path(os.path.realpath(
                shutil.which("initdb") or sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))[-1])).parent)
            server = PrivatePostgres(exported.get("TEST_DATABASE_URL", ""), Path(bin_dir), directory / "data")
        assert started.returncode == 0 and server, f"could not start a private PostgreSQL: {started.stderr[-2000:]}"
        yield server
    finally:
        try:
            if server is not None and (server.data_dir / "postmaster.pid").exists():
                server.stop("immediate")
        finally:
            shutil.rmtree(directory, ignore_errors=True)


@dataclass
class Sent:
    kind: str
    started: float
    status: int
    body: str
    prospect_id: int | None = None


class TestTheDatabaseRestarting:
    """PostgreSQL only: the server of this test's own is stopped and started again while requests flow."""

    @pytest.fixture
    def database_url(self, private_postgres):  # the app, the `database` fixture and the worker all use it
        database = Database(private_postgres.url)
        database.prepare(secret_key=TEST_SECRET_KEY, auto_migrate=True)
        database.dispose()
        return private_postgres.url

    def test_requests_meanwhile_say_so_in_a_sentence_and_the_next_ones_work(self, private_postgres, slack,
                                                                            fake_slack, database, outage):
        people = make_people(database, 400)
        edits = {pid: edit_view(database, people["campaign"], pid) for pid in people["ids"]}
        find_view = {"id": "V0FIND", "hash": "h", "type": "modal", "callback_id": "find",
                     "title": {"type": "plain_text", "text": "Find a prospect"},
                     "private_metadata": f'{{"c": {people["campaign"]}}}', "blocks": [
                         {"type": "section", "block_id": "find_prospect", "text": {"type": "mrkdwn", "text": "x"},
                          "accessory": {"type": "external_select", "action_id": "find.prospect"}}]}
        slack.command("")  # Alice's role is known before the server goes away
        fake_slack.wait_for("views.open")
        stop_worker, worker = background_worker(database, fake_slack)
        sent: list[Sent] = []
        lock, stop_traffic = threading.Lock(), threading.Event()
        to_save = iter(people["ids"][1:])

        def traffic(kind: str) -> None:
            while not stop_traffic.is_set():
                started, prospect_id = time.monotonic(), None
                if kind == "save":
                    prospect_id = next(to_save)
                    reply = slack.submit(edits[prospect_id], reason("no-interest"))
                elif kind == "command":
                    reply = slack.command("person1")
                else:
                    reply = slack.options(find_view, "find.prospect", "person")
                with lock:
                    sent.append(Sent(kind, started, reply.status, reply.body, prospect_id))
                time.sleep(0.02)

        def saves(*, after: float = 0.0) -> int:
            with lock:
                return sum(1 for item in sent
                           if item.kind == "save" and item.started >= after and "Saved." in item.body)

        threads = [threading.Thread(target=traffic, args=(kind,), daemon=True)
                   for kind in ("save", "command", "options")]
        for thread in threads:
            thread.start()
        try:
            wait_until(lambda: saves() >= 5, 10, "saves before the restart")
            # Slack is slow to answer the worker, so that a post is in flight as the server goes away.
            outage.start(slower=1.0, methods={"chat.postMessage"})
            time.sleep(0.5)
            private_postgres.stop("fast")
            down = time.monotonic()
            health_while_down = slack.get("/healthz").status
            time.sleep(1.0)
            private_postgres.start()
            back = time.monotonic()
            outage.end()
            wait_until(lambda: saves(after=back) >= 10, 15, "saves after the restart")
        finally:
            stop_traffic.set()
            for thread in threads:
                thread.join(timeout=15)
        assert health_while_down == 503 and slack.get("/healthz").status == 200

        # No 500, no traceback: every answer is the usual one or the sentence.
        assert sent and all(item.status == 200 for item in sent)
        refused: list[Sent] = []
        for item in sent:
            if item.kind == "save":
                answer = json.loads(item.body)
                if answer.get("response_action") == "errors":
                    assert UNAVAILABLE.match(answer["errors"]["dnc_reason"]), item.body
                    refused.append(item)
                else:
                    assert "will not be contacted again" in texts(answer["view"]), item.body
            elif item.kind == "options":
                shown = [option["text"]["text"] for option in json.loads(item.body)["options"]]
                assert shown and (all("@acme.com" in text for text in shown) or (
                    len(shown) == 1 and shown[0].startswith("⚠ The database is unavailable right now"))), shown
            else:
                assert item.body == ""  # acknowledged; the answer follows as a view or an ephemeral message
        assert refused, "no request met the server away"
        # From the moment the server is back, everything works.
        assert [item for item in refused if item.started >= back] == []
        commands = sum(1 for item in sent if item.kind == "command")
        wait_until(lambda: len(fake_slack.calls_to("views.open")) - 1 + len(said(fake_slack)) >= commands, 10,
                   "every command's answer")
        assert said(fake_slack) and all(UNAVAILABLE.match(sentence) for sentence in said(fake_slack))

        # Nothing is half-written: each prospect has its do-not-contact row and its audit row, or neither.
        for item in sent:
            if item.kind == "save":
                row, actors = saved(database, item.prospect_id)
                assert (row is not None) == (actors == [f"slack:{MEMBER}"]), item
                assert row is not None or item in refused
        # The next save commits with its audit row.
        reply = slack.submit(edits[people["ids"][0]], reason("not-target"))
        assert "will not be contacted again (Not target audience)" in texts(reply.json["view"])
        assert saved(database, people["ids"][0])[1] == [f"slack:{MEMBER}"]

        # The worker lived through it: every opt-out is announced once.
        try:
            wait_until(lambda: undelivered(database) == 0, 20, "the notifications after the restart", interval=0.1)
            time.sleep(0.3)
        finally:
            stop_worker.set()
            worker.join(timeout=15)
        with database.snapshot() as session:
            marked = session.scalars(select(Prospect.email).join(DoNotContact)).all()
        # One post was in flight as the server went away: Slack accepted it while its delivery could not be recorded.
        assert any(down - 1.0 < call.at < down for call in list(fake_slack.calls) if call.method == "chat.postMessage"
                   and call.args.get("channel") == OPT_OUTS_CHANNEL and call.response.get("ok"))
        posts = [texts(post) for post in opt_out_posts(fake_slack)]
        assert sorted(posts) == sorted(set(posts)) and len(posts) == len(marked)
        assert all(sum(email in post for post in posts) == 1 for email in marked)


# -- 3. A process killed with SIGKILL in the middle of a bulk approval or an import -------------------------------

BULK_PROSPECTS = 60_000  # six chunks of do-not-contact rows: killed in the third
# `prospectbot requests approve ID`, with a probe that says on stderr when each chunk of do-not-contact rows
# starts being written.
APPROVE = """
import sys
from sqlalchemy import Engine, event
from bot.cli import main

@event.listens_for(Engine, "before_cursor_execute")
def writing(conn, cursor, statement, parameters, context, executemany):
    if "INSERT INTO do_not_contact" in statement:  # alone, or inside a WITH on PostgreSQL
        print("writing", file=sys.stderr, flush=True)

main()
"""


def approve_in_a_process(database_url: str, request_id: int, *, kill_at_chunk: int | None = None
                         ) -> tuple[list[str], str]:
    """`prospectbot requests approve ID` in a process of its own; with `kill_at_chunk`, killed with SIGKILL as it
    starts writing that chunk of do-not-contact rows. Returns the probe's lines and what the command printed."""
    process = subprocess.Popen([sys.executable, "-c", APPROVE, "requests", "approve", str(request_id)], cwd=REPO,
                               env=environment(database_url, PROSPECTBOT_ACTOR="boss"), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    probed: list[str] = []
    try:
        for line in process.stderr:
            probed.append(line.strip())
            if kill_at_chunk and probed.count("writing") == kill_at_chunk:
                os.kill(process.pid, signal.SIGKILL)
                break
        said_on_stdout = process.stdout.read()
    finally:
        code = process.wait(timeout=60)
        process.stdout.close()
        process.stderr.close()
    assert code == (-signal.SIGKILL if kill_at_chunk else 0), (probed, said_on_stdout)
    return probed, said_on_stdout


def bulk_state(database, request_id: int) -> dict[str, Any]:
    with database.snapshot() as session:
        request = session.get(BulkRequest, request_id)
        count = lambda *where: session.scalar(select(func.count()).where(*where))  # noqa: E731
        return {"status": request.status, "decided_by": request.decided_by, "applied": request.applied_count,
                "do_not_contact": count(DoNotContact.prospect_id.is_not(None)),
                "audited": count(AuditEntry.action == "do_not_contact"),
                "approvals": count(AuditEntry.action == "bulk.approve"),
                "summaries": count(Notification.id.is_not(None))}


def test_a_bulk_approval_killed_midway_applies_nothing_and_approving_again_applies_it_once(database, database_url):
    with database.transaction() as session:
        campaign = factories.campaign(session, "Big campaign")
        now = utcnow()
        created = insert_new_prospects(session, [
            new_prospect_row({"email": f"p{n:06}@quiet.example", "first_name": "P"},
                             address_identity(TEST_SECRET_KEY, f"p{n:06}@quiet.example"), source="test", now=now)
            for n in range(BULK_PROSPECTS)])
        bulk_insert(session, Membership, [
            {"campaign_id": campaign, "prospect_id": pid, "status": "active", "added_at": now}
            for pid in created.values()])
        request_id = bulk.create_request(session, campaign, bulk.Rule("domains", domains=("quiet.example",)),
                                         actor=Actor(f"slack:{MEMBER}", "slack"))

    probed, said_on_stdout = approve_in_a_process(database_url, request_id, kill_at_chunk=3)
    assert probed == ["writing"] * 3 and said_on_stdout == ""
    # Two chunks were written and a third begun, in the approval's transaction: none of it is there.
    assert bulk_state(database, request_id) == {"status": "pending", "decided_by": None, "applied": 0,
                                                "do_not_contact": 0, "audited": 0, "approvals": 0, "summaries": 0}

    probed, said_on_stdout = approve_in_a_process(database_url, request_id)
    assert probed == ["writing"] * (BULK_PROSPECTS // 10_000)
    assert (f"Approved request #{request_id} ({BULK_PROSPECTS:,} prospects in Big campaign): {BULK_PROSPECTS:,} now "
            "do not contact.") in said_on_stdout
    after = {"status": "approved", "decided_by": "cli:boss", "applied": BULK_PROSPECTS,
             "do_not_contact": BULK_PROSPECTS, "audited": BULK_PROSPECTS, "approvals": 1, "summaries": 1}
    assert bulk_state(database, request_id) == after
    # Approving once more is refused, in a sentence, and changes nothing.
    once_more = CliRunner().invoke(cli, ["requests", "approve", str(request_id)], catch_exceptions=False,
                                   env=environment(database_url, PROSPECTBOT_ACTOR="boss2"))
    assert once_more.exit_code == 1
    assert f"Request #{request_id} was already approved by cli:boss: nothing changed." in once_more.stderr
    assert bulk_state(database, request_id) == after


IMPORT_ROWS = 60_000


def import_chunks(database) -> int:
    with database.snapshot() as session:
        return session.scalar(select(func.count()).where(AuditEntry.action == "import")) or 0


def created_in_audit(database) -> int:
    with database.snapshot() as session:
        return sum(len(after["created"]) for after in session.scalars(
            select(AuditEntry.after).where(AuditEntry.action == "import")))


def import_counts(database) -> dict[str, int]:
    with database.snapshot() as session:
        return {
            "prospects": session.scalar(select(func.count()).select_from(Prospect)),
            "addresses": session.scalar(select(func.count(func.distinct(Prospect.email)))),
            "memberships": session.scalar(select(func.count()).select_from(Membership)),
            "people in the campaign": session.scalar(select(func.count(func.distinct(Membership.prospect_id)))),
            "chunks": session.scalar(select(func.count()).where(AuditEntry.action == "import")),
            "sendable": session.scalar(text("SELECT count(*) FROM sendable_recipients")),
        }


def test_an_import_killed_midway_can_simply_be_run_again(database, database_url, tmp_path):
    leads = tmp_path / "leads.csv"
    with leads.open("w", encoding="utf-8") as out:
        out.write("Email,First Name,Last Name,Company\n")
        out.writelines(f"lead{n:06}@co{n % 500}.example,First{n},Last{n},Company {n % 500}\n"
                       for n in range(IMPORT_ROWS))
    command = [prospectbot(), "import", str(leads), "--campaign", "Big import"]
    env = environment(database_url, PROSPECTBOT_ACTOR="ops")

    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        # Only the audit rows are counted while waiting: counting everything takes longer than the import's end.
        wait_until(lambda: process.poll() is None and import_chunks(database) >= 2, 60, "the import's first chunks",
                   interval=0.01)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    killed = import_counts(database)
    # Each chunk is committed whole, with its audit row, or not at all: the audit rows name everyone there is.
    done = created_in_audit(database)
    assert killed["chunks"] >= 2 and done < IMPORT_ROWS - MAX_CHUNK // 2
    assert killed == {"prospects": done, "addresses": done, "memberships": done, "people in the campaign": done,
                      "chunks": killed["chunks"], "sendable": done}
    with database.snapshot() as session:
        assert session.scalars(select(Import.finished_at)).all() == [None]  # the run says it did not finish

    again = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert f'Imported leads.csv into "Big import": {IMPORT_ROWS:,} rows.' in again.stdout
    assert re.search(rf"new contacts\s+{IMPORT_ROWS - done:,}\n", again.stdout), again.stdout
    assert re.search(rf"already in the campaign\s+{done:,}\n", again.stdout), again.stdout
    assert re.search(r"duplicates within the file\s+0\n", again.stdout), again.stdout
    finished = import_counts(database)
    assert finished["chunks"] > killed["chunks"] and created_in_audit(database) == IMPORT_ROWS
    assert finished == {"prospects": IMPORT_ROWS, "addresses": IMPORT_ROWS, "memberships": IMPORT_ROWS,
                        "people in the campaign": IMPORT_ROWS, "chunks": finished["chunks"], "sendable": IMPORT_ROWS}
    with database.snapshot() as session:
        runs = session.scalars(select(Import).order_by(Import.id)).all()
    assert [run.finished_at is not None for run in runs] == [False, True]
    assert runs[1].counts["new"] == IMPORT_ROWS - done and runs[1].counts["already_in_campaign"] == done

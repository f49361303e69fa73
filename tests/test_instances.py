"""Several `prospectbot serve` processes and a separate `prospectbot worker` on one database, as a team deploys
them behind a load balancer: every change lands once, every notification is posted once, a bulk request is
applied once even when two managers click on two instances at the same moment."""

from __future__ import annotations

import subprocess
import threading
import time
import urllib.request

import pytest
from sqlalchemy import func, select

from storage import bulk_requests as bulk
from storage.audit import Actor
from storage.models import AuditEntry, DoNotContact, Membership, Notification
from storage.unsubscribe import unsubscribe_token
from tests import factories
from tests.fake_slack import MANAGER, OTHER_MANAGER
from tests.slack_driver import SIGNING_SECRET, SlackDriver
from tests.support import APPROVALS_CHANNEL, TEST_SECRET_KEY
from tests.test_serve import environment, free_port, prospectbot

OPT_OUTS = 24
NOTIFY_CHANNEL = "C0OPTOUTS"


def start(command: list[str], env: dict[str, str], cwd) -> subprocess.Popen:
    return subprocess.Popen([prospectbot(), *command], cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def wait_healthy(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"serve on {port} did not start: {process.stderr.read() if process.poll() else ''}")
        time.sleep(0.1)


@pytest.fixture
def team(database):
    with database.transaction() as session:
        campaign = factories.campaign(session, "Q4 Outreach")
        people = [factories.prospect(session, f"person{n:02}@acme.com", campaign, first_name=f"Person{n:02}")
                  for n in range(OPT_OUTS)]
        bulk_people = [factories.prospect(session, f"quiet{n:02}@globex.com", campaign) for n in range(40)]
        memberships = dict(session.execute(select(Membership.prospect_id, Membership.id)).all())
        request_id = bulk.create_request(session, campaign, bulk.parse_rule("domains", domains="globex.com"),
                                         actor=Actor("slack:U0ALICE", "slack"))
    return {"campaign": campaign, "people": people, "bulk_people": bulk_people, "memberships": memberships,
            "request_id": request_id}


def test_two_servers_and_a_worker_change_and_announce_everything_exactly_once(database_url, database, fake_slack,
                                                                              team, tmp_path):
    env = environment(database_url, SLACK_BOT_TOKEN="xoxb-test-token", SLACK_SIGNING_SECRET=SIGNING_SECRET,
                      SLACK_API_URL=fake_slack.api_url, SLACK_NOTIFY_CHANNEL=NOTIFY_CHANNEL,
                      SLACK_APPROVALS_CHANNEL=APPROVALS_CHANNEL)
    ports = [free_port(), free_port()]
    processes = [start(["serve", "--port", str(port)], env, tmp_path) for port in ports]
    processes.append(start(["worker"], env, tmp_path))
    try:
        for port, process in zip(ports, processes):
            wait_healthy(port, process)
        bases = [f"http://127.0.0.1:{port}" for port in ports]

        # Every opt-out link clicked once, through alternating instances, plus a second click of each through
        # the other instance (mail clients do that): all at once.
        def click(index: int, repeat: bool) -> None:
            membership = team["memberships"][team["people"][index]]
            base = bases[(index + repeat) % 2]
            link = f"{base}/unsubscribe/{unsubscribe_token(TEST_SECRET_KEY, membership)}"
            request = urllib.request.Request(link, data=b"List-Unsubscribe=One-Click", method="POST")
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200

        clicks = [threading.Thread(target=click, args=(index, repeat))
                  for index in range(OPT_OUTS) for repeat in (False, True)]
        # Two managers approve the same bulk request at the same moment, on different instances.
        message = {"channel": APPROVALS_CHANNEL, "ts": "1700000000.000001", "blocks": [{
            "type": "actions", "block_id": "decide", "elements": [{
                "type": "button", "action_id": "approvals.approve", "text": {"type": "plain_text", "text": "Approve"},
                "value": f'{{"r":{team["request_id"]}}}'}]}]}
        approvals = [threading.Thread(target=SlackDriver(base, fake_slack).click_message,
                                      args=(message, "approvals.approve"), kwargs={"user": user})
                     for base, user in zip(bases, (MANAGER, OTHER_MANAGER))]
        for thread in clicks + approvals:
            thread.start()
        for thread in clicks + approvals:
            thread.join()

        # 24 opt-out messages and one bulk summary: wait for them, then a little longer to catch any duplicate.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            posted = [c for c in fake_slack.calls_to("chat.postMessage") if c["channel"] == NOTIFY_CHANNEL]
            if len(posted) >= OPT_OUTS + 1:
                break
            time.sleep(0.1)
        time.sleep(1.5)
        posted = [c for c in fake_slack.calls_to("chat.postMessage") if c["channel"] == NOTIFY_CHANNEL]
        texts = [call["text"] for call in posted]
        assert len(posted) == OPT_OUTS + 1, texts
        assert sorted(t for t in texts if t.startswith("Person")) == sorted(
            f"Person{n:02} opted out (Requested by the prospect)." for n in range(OPT_OUTS))
        assert [t for t in texts if "40 prospects" in t] == ["40 prospects opted out (Not target audience)."]
        refusals = [call.args["text"] for call in fake_slack.calls if call.method.startswith("response_url/")]
        assert len(refusals) == 1 and "already approved" in refusals[0]

        with database.snapshot() as session:
            reasons = dict(session.execute(select(DoNotContact.prospect_id, DoNotContact.reason)).all())
            assert reasons == {**{pid: "requested" for pid in team["people"]},
                               **{pid: "not-target" for pid in team["bulk_people"]}}
            audit = session.execute(select(AuditEntry.action, AuditEntry.channel, func.count())
                                    .group_by(AuditEntry.action, AuditEntry.channel)).all()
            counts = {(action, channel): n for action, channel, n in audit}
            assert counts[("do_not_contact", "unsubscribe-link")] == OPT_OUTS
            assert counts[("do_not_contact", "bulk")] == 40 and counts[("bulk.approve", "slack")] == 1
            undelivered = session.scalar(select(func.count()).select_from(Notification)
                                         .where(Notification.delivered_at.is_(None)))
            assert undelivered == 0
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=15)

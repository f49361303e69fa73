"""Bulk unsubscribe through the real HTTP endpoint: a member's request, a manager's approval in the approvals
channel, four eyes, roles, expiry, and two managers approving at the same moment."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import func, select, update

from bot.notifier import Notifier
from bot.slack_client import slack_client
from storage import bulk_requests as bulk
from storage.audit import Actor
from storage.do_not_contact import mark_do_not_contact
from storage.models import BulkRequest, BulkRequestItem, DoNotContact, Notification, utcnow
from storage.sending import is_sendable, record_activity
from tests import factories
from tests.fake_slack import GUEST, MANAGER, MEMBER, OTHER_MANAGER
from tests.slack_driver import texts
from tests.support import APPROVALS_CHANNEL


@pytest.fixture
def q4(database):
    """Q4 Outreach: 12 people emailed 3 times who never opened or replied, 3 who replied, 2 at globex.com."""
    with database.transaction() as session:
        campaign = factories.campaign(session, "Q4 Outreach")
        silent, engaged = [], []
        for n in range(15):
            pid = factories.prospect(session, f"person{n:02}@acme.com", campaign, first_name=f"Person{n:02}")
            for _ in range(3):
                record_activity(session, campaign, pid, "sent")
            if n >= 12:
                record_activity(session, campaign, pid, "replied")
                engaged.append(pid)
            else:
                silent.append(pid)
        globex = [factories.prospect(session, f"{name}@globex.com", campaign, first_name=name.title())
                  for name in ("hank", "ivy")]
    return {"id": campaign, "silent": silent, "engaged": engaged, "globex": globex}


def form_state(campaign_id: int, rule: str, *, min_sent: str = "3", domains: str = "", addresses: str = "") -> dict:
    return {
        "bulk_campaign": {"bulk.campaign": {"type": "external_select",
                                            "selected_option": {"value": str(campaign_id)}}},
        "bulk_rule": {"rule": {"type": "radio_buttons", "selected_option": {"value": rule}}},
        "bulk_min_sent": {"min_sent": {"type": "number_input", "value": min_sent}},
        "bulk_domains": {"domains": {"type": "plain_text_input", "value": domains}},
        "bulk_addresses": {"addresses": {"type": "plain_text_input", "value": addresses}},
    }


def confirm_state(reason: str = "no-interest", note: str = "") -> dict:
    return {"bulk_reason": {"reason": {"type": "static_select", "selected_option": {"value": reason}}},
            "bulk_note": {"note": {"type": "plain_text_input", "value": note}}}


def request_through_slack(slack, fake_slack, campaign_id, *, user=MEMBER, note="Quiet since September", **rule):
    """/prospect bulk → fill the form → Preview → Request approval; returns the approval message as posted."""
    slack.command("bulk", user=user)
    [opened] = fake_slack.wait_for("views.open")
    form = {**opened["view"], "id": "V0FORM"}
    preview = slack.submit(form, form_state(campaign_id, **rule), user=user).json
    assert preview["response_action"] == "push"
    confirm = {**preview["view"], "id": "V0CONFIRM"}
    reply = slack.submit(confirm, confirm_state(note=note), user=user).json
    assert reply["response_action"] == "update"
    # The requester's screen is updated last, after the approval message's place is recorded.
    deadline = time.monotonic() + 5
    while not any(u["view_id"] == "V0CONFIRM" for u in fake_slack.calls_to("views.update")):
        assert time.monotonic() < deadline, "the request was never confirmed to the requester"
        time.sleep(0.01)
    return preview["view"], approval_message(fake_slack)


def approval_message(fake_slack, count=1):
    fake_slack.wait_for("chat.postMessage", count)
    call = [c for c in fake_slack.calls if c.method == "chat.postMessage" and c.args["channel"] == APPROVALS_CHANNEL][-1]
    return {"channel": call.args["channel"], "ts": call.response["ts"], "blocks": call.args["blocks"]}


def dnc_count(database):
    with database.snapshot() as session:
        return session.scalar(select(func.count()).select_from(DoNotContact))


def said_to(fake_slack, user):
    return [call["text"] for call in fake_slack.calls_to(f"response_url/{user}")]


def test_request_then_approval_journey(slack, fake_slack, database, q4):
    preview, message = request_through_slack(slack, fake_slack, q4["id"], rule="no-engagement")
    shown = texts(preview)
    assert "*12 prospects* would be marked *do not contact* once a manager approves" in shown
    assert "Person00" in shown and "and 7 more" in shown

    # The requester is told where it went; nothing has changed yet.
    submitted = [u for u in fake_slack.wait_for("views.update") if u["view_id"] == "V0CONFIRM"][-1]
    assert "is waiting for a manager: *12 prospects* in *Q4 Outreach*" in texts(submitted["view"])
    assert f"<#{APPROVALS_CHANNEL}>" in texts(submitted["view"])
    message_text = texts({"blocks": message["blocks"]})
    assert "Quiet since September" in message_text and f"<@{MEMBER}>" in message_text and "12" in message_text
    assert dnc_count(database) == 0
    with database.snapshot() as session:
        request = session.scalars(select(BulkRequest)).one()
        assert (request.status, request.prospect_count, request.message_ts) == ("pending", 12, message["ts"])

    reply = slack.click_message(message, "approvals.approve", user=MANAGER)
    assert reply.status == 200
    [updated] = fake_slack.wait_for("chat.update")
    assert (updated["channel"], updated["ts"]) == (APPROVALS_CHANNEL, message["ts"])
    outcome = texts({"blocks": updated["blocks"]})
    assert f"*Approved* by <@{MANAGER}>: 12 prospects are now do not contact" in outcome
    assert "approvals.approve" not in outcome
    told = fake_slack.wait_for("chat.postMessage", 2)
    assert any(call["channel"] == MEMBER and f"<@{MANAGER}> approved your request" in call["text"] for call in told)

    with database.snapshot() as session:
        assert dnc_count(database) == 12
        assert not is_sendable(session, q4["id"], q4["silent"][0])
        assert is_sendable(session, q4["id"], q4["engaged"][0])
        row = session.get(DoNotContact, q4["silent"][0])
        assert (row.reason, row.channel, row.actor) == ("no-interest", "bulk", f"slack:{MANAGER}")

    # One summary notification for the campaign, not twelve.
    notifier = Notifier(database, slack_client("xoxb-test", fake_slack.api_url, retries=False),
                        default_channel="C0OPTOUTS", retry_base=0.01)
    assert notifier.deliver_due() == 1
    [summary] = [c for c in fake_slack.calls_to("chat.postMessage") if c["channel"] == "C0OPTOUTS"]
    assert "*12 prospects* were marked do not contact by a bulk request" in summary["text"] + texts(summary)


def test_a_member_can_not_approve(slack, fake_slack, database, q4):
    _, message = request_through_slack(slack, fake_slack, q4["id"], rule="domains", domains="globex.com")
    slack.click_message(message, "approvals.approve", user="U0BOB")
    fake_slack.wait_for("response_url/U0BOB")
    assert "Only a manager can approve or reject bulk requests" in said_to(fake_slack, "U0BOB")[0]
    assert dnc_count(database) == 0 and fake_slack.calls_to("chat.update") == []


def test_the_requester_can_not_approve_their_own_request(slack, fake_slack, database, q4):
    _, message = request_through_slack(slack, fake_slack, q4["id"], user=MANAGER, rule="domains", domains="globex.com")
    slack.click_message(message, "approvals.approve", user=MANAGER)
    fake_slack.wait_for(f"response_url/{MANAGER}")
    assert "You asked for this change yourself" in said_to(fake_slack, MANAGER)[0]
    assert dnc_count(database) == 0
    # Another manager may.
    slack.click_message(message, "approvals.approve", user=OTHER_MANAGER)
    fake_slack.wait_for("chat.update")
    assert dnc_count(database) == 2


def test_a_rejection_changes_nothing_and_says_so(slack, fake_slack, database, q4):
    _, message = request_through_slack(slack, fake_slack, q4["id"], rule="domains", domains="globex.com")
    slack.click_message(message, "approvals.reject", user=MANAGER)
    [updated] = fake_slack.wait_for("chat.update")
    assert f"*Rejected* by <@{MANAGER}>. Nothing changed." in texts({"blocks": updated["blocks"]})
    fake_slack.wait_for("chat.postMessage", 2)
    assert any("rejected your request" in call["text"] for call in fake_slack.calls_to("chat.postMessage"))
    # A later approval click is refused: it was decided once.
    slack.click_message(message, "approvals.approve", user=OTHER_MANAGER)
    fake_slack.wait_for(f"response_url/{OTHER_MANAGER}")
    assert said_to(fake_slack, OTHER_MANAGER) == [f"Request #1 was already rejected by <@{MANAGER}>."]
    assert dnc_count(database) == 0


def test_guests_are_refused_politely(slack, fake_slack, database, q4):
    reply = slack.command("bulk", user=GUEST)
    assert reply.status == 200 and "not available to guests" in reply.json["text"]
    assert fake_slack.calls_to("views.open") == []
    _, message = request_through_slack(slack, fake_slack, q4["id"], rule="domains", domains="globex.com")
    slack.click_message(message, "approvals.approve", user=GUEST)
    fake_slack.wait_for(f"response_url/{GUEST}")
    assert "not available to guests" in said_to(fake_slack, GUEST)[0] and dnc_count(database) == 0


@pytest.mark.parametrize("rule,fields,block,message", [
    ("domains", {"domains": " "}, "bulk_domains", "List at least one email domain"),
    ("domains", {"domains": "nowhere.org"}, "bulk_domains", "Nobody in Q4 Outreach matches this"),
    ("addresses", {"addresses": "jane@"}, "bulk_addresses", "not a valid email address"),
    ("no-engagement", {"min_sent": "0"}, "bulk_min_sent", "whole number from 1"),
])
def test_the_form_says_what_to_fix(slack, fake_slack, database, q4, rule, fields, block, message):
    slack.command("bulk")
    [opened] = fake_slack.wait_for("views.open")
    reply = slack.submit({**opened["view"], "id": "V0FORM"}, form_state(q4["id"], rule, **fields)).json
    assert reply["response_action"] == "errors" and message in reply["errors"][block]
    with database.snapshot() as session:
        assert session.scalar(select(func.count()).select_from(BulkRequest)) == 0


def test_a_request_expires_and_then_changes_nothing(slack, fake_slack, database, q4):
    _, message = request_through_slack(slack, fake_slack, q4["id"], rule="domains", domains="globex.com")
    with database.transaction() as session:
        session.execute(update(BulkRequest).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    notifier = Notifier(database, slack_client("xoxb-test", fake_slack.api_url, retries=False), default_channel="")
    assert notifier.expire_requests() == 1
    [updated] = fake_slack.wait_for("chat.update")
    assert "*Expired* on" in texts({"blocks": updated["blocks"]}) and "Nothing changed" in texts(
        {"blocks": updated["blocks"]})
    assert any(call["channel"] == MEMBER and "expired before a manager decided" in call["text"]
               for call in fake_slack.calls_to("chat.postMessage"))
    slack.click_message(message, "approvals.approve", user=MANAGER)
    fake_slack.wait_for(f"response_url/{MANAGER}")
    assert said_to(fake_slack, MANAGER) == ["Request #1 was already expired."]
    assert dnc_count(database) == 0


def test_app_home_shows_managers_what_waits_and_decides_from_there(slack, fake_slack, database, q4):
    request_through_slack(slack, fake_slack, q4["id"], rule="domains", domains="globex.com")
    with database.transaction() as session:
        mark_do_not_contact(session, [q4["engaged"][0]], reason="requested",
                                actor=Actor("link", "unsubscribe-link"))
    slack.event({"type": "app_home_opened", "user": MANAGER, "tab": "home", "event_ts": "1.1"})
    [home] = fake_slack.wait_for("views.publish")
    shown = texts(home["view"])
    assert "Waiting for your approval" in shown and "Bulk unsubscribe request #1" in shown
    assert "Person12" in shown  # the opt-out, in every campaign since this manager has not worked on any yet
    slack.click({**home["view"], "id": "V0HOME"}, "approvals.approve", user=MANAGER)
    published = fake_slack.wait_for("views.publish", 2)
    assert "No bulk request is waiting." in texts(published[-1]["view"])
    assert "approved a bulk unsubscribe" in texts(published[-1]["view"])
    assert dnc_count(database) == 3

    # A member's home: their own actions, no approvals.
    slack.event({"type": "app_home_opened", "user": MEMBER, "tab": "home", "event_ts": "1.2"})
    member_home = fake_slack.wait_for("views.publish", 3)[-1]["view"]
    assert "Waiting for your approval" not in texts(member_home)
    assert "asked for a bulk unsubscribe in Q4 Outreach" in texts(member_home)


def test_two_managers_approving_at_the_same_moment_apply_it_once(slack, fake_slack, database, q4):
    _, message = request_through_slack(slack, fake_slack, q4["id"], rule="no-engagement")
    start = threading.Barrier(2)

    def click(user: str) -> None:
        start.wait()
        slack.click_message(message, "approvals.approve", user=user)

    threads = [threading.Thread(target=click, args=(user,)) for user in (MANAGER, OTHER_MANAGER)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    fake_slack.wait_for("chat.update", 2)
    refused = fake_slack.wait_for(f"response_url/{MANAGER}", timeout=1) if said_to(fake_slack, MANAGER) else \
        fake_slack.wait_for(f"response_url/{OTHER_MANAGER}")
    assert "was already approved by" in refused[0]["text"]
    with database.snapshot() as session:
        assert dnc_count(database) == 12
        assert session.scalar(select(func.count()).select_from(Notification)) == 1
        assert session.scalar(select(func.count()).select_from(BulkRequestItem)) == 12
        assert bulk.request_view(session, 1).applied_count == 12

"""Security, through the real HTTP endpoint: who may do what (every action × every kind of user), Slack's request
signatures, secrets kept out of logs, and SQL injection attempts in every text field.

The matrix: an allowed action does what it says; a refused one shows the person a polite sentence where they
clicked and leaves the database exactly as it was (every row of every table compared). Each case works on fresh
data of its own, in one app per database shared by the module (tests/harness.py).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bot.notifier import Notifier
from bot.slack_client import slack_client
from handlers import access, register_listeners
from handlers.bulk.views import build_bulk_form, request_message
from handlers.edit.views import build_edit_modal
from handlers.find.listeners import HELP
from handlers.find.views import build_find_modal
from handlers.home.views import build_home
from handlers.profile.views import build_profile_modal
from handlers.replies.views import DECIDE_ACTIONS, reply_card_message
from storage import bulk_requests as bulk
from storage import inbound, reply_cards, roles
from storage.audit import Actor
from storage.db import Database
from storage.do_not_contact import mark_do_not_contact
from storage.errors import DatabaseUnavailable
from storage.mail_reading import read_mail
from storage.models import Base, BlockedDomain, BulkRequest, Campaign, DoNotContact, Membership, Prospect
from storage.prospects import ProspectDetails, prospect_details
from storage.reply_intent import classify_reply
from storage.search import ProspectSummary, SearchPage
from storage.unsubscribe import unsubscribe_token
from tests import factories
from tests.fake_slack import GUEST, MANAGER, MEMBER, OTHER_MANAGER, OUTSIDER, TEAM_ID, Scripted
from tests.harness import LiveApp, World, check_views, running, start
from tests.inbound_mail import reply as inbound_reply
from tests.slack_driver import SIGNING_SECRET, Reply, texts
from tests.support import APPROVALS_CHANNEL, TEST_SECRET_KEY

GRANTED_GUEST = "U0GRANTED"  # a guest of the workspace whom an operator granted the member role
GRANTED_MANAGER = "U0PROMOTED"  # an ordinary full member whom an operator granted the manager role

# Kind of user → (Slack user id, role they have).
USERS = {
    "member": (MEMBER, access.MEMBER),
    "manager": (MANAGER, access.MANAGER),
    "guest": (GUEST, None),
    "requester": (OTHER_MANAGER, access.MANAGER),  # a manager who asked for the bulk request at hand
    "outsider": (OUTSIDER, None),  # from another workspace, through a Slack Connect channel
    "granted member": (GRANTED_GUEST, access.MEMBER),
    "granted manager": (GRANTED_MANAGER, access.MANAGER),
}
FOUR_EYES = "You asked for this change yourself, so another manager must approve or reject it."


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(request, tmp_path_factory):
    yield from start(request, tmp_path_factory)


@pytest.fixture(scope="module")
def team(live: LiveApp) -> World:
    live.fake.people[GRANTED_GUEST] = {"is_restricted": True}
    operator = Actor("cli:ops", "cli")
    with live.database.transaction() as session:
        roles.grant_role(session, GRANTED_GUEST, "member", actor=operator)
        roles.grant_role(session, GRANTED_MANAGER, "manager", actor=operator)
        q4 = factories.campaign(session, "Q4 Outreach")
    return World(q4=q4, cases=itertools.count(1))


@dataclass
class Case:
    """Fresh data for one cell of the matrix: a prospect of their own, at a domain of their own, in Q4 Outreach;
    do not contact when the action is a lift; and a bulk request for them when the action decides one."""

    n: int
    q4: int
    prospect: int
    email: str
    domain: str
    details: ProspectDetails
    request: int | None = None
    card: int | None = None  # their reply that may be an opt-out, waiting in Slack

    def view(self, built: dict[str, Any]) -> dict[str, Any]:
        """A view as Slack hands it back: with its id and hash."""
        return {**built, "id": f"V0CASE{self.n}", "hash": f"h{self.n}"}


def prepare(live: LiveApp, team: World, action: str) -> Case:
    n = next(team["cases"])
    domain = f"case{n}.example"
    email = f"person{n}@{domain}"
    with live.database.transaction() as session:
        prospect = factories.prospect(session, email, team["q4"], first_name=f"Casey{n}", last_name="Tester")
        if action == "lift":
            mark_do_not_contact(session, [prospect], reason="no-interest", actor=Actor("slack:U0BOB", "slack"))
        request = None
        if action in ("approve", "reject"):
            request = bulk.create_request(session, team["q4"], bulk.parse_rule("domains", domains=domain),
                                          actor=Actor(f"slack:{OTHER_MANAGER}", "slack"))
        card = None
        if action.startswith("reply card"):
            card = reply_waiting_in_slack(session, n, email)
        details = prospect_details(session, prospect)
    return Case(n, team["q4"], prospect, email, domain, details, request, card)


def reply_waiting_in_slack(session: Session, n: int, email: str) -> int:
    """The prospect answered "Not interested": their reply waits in the channel for a member's decision."""
    mail = read_mail(inbound_reply(email, "Not interested, thanks."))
    context = inbound.MailboxContext("sales", 1, "authorization", TEST_SECRET_KEY)
    assert inbound.claim_mailbox(session, "sales", "authorization") is not None
    processed = inbound.process_message(session, context, n, mail, classify_reply(mail.new_text))
    assert processed.outcome == "carded" and processed.inbound_id is not None
    return processed.inbound_id


def card_message(live: LiveApp, case: Case) -> dict[str, Any]:
    """The reply's card in the campaign's channel, as the worker posts it."""
    assert case.card is not None
    with live.database.snapshot() as session:
        _, blocks = reply_card_message(reply_cards.reply_card(session, case.card))
    return {"channel": "C0SALES", "ts": f"1700000001.{case.n:06}", "blocks": blocks}


def card_decided(action_id: str, reason: str | None) -> Works:
    def check(live: LiveApp, case: Case, user: str, reply: Reply) -> None:
        assert state_of(live, case)["dnc"] == reason
        with live.database.snapshot() as session:
            card = reply_cards.reply_card(session, case.card or 0)
        assert (card.status, card.decided_by) == (DECIDE_ACTIONS[action_id], f"slack:{user}")
        [updated] = [args for method, args in live.shown() if method == "chat.update"]
        assert "<@" + user + ">" in json.dumps(updated["blocks"])

    return check


def reply_card_action(action_id: str, reason: str | None) -> Action:
    return Action(("action", action_id), MEMBER_ROLE,
                  lambda live, case, user: live.slack.click_message(card_message(live, case), action_id, user=user),
                  card_decided(action_id, reason))


def everything(live: LiveApp) -> dict[str, list[str]]:
    """Every row of every table: what "nothing changed" is compared against. Not the record of which Slack requests
    arrived (bot/web.py keeps one of every interaction, refused or not, to answer a replay of it)."""
    with live.database.snapshot() as session:
        return {table.name: sorted(repr(tuple(row)) for row in session.execute(select(table)))
                for table in Base.metadata.sorted_tables if table.name != "slack_request_records"}


def all_text(reply: Reply, shown: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """What the person saw, one string per surface: the acknowledgement, then each view or message."""
    said = [json.dumps(reply.json, ensure_ascii=False)] if reply.body.startswith("{") else []
    return said + [json.dumps(args, ensure_ascii=False) for _, args in shown]


# -- the actions ----------------------------------------------------------------------------------------------------


def selected(value: str, label: str = "x") -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": label}, "value": value}


def find_view(case: Case) -> dict[str, Any]:
    """Find, with Q4 Outreach chosen and a page listing the case's prospect between a previous and a next page."""
    item = ProspectSummary(case.prospect, case.email, f"Casey{case.n}", "Tester", "", "", False)
    page = SearchPage(items=[item], offset=10, limit=10, has_more=True)
    return case.view(build_find_modal(campaign=(case.q4, "Q4 Outreach"), page=page))


def manager_edit_view(case: Case) -> dict[str, Any]:
    """The Edit modal a manager sees: a member who sends its buttons forged them (or kept an old screen)."""
    return case.view(build_edit_modal(case.details, campaign_id=case.q4, is_manager=True, can_delete=True))


def page_value(case: Case) -> str:
    return json.dumps({"c": case.q4, "q": f"casey{case.n}", "o": 0})


def approval_message(live: LiveApp, case: Case) -> dict[str, Any]:
    """The request's message in the approvals channel, as the bot posts it."""
    with live.database.snapshot() as session:
        _, blocks = request_message(bulk.request_view(session, case.request))
    return {"channel": APPROVALS_CHANNEL, "ts": f"1700000000.{case.n:06}", "blocks": blocks}


def home_view(user: str) -> dict[str, Any]:
    return {**build_home(user, is_manager=True, actions=[], opt_outs=[], pending=[]), "id": "V0HOME", "hash": "h"}


def notification(case: Case) -> dict[str, Any]:
    """An opt-out notification in a channel, with its Open profile button."""
    return {"channel": "C0OPTOUTS", "ts": "1700000000.000009", "blocks": [{"type": "actions", "elements": [
        {"type": "button", "action_id": "notify.open_profile", "text": {"type": "plain_text", "text": "Open profile"},
         "value": json.dumps({"p": case.prospect})}]}]}


def bulk_state(case: Case) -> dict[str, Any]:
    """The bulk form filled in: everyone at the case's domain, in Q4 Outreach."""
    return {"bulk_campaign": {"bulk.campaign": {"type": "external_select",
                                                "selected_option": selected(str(case.q4), "Q4 Outreach")}},
            "bulk_rule": {"rule": {"type": "radio_buttons", "selected_option": selected("domains")}},
            "bulk_domains": {"domains": {"type": "plain_text_input", "value": case.domain}}}


def confirm_view(case: Case) -> dict[str, Any]:
    """The preview of that request, with the metadata the bot writes into it."""
    metadata = {"c": case.q4, "k": "domains", "n": 0, "d": [case.domain], "a": ""}
    return case.view({"type": "modal", "callback_id": "bulk.confirm", "title": {"type": "plain_text", "text": "Bulk"},
                      "private_metadata": json.dumps(metadata), "blocks": [
                          {"type": "input", "block_id": "bulk_reason", "label": {"type": "plain_text", "text": "Reason"},
                           "element": {"type": "static_select", "action_id": "reason", "options": []}}]})


def confirm_state(case: Case) -> dict[str, Any]:
    return {"bulk_reason": {"reason": {"type": "static_select", "selected_option": selected("not-target")}},
            "bulk_note": {"note": {"type": "plain_text_input", "value": f"case {case.n}"}}}


def dnc_state(reason: str, note: str | None = None) -> dict[str, Any]:
    state = {"dnc_reason": {"reason": {"type": "radio_buttons", "selected_option": selected(reason)}}}
    if note is not None:
        state["dnc_note"] = {"note": {"type": "plain_text_input", "value": note}}
    return state


def state_of(live: LiveApp, case: Case) -> dict[str, Any]:
    with live.database.snapshot() as session:
        dnc = session.get(DoNotContact, case.prospect)
        return {"exists": session.get(Prospect, case.prospect) is not None,
                "dnc": dnc.reason if dnc else None,
                "blocked": session.get(BlockedDomain, case.domain) is not None,
                "request": session.get(BulkRequest, case.request).status if case.request else None,
                "channel": session.get(Campaign, case.q4).notify_channel}


def shown_views(live: LiveApp, method: str) -> list[dict[str, Any]]:
    return [args["view"] for called, args in live.shown() if called == method]


def one_view(live: LiveApp, method: str, title: str, *containing: str) -> None:
    """Exactly one view was shown with `method`, titled `title`, showing each of `containing`."""
    views = shown_views(live, method)
    assert len(views) == 1 and views[0]["title"]["text"] == title, (method, title, live.shown())
    for needle in containing:
        assert needle in texts(views[0]), (needle, texts(views[0])[:500])


def options_include(reply: Reply, value: str) -> None:
    assert value in [option["value"] for option in reply.json["options"]], reply.json


Send = Callable[[LiveApp, Case, str], Reply]
Works = Callable[[LiveApp, Case, str, Reply], None]


@dataclass(frozen=True)
class Action:
    listener: tuple[str, str]  # how the app registers it: ("action", "edit.delete"), ("view", "edit"), ...
    needs: str  # the role the action asks for
    send: Send  # the request Slack sends when `user` does it
    works: Works  # checks what an allowed person got
    what: str = ""  # for a managers' action: the end of "Only a manager can …"


def command(text_of: Callable[[Case], str]) -> Send:
    return lambda live, case, user: live.slack.command(text_of(case), user=user)


def manager_button(action_id: str) -> Send:
    """A click on one of the managers' buttons of the Edit modal."""
    return lambda live, case, user: live.slack.click(manager_edit_view(case), action_id, user=user)


def view_shown(method: str, title: str, *containing: Callable[[Case], str]) -> Works:
    return lambda live, case, user, reply: one_view(live, method, title, *(part(case) for part in containing))


def state_is(key: str, expected: Callable[[Case], Any]) -> Works:
    def check(live: LiveApp, case: Case, user: str, reply: Reply) -> None:
        assert state_of(live, case)[key] == expected(case)

    return check


def saved(live: LiveApp, case: Case, user: str, reply: Reply) -> None:
    assert reply.json["response_action"] == "update"
    assert f"Saved. *Casey{case.n} Tester* will not be contacted again" in texts(reply.json["view"])
    with live.database.snapshot() as session:
        assert session.get(DoNotContact, case.prospect).actor == f"slack:{user}"


def previewed(live: LiveApp, case: Case, user: str, reply: Reply) -> None:
    assert (reply.json["response_action"], reply.json["view"]["callback_id"]) == ("push", "bulk.confirm")
    assert "*1 prospect*" in texts(reply.json["view"])


def requested(live: LiveApp, case: Case, user: str, reply: Reply) -> None:
    assert reply.json["response_action"] == "update"
    with live.database.snapshot() as session:
        [request] = session.scalars(select(BulkRequest).where(BulkRequest.note == f"case {case.n}")).all()
    assert (request.requested_by, request.status, request.prospect_count) == (f"slack:{user}", "pending", 1)
    assert "is waiting for a manager" in texts(shown_views(live, "views.update")[-1])


def decided(status: str) -> Works:
    def check(live: LiveApp, case: Case, user: str, reply: Reply) -> None:
        state = state_of(live, case)
        assert (state["request"], state["dnc"]) == (status, "not-target" if status == "approved" else None)
        told = [args["text"] for method, args in live.shown() if method == "chat.postMessage"]
        assert any(f"<@{user}> {status} your request" in said for said in told), told

    return check


def home_published(live: LiveApp, case: Case, user: str, reply: Reply) -> None:
    [published] = shown_views(live, "views.publish")
    shown = texts(published)
    assert "home.find" in shown
    assert ("Waiting for your approval" in shown) == (ROLE_OF[user] == access.MANAGER)


ROLE_OF = dict(USERS.values())
MEMBER_ROLE, MANAGER_ROLE = access.MEMBER, access.MANAGER

ACTIONS: dict[str, Action] = {
    "/prospect": Action(
        ("command", "/prospect"), MEMBER_ROLE, command(lambda case: ""),
        view_shown("views.open", "Find a prospect")),
    "/prospect TEXT": Action(
        ("command", "/prospect"), MEMBER_ROLE, command(lambda case: case.email),
        view_shown("views.open", "Prospect", lambda case: case.email)),
    "/prospect help": Action(
        ("command", "/prospect"), MEMBER_ROLE, command(lambda case: "help"),
        lambda live, case, user, reply: _assert_equal(
            [args["text"] for method, args in live.shown() if method == f"response_url/{user}"], [HELP])),
    "/prospect bulk": Action(
        ("command", "/prospect"), MEMBER_ROLE, command(lambda case: "bulk"),
        view_shown("views.open", "Bulk unsubscribe")),
    "campaign type-ahead": Action(
        ("options", "find.campaign"), MEMBER_ROLE,
        lambda live, case, user: live.slack.options(find_view(case), "find.campaign", "q4", user=user),
        lambda live, case, user, reply: options_include(reply, str(case.q4))),
    "prospect type-ahead": Action(
        ("options", "find.prospect"), MEMBER_ROLE,
        lambda live, case, user: live.slack.options(find_view(case), "find.prospect", f"casey{case.n}", user=user),
        lambda live, case, user, reply: options_include(reply, str(case.prospect))),
    "bulk campaign type-ahead": Action(
        ("options", "bulk.campaign"), MEMBER_ROLE,
        lambda live, case, user: live.slack.options(case.view(build_bulk_form()), "bulk.campaign", "Q4", user=user),
        lambda live, case, user, reply: options_include(reply, str(case.q4))),
    "choose a campaign": Action(
        ("action", "find.campaign"), MEMBER_ROLE,
        lambda live, case, user: live.slack.click(find_view(case), "find.campaign", user=user,
                                                  selected=selected(str(case.q4), "Q4 Outreach")),
        view_shown("views.update", "Find a prospect", lambda case: "Prospects in *Q4 Outreach*")),
    "next page": Action(
        ("action", "find.page.next"), MEMBER_ROLE,
        lambda live, case, user: live.slack.click(find_view(case), "find.page.next", value=page_value(case), user=user),
        view_shown("views.update", "Find a prospect", lambda case: case.email)),
    "previous page": Action(
        ("action", "find.page.previous"), MEMBER_ROLE,
        lambda live, case, user: live.slack.click(find_view(case), "find.page.previous", value=page_value(case),
                                                  user=user),
        view_shown("views.update", "Find a prospect", lambda case: case.email)),
    "notification channel": Action(
        ("action", "find.notify_channel"), MEMBER_ROLE,
        lambda live, case, user: live.slack.click(find_view(case), "find.notify_channel", user=user,
                                                  conversation=f"C0CASE{case.n:04}"),
        state_is("channel", lambda case: f"C0CASE{case.n:04}")),
    "open profile": Action(
        ("action", "find.view"), MEMBER_ROLE,
        lambda live, case, user: live.slack.click(find_view(case), "find.view", user=user,
                                                  value=json.dumps({"p": case.prospect, "c": case.q4})),
        view_shown("views.push", "Prospect", lambda case: case.email)),
    "choose a prospect": Action(
        ("action", "find.prospect"), MEMBER_ROLE,
        lambda live, case, user: live.slack.click(find_view(case), "find.prospect", user=user,
                                                  selected=selected(str(case.prospect))),
        view_shown("views.push", "Prospect", lambda case: case.email)),
    "bulk from find": Action(
        ("action", "find.bulk"), MEMBER_ROLE,
        lambda live, case, user: live.slack.click(find_view(case), "find.bulk", user=user),
        view_shown("views.push", "Bulk unsubscribe", lambda case: "Q4 Outreach")),
    "edit prospect": Action(
        ("action", "profile.edit"), MEMBER_ROLE,
        lambda live, case, user: live.slack.click(case.view(build_profile_modal(case.details, campaign_id=case.q4)),
                                                  "profile.edit", user=user),
        view_shown("views.push", "Edit prospect")),
    "save do not contact": Action(
        ("view", "edit"), MEMBER_ROLE,
        lambda live, case, user: live.slack.submit(manager_edit_view(case), dnc_state("not-target"), user=user),
        saved),
    "delete": Action(("action", "edit.delete"), MANAGER_ROLE, manager_button("edit.delete"),
                     state_is("exists", lambda case: False), what="delete prospects"),
    "lift": Action(("action", "edit.lift"), MANAGER_ROLE, manager_button("edit.lift"),
                   state_is("dnc", lambda case: None), what="lift a do not contact"),
    "block domain": Action(("action", "edit.block_domain"), MANAGER_ROLE, manager_button("edit.block_domain"),
                           state_is("blocked", lambda case: True), what="block a domain"),
    "bulk preview": Action(
        ("view", "bulk.form"), MEMBER_ROLE,
        lambda live, case, user: live.slack.submit(case.view(build_bulk_form()), bulk_state(case), user=user),
        previewed),
    "bulk submit": Action(
        ("view", "bulk.confirm"), MEMBER_ROLE,
        lambda live, case, user: live.slack.submit(confirm_view(case), confirm_state(case), user=user),
        requested),
    "approve": Action(
        ("action", "approvals.approve"), MANAGER_ROLE,
        lambda live, case, user: live.slack.click_message(approval_message(live, case), "approvals.approve", user=user),
        decided("approved"), what="approve or reject bulk requests"),
    "reject": Action(
        ("action", "approvals.reject"), MANAGER_ROLE,
        lambda live, case, user: live.slack.click_message(approval_message(live, case), "approvals.reject", user=user),
        decided("rejected"), what="approve or reject bulk requests"),
    "reply card: do not contact": reply_card_action("replies.do_not_contact", "requested"),
    "reply card: not interested": reply_card_action("replies.not_interested", "no-interest"),
    "reply card: not an opt-out": reply_card_action("replies.not_an_opt_out", None),
    "App Home": Action(
        ("event", "app_home_opened"), MEMBER_ROLE,
        lambda live, case, user: live.slack.event({"type": "app_home_opened", "user": user, "tab": "home",
                                                   "channel": "D0", "event_ts": "1700000000.1"}),
        home_published),
    "home: find": Action(
        ("action", "home.find"), MEMBER_ROLE,
        lambda live, case, user: live.slack.click(home_view(user), "home.find", user=user),
        view_shown("views.open", "Find a prospect")),
    "home: bulk": Action(
        ("action", "home.bulk"), MEMBER_ROLE,
        lambda live, case, user: live.slack.click(home_view(user), "home.bulk", user=user),
        view_shown("views.open", "Bulk unsubscribe")),
    "open profile from a notification": Action(
        ("action", "notify.open_profile"), MEMBER_ROLE,
        lambda live, case, user: live.slack.click_message(notification(case), "notify.open_profile", user=user),
        view_shown("views.open", "Prospect", lambda case: case.email)),
}


def _assert_equal(actual: Any, expected: Any) -> None:
    assert actual == expected, (actual, expected)


def expected_refusal(action: str, who: str) -> str | None:
    """The sentence a person is refused with, or None when the action is theirs to take."""
    user, role = USERS[who]
    if role is None:
        return access.GUEST if user in (GUEST, GRANTED_GUEST) else access.OUTSIDER
    spec = ACTIONS[action]
    if spec.needs == access.MANAGER and role != access.MANAGER:
        return f"Only a manager can {spec.what}."
    if action in ("approve", "reject") and who == "requester":
        return FOUR_EYES
    return None


@pytest.mark.parametrize("who", list(USERS))
@pytest.mark.parametrize("action", list(ACTIONS))
def test_authorization_matrix(live, team, action, who):
    case = prepare(live, team, action)
    user = USERS[who][0]
    spec = ACTIONS[action]
    live.fresh()
    before = everything(live)
    reply = spec.send(live, case, user)
    live.drain()
    assert reply.status == 200, reply
    assert live.errors.take() == []
    check_views(live.fake)
    shown = live.shown()
    refusal = expected_refusal(action, who)
    if refusal is None:
        spec.works(live, case, user, reply)
        return
    # Refused: the sentence where the person is, privately, nothing else shown to them, and not one row changed.
    said = [surface for surface in all_text(reply, shown) if surface not in ('{}', '""')]
    assert said and all(refusal in surface for surface in said), (refusal, said)
    messages = [reply.json] if "text" in reply.json else []
    messages += [args for method, args in shown if method.startswith("response_url/")]
    assert all(message.get("response_type") == "ephemeral" for message in messages), messages
    assert not [method for method, _ in shown if method.startswith("chat.")]  # nothing posted in a channel
    assert everything(live) == before


def test_every_listener_is_in_the_matrix(live):
    """A listener added later must get its rows in the matrix: each registration the app makes is recorded."""
    registered: set[tuple[str, str]] = set()

    class Recorder:
        def __getattr__(self, kind: str) -> Callable[..., Any]:
            def register(name: str, **_: Any) -> Callable[..., None]:
                registered.add((kind, name))
                return lambda *args, **kwargs: None

            return register

    register_listeners(Recorder())
    assert registered == {spec.listener for spec in ACTIONS.values()}


# -- signatures ---------------------------------------------------------------------------------------------------
# test_slack_security.py forges a view submission five ways; here every kind of request is forged every way,
# including a body Bolt can not even parse, and a click that would delete someone if it were believed.


def signed_as_slack(live: LiveApp, case: Case) -> dict[str, tuple[str, str]]:
    """(body, content type) of each kind of request Slack sends, each of which would change or show something."""
    edit = manager_edit_view(case)
    click = {"type": "block_actions", "team": {"id": TEAM_ID}, "user": {"id": MANAGER, "team_id": TEAM_ID},
             "api_app_id": "A0APP", "trigger_id": "t1", "container": {"type": "view", "view_id": edit["id"]},
             "view": {**edit, "state": {"values": {}}},
             "actions": [{"type": "button", "action_id": "edit.delete", "block_id": "delete", "action_ts": "1",
                          "value": json.dumps({"p": case.prospect, "v": case.details.version, "c": case.q4})}]}
    save = {"type": "view_submission", "team": {"id": TEAM_ID}, "user": {"id": MANAGER, "team_id": TEAM_ID},
            "api_app_id": "A0APP", "trigger_id": "t2", "view": {**edit, "state": {"values": {"dnc_reason": {
                "reason": {"type": "radio_buttons", "selected_option": selected("not-target")}}}}}}
    options = {"type": "block_suggestion", "team": {"id": TEAM_ID}, "user": {"id": MANAGER, "team_id": TEAM_ID},
               "api_app_id": "A0APP", "action_id": "find.prospect", "block_id": "find_prospect",
               "value": f"casey{case.n}", "view": find_view(case)}
    form = "application/x-www-form-urlencoded"
    return {
        "slash command": (urlencode({"command": "/prospect", "text": case.email, "user_id": MANAGER, "team_id": TEAM_ID,
                                     "trigger_id": "t0", "response_url": f"{live.fake.api_url}response_url/x"}), form),
        "delete click": (urlencode({"payload": json.dumps(click)}), form),
        "view submission": (urlencode({"payload": json.dumps(save)}), form),
        "type-ahead": (urlencode({"payload": json.dumps(options)}), form),
        "event": (json.dumps({"type": "event_callback", "team_id": TEAM_ID, "api_app_id": "A0APP",
                              "event": {"type": "app_home_opened", "user": MANAGER, "tab": "home"}}),
                  "application/json"),
        "unreadable payload": ("payload=%7Bnot%20json", form),
        "not UTF-8": ("payload=\udcff", form),
        "JSON list": ("[1, 2]", "application/json"),
    }


FORGERIES = ["unsigned", "wrong secret", "tampered body", "replayed after six minutes", "signed in the future",
             "timestamp not a number", "signature without timestamp", "timestamp without signature", "v1 scheme",
             "signature of another timestamp"]
UNREADABLE = ("unreadable payload", "not UTF-8", "JSON list")


def sign(*, timestamp: str, body: bytes, secret: str = SIGNING_SECRET) -> str:
    """Slack's v0 signature of the raw bytes (slack_sdk's signer wants text; one of these bodies is not)."""
    return "v0=" + hmac.new(secret.encode(), b"v0:%s:%s" % (timestamp.encode(), body), hashlib.sha256).hexdigest()


def forge(raw: bytes, forgery: str) -> tuple[bytes, dict[str, str]]:
    """The body and signature headers of `raw` forged one way ("signed": not forged at all)."""
    now = str(int(time.time()))
    headers = {"X-Slack-Request-Timestamp": now}
    if forgery == "signed":
        headers["X-Slack-Signature"] = sign(timestamp=now, body=raw)
    elif forgery == "wrong secret":
        headers["X-Slack-Signature"] = sign(timestamp=now, body=raw, secret="another-apps-secret-0123456789")
    elif forgery == "tampered body":
        headers["X-Slack-Signature"] = sign(timestamp=now, body=raw)
        raw = raw.replace(b"U0BOSS", b"U0BOS5") if b"U0BOSS" in raw else raw + b"&x=1"
    elif forgery in ("replayed after six minutes", "signed in the future"):
        then = str(int(now) - 360 if forgery.startswith("replayed") else int(now) + 360)
        headers = {"X-Slack-Request-Timestamp": then, "X-Slack-Signature": sign(timestamp=then, body=raw)}
    elif forgery == "timestamp not a number":
        headers = {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": sign(timestamp="soon", body=raw)}
    elif forgery == "signature without timestamp":
        headers = {"X-Slack-Signature": sign(timestamp=now, body=raw)}
    elif forgery == "v1 scheme":
        headers["X-Slack-Signature"] = "v1=" + sign(timestamp=now, body=raw)[3:]
    elif forgery == "signature of another timestamp":
        headers["X-Slack-Signature"] = sign(timestamp=str(int(now) - 1), body=raw)
    return raw, headers


@pytest.mark.parametrize("forgery", ["signed"] + FORGERIES)
@pytest.mark.parametrize("kind", ["slash command", "delete click", "view submission", "type-ahead", "event",
                                  *UNREADABLE])
def test_requests_slack_did_not_sign_get_401_and_change_nothing(live, team, kind, forgery):
    """Each kind of request, forged each way: 401, no call to Slack, not one row changed, nothing logged as an
    error. The same request correctly signed ("signed") is the control: it is answered, and the click deletes."""
    case = prepare(live, team, "delete")
    body, content_type = signed_as_slack(live, case)[kind]
    raw, headers = forge(body.encode("utf-8", "surrogateescape"), forgery)
    live.fresh()
    before = everything(live)
    status, answer = post_raw(live, raw, {"Content-Type": content_type, **headers})
    live.drain()
    assert live.errors.take() == []
    if forgery == "signed":
        # A body that is not UTF-8 can not be checked (the signature is over text): it counts as unsigned.
        assert status == {"not UTF-8": 401, "unreadable payload": 400, "JSON list": 400}.get(kind, 200), answer
        assert state_of(live, case)["exists"] == (kind != "delete click")
        return
    assert (status, json.loads(answer)) == (401, {"error": "invalid request"})
    assert live.fake.calls == [] and everything(live) == before


def post_raw(live: LiveApp, body: bytes, headers: dict[str, str], *, path: str = "/slack/events") -> tuple[int, str]:
    request = urllib.request.Request(live.slack.base_url + path, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


# -- secrets in logs ----------------------------------------------------------------------------------------------

DB_PASSWORD = "db-Passw0rd-that-must-never-be-logged"


def test_secrets_never_reach_the_logs(live, team, caplog, capfd):
    """Everything logged at DEBUG, by prospectbot, Bolt, slack_sdk, SQLAlchemy and waitress, while a busy day
    runs: finds, saves, a delete, a bulk request approved, notifications delivered, Slack failing in three ways,
    forged requests, unsubscribe links, and a database that is down. No bot token, signing secret, SECRET_KEY or
    database password in any of it, nor on stdout or stderr."""
    caplog.set_level(logging.DEBUG)
    for name in ("slack_bolt", "slack_sdk", "sqlalchemy", "sqlalchemy.engine", "sqlalchemy.pool", "waitress",
                 "urllib3", "bot", "handlers", "storage", "prospectbot"):
        caplog.set_level(logging.DEBUG, logger=name)
    url = live.settings.database_url
    if live.kind == "postgresql":  # the test server trusts local connections: a password is sent, not needed
        url = make_url(url).set(password=DB_PASSWORD).render_as_string(hide_password=False)
    case, reader = prepare(live, team, "delete"), prepare(live, team, "open profile")
    with running(url) as app:
        busy_day(app, case, reader)
    down = Database(f"postgresql+psycopg://prospectbot:{DB_PASSWORD}@127.0.0.1:{closed_port()}/gone")
    try:
        with pytest.raises(DatabaseUnavailable):
            down.prepare(secret_key=TEST_SECRET_KEY, auto_migrate=False)
        server_on(down, live)
    finally:
        down.dispose()

    captured = capfd.readouterr()
    logged = caplog.text
    debug_from = {record.name.split(".")[0] for record in caplog.records if record.levelno == logging.DEBUG}
    assert {"slack_bolt", "slack_sdk"} <= debug_from, debug_from  # the libraries' own debug logs were on
    for name, secret in {"bot token": "xoxb-test-token", "app token": "xapp-test-token",
                         "signing secret": SIGNING_SECRET, "SECRET_KEY": TEST_SECRET_KEY.decode(),
                         "database password": DB_PASSWORD}.items():
        for where, output in (("logs", logged), ("stdout", captured.out), ("stderr", captured.err)):
            assert secret not in output, f"the {name} is in the {where}"


def busy_day(app: LiveApp, case: Case, reader: Case) -> None:
    """`case` is saved do not contact and deleted; `reader` is asked for in bulk and follows their unsubscribe
    link."""
    slack, fake = app.slack, app.fake
    slack.command(case.email, user=MEMBER)
    slack.command("help", user=MEMBER)
    app.drain()
    slack.options(find_view(case), "find.prospect", f"casey{case.n}", user=MEMBER)
    slack.click(find_view(case), "find.view", value=json.dumps({"p": case.prospect, "c": case.q4}), user=MEMBER)
    slack.submit(manager_edit_view(case), {"dnc_reason": {"reason": {"type": "radio_buttons",
                                                                     "selected_option": selected("other")}},
                                           "dnc_note": {"note": {"type": "plain_text_input", "value": "Asked"}}})
    app.drain()
    with app.database.snapshot() as session:
        details = prospect_details(session, case.prospect)
    assert details.do_not_contact.note == "Asked"
    slack.click(case.view(build_edit_modal(details, is_manager=True)), "edit.delete", user=MANAGER)
    slack.submit(reader.view(build_bulk_form()), bulk_state(reader), user=MEMBER)
    slack.submit(confirm_view(reader), {"bulk_reason": {"reason": {"type": "static_select",
                                                                 "selected_option": selected("not-target")}}})
    app.drain()
    [posted] = [call for call in fake.calls_to("chat.postMessage") if call["channel"] == APPROVALS_CHANNEL]
    slack.click_message({"channel": APPROVALS_CHANNEL, "ts": "1700000000.000001", "blocks": posted["blocks"]},
                        "approvals.approve", user=MANAGER)
    slack.event({"type": "app_home_opened", "user": MANAGER, "tab": "home"})
    app.drain()
    assert fake.calls_to("chat.update") and fake.calls_to("views.publish")
    assert Notifier(app.database, slack_client(app.settings.slack_bot_token, fake.api_url, retries=False),
                    default_channel="C0OPTOUTS", retry_base=0.01).deliver_due() >= 1
    # Slack failing: a 500, a refused token, a dropped connection; and a role lookup that fails.
    fake.script("views.open", Scripted(status=500, body={"ok": False}), Scripted(body={"ok": False,
                                                                                      "error": "invalid_auth"}),
                Scripted(drop=True))
    for _ in range(3):
        slack.command("", user=MEMBER)
        app.drain()
    fake.script("users.info", Scripted(body={"ok": False, "error": "user_not_found"}))
    slack.command("", user="U0NEWCOMER")
    # Forgeries, and links.
    slack.command("", user=MANAGER, sign=False)
    slack.command("", user=MANAGER, signature="v0=" + "0" * 64)
    slack.post("payload=%7Bnot%20json", "application/x-www-form-urlencoded")
    with app.database.snapshot() as session:
        membership = session.scalar(select(Membership.id).where(Membership.prospect_id == reader.prospect))
    token = unsubscribe_token(TEST_SECRET_KEY, membership)
    slack.get(f"/unsubscribe/{token}")
    post_raw(app, b"List-Unsubscribe=One-Click", {"Content-Type": "application/x-www-form-urlencoded"},
             path=f"/unsubscribe/{token}")
    slack.get("/unsubscribe/forged-token-forged-token-forged")
    app.drain()


def closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_on(down: Database, live: LiveApp) -> None:
    """The app on a database that is down: a health check, a command, a type-ahead and a save."""
    with running(down, fake=live.fake) as app:
        slack = app.slack
        slack.get("/healthz")
        slack.command("jane", user=MEMBER)
        slack.options({"blocks": [{"type": "section", "block_id": "b", "accessory": {
            "type": "external_select", "action_id": "find.campaign"}}]}, "find.campaign", "q")
        app.drain()  # the command's lazy listener, which answers through the fake Slack


# -- SQL injection ------------------------------------------------------------------------------------------------

INJECTIONS = ["'; DROP TABLE prospects; --", "%' OR 1=1 --", "\x00", "x\x00'; DELETE FROM do_not_contact; --",
              "' UNION SELECT email, email, email FROM prospects --", "Robert'); DROP TABLE audit_log;--",
              "1 OR 1=1", "%", "_%_"]


def searched(live: LiveApp, case: Case, typed: str) -> None:
    """/prospect TEXT: nobody matches, and the Find modal says so (a widened query would list people)."""
    live.slack.command(typed, user=MANAGER)
    live.drain()
    one_view(live, "views.open", "Find a prospect", "No prospect matches")


def no_options(action_id: str, screen: Callable[[Case], dict[str, Any]]) -> Callable[[LiveApp, Case, str], None]:
    def check(live: LiveApp, case: Case, typed: str) -> None:
        assert live.slack.options(screen(case), action_id, typed, user=MANAGER).json["options"] == []

    return check


def clicked(action_id: str, value: Callable[[Case, str], dict[str, Any]], title: str,
            says: str) -> Callable[[LiveApp, Case, str], None]:
    def check(live: LiveApp, case: Case, typed: str) -> None:
        view = manager_edit_view(case) if action_id.startswith("edit.") else find_view(case)
        live.slack.click(view, action_id, value=json.dumps(value(case, typed)), user=MANAGER)
        live.drain()
        one_view(live, "views.update", title, says)

    return check


def form_refuses(field: str, rule: str, says: str) -> Callable[[LiveApp, Case, str], None]:
    def check(live: LiveApp, case: Case, typed: str) -> None:
        state = {**bulk_state(case), "bulk_rule": {"rule": {"type": "radio_buttons", "selected_option": selected(rule)}},
                 f"bulk_{field}": {field: {"type": "plain_text_input", "value": typed}}}
        reply = live.slack.submit(case.view(build_bulk_form()), state, user=MANAGER).json
        assert reply["response_action"] == "errors" and says in reply["errors"][f"bulk_{field}"], reply

    return check


FIELDS: dict[str, Callable[[LiveApp, Case, str], None]] = {
    "search query": searched,
    "prospect type-ahead": no_options("find.prospect", find_view),
    "campaign type-ahead": no_options("find.campaign", find_view),
    "bulk campaign type-ahead": no_options("bulk.campaign", lambda case: case.view(build_bulk_form())),
    "page query": clicked("find.page.next", lambda case, typed: {"c": case.q4, "q": typed, "o": 0},
                          "Find a prospect", "No prospect in *Q4 Outreach* matches"),
    "domain to block": clicked("edit.block_domain", lambda case, typed: {"p": case.prospect, "d": typed},
                               "Edit prospect", "is not an email domain"),
    "bulk domains": form_refuses("domains", "domains", "is not an email domain"),
    "pasted addresses": form_refuses("addresses", "addresses", "is not a valid email address"),
}


@pytest.mark.parametrize("typed", INJECTIONS)
@pytest.mark.parametrize("field", list(FIELDS) + ["note"])
def test_sql_injection_attempts_change_nothing(live, team, field, typed):
    """In every text field: nothing changes, every table is still there, and a note is kept as the text it is."""
    case = prepare(live, team, "save do not contact")
    tables = set(Base.metadata.tables)
    live.fresh()
    before = everything(live)
    if field == "note":
        reply = live.slack.submit(manager_edit_view(case), {
            "dnc_reason": {"reason": {"type": "radio_buttons", "selected_option": selected("other")}},
            "dnc_note": {"note": {"type": "plain_text_input", "value": typed}}}, user=MANAGER)
        kept = typed.replace("\x00", "").strip()
        with live.database.snapshot() as session:
            row = session.get(DoNotContact, case.prospect)
        if kept:
            assert reply.json["response_action"] == "update" and row.note == kept
        else:  # a note of nothing but a NUL is no note: "other" needs one
            assert reply.json["response_action"] == "errors" and row is None
    else:
        FIELDS[field](live, case, typed)
    live.drain()
    assert live.errors.take() == []
    check_views(live.fake)
    assert tables <= live.tables()
    after = everything(live)
    if field == "note":
        changed = {name for name in after if after[name] != before[name]}
        # The save, its audit row, its notification, and the confirmation DM it records (slack_messages).
        assert changed <= {"do_not_contact", "audit_log", "notifications", "slack_messages"}
    else:
        assert after == before

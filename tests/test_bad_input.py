"""Bad input, property-based, through the real HTTP endpoint: whatever arrives in a slash command, a type-ahead, a
view submission, a button's value, an unsubscribe link or a CSV file, the bot never answers 500, never shows a
traceback or an exception's name (neither in its HTTP reply nor in any message or view it sends Slack), always
answers with something a person can read, logs no unexpected error, and writes nothing when it refuses.

One app per database serves every example of the module (tests/harness.py): starting a server per example, or
even per test, would cost more than all the examples together.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import re
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from handlers.blocks import button
from handlers.bulk.views import build_bulk_form
from handlers.edit.views import build_edit_modal
from handlers.find.views import build_find_modal
from handlers.payloads import MAX_ID
from storage import bulk_requests as bulk
from storage import reply_cards
from storage.audit import Actor
from storage.campaigns import CHANNEL_ID
from storage.do_not_contact import mark_do_not_contact
from storage.domains import normalise_domain
from storage.errors import InvalidInput, ProspectNotFound
from storage.importing import OUTCOMES, import_prospects
from storage.models import Campaign, Import, Membership, Prospect
from storage.prospect_csv import ProspectCsv, UnreadableFile
from storage.prospects import prospect_details
from storage.reasons import USER_DNC_REASONS
from storage.unsubscribe import membership_for_token, unsubscribe_token
from tests import factories
from tests.fake_slack import MANAGER, OTHER_MANAGER
from tests.harness import LiveApp, World, check_views, leaks, start
from tests.slack_driver import Reply
from tests.support import TEST_SECRET_KEY

# Sized for the whole file to take well under a minute on both databases; BAD_INPUT_SCALE=10 searches deeper.
SCALE = int(os.environ.get("BAD_INPUT_SCALE", "1"))


def examples(count: int) -> settings:
    return settings(max_examples=count * SCALE, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large, HealthCheck.filter_too_much])


# Strings people paste, attackers try, and Slack's own markup: each drawn often beside random text.
NASTY = [
    "", " ", "\x00", "a\x00b", "\t\r\n", "'; DROP TABLE prospects; --", "%' OR 1=1 --", "%", "_", "\\", "'", '"',
    "<@U0BOSS>", "<!channel>", "&amp;<>", "*bold* _it_ `code`", "${jndi:ldap://x/a}", "{{7*7}}", "../../etc/passwd",
    "²", "١٢", "0", "-1", "9" * 40, "1e308", "NaN", "null", "[]", "{}", '{"p": 1, "v": 1}', "\u202e\u200b\ufeff",
    "\u2028", "🙂" * 80, "a" * 5000, "jane", "Jane Doe", "JANE@ACME.COM", "acme.com", "@acme.com", "help", " BULK ",
    "?", "Q4", "ｑ４",
]
text = st.one_of(st.sampled_from(NASTY), st.text(max_size=120), st.text(alphabet="%_'\"\\;-x@. \x00", max_size=30))
# What Slack puts in a field: a string, nothing, or the field missing altogether (None here).
maybe_text = st.one_of(st.none(), text)
json_value = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | text,
                          lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
                          max_leaves=6)
# Ids as a forged or stale screen may carry them: real small ids, out of range, of the wrong type.
an_id = st.one_of(st.integers(-3, 6), st.sampled_from([2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, -(2**63)]),
                  st.integers(-2**70, 2**70), st.booleans(), st.none(), st.floats(), st.text(max_size=4),
                  st.lists(st.integers(0, 3), max_size=2))
payload = st.fixed_dictionaries({}, optional={"p": an_id, "v": an_id, "c": an_id, "o": an_id, "r": an_id,
                                              "q": json_value, "d": json_value, "k": json_value, "n": json_value,
                                              "a": json_value})
# A button's value or a view's private_metadata: garbage, any JSON, or the shape the bot writes with wrong ids.
encoded = st.one_of(text, json_value.map(json.dumps), payload.map(json.dumps))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(request, tmp_path_factory):
    yield from start(request, tmp_path_factory)


@pytest.fixture(scope="module")
def world(live: LiveApp) -> World:
    """Q4 Outreach with Jane, Bob (do not contact) and Zed; a request waiting for a manager; a rejected one. The
    module's database starts empty, so ids start at 1: examples below name Q4 Outreach and Jane by id 1."""
    with live.database.transaction() as session:
        q4 = factories.campaign(session, "Q4 Outreach")
        factories.campaign(session, "Agencies")
        jane = factories.prospect(session, "jane@acme.com", q4, first_name="Jane", last_name="Doe", company="Acme")
        bob = factories.prospect(session, "bob@acme.com", q4, first_name="Bob", last_name="Ray", company="Acme")
        factories.prospect(session, "zed@zeta.io", q4, first_name="Zed")
        mark_do_not_contact(session, [bob], reason="no-interest", actor=Actor("slack:U0BOB", "slack"))
        requester = Actor(f"slack:{OTHER_MANAGER}", "slack")
        bulk.create_request(session, q4, bulk.parse_rule("domains", domains="zeta.io"), actor=requester)
        rejected = bulk.create_request(session, q4, bulk.parse_rule("domains", domains="acme.com"), actor=requester)
        bulk.decide(session, rejected, decider=Actor(f"slack:{MANAGER}", "slack"), approve=False)
        details = prospect_details(session, jane)
    return World(q4=q4, jane=jane, bob=bob, jane_details=details)


# -- the properties -----------------------------------------------------------------------------------------------


def settle(live: LiveApp, reply: Reply, before: dict[str, int] | None, *typed: Any, answer: bool = True) -> Any:
    """Waits for the request's lazy listeners, then checks every property; returns the reply's JSON (or text).
    `before`: the row counts the request must leave unchanged (None when it may legitimately write)."""
    live.drain()
    assert reply.status == 200, f"HTTP {reply.status}: {reply.body[:300]}"
    body = reply.json if reply.body.startswith("{") else reply.body
    shown = live.shown()
    echoes = [value for value in typed if isinstance(value, str)]
    assert leaks(body, *echoes) == [], body
    assert leaks([args for _, args in shown], *echoes) == [], shown
    assert live.errors.take() == []
    check_views(live.fake)
    if answer:
        assert body or shown, "the user was answered nothing"
    if isinstance(body, dict):
        for sentence in (body.get("errors") or {}).values():
            assert_sentence(sentence)
        if "text" in body:
            assert_sentence(body["text"])
        for option in body.get("options") or []:
            assert len(option["text"]["text"]) <= 75 and len(option["value"]) <= 150
    for method, args in shown:
        if method.startswith("response_url/") or method == "chat.postMessage":
            assert_sentence(args.get("text", ""))
        view = args.get("view") or {}
        if view.get("callback_id") == "notice":  # a screen replaced by what went wrong: it must say it
            assert_sentence(view["blocks"][0]["text"]["text"])
    if before is not None:
        assert live.counts() == before
    return body


def assert_sentence(text: str) -> None:
    words = re.findall(r"\w+", text)
    assert len(words) >= 2 and text.rstrip()[-1:] in ".!?)*”\"", f"not a sentence: {text[:200]!r}"


def ids_of(data: Any, key: str) -> int | None:
    """The id the bot would read from a decoded value (payloads.identifier's rules), or None."""
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID else None


def decoded(raw: Any) -> Any:
    try:
        return json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


def current_version(live: LiveApp, prospect_id: int | None) -> int | None:
    if prospect_id is None:
        return None
    with live.database.snapshot() as session:
        try:
            return prospect_details(session, prospect_id).version
        except ProspectNotFound:
            return None


def view(callback_id: str, metadata: Any, *elements: dict[str, Any], blocks: list[dict[str, Any]] | None = None
         ) -> dict[str, Any]:
    return {"id": "V0TEST", "hash": "h1", "type": "modal", "callback_id": callback_id,
            "title": {"type": "plain_text", "text": "Test"}, "private_metadata": metadata,
            "blocks": (blocks or []) + ([{"type": "actions", "block_id": "b", "elements": list(elements)}]
                                        if elements else [])}


# -- whatever is posted to /slack/events -------------------------------------------------------------------------


@examples(60)
@given(body=st.one_of(text, json_value.map(json.dumps), st.dictionaries(
    st.one_of(st.sampled_from(["payload", "command", "text", "user_id", "type", "token", "ssl_check"]), text),
    st.one_of(text, json_value.map(json.dumps)), max_size=4).map(urlencode)),
    content_type=st.sampled_from(["application/x-www-form-urlencoded", "application/json", "text/plain", ""]),
    signed=st.booleans())
@example(body="payload=%7Bnot%20json", content_type="application/x-www-form-urlencoded", signed=False)
@example(body="payload=%5B%5D", content_type="application/x-www-form-urlencoded", signed=True)
@example(body="[1]", content_type="application/json", signed=True)
def test_any_body_posted_to_slack_events(live, world, body, content_type, signed):
    """Without Slack's signature, a 401 whatever the body; with it, a body Bolt can not read is a 400 and one no
    listener wants a 404: never a 500, nothing written, nothing logged as an error."""
    live.fresh()
    before = live.counts()
    reply = live.slack.post(body, content_type, sign=signed)
    live.drain()
    assert reply.status in ((200, 400, 404) if signed else (401,)), reply
    assert leaks(reply.body, body) == []
    assert live.counts() == before and live.shown() == []
    assert live.errors.take() == []


# -- slash commands and type-aheads ------------------------------------------------------------------------------


@examples(40)
@given(typed=text)
@example(typed="\x00")
@example(typed="'; DROP TABLE prospects; --")
@example(typed="a" * 5000)
def test_slash_command_text(live, world, typed):
    live.fresh()
    before = live.counts()
    reply = live.slack.command(typed, user=MANAGER)
    settle(live, reply, before, typed, " ".join(typed.split())[:200])
    assert [method for method, _ in live.shown()] in (["views.open"], [f"response_url/{MANAGER}"])


@examples(40)
@given(action=st.sampled_from(["find.campaign", "find.prospect", "bulk.campaign"]), typed=text, metadata=encoded)
@example(action="find.prospect", typed="\x00", metadata='{"c": 1}')
@example(action="find.campaign", typed="\x00", metadata="{}")
@example(action="find.prospect", typed="ja", metadata='{"c": 18446744073709551616}')
def test_type_ahead_queries(live, world, action, typed, metadata):
    live.fresh()
    before = live.counts()
    find = build_find_modal(campaign=(world["q4"], "Q4 Outreach"))
    form = build_bulk_form()
    screen = {**(form if action == "bulk.campaign" else find), "id": "V0TYPE", "hash": "h1",
              "private_metadata": metadata}
    body = settle(live, live.slack.options(screen, action, typed, user=MANAGER), before, typed, metadata)
    assert isinstance(body.get("options"), list)


# -- view submissions ----------------------------------------------------------------------------------------------


def selected(value: str | None) -> dict[str, Any]:
    return {} if value is None else {"selected_option": {"text": {"type": "plain_text", "text": "x"}, "value": value}}


def typed_in(value: str | None) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


reason_choice = st.one_of(st.sampled_from(USER_DNC_REASONS + ("requested", "domain-blocked", "")), maybe_text)


@examples(40)
@given(reason=reason_choice, note=maybe_text, metadata=encoded)
@example(reason="other", note="\x00", metadata='{"p": 1, "v": 1}')
@example(reason="no-interest", note="x" * 2001, metadata='{"p": 1, "v": 1}')
@example(reason="no-interest", note="", metadata='{"p": 9223372036854775808, "v": 1}')
@example(reason="no-interest", note="", metadata='{"p": 1, "v": 1, "c": "1"}')
def test_edit_submission(live, world, reason, note, metadata):
    data = decoded(metadata)
    prospect_id = ids_of(data, "p")
    kept = (note or "").replace("\x00", "")  # NUL characters are dropped from notes
    legit = (reason in USER_DNC_REASONS and (reason != "other" or kept.strip()) and len(kept) <= 2000
             and prospect_id is not None and ids_of(data, "v") == current_version(live, prospect_id))
    assume(not legit)  # a valid save is the journey test_slack_edit.py follows
    live.fresh()
    before = live.counts()
    screen = {**build_edit_modal(world["jane_details"], is_manager=True), "id": "V0EDIT", "hash": "h1",
              "private_metadata": metadata}
    state = {"dnc_reason": {"reason": {"type": "radio_buttons", **selected(reason)}},
             "dnc_note": {"note": typed_in(note)}}
    body = settle(live, live.slack.submit(screen, state, user=MANAGER), before, reason, note, metadata)
    assert body["response_action"] in ("errors", "update")


rule_choice = st.one_of(st.sampled_from(["no-engagement", "domains", "addresses"]), maybe_text)
addresses = st.one_of(text, st.lists(st.one_of(st.sampled_from(["jane@acme.com", "zed@zeta.io", "JANE@acme.com ",
                                                                 "Jane <jane@acme.com>", "x@" + "a" * 70 + ".com"]),
                                               st.emails().map(str), text), max_size=12).map("\n".join))


@examples(40)
@given(campaign=st.one_of(st.sampled_from(["1", "2", "3", "01", "²", "١", "9" * 30, "-1", " 1"]), maybe_text),
       rule=rule_choice, min_sent=st.one_of(st.sampled_from(["1", "3", "1000", "1001", "0", "³", "1.5"]), maybe_text),
       domains=st.one_of(st.sampled_from(["zeta.io", "acme.com, zeta.io", "ａｃｍｅ.com", "-x.com"]), maybe_text),
       addresses=st.one_of(st.none(), addresses))
@example(campaign="²", rule="domains", min_sent=None, domains="zeta.io", addresses=None)
@example(campaign="9" * 30, rule="domains", min_sent=None, domains="zeta.io", addresses=None)
@example(campaign="1", rule="domains", min_sent=None, domains="zeta.io\x00", addresses=None)
@example(campaign="1", rule="addresses", min_sent=None, domains=None, addresses="jane@acme.com\x00")
def test_bulk_form_submission(live, world, campaign, rule, min_sent, domains, addresses):
    live.fresh()
    before = live.counts()
    state = {"bulk_campaign": {"bulk.campaign": {"type": "external_select", **selected(campaign)}},
             "bulk_rule": {"rule": {"type": "radio_buttons", **selected(rule)}},
             "bulk_min_sent": {"min_sent": {"type": "number_input", "value": min_sent}},
             "bulk_domains": {"domains": typed_in(domains)}, "bulk_addresses": {"addresses": typed_in(addresses)}}
    screen = {**build_bulk_form(), "id": "V0FORM", "hash": "h1"}
    body = settle(live, live.slack.submit(screen, state, user=MANAGER), before, campaign, rule, min_sent, domains,
                  addresses)
    assert body["response_action"] in ("errors", "push")  # a preview only shows; a request is made a step later


# The preview's metadata as the bot writes it ({"c": campaign, "k": rule, "n": emails sent, "d": domains,
# "a": addresses}), with every part possibly wrong.
confirm_metadata = st.fixed_dictionaries(
    {"c": st.one_of(st.just(1), an_id), "k": st.one_of(rule_choice, json_value)},
    optional={"n": st.one_of(st.sampled_from([1, "1", 3, 0, 1001, "²", "1.0", 1.0, True, [1]]), json_value),
              "d": st.one_of(json_value, st.lists(st.one_of(st.sampled_from(["zeta.io", "ACME.com", "-x.io"]), text),
                                                  max_size=4)),
              "a": st.one_of(addresses, json_value)},
).map(json.dumps)
# Nearly what a real preview writes, so that some requests are made and the path that makes them is tried too.
near_real_metadata = st.one_of(
    st.fixed_dictionaries({"c": st.just(1), "k": st.just("domains"), "d": st.lists(
        st.sampled_from(["zeta.io", "ZETA.IO", "zeta.io\x00", "nowhere.org", "acme.com", "x"]), min_size=1, max_size=3)}),
    st.fixed_dictionaries({"c": st.just(1), "k": st.just("no-engagement"),
                           "n": st.sampled_from([1, "1", 3, 1000, "²", None])}),
    st.fixed_dictionaries({"c": st.just(1), "k": st.just("addresses"), "a": addresses}),
).map(json.dumps)


@examples(60)
@given(reason=st.one_of(st.sampled_from(["no-interest", "not-target"]), reason_choice), note=maybe_text,
       metadata=st.one_of(encoded, confirm_metadata, near_real_metadata))
@example(reason="no-interest", note="", metadata='{"c": 1, "k": "domains", "d": ["zeta.io\\u0000"]}')
@example(reason="no-interest", note="\x00", metadata='{"c": 1, "k": "domains", "d": ["zeta.io"]}')
@example(reason="no-interest", note="", metadata='{"c": 1, "k": "no-engagement", "n": "²"}')
def test_bulk_confirm_submission(live, world, reason, note, metadata):
    live.fresh()
    before = live.counts()
    screen = view("bulk.confirm", metadata, blocks=[
        {"type": "input", "block_id": "bulk_reason", "label": {"type": "plain_text", "text": "Reason"},
         "element": {"type": "plain_text_input", "action_id": "reason"}}])
    state = {"bulk_reason": {"reason": {"type": "static_select", **selected(reason)}},
             "bulk_note": {"note": typed_in(note)}}
    reply = live.slack.submit(screen, state, user=MANAGER)
    body = settle(live, reply, None, reason, note, metadata)
    after = live.counts()
    shown = json.dumps([args for _, args in live.shown()], ensure_ascii=False)
    if after == before:
        assert body["response_action"] in ("errors", "update")
        if body["response_action"] == "update" and "Keeping the list" in json.dumps(body):
            assert "No request was made." in shown
    else:
        # Everything a request needs was there and matched somebody: one request, waiting, and nothing else.
        assert after == {**before, "bulk_requests": before["bulk_requests"] + 1, "audit_log": before["audit_log"] + 1}
        assert "is waiting for a manager" in shown
    event("a request was made" if after != before else f"refused: {body['response_action']}")


# -- buttons and menus ---------------------------------------------------------------------------------------------


def legit_action(live: LiveApp, action: str, value: str, conversation: str) -> bool:
    """Would this click legitimately change something? Those are the journeys other tests follow; here only
    clicks that must change nothing are sent."""
    data = decoded(value)
    prospect_id = ids_of(data, "p")
    version_matches = prospect_id is not None and ids_of(data, "v") == current_version(live, prospect_id)
    if action in ("edit.delete", "edit.lift"):
        return version_matches
    if action == "edit.block_domain":
        if current_version(live, prospect_id) is None or not isinstance(data.get("d"), str):
            return False
        try:
            normalise_domain(data["d"][:255])
        except InvalidInput:
            return False
        return True
    if action in ("approvals.approve", "approvals.reject"):
        with live.database.snapshot() as session:
            return ids_of(data, "r") in {request.id for request in bulk.pending_requests(session, limit=1000)}
    if action.startswith("replies."):
        with live.database.snapshot() as session:
            return ids_of(data, "m") in {card.id for card in reply_cards.open_cards(session, limit=1000)}
    if action == "find.notify_channel":
        channel = conversation.strip().lstrip("#")
        return ids_of(data, "c") is not None and (not channel or bool(CHANNEL_ID.match(channel)))
    return False


MODAL_BUTTONS = ["find.view", "find.page.next", "find.page.previous", "find.bulk", "profile.edit", "edit.delete",
                 "edit.lift", "edit.block_domain"]
MESSAGE_BUTTONS = ["approvals.approve", "approvals.reject", "notify.open_profile", "replies.do_not_contact",
                   "replies.not_interested", "replies.not_an_opt_out"]
MENUS = ["find.campaign", "find.prospect", "find.notify_channel"]


@examples(200)
@given(action=st.sampled_from(MODAL_BUTTONS + MESSAGE_BUTTONS + MENUS), value=encoded, metadata=encoded,
       conversation=st.one_of(st.sampled_from(["C0SALES01", "#C0SALES01", "general", "G1234567"]), text))
@example(action="find.prospect", value="²", metadata="{}", conversation="")
@example(action="find.view", value='{"p": 2147483648}', metadata="{}", conversation="")
@example(action="find.prospect", value="2147483648", metadata="{}", conversation="")
@example(action="find.prospect", value="99999999999999999999", metadata='{"c": 1}', conversation="")
@example(action="find.campaign", value="99999999999999999999", metadata="{}", conversation="")
@example(action="find.campaign", value="²", metadata="{}", conversation="")
@example(action="find.page.next", value='{"c": 1, "q": "\\u0000", "o": 0}', metadata="{}", conversation="")
@example(action="find.page.next", value='{"c": 99999999999999999999, "o": 0}', metadata="{}", conversation="")
@example(action="edit.block_domain", value='{"p": 1, "d": "acme.com\\u0000"}', metadata="{}", conversation="")
@example(action="find.notify_channel", value="", metadata='{"c": 1}', conversation="C0\x00")
def test_button_and_menu_values(live, world, action, value, metadata, conversation):
    assume(not legit_action(live, action, value if action not in ("find.notify_channel",) else metadata,
                            conversation))
    live.fresh()
    before = live.counts()
    slack = live.slack
    if action in MESSAGE_BUTTONS:
        message = {"channel": "C0APPROVALS", "ts": "1700000000.000001", "blocks": [{"type": "actions", "elements": [
            {"type": "button", "action_id": action, "text": {"type": "plain_text", "text": "x"}, "value": value}]}]}
        reply = slack.click_message(message, action, user=MANAGER)
    elif action in MENUS:
        menu = {"type": "conversations_select" if action == "find.notify_channel" else "external_select",
                "action_id": action}
        screen = view("find", metadata, menu)
        if action == "find.notify_channel":
            reply = slack.click(screen, action, conversation=conversation, user=MANAGER)
        else:
            reply = slack.click(screen, action, selected={"text": {"type": "plain_text", "text": "x"}, "value": value},
                                user=MANAGER)
    else:
        reply = slack.click(view("edit", metadata, button("x", action)), action, value=value, user=MANAGER)
    # Slack only ever sends the values of options the bot listed: ids, or the placeholder that says why there are
    # none, which is answered with silence.
    settle(live, reply, before, value, metadata, conversation,
           answer=not (action == "find.prospect" and value == "unavailable"))


# -- unsubscribe links --------------------------------------------------------------------------------------------


def wsgi_call(live: LiveApp, method: str, token: str, body: bytes, length: str | None) -> tuple[str, str]:
    """The WSGI application called as waitress calls it: the path already %-decoded, as latin-1 characters."""
    environ = {"REQUEST_METHOD": method, "PATH_INFO": "/unsubscribe/" + token.encode().decode("latin-1"),
               "SERVER_NAME": "prospectbot.test", "SERVER_PORT": "443", "wsgi.url_scheme": "https",
               "wsgi.input": io.BytesIO(body), "CONTENT_TYPE": "application/x-www-form-urlencoded",
               "CONTENT_LENGTH": str(len(body)) if length is None else length}
    answered: list[str] = []
    chunks = live.wsgi(environ, lambda status, headers, exc_info=None: answered.append(status))
    return answered[0], b"".join(chunks).decode("utf-8")


@examples(80)
@given(token=st.one_of(text, st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=",
                                     min_size=18, max_size=42)),
       tamper=st.sampled_from(["none", "none", "append", "prefix", "flip", "real"]),
       method=st.sampled_from(["GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS", "get", ""]),
       body=st.one_of(st.binary(max_size=200), st.just(b"List-Unsubscribe=One-Click")),
       length=st.one_of(st.none(), st.sampled_from(["abc", "-5", "99999999999999999999", "0", ""])))
@example(token="\x00", tamper="none", method="POST", body=b"List-Unsubscribe=One-Click", length=None)
@example(token="'; DROP TABLE prospects; --", tamper="none", method="GET", body=b"", length=None)
@example(token="", tamper="real", method="PUT", body=b"List-Unsubscribe=One-Click", length="99999999999999999999")
def test_unsubscribe_tokens(live, world, token, tamper, method, body, length):
    """A real token made wrong, or anything at all, with any method, body and Content-Length: a plain page with a
    sentence, never a 500, nothing changed. (The real token itself is sent only with methods that do not
    unsubscribe: one-click POSTs are test_unsubscribe.py's.)"""
    with live.database.snapshot() as session:
        membership = session.scalar(select(func.min(Membership.id)))
    real = unsubscribe_token(TEST_SECRET_KEY, membership)
    token = {"append": real + token[:3], "prefix": token[:3] + real, "real": real,
             "flip": real[:-1] + ("A" if real[-1] != "A" else "B")}.get(tamper, token)
    # Characters outside base64's alphabet are skipped when a token is decoded ("TOKEN>" from a mail client works):
    # what matters is that a token is accepted only when it names this membership with a valid MAC.
    named = membership_for_token(TEST_SECRET_KEY, token)
    assert named in (None, membership)
    assume(named is None or method != "POST")
    before = live.counts()
    status, page = wsgi_call(live, method, token, body, length)
    expected = ("404 Not Found",) if named is None else ("200 OK", "405 Method Not Allowed")
    assert status in expected, (status, page[:200])
    assert leaks(page, token) == []
    assert re.search(r"<p>[A-Z][^<]*[.?]</p>", page), page[:300]
    assert live.counts() == before
    assert live.errors.take() == []


# -- CSV files, imported ----------------------------------------------------------------------------------------------

cell = st.one_of(st.sampled_from(["", " ", "a" * 300, "é" * 400, "x" * 600, '"quoted, with ""quotes"""', "line\nbreak",
                                  "\r\n", "\x00", "=cmd|' /C calc'!A0", "'; DROP TABLE prospects; --", "\ufeff",
                                  "\u200b", "🙂" * 300]),
                 st.text(max_size=40))
email_cell = st.one_of(st.emails().map(str), st.sampled_from(["jane@acme.com", "Jane <JANE@acme.com>",
                                                                "mailto:bob@acme.com", "not-an-address", "",
                                                                "a@b", "x@" + "a" * 70 + ".com", "ü@exämple.com"]),
                       cell)


@examples(40)
@given(rows=st.lists(st.tuples(email_cell, cell, cell, cell, cell), max_size=8),
       header=st.sampled_from([["Email", "First Name", "Last Name", "Company", "Title"],
                               ["E-mail", "first_name", "LAST NAME", "Organization", "Job Title"],
                               ["email_address", "Full name", "Phone", "LinkedIn URL", "Notes"],
                               ["name", "company", "title", "phone", "notes"]]),
       delimiter=st.sampled_from([",", ";", "\t", "|"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252"]),
       bom=st.booleans(),
       tail=st.one_of(st.just(b""), st.binary(max_size=40)))
@example(rows=[("long@x.io", "a" * 300, "b", "c" * 300, "d")], header=["Email", "First Name", "Last Name", "Company",
                                                                       "Title"],
         delimiter=",", encoding="utf-8", bom=False, tail=b"")
@example(rows=[], header=["Email", "First Name", "Last Name", "Company", "Title"], delimiter=",", encoding="utf-8",
         bom=False, tail=b"")
def test_csv_files_are_imported_or_refused_whole(live, world, rows, header, delimiter, encoding, bom, tail):
    """Through storage.importing on both databases (test_prospect_csv.py reads files; this writes them): a file is
    refused in one sentence with nothing written, or every row gets exactly one outcome and the database holds
    exactly the new people and memberships the report counts."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    data = out.getvalue().encode(encoding, errors="replace") + tail
    if bom and encoding == "utf-8":
        data = codecs.BOM_UTF8 + data

    def totals() -> tuple[int, int, int, int]:
        with live.database.snapshot() as session:
            return tuple(session.scalar(select(func.count()).select_from(model))  # type: ignore[return-value]
                         for model in (Campaign, Import, Prospect, Membership))

    campaigns, imports, prospects, memberships = totals()
    try:
        source = ProspectCsv(io.BytesIO(data), name="leads.csv")
    except UnreadableFile as refused:
        message = str(refused)
        assert message[0].isupper() and message.endswith(".") and "\n" not in message
        assert totals() == (campaigns, imports, prospects, memberships)
        return
    name = f"Import {imports + 1}"
    report = import_prospects(live.database.transaction, source, campaign_name=name,
                              actor=Actor("cli:ops", "cli"), secret_key=TEST_SECRET_KEY,
                              source_label="import:leads.csv")
    assert set(report.counts) == set(OUTCOMES)
    assert totals() == (campaigns + 1, imports + 1, prospects + report.counts["new"],
                        memberships + report.counts["new"] + report.counts["added"])
    for problems in report.samples.values():
        for problem in problems:
            assert leaks(problem.message) == [] and "\n" not in problem.message
    assert live.errors.take() == []

"""For the view builders' tests: storage's dataclasses as the builders receive them, built directly (no database);
text as people type it, for hypothesis; and ways to read a view as the person in front of it does."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

from storage.bulk_requests import Preview, RequestView, Rule, SampleProspect, describe_rule
from storage.feeds import RecentAction, RecentOptOut
from storage.outbox import OptOutNotice
from storage.prospects import CampaignActivity, DoNotContactState, ProspectDetails
from storage.search import ProspectSummary, SearchPage
from tests.slack_driver import validate_message_blocks, validate_view

NOW = dt.datetime(2024, 11, 5, 14, 30, tzinfo=dt.UTC)
Q4 = (7, "Q4 Outreach")  # (campaign id, name), as the find and bulk views take a chosen campaign

# Pure functions are fast: many examples cost little. No example database: nothing is written to the tree.
PROPERTY = settings(max_examples=60, deadline=None, database=None)


# -- storage's dataclasses -----------------------------------------------------------------------------------------


def activity(name: str = "Q4 Outreach", campaign_id: int = Q4[0], **changes: Any) -> CampaignActivity:
    fields = dict(campaign_id=campaign_id, campaign_name=name, status="active", added_at=NOW, sent=3, opened=1,
                  replied=0, bounced=0, last_activity_at=NOW)
    return CampaignActivity(**{**fields, **changes})


def dnc(reason: str = "no-interest", **changes: Any) -> DoNotContactState:
    """Do not contact, saved by Bob in Slack unless `changes` say otherwise."""
    fields = dict(reason=reason, note="", actor="slack:U0BOB", channel="slack", since=NOW)
    return DoNotContactState(**{**fields, **changes})


def own_opt_out() -> DoNotContactState:
    """The prospect clicked the unsubscribe link in an email."""
    return dnc("requested", actor="prospect", channel="unsubscribe-link")


def prospect(**changes: Any) -> ProspectDetails:
    """Jane Doe, CEO at Acme, in Q4 Outreach, who can be contacted."""
    fields = dict(id=42, email="jane@acme.com", first_name="Jane", last_name="Doe", company="Acme", title="CEO",
                  phone="+1 555 0100", linkedin_url="https://www.linkedin.com/in/janedoe", source="q4.csv",
                  created_at=NOW, updated_at=NOW, version=3, do_not_contact=None, campaigns=[activity()],
                  domain="acme.com", domain_blocked=False)
    return ProspectDetails(**{**fields, **changes})


def summary(n: int, **changes: Any) -> ProspectSummary:
    fields = dict(id=100 + n, email=f"lee{n:02}@example.com", first_name="Lee", last_name=f"Nguyen{n:02}",
                  company="Lee & Co", title="", do_not_contact=False)
    return ProspectSummary(**{**fields, **changes})


def page(first: int, count: int, *, total: int, limit: int = 10) -> SearchPage:
    """Prospects `first`..`first + count - 1` (from 0) of `total` people, as `search_prospects` pages them."""
    return SearchPage([summary(n) for n in range(first, first + count)], offset=first, limit=limit,
                      has_more=first + count < total)


def sample(count: int) -> list[SampleProspect]:
    return [SampleProspect(200 + n, f"person{n}@zeta.io", f"Person {n}") for n in range(count)]


def preview(rule: Rule | None = None, **changes: Any) -> Preview:
    """1,234 prospects of Q4 Outreach at zeta.io, five of them shown."""
    fields = dict(campaign_id=Q4[0], campaign_name=Q4[1], rule=rule or Rule("domains", domains=("zeta.io",)),
                  count=1234, sample=sample(5), not_matched=0)
    return Preview(**{**fields, **changes})


def request(**changes: Any) -> RequestView:
    """Request #12: Carol asks for 1,234 prospects at zeta.io to be taken out of Q4 Outreach; nobody decided yet."""
    rule = Rule("domains", domains=("zeta.io",))
    fields = dict(id=12, campaign_id=Q4[0], campaign_name=Q4[1], rule=rule.kind,
                  rule_text=describe_rule(rule.kind, rule.parameters), reason="not-target", note="",
                  requested_by="slack:U0CAROL", requested_at=NOW, expires_at=NOW + dt.timedelta(days=7),
                  prospect_count=1234, status="pending", decided_by=None, decided_at=None, applied_count=0,
                  skipped_count=0, message_channel="", message_ts="", sample=sample(5))
    return RequestView(**{**fields, **changes})


def decided(status: str, **changes: Any) -> RequestView:
    """Request #12 approved, rejected or expired; decided by the manager U0BOSS."""
    decider = {"decided_by": "slack:U0BOSS", "decided_at": NOW} if status != "expired" else {}
    return replace(request(status=status, **decider), **changes)


def action(kind: str = "do_not_contact", **changes: Any) -> RecentAction:
    fields = dict(at=NOW, action=kind, prospect_id=42, prospect="Jane Doe", campaign=Q4[1],
                  details={"do_not_contact": {"reason": "no-interest"}} if kind == "do_not_contact" else {})
    return RecentAction(**{**fields, **changes})


def opted_out(**changes: Any) -> RecentOptOut:
    fields = dict(at=NOW, prospect_id=42, name="Jane Doe", email="jane@acme.com", campaigns=[Q4[1]])
    return RecentOptOut(**{**fields, **changes})


def notice(**changes: Any) -> OptOutNotice:
    """Jane Doe clicked the unsubscribe link in an email from Q4 Outreach."""
    fields = dict(prospect_id=42, prospect_count=1, name="Jane Doe", email="jane@acme.com", campaign_names=[Q4[1]],
                  reason="requested", via="unsubscribe-link", actor="prospect", at=NOW)
    return OptOutNotice(**{**fields, **changes})


# -- text as people type it ----------------------------------------------------------------------------------------

# Slack's markup, HTML, and lengths at the columns' limits, each drawn often beside random text.
NASTY = ["<script>alert(1)</script>", "<@U0BOSS>", "<!channel>", "&amp;", "Lee & Co <sales>", "*bold* _it_ ~s~",
         "`code`", "> quote", "\n\n", "🙂" * 255, "&" * 255, "<" * 255, "a" * 255, "é" * 255, " ", ""]
# What the database can hold: no NUL (PostgreSQL refuses it) and no lone surrogates (not UTF-8).
stored = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")


def text(max_size: int) -> st.SearchStrategy[str]:
    """Any text a column of `max_size` characters holds."""
    return st.one_of(st.sampled_from([value[:max_size] for value in NASTY]), st.text(stored, max_size=max_size))


name = text(255)  # first and last names, company, title, phone, source, email (storage's String(255))
campaign_name = text(200)
note = text(2000)  # storage.reasons.MAX_NOTE_CHARS


# -- reading a view --------------------------------------------------------------------------------------------------


def words(value: Any) -> str:
    """Every text a person reads in a view or in blocks (titles, sections, fields, buttons, options, confirm
    dialogs), one per line."""
    found: list[str] = []

    def walk(item: Any) -> None:
        if isinstance(item, dict):
            if item.get("type") in ("plain_text", "mrkdwn") and isinstance(item.get("text"), str):
                found.append(item["text"])
            for inner in item.values():
                walk(inner)
        elif isinstance(item, list):
            for inner in item:
                walk(inner)

    walk(value)
    return "\n".join(found)


def markup(value: Any) -> str:
    """The mrkdwn texts only: where Slack reads &, < and > as control characters."""
    found: list[str] = []

    def walk(item: Any) -> None:
        if isinstance(item, dict):
            if item.get("type") == "mrkdwn":
                found.append(item["text"])
            for inner in item.values():
                walk(inner)
        elif isinstance(item, list):
            for inner in item:
                walk(inner)

    walk(value)
    return "\n".join(found)


def blocks_of(view: dict[str, Any] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    return view["blocks"] if isinstance(view, dict) else view


def elements(view: dict[str, Any] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The interactive elements offered: buttons, menus, inputs."""
    found: list[dict[str, Any]] = []
    for block in blocks_of(view):
        if block.get("accessory"):
            found.append(block["accessory"])
        if block["type"] == "actions":
            found += block["elements"]
        if block["type"] == "input":
            found.append(block["element"])
    return found


def action_ids(view: dict[str, Any] | list[dict[str, Any]]) -> list[str]:
    return [element["action_id"] for element in elements(view)]


def element(view: dict[str, Any] | list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    [found] = [item for item in elements(view) if item["action_id"] == action_id]
    return found


def value_of(button: dict[str, Any]) -> Any:
    """A button's value as the listener decodes it."""
    return json.loads(button["value"])


def labels(menu: dict[str, Any]) -> list[str]:
    return [option["text"]["text"] for option in menu["options"]]


def input_blocks(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The form's fields by block id: what a submission carries."""
    return {block["block_id"]: block for block in view["blocks"] if block["type"] == "input"}


# -- Slack's rules -------------------------------------------------------------------------------------------------


def assert_fits(blocks: list[dict[str, Any]]) -> None:
    """Slack's limits on text that slack_sdk does not check: 3,000 characters in a context element, 2,000 in a
    section field."""
    for block in blocks:
        if block["type"] == "context":
            assert all(len(item.get("text", "")) <= 3000 for item in block["elements"]), block
        for field in block.get("fields") or []:
            assert len(field["text"]) <= 2000, field


def assert_valid_view(view: dict[str, Any]) -> None:
    validate_view(view)
    assert_fits(view["blocks"])


def assert_valid_message(blocks: list[dict[str, Any]]) -> None:
    validate_message_blocks(blocks)
    assert_fits(blocks)

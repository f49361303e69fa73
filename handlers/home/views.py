"""The App Home tab: find a prospect, your own recent actions, recent opt-outs in your campaigns, and for
managers the bulk requests waiting for a decision."""

from __future__ import annotations

from typing import Any

from handlers.blocks import Block, button, context, divider, escape, header, section
from handlers.bulk.views import request_blocks
from handlers.labels import REASON_LABELS
from handlers.replies.views import reply_card_message
from storage.bulk_requests import RequestView
from storage.feeds import RecentAction, RecentOptOut
from storage.reply_cards import ReplyCard

ACTION_LABELS = {
    "do_not_contact": "marked do not contact",
    "lift_do_not_contact": "lifted do not contact",
    "delete": "deleted",
    "block_domain": "blocked a domain",
    "block_address": "blocked an address",
    "bulk.request": "asked for a bulk unsubscribe",
    "bulk.approve": "approved a bulk unsubscribe",
    "bulk.reject": "rejected a bulk unsubscribe",
    "campaign.configure": "changed campaign settings",
    "campaign.create": "created a campaign",
    "import": "imported prospects",
    "role.grant": "granted a role",
    "role.revoke": "revoked a role",
}
MAX_PENDING_SHOWN = 5  # each request is about eight blocks; Slack allows 100 per view
MAX_REPLIES_SHOWN = 5  # each card is three blocks


def build_home(user_id: str, *, is_manager: bool, actions: list[RecentAction], opt_outs: list[RecentOptOut],
               pending: list[RequestView], open_replies: list[ReplyCard] | None = None) -> dict[str, Any]:
    """`pending`: the oldest waiting requests; more than MAX_PENDING_SHOWN means more are waiting."""
    blocks: list[Block] = [
        section(f"Hi <@{user_id}>! Find a prospect to see their profile, mark them *do not contact* "
                "(recommended) or delete them."),
        {"type": "actions", "block_id": "home_actions",
         "elements": [button("Find a prospect", "home.find", style="primary"),
                      button("Bulk unsubscribe…", "home.bulk")]},
        context("Tip: `/prospect jane@acme.com` goes straight to a profile; `/prospect bulk` asks for a bulk "
                "unsubscribe."),
    ]
    if is_manager:
        blocks += [divider(), header("Waiting for your approval")]
        if not pending:
            blocks.append(section("No bulk request is waiting."))
        for request in pending[:MAX_PENDING_SHOWN]:
            blocks += request_blocks(request)
        if len(pending) > MAX_PENDING_SHOWN:
            blocks.append(context("More requests are waiting: they appear here as these are decided."))
    if open_replies:
        blocks += [divider(), header("Replies waiting for a decision")]
        for card in open_replies[:MAX_REPLIES_SHOWN]:
            blocks += reply_card_message(card)[1]
        if len(open_replies) > MAX_REPLIES_SHOWN:
            blocks.append(context("More replies are waiting: they appear here as these are decided."))
    blocks += [divider(), header("Your recent actions"), section(_actions_text(actions))]
    blocks += [divider(), header("Recent opt-outs in your campaigns"), section(_opt_outs_text(opt_outs))]
    return {"type": "home", "blocks": blocks[:100]}


def build_refused_home(sentence: str) -> dict[str, Any]:
    return {"type": "home", "blocks": [section(f":no_entry_sign: {escape(sentence)}")]}


def _actions_text(actions: list[RecentAction]) -> str:
    if not actions:
        return "Nothing yet. What you change in prospectbot will be listed here."
    lines = []
    for action in actions:
        what = ACTION_LABELS.get(action.action, action.action)
        about = ""
        if action.prospect:
            about = f" *{escape(action.prospect)}*"
        elif action.prospect_id:
            about = " a prospect deleted since"
        if action.action == "block_domain" and action.details.get("domain"):
            about = f" *{escape(str(action.details['domain']))}*"
        if action.action == "do_not_contact":
            reason = (action.details.get("do_not_contact") or {}).get("reason", "")
            about += f" ({REASON_LABELS.get(reason, reason)})" if reason else ""
        where = f" in {escape(action.campaign)}" if action.campaign else ""
        lines.append(f"• {action.at:%Y-%m-%d %H:%M} — {what}{about}{where}")
    return "\n".join(lines)


def _opt_outs_text(opt_outs: list[RecentOptOut]) -> str:
    if not opt_outs:
        return "No one has opted out lately."
    lines = []
    for item in opt_outs:
        name = f"*{escape(item.name)}* ({escape(item.email)})" if item.name else f"*{escape(item.email)}*"
        campaigns = ", ".join(escape(name) for name in item.campaigns[:3])
        lines.append(f"• {item.at:%Y-%m-%d %H:%M} — {name}{f' · {campaigns}' if campaigns else ''}")
    return "\n".join(lines)

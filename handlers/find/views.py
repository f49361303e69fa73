"""The "Find a prospect" modal: choose a campaign, type ahead, or browse its list ten at a time."""

from __future__ import annotations

from typing import Any

from handlers.blocks import Block, button, context, divider, escape, modal, option, plain, section
from storage.search import ProspectSummary, SearchPage

PAGE_SIZE = 10
CALLBACK_ID = "find"


def build_find_modal(
    *,
    campaign: tuple[int, str] | None = None,
    query: str = "",
    page: SearchPage | None = None,
    notice: str | None = None,
    notify_channel: str = "",
) -> dict[str, Any]:
    """`campaign` chosen (id, name) or none yet; `query` for a search across campaigns; `page` the list shown;
    `notify_channel` the campaign's own channel for opt-out notifications ("" for the default)."""
    blocks: list[Block] = []
    if notice:
        blocks.append(section(notice))
    campaign_select: dict[str, Any] = {
        "type": "external_select",
        "action_id": "find.campaign",
        "placeholder": plain("Choose a campaign"),
        "min_query_length": 0,
    }
    if campaign:
        campaign_select["initial_option"] = option(campaign[1], str(campaign[0]))
    blocks.append({"type": "section", "block_id": "find_campaign", "text": {"type": "mrkdwn", "text": "*Campaign*"},
                   "accessory": campaign_select})
    if campaign:
        blocks.append({
            "type": "section",
            "block_id": "find_prospect",
            "text": {"type": "mrkdwn", "text": "*Prospect*"},
            "accessory": {
                "type": "external_select",
                "action_id": "find.prospect",
                "placeholder": plain("Name, email or company"),
                "min_query_length": 1,
            },
        })
        channel_select: dict[str, Any] = {"type": "conversations_select", "action_id": "find.notify_channel",
                                          "placeholder": plain("Default channel"),
                                          "filter": {"include": ["public", "private"], "exclude_bot_users": True}}
        if notify_channel:
            channel_select["initial_conversation"] = notify_channel
        blocks.append({"type": "section", "block_id": "find_notify_channel",
                       "text": {"type": "mrkdwn", "text": "*Opt-out notifications*"}, "accessory": channel_select})
        blocks.append({"type": "actions", "block_id": "find_bulk", "elements": [
            button("Bulk unsubscribe…", "find.bulk", {"c": campaign[0]})]})
    if page is not None:
        blocks.append(divider())
        blocks += _list_blocks(page, campaign=campaign, query=query)
    metadata = {"c": campaign[0] if campaign else None, "q": query}
    return modal("Find a prospect", blocks, callback_id=CALLBACK_ID, metadata=metadata)


def _list_blocks(page: SearchPage, *, campaign: tuple[int, str] | None, query: str) -> list[Block]:
    campaign_id = campaign[0] if campaign else None
    if not page.items:
        if page.offset:
            return [section("No more prospects.")]
        if query:
            where = f" in *{escape(campaign[1])}*" if campaign else ""
            return [section(f"No prospect{where} matches “{escape(query)}”. Check the spelling, or try the start "
                            "of their email, name or company.")]
        return [section(f"*{escape(campaign[1]) if campaign else 'This campaign'}* has no prospects yet. "
                        "Import some with `prospectbot import FILE.csv --campaign NAME`.")]
    first, last = page.offset + 1, page.offset + len(page.items)
    if query:
        title = f"Matches for “{escape(query)}” ({first}–{last})"
    else:
        title = f"Prospects in *{escape(campaign[1]) if campaign else ''}* ({first}–{last})"
    blocks: list[Block] = [context(title)]
    blocks += [_prospect_row(item, campaign_id) for item in page.items]
    navigation = []
    if page.offset > 0:
        navigation.append(button("← Previous", "find.page.previous",
                                 {"c": campaign_id, "q": query, "o": max(0, page.offset - page.limit)}))
    if page.has_more:
        navigation.append(button("Next →", "find.page.next",
                                 {"c": campaign_id, "q": query, "o": page.offset + page.limit}))
    if navigation:
        blocks.append({"type": "actions", "block_id": "find_pages", "elements": navigation})
    return blocks


def _prospect_row(item: ProspectSummary, campaign_id: int | None) -> Block:
    name = escape(item.full_name) or escape(item.email)
    parts = (item.email if item.full_name else "", item.company, item.title)
    details = " · ".join(escape(part) for part in parts if part)
    flag = "\n:no_entry: Do not contact" if item.do_not_contact else ""
    return section(f"*{name}*\n{details}{flag}",
                   accessory=button("View", "find.view", {"p": item.id, "c": campaign_id}))


def prospect_option(item: ProspectSummary) -> dict[str, Any]:
    """One type-ahead option: the name (or address) and what tells two namesakes apart."""
    label = item.full_name or item.email
    detail = " · ".join(part for part in (item.email if item.full_name else "", item.company) if part)
    text = f"{label} — {detail}" if detail else label
    if item.do_not_contact:
        text = f"⛔ {text}"
    return option(text, str(item.id))

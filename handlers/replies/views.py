"""The card a reply that may be an opt-out gets in its campaign's channel, before and after someone decides."""

from __future__ import annotations

from handlers.blocks import Block, button, context, escape, section, who
from storage.reply_cards import ReplyCard

DECIDE_ACTIONS = {"replies.do_not_contact": "do-not-contact", "replies.not_interested": "not-interested",
                  "replies.not_an_opt_out": "not-an-opt-out"}
OUTCOMES = {
    "do-not-contact": "is now do not contact (they asked)",
    "not-interested": "is now do not contact (not interested)",
    "not-an-opt-out": "stays as they were: not an opt-out",
    "gone": "was deleted before anyone decided",
}
GONE = "A reply from a prospect who has been deleted since."


def reply_card_message(card: ReplyCard) -> tuple[str, list[Block]]:
    """(fallback text, blocks) for chat.postMessage and chat.update."""
    if card.email is None:
        return GONE, [section(f":wastebasket: {GONE}")]
    person = f"*{escape(card.name or card.email)}* ({escape(card.email)})"
    campaign = f" to *{escape(card.campaign_name)}*" if card.campaign_name else ""
    quoted = "\n".join(f"> {escape(line)}" for line in (card.excerpt or "(no text)").splitlines()[:8])
    blocks: list[Block] = [section(f":speech_balloon: {person} replied{campaign}. Is this an opt-out?\n{quoted}")]
    if card.phrase:
        blocks.append(context(f"Sounds like: “{escape(card.phrase)}” · {card.received_at:%Y-%m-%d %H:%M} UTC"))
    if card.status == "open":
        value = {"m": card.id}
        blocks.append({"type": "actions", "block_id": "reply_card_actions", "elements": [
            button("Do not contact", "replies.do_not_contact", value, style="danger"),
            button("Mark not interested", "replies.not_interested", value),
            button("Not an opt-out", "replies.not_an_opt_out", value),
        ]})
        fallback = f"{escape(card.name or card.email)} replied: is it an opt-out?"
    else:
        by = f" by {who(card.decided_by)}" if card.decided_by else ""
        outcome = f"{escape(card.name or card.email)} {OUTCOMES.get(card.status, card.status)}"
        blocks.append(context(f":white_check_mark: {outcome}{by}."))
        fallback = f"{outcome}."
    return fallback, blocks

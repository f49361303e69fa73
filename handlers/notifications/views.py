"""The channel message announcing an opt-out."""

from __future__ import annotations

from handlers.blocks import Block, button, context, escape, section, who
from handlers.labels import CHANNEL_LABELS, REASON_LABELS
from storage.outbox import OptOutNotice

HOW = {
    "unsubscribe-link": "clicked the unsubscribe link in an email",
    "unsubscribe-email": "unsubscribed with their mail client's unsubscribe button",
    "reply": "asked to stop in a reply",
    "slack": "was marked do not contact in Slack",
    "cli": "was marked do not contact from the command line",
    "import": "was marked do not contact by an import",
    "bulk": "was marked do not contact by a bulk request",
}


def build_opt_out_message(notice: OptOutNotice) -> tuple[str, list[Block]]:
    """(fallback text, blocks) for chat.postMessage."""
    if notice.prospect_id is None:
        person = f"*{notice.prospect_count:,} prospects*"
        how = HOW.get(notice.via, "opted out").replace("was marked", "were marked")
    else:
        if notice.email is None:
            person = "A prospect (deleted since)"
        elif notice.name:
            person = f"*{escape(notice.name)}* ({escape(notice.email)})"
        else:
            person = f"*{escape(notice.email)}*"
        how = HOW.get(notice.via, f"opted out via {CHANNEL_LABELS.get(notice.via, notice.via)}")
    campaigns = ", ".join(f"*{escape(name)}*" for name in notice.campaign_names[:20]) or "no campaign"
    if len(notice.campaign_names) > 20:
        campaigns += f" and {len(notice.campaign_names) - 20} more"
    reason = REASON_LABELS.get(notice.reason, notice.reason)
    actor = "the prospect themselves" if notice.actor == "prospect" else who(notice.actor)
    text = f":no_entry: {person} {how}. {'Campaigns' if len(notice.campaign_names) > 1 else 'Campaign'}: {campaigns}."
    blocks: list[Block] = [
        section(text),
        *([context(f"They wrote: “{escape(notice.phrase)}”")] if notice.phrase else []),
        context(f"Reason: {reason} · by {actor} · {notice.at:%Y-%m-%d %H:%M} UTC · never emailed again"),
    ]
    if notice.email:
        blocks.append({"type": "actions", "block_id": "notification_actions",
                       "elements": [button("Open profile", "notify.open_profile", {"p": notice.prospect_id})]})
    who_fallback = f"{notice.prospect_count:,} prospects" if notice.prospect_id is None else (
        notice.name or notice.email or "A prospect")
    # The fallback is shown in notifications and parsed like any message text: "<!channel>" in a name would ping.
    fallback = f"{escape(who_fallback)} opted out ({reason})."
    return fallback, blocks

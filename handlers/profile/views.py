"""A prospect's profile: contact details, campaigns and their metrics, do-not-contact state, "Edit prospect"."""

from __future__ import annotations

from typing import Any

from handlers.blocks import Block, button, context, divider, escape, header, modal, section, who
from handlers.labels import CHANNEL_LABELS, REASON_LABELS
from storage.prospects import ProspectDetails

CALLBACK_ID = "profile"
MAX_CAMPAIGNS_SHOWN = 40  # keeps the view under Slack's 100 blocks


def build_profile_modal(details: ProspectDetails, *, campaign_id: int | None = None, banner: str | None = None,
                        close: str = "Close") -> dict[str, Any]:
    blocks: list[Block] = []
    if banner:
        blocks.append(section(banner))
    blocks.append(header(details.full_name or details.email))
    fields = [("Email", escape(details.email)), ("Company", escape(details.company)),
              ("Title", escape(details.title)), ("Phone", escape(details.phone)),
              ("LinkedIn", escape(details.linkedin_url)), ("Source", escape(details.source))]
    shown = [{"type": "mrkdwn", "text": f"*{label}*\n{value}"} for label, value in fields if value]
    blocks.append({"type": "section", "fields": shown[:10]})
    blocks.append(section(do_not_contact_text(details)))
    blocks.append(divider())
    if details.campaigns:
        blocks.append(section(f"*Campaigns* ({len(details.campaigns)})"))
        for activity in details.campaigns[:MAX_CAMPAIGNS_SHOWN]:
            state = ("do not contact" if details.do_not_contact
                     else "bounced" if details.bounced_at else activity.status)
            last = f" · last activity {activity.last_activity_at:%Y-%m-%d}" if activity.last_activity_at else ""
            blocks.append(section(
                f"*{escape(activity.campaign_name)}* — {state}\n"
                f"Sent {activity.sent} · Opened {activity.opened} · Replied {activity.replied} · "
                f"Bounced {activity.bounced}{last}"
            ))
        if len(details.campaigns) > MAX_CAMPAIGNS_SHOWN:
            blocks.append(context(f"…and {len(details.campaigns) - MAX_CAMPAIGNS_SHOWN} more campaigns."))
    else:
        blocks.append(section("Not in any campaign."))
    blocks.append({
        "type": "actions",
        "block_id": "profile_actions",
        "elements": [button("Edit prospect", "profile.edit", {"p": details.id, "v": details.version, "c": campaign_id},
                            style="primary")],
    })
    return modal("Prospect", blocks, callback_id=CALLBACK_ID,
                 metadata={"p": details.id, "v": details.version, "c": campaign_id}, close=close)


def do_not_contact_text(details: ProspectDetails) -> str:
    dnc = details.do_not_contact
    domain = (f"\n:no_entry: Everyone at *{escape(details.domain)}* is blocked: nobody there is contacted."
              if details.domain_blocked else "")
    bounced = (f"\n:warning: *Bounced* on {details.bounced_at:%Y-%m-%d}: the mailbox does not exist, so no campaign "
               "emails this address." if details.bounced_at else "")
    if dnc is None and bounced:
        return bounced.lstrip("\n") + domain
    if dnc is None:
        return ":white_check_mark: *Can be contacted*" + domain
    note = f"\n> {escape(dnc.note)}" if dnc.note else ""
    return (f":no_entry: *Do not contact* — {REASON_LABELS.get(dnc.reason, dnc.reason)}\n"
            f"By {who(dnc.actor)} via {CHANNEL_LABELS.get(dnc.channel, dnc.channel)} on {dnc.since:%Y-%m-%d %H:%M} UTC"
            f"{note}{bounced}{domain}")


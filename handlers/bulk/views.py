"""Bulk unsubscribe: the request form, its preview, and the approval message managers decide on."""

from __future__ import annotations

import datetime as dt
from typing import Any

from handlers.blocks import Block, button, context, escape, header, modal, option, plain, section, who
from handlers.labels import REASON_LABELS
from storage.bulk_requests import DEFAULT_REASONS, Preview, RequestView, SampleProspect, describe_rule
from storage.reasons import USER_DNC_REASONS

FORM_CALLBACK, CONFIRM_CALLBACK = "bulk.form", "bulk.confirm"
CAMPAIGN_BLOCK, CAMPAIGN_ACTION = "bulk_campaign", "bulk.campaign"
RULE_BLOCK, RULE_ACTION = "bulk_rule", "rule"
MIN_SENT_BLOCK, MIN_SENT_ACTION = "bulk_min_sent", "min_sent"
DOMAINS_BLOCK, DOMAINS_ACTION = "bulk_domains", "domains"
ADDRESSES_BLOCK, ADDRESSES_ACTION = "bulk_addresses", "addresses"
REASON_BLOCK, REASON_ACTION = "bulk_reason", "reason"
NOTE_BLOCK, NOTE_ACTION = "bulk_note", "note"
# private_metadata holds at most 3,000 characters; the addresses travel in it from the form to the preview.
MAX_ADDRESSES_TEXT = 2_400

RULE_LABELS = {
    "no-engagement": "No opens and no replies after N emails",
    "domains": "Everyone at some email domains",
    "addresses": "A list of addresses",
}


def build_bulk_form(*, campaign: tuple[int, str] | None = None, notice: str | None = None) -> dict[str, Any]:
    campaign_select: dict[str, Any] = {"type": "external_select", "action_id": CAMPAIGN_ACTION,
                                       "placeholder": plain("Choose a campaign"), "min_query_length": 0}
    if campaign:
        campaign_select["initial_option"] = option(campaign[1], str(campaign[0]))
    rules = [option(label, kind) for kind, label in RULE_LABELS.items()]
    blocks: list[Block] = []
    if notice:
        blocks.append(section(notice))
    blocks += [
        section("Take prospects out of a campaign's sends in one go. You will see how many and who before "
                "sending it; a manager approves it before anything changes."),
        {"type": "input", "block_id": CAMPAIGN_BLOCK, "label": plain("Campaign"), "element": campaign_select},
        {"type": "input", "block_id": RULE_BLOCK, "label": plain("Who"),
         "element": {"type": "radio_buttons", "action_id": RULE_ACTION, "options": rules, "initial_option": rules[0]}},
        {"type": "input", "block_id": MIN_SENT_BLOCK, "optional": True,
         "label": plain("Emails sent without an open or a reply"),
         "hint": plain("For “No opens and no replies”: at least this many emails sent."),
         "element": {"type": "number_input", "action_id": MIN_SENT_ACTION, "is_decimal_allowed": False,
                     "min_value": "1", "max_value": "1000", "initial_value": "3"}},
        {"type": "input", "block_id": DOMAINS_BLOCK, "optional": True, "label": plain("Email domains"),
         "hint": plain("For “Everyone at some email domains”: separated by commas or spaces."),
         "element": {"type": "plain_text_input", "action_id": DOMAINS_ACTION, "max_length": 500,
                     "placeholder": plain("acme.com, globex.com")}},
        {"type": "input", "block_id": ADDRESSES_BLOCK, "optional": True, "label": plain("Addresses"),
         "hint": plain("For “A list of addresses”: one per line, or separated by commas."),
         "element": {"type": "plain_text_input", "action_id": ADDRESSES_ACTION, "multiline": True,
                     "max_length": MAX_ADDRESSES_TEXT}},
    ]
    return modal("Bulk unsubscribe", blocks, callback_id=FORM_CALLBACK, submit="Preview", close="Cancel")


def build_bulk_confirm(preview: Preview, *, metadata: dict[str, Any], ttl_days: int) -> dict[str, Any]:
    """The preview: how many, who, and the note for the approver. Submitting it freezes the set."""
    rule = preview.rule
    reasons = [option(REASON_LABELS[reason], reason) for reason in USER_DNC_REASONS]
    default = DEFAULT_REASONS[rule.kind]
    count = f"*{preview.count:,} prospect{'s' if preview.count != 1 else ''}*"
    blocks: list[Block] = [
        section(f"*{escape(preview.campaign_name)}* · {escape(describe_rule(rule.kind, rule.parameters))}"),
        section(f"{count} would be marked *do not contact* once a manager approves. They stay in your database "
                "and in your metrics, and are never emailed again from any campaign."),
    ]
    if preview.not_matched:
        blocks.append(context(f"{preview.not_matched:,} of the addresses you pasted are not in this campaign, or are "
                              "do not contact already."))
    blocks += _sample_blocks(preview.sample, preview.count)
    blocks += [
        {"type": "input", "block_id": REASON_BLOCK, "label": plain("Reason"),
         "element": {"type": "static_select", "action_id": REASON_ACTION, "options": reasons,
                     "initial_option": option(REASON_LABELS[default], default)}},
        {"type": "input", "block_id": NOTE_BLOCK, "optional": True, "label": plain("Note for the approver"),
         "element": {"type": "plain_text_input", "action_id": NOTE_ACTION, "multiline": True, "max_length": 2000}},
        context(f"Nothing changes until a manager approves. The exact prospects shown are kept: people who match "
                f"later are not added. Requests expire after {ttl_days} days."),
    ]
    return modal("Bulk unsubscribe", blocks, callback_id=CONFIRM_CALLBACK, submit="Request approval", close="Back",
                 metadata=metadata)


def _sample_blocks(sample: list[SampleProspect], count: int) -> list[Block]:
    if not sample:
        return []
    lines = "\n".join(f"• {escape(item.name)} ({escape(item.email)})" if item.name else f"• {escape(item.email)}"
                      for item in sample)
    more = f"\n…and {count - len(sample):,} more" if count > len(sample) else ""
    return [section(f"For example:\n{lines}{more}")]


def build_submitted(request: RequestView, *, posted_in: str) -> dict[str, Any]:
    where = (f"Managers have been asked in <#{posted_in}>." if posted_in
             else "Managers will find it in prospectbot's App Home.")
    return modal("Bulk unsubscribe", [section(
        f":hourglass_flowing_sand: Request #{request.id} is waiting for a manager: *{request.prospect_count:,} "
        f"prospects* in *{escape(request.campaign_name)}*. {where} Nothing changes until it is approved, and you will "
        "hear about the decision here in Slack.")], callback_id="notice")


def request_blocks(request: RequestView, *, now: dt.datetime | None = None) -> list[Block]:
    """The request as a manager sees it: in the approvals channel and in App Home. Decided requests show who
    decided and the outcome, without buttons."""
    blocks: list[Block] = [
        header(f"Bulk unsubscribe request #{request.id}"),
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*Campaign*\n{escape(request.campaign_name)}"},
            {"type": "mrkdwn", "text": f"*Prospects*\n{request.prospect_count:,}"},
            {"type": "mrkdwn", "text": f"*Who*\n{escape(request.rule_text)}"},
            {"type": "mrkdwn", "text": f"*Reason*\n{REASON_LABELS.get(request.reason, request.reason)}"},
            {"type": "mrkdwn", "text": f"*Requested by*\n{who(request.requested_by)}"},
            {"type": "mrkdwn", "text": f"*Expires*\n{request.expires_at:%Y-%m-%d %H:%M} UTC"},
        ]},
    ]
    if request.note:
        blocks.append(section(f"> {escape(request.note)}"))
    blocks += _sample_blocks(request.sample, request.prospect_count)
    blocks.append(outcome_block(request) if not request.is_pending else _decision_buttons(request))
    return blocks


def outcome_block(request: RequestView) -> Block:
    if request.status == "approved":
        skipped = (f", {request.skipped_count:,} skipped (already do not contact, or deleted since)"
                   if request.skipped_count else "")
        text = (f":white_check_mark: *Approved* by {who(request.decided_by or '')}: {request.applied_count:,} "
                f"prospects are now do not contact{skipped}.")
    elif request.status == "rejected":
        text = f":x: *Rejected* by {who(request.decided_by or '')}. Nothing changed."
    else:
        text = f":hourglass: *Expired* on {request.expires_at:%Y-%m-%d}. Nothing changed."
    return section(text)


def _decision_buttons(request: RequestView) -> Block:
    count = f"{request.prospect_count:,} prospect{'s' if request.prospect_count != 1 else ''}"
    approve = {"title": plain(f"Approve request #{request.id}?", 100),
               "text": plain(f"{count} in {request.campaign_name} will be marked do not contact and never emailed "
                             "again.", 300),
               "confirm": plain("Approve", 30), "deny": plain("Cancel", 30)}
    reject = {"title": plain(f"Reject request #{request.id}?", 100),
              "text": plain("Nothing will change, and the requester will be told.", 300),
              "confirm": plain("Reject", 30), "deny": plain("Cancel", 30), "style": "danger"}
    return {"type": "actions", "block_id": f"decide_{request.id}", "elements": [
        button("Approve", "approvals.approve", {"r": request.id}, style="primary", confirm=approve),
        button("Reject", "approvals.reject", {"r": request.id}, style="danger", confirm=reject),
    ]}


def request_message(request: RequestView) -> tuple[str, list[Block]]:
    """(fallback text, blocks) of the approvals channel message."""
    state = {"pending": "waiting for approval", "approved": "approved", "rejected": "rejected",
             "expired": "expired"}[request.status]
    text = (f"Bulk unsubscribe request #{request.id}: {request.prospect_count:,} prospects in "
            f"{escape(request.campaign_name)} — {state}.")
    return text, request_blocks(request)


def decision_for_requester(request: RequestView) -> str:
    where = f"request #{request.id} ({request.prospect_count:,} prospects in *{escape(request.campaign_name)}*)"
    if request.status == "approved":
        skipped = f" {request.skipped_count:,} were skipped (already do not contact, or deleted since)." if (
            request.skipped_count) else ""
        return (f":white_check_mark: {who(request.decided_by or '')} approved your {where}: "
                f"{request.applied_count:,} prospects are now do not contact.{skipped}")
    if request.status == "rejected":
        return f":x: {who(request.decided_by or '')} rejected your {where}. Nothing changed."
    return f":hourglass: Your {where} expired before a manager decided. Nothing changed."

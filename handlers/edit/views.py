"""The "Edit prospect" modal: do not contact (recommended) with a reason, and delete, with its warning."""

from __future__ import annotations

from typing import Any

from handlers.blocks import Block, button, context, divider, escape, header, modal, option, plain, section
from handlers.labels import REASON_LABELS
from storage.prospects import ProspectDetails
from storage.reasons import OWN_OPT_OUT, USER_DNC_REASONS

CALLBACK_ID = "edit"
REASON_BLOCK, REASON_ACTION = "dnc_reason", "reason"
NOTE_BLOCK, NOTE_ACTION = "dnc_note", "note"
DELETE_OPTIONS_BLOCK, BLOCK_REIMPORT_ACTION = "delete_options", "block_reimport"
BLOCK_REIMPORT_VALUE = "block-reimport"


def reimport_warning(name: str) -> str:
    return (f"Deleting removes {name} entirely: their profile, campaigns and do-not-contact state. If they are "
            "extracted or imported again later, they will be treated as a new contact and may be emailed again. "
            "*Do not contact is the recommended option.*")


def build_edit_modal(details: ProspectDetails, *, campaign_id: int | None = None, can_delete: bool = True,
                     is_manager: bool = False) -> dict[str, Any]:
    """`can_delete` and `is_manager` decide which of delete, lift and block domain are offered: the listeners
    check the role again when they are used."""
    name = escape(details.full_name or details.email)
    dnc = details.do_not_contact
    own_opt_out = dnc is not None and dnc.reason == OWN_OPT_OUT
    blocks: list[Block] = [
        section(f"*{name}* · {escape(details.email)}"),
        header("Do not contact"),
        section(f"Recommended. {name} stays in your database and in historical metrics, and will not be emailed "
                "again from any campaign — including campaigns they are added to later."),
    ]
    if own_opt_out:
        blocks.append(context(f":no_entry: {name} opted out themselves. That can not be changed or undone."))
    else:
        reasons = [option(REASON_LABELS[reason], reason) for reason in USER_DNC_REASONS]
        radio: dict[str, Any] = {"type": "radio_buttons", "action_id": REASON_ACTION, "options": reasons}
        if dnc is not None and dnc.reason in USER_DNC_REASONS:
            radio["initial_option"] = option(REASON_LABELS[dnc.reason], dnc.reason)
            blocks.append(context(f"Already do not contact ({REASON_LABELS[dnc.reason]}). Only the prospect's own "
                                  "request can replace that reason."))
        blocks.append({"type": "input", "block_id": REASON_BLOCK, "optional": True, "label": plain("Reason"),
                       "element": radio})
        if dnc is not None and is_manager and details.lift_refusal is None:
            blocks.append({"type": "actions", "block_id": "lift", "elements": [button(
                "Lift do not contact…", "edit.lift", {"p": details.id, "v": details.version, "c": campaign_id},
                confirm=_confirm(f"Contact {details.full_name or 'them'} again?",
                                 "They become contactable in every campaign they are in, from the next send.",
                                 "Lift"))]})
        blocks.append({
            "type": "input", "block_id": NOTE_BLOCK, "optional": True, "label": plain("Note"),
            "hint": plain("Required for “Other”."),
            "element": {"type": "plain_text_input", "action_id": NOTE_ACTION, "multiline": True, "max_length": 2000},
        })
    if is_manager:
        blocks += _domain_blocks(details, campaign_id)
    blocks += [divider(), header("Delete"), section(reimport_warning(name))]
    if not can_delete:
        blocks.append(context(":lock: Only managers can delete prospects."))
        return modal("Edit prospect", blocks, callback_id=CALLBACK_ID, submit=None if own_opt_out else "Save changes",
                     close="Cancel", metadata={"p": details.id, "v": details.version, "c": campaign_id})
    if own_opt_out:
        # Their address stays blocked whatever is chosen, so there is nothing to choose; and a modal with an input
        # block needs a submit button, which a modal with nothing to save must not have.
        blocks.append(context("Because they opted out themselves, their address stays blocked from future imports "
                              "even after a delete."))
    else:
        blocks.append({
            "type": "input", "block_id": DELETE_OPTIONS_BLOCK, "optional": True, "label": plain("Before deleting"),
            "element": {"type": "checkboxes", "action_id": BLOCK_REIMPORT_ACTION,
                        "options": [option("Also block this address from future imports", BLOCK_REIMPORT_VALUE)]},
        })
    confirm = {
        "title": plain(f"Delete {details.full_name or 'this prospect'}?", 100),
        "text": plain("This can not be undone. If they are extracted or imported again later, they come back as a "
                      "new contact and may be emailed again, unless you blocked the address.", 300),
        "confirm": plain("Delete", 30),
        "deny": plain("Keep", 30),
        "style": "danger",
    }
    blocks.append({"type": "actions", "block_id": "delete", "elements": [
        button("Delete prospect…", "edit.delete", {"p": details.id, "v": details.version, "c": campaign_id},
               style="danger", confirm=confirm)]})
    submit = None if own_opt_out else "Save changes"
    return modal("Edit prospect", blocks, callback_id=CALLBACK_ID, submit=submit, close="Cancel",
                 metadata={"p": details.id, "v": details.version, "c": campaign_id})


def _confirm(title: str, text: str, confirm: str, *, danger: bool = False) -> dict[str, Any]:
    dialog: dict[str, Any] = {"title": plain(title, 100), "text": plain(text, 300), "confirm": plain(confirm, 30),
              "deny": plain("Cancel", 30)}
    if danger:
        dialog["style"] = "danger"
    return dialog


def _domain_blocks(details: ProspectDetails, campaign_id: int | None) -> list[Block]:
    domain = escape(details.domain)
    if details.domain_blocked:
        return [context(f":no_entry: Everyone at *{domain}* is blocked.")]
    return [
        {"type": "section", "block_id": "block_domain",
         "text": {"type": "mrkdwn", "text": f"*Block {domain}*\nThe whole company asked you to stop? Everyone at "
                                           f"{domain} becomes do not contact, and imports skip new addresses there."},
         "accessory": button(f"Block {details.domain}…", "edit.block_domain",
                             {"p": details.id, "d": details.domain, "c": campaign_id},
                             confirm=_confirm(f"Block everyone at {details.domain}?",
                                              f"Every current prospect at {details.domain} becomes do not contact "
                                              "and future imports skip the domain.", "Block", danger=True))},
    ]


def saved_message(name: str, email: str, label: str, *, changed: bool) -> str:
    """The direct message confirming a save. It names the prospect: it is recorded, and redacted if they are
    deleted later (REDACTED_SAVED_MESSAGE)."""
    return f"{'Saved' if changed else 'Unchanged'}: {escape(name)} ({escape(email)}) is do not contact — {label}."


REDACTED_SAVED_MESSAGE = ("You marked a prospect do not contact here. They have been deleted since, so this message "
                          "no longer says who.")


def deleted_message(campaigns_left: int, *, reimport_blocked: bool, because_opted_out: bool) -> str:
    """The direct message after a delete. Slack keeps messages, so it names nobody: the modal named them."""
    where = (f"in {campaigns_left} campaign{'s' if campaigns_left != 1 else ''}" if campaigns_left
             else "in no campaign")
    if reimport_blocked:
        why = " because they had opted out themselves" if because_opted_out else ""
        return f":wastebasket: A prospect {where} was deleted. Their address stays blocked from future imports{why}."
    return (f":wastebasket: A prospect {where} was deleted. If their address is extracted or imported again later, "
            "they will come back as a new contact and may be emailed again.")


def deleted_text(name: str, email: str, *, reimport_blocked: bool, because_opted_out: bool) -> str:
    if reimport_blocked:
        why = " because they had opted out themselves" if because_opted_out else ""
        return (f":wastebasket: *{escape(name)}* was deleted. Their address stays blocked from future imports{why}.")
    return (f":wastebasket: *{escape(name)}* was deleted. If {escape(email)} is extracted or imported again later, "
            "they will come back as a new contact and may be emailed again.")

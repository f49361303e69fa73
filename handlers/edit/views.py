"""The "Edit prospect" modal: do not contact (recommended) with a reason, and delete, with its warning."""

from __future__ import annotations

from typing import Any

from handlers.blocks import REASON_LABELS, Block, button, context, divider, escape, header, modal, option, plain, section
from storage.operations import OWN_OPT_OUT, USER_DNC_REASONS, ProspectDetails

CALLBACK_ID = "edit"
REASON_BLOCK, REASON_ACTION = "dnc_reason", "reason"
NOTE_BLOCK, NOTE_ACTION = "dnc_note", "note"
DELETE_OPTIONS_BLOCK, BLOCK_REIMPORT_ACTION = "delete_options", "block_reimport"
BLOCK_REIMPORT_VALUE = "block-reimport"


def reimport_warning(name: str) -> str:
    return (f"Deleting removes {name} entirely: their profile, campaigns and do-not-contact state. If they are "
            "extracted or imported again later, they will be treated as a new contact and may be emailed again. "
            "*Do not contact is the recommended option.*")


def build_edit_modal(details: ProspectDetails, *, campaign_id: int | None = None) -> dict[str, Any]:
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
        blocks.append({
            "type": "input", "block_id": NOTE_BLOCK, "optional": True, "label": plain("Note"),
            "hint": plain("Required for “Other”."),
            "element": {"type": "plain_text_input", "action_id": NOTE_ACTION, "multiline": True, "max_length": 2000},
        })
    blocks += [divider(), header("Delete"), section(reimport_warning(name))]
    if own_opt_out:
        blocks.append(context("Because they opted out themselves, their address stays blocked from future imports "
                              "even after a delete."))
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


def deleted_text(name: str, email: str, *, reimport_blocked: bool, because_opted_out: bool) -> str:
    if reimport_blocked:
        why = " because they had opted out themselves" if because_opted_out else ""
        return (f":wastebasket: *{escape(name)}* was deleted. Their address stays blocked from future imports{why}.")
    return (f":wastebasket: *{escape(name)}* was deleted. If {escape(email)} is extracted or imported again later, "
            "they will come back as a new contact and may be emailed again.")

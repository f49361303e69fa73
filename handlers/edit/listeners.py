"""Editing a prospect: opening the Edit modal, saving "do not contact", deleting, lifting a colleague's do not
contact, and blocking the prospect's whole domain.

The change and its audit row are committed before the user is told anything. A save answers in the
acknowledgement itself (response_action), so errors show inside the modal; the buttons answer by updating the
views once the change is committed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from handlers import payloads
from handlers.access import MANAGER, MEMBER, MEMBERS, gate, managers
from handlers.blocks import build_notice_modal, escape
from handlers.edit.views import (
    BLOCK_REIMPORT_ACTION,
    BLOCK_REIMPORT_VALUE,
    CALLBACK_ID,
    DELETE_OPTIONS_BLOCK,
    NOTE_ACTION,
    NOTE_BLOCK,
    REASON_ACTION,
    REASON_BLOCK,
    build_edit_modal,
    deleted_message,
    deleted_text,
    saved_message,
)
from handlers.errors import user_message
from handlers.labels import REASON_LABELS
from handlers.listening import acknowledge, slack_actor
from handlers.profile.views import build_profile_modal
from handlers.services import Services, services_of
from storage.audit import Actor
from storage.db import Database
from storage.deletion import delete_prospect
from storage.do_not_contact import lift_do_not_contact, mark_prospect_do_not_contact
from storage.domains import block_domain
from storage.errors import ProspectNotFound, StaleProspect
from storage.prospects import prospect_details
from storage.slack_messages import CONFIRMATION, record_message

log = logging.getLogger(__name__)

GONE = "This prospect no longer exists: someone may have deleted them."
CHANGED = ":warning: Someone else changed this prospect since you opened it, so nothing was saved. Here it is now."


def handle_edit_prospect(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    services = services_of(context)
    try:
        data = payloads.decode(body["actions"][0].get("value"))
        prospect_id = payloads.identifier(data, "p")
        campaign_id = payloads.identifier(data, "c", required=False)
        with services.database.snapshot() as session:
            details = prospect_details(session, prospect_id)
        access = services.roles.access(body["user"]["id"])
        view = build_edit_modal(details, campaign_id=campaign_id, is_manager=access.is_manager,
                                can_delete=access.is_manager or services.members_can_delete)
    except Exception as error:  # noqa: BLE001
        view = build_notice_modal("Edit prospect", f":warning: {user_message(error)}", close="Back")
    client.views_push(trigger_id=body["trigger_id"], view=view)


def handle_save(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    view = body["view"]
    values = view.get("state", {}).get("values", {})
    reason = ((values.get(REASON_BLOCK, {}).get(REASON_ACTION) or {}).get("selected_option") or {}).get("value")
    note = (values.get(NOTE_BLOCK, {}).get(NOTE_ACTION) or {}).get("value") or ""
    if reason is None:
        ack(response_action="errors",
            errors={REASON_BLOCK: "Choose why this prospect should not be contacted, or use Delete below."})
        return
    if reason == "other" and not note.strip():
        ack(response_action="errors", errors={NOTE_BLOCK: "Say why in a note: it is required for “Other”."})
        return
    database = services_of(context).database
    try:
        metadata = payloads.decode(view.get("private_metadata"))
        prospect_id = payloads.identifier(metadata, "p")
        version = payloads.identifier(metadata, "v")
        campaign_id = payloads.identifier(metadata, "c", required=False)
        with database.transaction() as session:
            details = mark_prospect_do_not_contact(session, prospect_id, reason=reason, note=note,
                                                   actor=slack_actor(body), expected_version=version)
    except StaleProspect as stale:
        ack(response_action="update", view=_current_profile(database, stale.prospect_id, CHANGED))
        return
    except ProspectNotFound:
        ack(response_action="update", view=build_notice_modal("Prospect deleted", GONE))
        return
    except Exception as error:  # noqa: BLE001 - shown in the modal; nothing was written
        ack(response_action="errors", errors={REASON_BLOCK: user_message(error)})
        return
    name = escape(details.full_name or details.email)
    changed = details.version != version
    state = details.do_not_contact
    label = REASON_LABELS.get(state.reason, state.reason) if state else reason
    banner = (f":white_check_mark: Saved. *{name}* will not be contacted again ({label})." if changed
              else f"Nothing to change: *{name}* was already do not contact ({label}).")
    ack(response_action="update", view=build_profile_modal(details, campaign_id=campaign_id, banner=banner))
    context["outcome"] = {"changed": changed, "prospect_id": details.id, "campaign_id": campaign_id,
                          "text": saved_message(details.full_name or details.email, details.email, label,
                                                changed=changed)}


def confirm_saved(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """After a save: the profile under the modal shows the new state, and the person gets a confirmation DM,
    recorded as naming the prospect so that deleting them later edits it."""
    outcome = context.get("outcome")
    if not outcome:
        return
    database = services_of(context).database
    previous = body["view"].get("previous_view_id")
    if previous and outcome["changed"]:
        # The profile under the modal was read before the change: show it as it is now.
        try:
            with database.snapshot() as session:
                details = prospect_details(session, outcome["prospect_id"])
            client.views_update(view_id=previous,
                                view=build_profile_modal(details, campaign_id=outcome["campaign_id"], close="Back"))
        except Exception:  # noqa: BLE001 - the user already saw the saved state on top
            log.warning("could not refresh the profile under a saved edit", exc_info=True)
    posted = client.chat_postMessage(channel=body["user"]["id"], text=outcome["text"])
    try:
        with database.transaction() as session:
            record_message(session, channel=posted["channel"], ts=posted["ts"], kind=CONFIRMATION,
                           prospect_ids=[outcome["prospect_id"]])
    except Exception:  # noqa: BLE001 - the message went out; only its redaction after a delete is lost
        log.warning("could not record the confirmation sent to %s; a later delete will not edit it",
                    body["user"]["id"], exc_info=True)


def handle_delete(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    services = services_of(context)
    view = body["view"]
    selected = ((view.get("state", {}).get("values", {}).get(DELETE_OPTIONS_BLOCK, {})
                 .get(BLOCK_REIMPORT_ACTION) or {}).get("selected_options") or [])
    block_reimport = any(choice.get("value") == BLOCK_REIMPORT_VALUE for choice in selected)
    message = named = None
    try:
        data = payloads.decode(body["actions"][0].get("value"))
        prospect_id = payloads.identifier(data, "p")
        version = payloads.identifier(data, "v")
        with services.database.transaction() as session:
            details = prospect_details(session, prospect_id)
            result = delete_prospect(session, prospect_id, actor=slack_actor(body),
                                     block_reimport=block_reimport, expected_version=version)
        services.database.after_erasure()
        named = deleted_text(details.full_name or details.email, details.email,
                             reimport_blocked=result.reimport_blocked,
                             because_opted_out=result.blocked_because_opted_out)
        outcome = build_notice_modal("Prospect deleted", named)
        message = deleted_message(result.campaigns_left, reimport_blocked=result.reimport_blocked,
                                  because_opted_out=result.blocked_because_opted_out)
    except StaleProspect as stale:
        outcome = _current_profile(services.database, stale.prospect_id,
                                   CHANGED.replace("nothing was saved", "nothing was deleted"))
    except ProspectNotFound:
        outcome = build_notice_modal("Prospect deleted", GONE)
    except Exception as error:  # noqa: BLE001
        outcome = build_notice_modal("Edit prospect", f":warning: {user_message(error)} Nothing was deleted.")
    client.views_update(view_id=view["id"], hash=view.get("hash"), view=outcome)
    if message and named:
        previous = view.get("previous_view_id")
        if previous:
            client.views_update(view_id=previous, view=build_notice_modal("Prospect deleted", named, close="Back"))
        # Modals are gone once closed; Slack keeps a message, so this one names nobody.
        client.chat_postMessage(channel=body["user"]["id"], text=message)


def handle_lift(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    _change_and_show(body, client, context, "lifted", _lift)


def handle_block_domain(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    _change_and_show(body, client, context, "blocked", _block_domain)


def _lift(services: Services, data: dict[str, Any], actor: Actor) -> dict[str, Any]:
    with services.database.transaction() as session:
        details = lift_do_not_contact(session, payloads.identifier(data, "p"), actor=actor,
                                      expected_version=payloads.identifier(data, "v"))
    name = escape(details.full_name or details.email)
    return build_profile_modal(details, campaign_id=payloads.identifier(data, "c", required=False),
                               banner=f":leftwards_arrow_with_hook: *{name}* can be contacted again.")


def _block_domain(services: Services, data: dict[str, Any], actor: Actor) -> dict[str, Any]:
    prospect_id = payloads.identifier(data, "p")
    with services.database.transaction() as session:
        result = block_domain(session, payloads.text(data, "d", 255), actor=actor)
        details = prospect_details(session, prospect_id)
    banner = (f":no_entry: Blocked *{escape(result.domain)}*: {result.marked:,} prospect"
              f"{'s are' if result.marked != 1 else ' is'} now do not contact"
              f"{f' ({result.already:,} already were)' if result.already else ''}. Imports skip new "
              "addresses there.")
    return build_profile_modal(details, campaign_id=payloads.identifier(data, "c", required=False), banner=banner)


def _change_and_show(body: dict[str, Any], client: WebClient, context: BoltContext, undone: str,
                     change: Callable[[Services, dict[str, Any], Actor], dict[str, Any]]) -> None:
    """Runs `change` on the clicked button's value and shows the view it returns in place of the modal; what
    goes wrong becomes a sentence, and nothing is half-written."""
    services = services_of(context)
    view = body["view"]
    try:
        outcome = change(services, payloads.decode(body["actions"][0].get("value")), slack_actor(body))
    except StaleProspect as stale:
        outcome = _current_profile(services.database, stale.prospect_id,
                                   CHANGED.replace("nothing was saved", f"nothing was {undone}"))
    except ProspectNotFound:
        outcome = build_notice_modal("Prospect deleted", GONE)
    except Exception as error:  # noqa: BLE001
        outcome = build_notice_modal("Edit prospect", f":warning: {user_message(error)}")
    client.views_update(view_id=view["id"], hash=view.get("hash"), view=outcome)


def _current_profile(database: Database, prospect_id: int, banner: str) -> dict[str, Any]:
    try:
        with database.snapshot() as session:
            return build_profile_modal(prospect_details(session, prospect_id), banner=banner)
    except ProspectNotFound:
        return build_notice_modal("Prospect deleted", GONE)


def _delete_role(services: Services) -> str:
    return MEMBER if services.members_can_delete else MANAGER


def register(app: App) -> None:
    app.action("profile.edit", middleware=MEMBERS)(ack=acknowledge, lazy=[handle_edit_prospect])
    app.view(CALLBACK_ID, middleware=MEMBERS)(ack=handle_save, lazy=[confirm_saved])
    app.action("edit.delete", middleware=[gate(_delete_role, what="delete prospects")])(
        ack=acknowledge, lazy=[handle_delete])
    app.action("edit.lift", middleware=managers("lift a do not contact"))(ack=acknowledge, lazy=[handle_lift])
    app.action("edit.block_domain", middleware=managers("block a domain"))(
        ack=acknowledge, lazy=[handle_block_domain])

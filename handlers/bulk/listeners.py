"""Bulk unsubscribe requests from any member, and managers' decisions on them.

The form's "Preview" answers in its acknowledgement (the count is one indexed query); "Request approval"
freezes the set after acknowledging, since a large campaign's set takes longer than Slack waits. Deciding
acknowledges at once and applies the request in a lazy listener, then updates the approval message in place."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from handlers import payloads
from handlers.access import MEMBERS, managers
from handlers.app_home import publish_home
from handlers.blocks import build_notice_modal, escape
from handlers.bulk.views import (
    ADDRESSES_ACTION,
    ADDRESSES_BLOCK,
    CAMPAIGN_ACTION,
    CAMPAIGN_BLOCK,
    CONFIRM_CALLBACK,
    DOMAINS_ACTION,
    DOMAINS_BLOCK,
    FORM_CALLBACK,
    MIN_SENT_ACTION,
    MIN_SENT_BLOCK,
    NOTE_ACTION,
    NOTE_BLOCK,
    REASON_ACTION,
    REASON_BLOCK,
    RULE_ACTION,
    RULE_BLOCK,
    build_bulk_confirm,
    build_bulk_form,
    build_submitted,
    request_message,
)
from handlers.campaign_choices import campaign_choices
from handlers.decision_announcer import announce_decision, update_message
from handlers.errors import user_message
from handlers.listening import acknowledge, slack_actor
from handlers.services import Services, services_of
from storage import bulk_requests, slack_messages
from storage.campaigns import campaign_settings
from storage.errors import InvalidInput
from storage.models import REQUEST_RULES
from storage.reasons import USER_DNC_REASONS

log = logging.getLogger(__name__)

RULE_FIELD = {"no-engagement": MIN_SENT_BLOCK, "domains": DOMAINS_BLOCK, "addresses": ADDRESSES_BLOCK}
STALE = "This screen is out of date. Run /prospect bulk to start again."


def handle_open_from_find(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    try:
        data = payloads.decode(body["actions"][0].get("value"))
        with services_of(context).database.snapshot() as session:
            settings = campaign_settings(session, payloads.identifier(data, "c"))
        view = build_bulk_form(campaign=(settings.id, settings.name))
    except Exception as error:  # noqa: BLE001
        view = build_notice_modal("Bulk unsubscribe", f":warning: {user_message(error)}", close="Back")
    client.views_push(trigger_id=body["trigger_id"], view=view)


def handle_campaign_options(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack(options=campaign_choices(services_of(context).database, body.get("value") or ""))


def handle_preview(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    services = services_of(context)
    values = body["view"].get("state", {}).get("values", {})
    campaign_id = payloads.option_id(_selected(values, CAMPAIGN_BLOCK, CAMPAIGN_ACTION))
    kind = _selected(values, RULE_BLOCK, RULE_ACTION)
    if campaign_id is None:
        ack(response_action="errors", errors={CAMPAIGN_BLOCK: "Choose a campaign."})
        return
    if kind not in REQUEST_RULES:
        ack(response_action="errors", errors={RULE_BLOCK: "Choose who to take out of the campaign."})
        return
    try:
        rule = bulk_requests.parse_rule(kind, min_sent=_typed(values, MIN_SENT_BLOCK, MIN_SENT_ACTION),
                                        domains=_typed(values, DOMAINS_BLOCK, DOMAINS_ACTION),
                                        addresses=_typed(values, ADDRESSES_BLOCK, ADDRESSES_ACTION))
    except InvalidInput as error:
        ack(response_action="errors", errors={RULE_FIELD[kind]: str(error)})
        return
    try:
        with services.database.snapshot() as session:
            found = bulk_requests.preview(session, campaign_id, rule)
    except Exception as error:  # noqa: BLE001
        ack(response_action="errors", errors={CAMPAIGN_BLOCK: user_message(error)})
        return
    if not found.count:
        ack(response_action="errors", errors={RULE_FIELD[kind]: (
            f"Nobody in {found.campaign_name} matches this (or they are all do not contact already).")})
        return
    metadata = {"c": found.campaign_id, "k": kind, "n": rule.min_sent, "d": list(rule.domains),
                "a": " ".join(rule.addresses)}
    ack(response_action="push", view=build_bulk_confirm(found, metadata=metadata, ttl_days=services.request_ttl.days))


def handle_confirm(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    values = body["view"].get("state", {}).get("values", {})
    reason = _selected(values, REASON_BLOCK, REASON_ACTION)
    note = _typed(values, NOTE_BLOCK, NOTE_ACTION).strip()
    if reason not in USER_DNC_REASONS:
        ack(response_action="errors", errors={REASON_BLOCK: "Choose a reason."})
        return
    if reason == "other" and not note:
        ack(response_action="errors", errors={NOTE_BLOCK: "Say why in a note: it is required for “Other”."})
        return
    try:
        data = payloads.decode(body["view"].get("private_metadata"))
        campaign_id = payloads.identifier(data, "c")
        kind = payloads.text(data, "k", 20)
        domains = data.get("d") or []
        if kind not in REQUEST_RULES or not isinstance(domains, list):
            raise payloads.StalePayload()
        rule = bulk_requests.parse_rule(kind, min_sent=data.get("n"), domains=" ".join(map(str, domains)),
                                        addresses=payloads.text(data, "a", 3000))
    except (payloads.StalePayload, InvalidInput):
        ack(response_action="update", view=build_notice_modal("Bulk unsubscribe", STALE))
        return
    ack(response_action="update", view=build_notice_modal(
        "Bulk unsubscribe", ":hourglass_flowing_sand: Keeping the list of prospects and asking a manager…"))
    context["request"] = {"campaign_id": campaign_id, "rule": rule, "reason": reason, "note": note}


def create_request(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """After the confirmation is acknowledged: freezes the set, posts it for approval, says what happened."""
    wanted = context.get("request")
    if not wanted:
        return
    services = services_of(context)
    view_id = body["view"]["id"]
    try:
        with services.database.transaction() as session:
            request_id = bulk_requests.create_request(session, wanted["campaign_id"], wanted["rule"],
                                                      actor=slack_actor(body), note=wanted["note"],
                                                      reason=wanted["reason"], ttl=services.request_ttl)
            request = bulk_requests.request_view(session, request_id)
    except Exception as error:  # noqa: BLE001 - nothing was kept
        client.views_update(view_id=view_id, view=build_notice_modal(
            "Bulk unsubscribe", f":warning: {user_message(error)} No request was made."))
        return
    posted_in = _post_for_approval(client, services, request)
    client.views_update(view_id=view_id, view=build_submitted(request, posted_in=posted_in))


def handle_approve(body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
    _decide(body, client, respond, services_of(context), approve=True)


def handle_reject(body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
    _decide(body, client, respond, services_of(context), approve=False)


def _post_for_approval(client: WebClient, services: Services, request: bulk_requests.RequestView) -> str:
    """Posts the request in the approvals channel; returns the channel, or "" when it could not be. The message
    is recorded as naming the prospects of its sample, so that deleting one of them edits it."""
    channel = services.approvals_channel
    if not channel:
        return ""
    text, blocks = request_message(request)
    try:
        posted = client.chat_postMessage(channel=channel, text=text, blocks=blocks)
        with services.database.transaction() as session:
            bulk_requests.record_message(session, request.id, channel=posted["channel"], ts=posted["ts"])
            slack_messages.record_message(session, channel=posted["channel"], ts=posted["ts"],
                                          kind=slack_messages.BULK_REQUEST, subject_id=request.id,
                                          prospect_ids=[shown.id for shown in request.sample])
    except Exception:  # noqa: BLE001 - the request is kept; managers also see it in App Home
        log.warning("could not post bulk request %s to %s", request.id, channel, exc_info=True)
        return ""
    return channel


def _decide(body: dict[str, Any], client: WebClient, respond: Respond, services: Services, *, approve: bool) -> None:
    from_home = (body.get("view") or {}).get("type") == "home"
    try:
        request_id = payloads.identifier(payloads.decode(body["actions"][0].get("value")), "r")
        with services.database.transaction() as session:
            request = bulk_requests.decide(session, request_id, decider=slack_actor(body), approve=approve)
    except bulk_requests.AlreadyDecided as already:
        request = already.request
        _tell(client, body, respond, f"Request #{request.id} was already {request.status}"
              + (f" by <@{request.decided_by.partition(':')[2]}>." if request.decided_by else "."))
        update_message(client, request, services.database)
    except Exception as error:  # noqa: BLE001 - NotAllowed (four eyes), gone, database down: nothing changed
        _tell(client, body, respond, user_message(error))
    else:
        announce_decision(client, request, services.database)
    if from_home:
        publish_home(client, services, body["user"]["id"])


def _tell(client: WebClient, body: dict[str, Any], respond: Respond, sentence: str) -> None:
    """A private answer to whoever clicked: ephemeral under a channel message, a small modal in App Home."""
    try:
        if body.get("response_url"):
            respond(text=sentence, response_type="ephemeral", replace_original=False)
        else:
            client.views_open(trigger_id=body["trigger_id"],
                              view=build_notice_modal("Bulk request", f":information_source: {escape(sentence)}"))
    except Exception:  # noqa: BLE001
        log.warning("could not answer a decision click", exc_info=True)


def _selected(values: dict[str, Any], block: str, action: str) -> str:
    return (((values.get(block) or {}).get(action) or {}).get("selected_option") or {}).get("value") or ""


def _typed(values: dict[str, Any], block: str, action: str) -> str:
    return ((values.get(block) or {}).get(action) or {}).get("value") or ""


def register(app: App) -> None:
    deciders = managers("approve or reject bulk requests")
    app.action("find.bulk", middleware=MEMBERS)(ack=acknowledge, lazy=[handle_open_from_find])
    app.options(CAMPAIGN_ACTION, middleware=MEMBERS)(handle_campaign_options)
    app.view(FORM_CALLBACK, middleware=MEMBERS)(handle_preview)
    app.view(CONFIRM_CALLBACK, middleware=MEMBERS)(ack=handle_confirm, lazy=[create_request])
    app.action("approvals.approve", middleware=deciders)(ack=acknowledge, lazy=[handle_approve])
    app.action("approvals.reject", middleware=deciders)(ack=acknowledge, lazy=[handle_reject])

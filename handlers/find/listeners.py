"""/prospect, the campaign and prospect type-aheads, the browsable list and the campaign's notification channel.

Each listener acknowledges at once; the work that calls the Web API runs after, in a lazy listener, so a slow
Slack or a large campaign never makes a user wait past Slack's three seconds. Opening a prospect from here is
the profile feature's listener."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from handlers import payloads
from handlers.access import MEMBERS
from handlers.blocks import escape
from handlers.bulk.views import build_bulk_form
from handlers.campaign_choices import campaign_choices, unavailable_option
from handlers.errors import user_message
from handlers.find.views import PAGE_SIZE, build_find_modal, prospect_option
from handlers.listening import acknowledge, slack_actor, update_view
from handlers.profile.views import build_profile_modal
from handlers.services import services_of
from storage.campaigns import campaign_settings, configure_campaign
from storage.db import Database
from storage.prospects import prospect_details
from storage.search import search_prospects

TYPE_AHEAD_SIZE = 20
HELP = ("*/prospect* opens “Find a prospect”: choose a campaign, then type a name, email or company, or browse the "
        "list.\n*/prospect TEXT* searches every campaign: `/prospect jane`, `/prospect acme`, "
        "`/prospect jane@acme.com`.\n*/prospect bulk* asks a manager to take many prospects out of a campaign at "
        "once: those who never opened or replied, everyone at some domains, or a list of addresses.")


def handle_find_command(body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
    text = " ".join((body.get("text") or "").split())[:200]
    if text.lower() in ("help", "?"):
        respond(response_type="ephemeral", text=HELP)
        return
    if text.lower() == "bulk":
        client.views_open(trigger_id=body["trigger_id"], view=build_bulk_form())
        return
    try:
        if not text:
            view = build_find_modal()
        else:
            with services_of(context).database.snapshot() as session:
                page = search_prospects(session, text, limit=PAGE_SIZE)
                only = page.items[0].id if len(page.items) == 1 and not page.has_more else None
                details = prospect_details(session, only) if only else None
            view = build_profile_modal(details) if details else build_find_modal(query=text, page=page)
        client.views_open(trigger_id=body["trigger_id"], view=view)
    except Exception as error:  # noqa: BLE001 - every failure becomes a sentence for the user
        respond(response_type="ephemeral", text=user_message(error))


def handle_campaign_options(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack(options=campaign_choices(services_of(context).database, body.get("value") or ""))


def handle_prospect_options(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    try:
        metadata = payloads.decode(body.get("view", {}).get("private_metadata"))
        campaign_id = payloads.identifier(metadata, "c")
        with services_of(context).database.snapshot() as session:
            page = search_prospects(session, body.get("value") or "", campaign_id=campaign_id, limit=TYPE_AHEAD_SIZE)
    except Exception as error:  # noqa: BLE001
        ack(options=[unavailable_option(error)])
        return
    ack(options=[prospect_option(item) for item in page.items])


def handle_campaign_chosen(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    value = body["actions"][0].get("selected_option", {}).get("value", "")
    _show_list(client, body, services_of(context).database, campaign_value=value, query="", offset=0)


def handle_page(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    try:
        data = payloads.decode(body["actions"][0].get("value"))
        campaign_id = payloads.identifier(data, "c", required=False)
        query, offset = payloads.text(data, "q"), payloads.offset(data)
    except payloads.StalePayload as error:
        update_view(client, body, build_find_modal(notice=str(error)))
        return
    _show_list(client, body, services_of(context).database, campaign_value=str(campaign_id or ""), query=query,
               offset=offset)


def handle_notify_channel(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    database = services_of(context).database
    channel = body["actions"][0].get("selected_conversation") or ""
    try:
        metadata = payloads.decode(body["view"].get("private_metadata"))
        campaign_id = payloads.identifier(metadata, "c")
        with database.transaction() as session:
            name = campaign_settings(session, campaign_id).name
            configure_campaign(session, name, actor=slack_actor(body), channel=channel)
        notice = (f":bell: Opt-outs in *{escape(name)}* will be posted in <#{channel}>." if channel
                  else f":bell: Opt-outs in *{escape(name)}* go to the default channel.")
    except Exception as error:  # noqa: BLE001
        update_view(client, body, build_find_modal(notice=f":warning: {user_message(error)}"))
        return
    _show_list(client, body, database, campaign_value=str(campaign_id), query="", offset=0, notice=notice)


def _show_list(client: WebClient, body: dict[str, Any], database: Database, *, campaign_value: str, query: str,
               offset: int, notice: str | None = None) -> None:
    """Replaces the Find modal with a page of the chosen campaign's prospects, or of a search's matches."""
    try:
        campaign_id = payloads.option_id(campaign_value)
        if campaign_id is None and not query:
            raise payloads.StalePayload()
        with database.snapshot() as session:
            settings = campaign_settings(session, campaign_id) if campaign_id else None
            page = search_prospects(session, query, campaign_id=campaign_id, offset=offset, limit=PAGE_SIZE)
        view = build_find_modal(campaign=(settings.id, settings.name) if settings else None, query=query, page=page,
                                notify_channel=settings.notify_channel if settings else "", notice=notice)
    except Exception as error:  # noqa: BLE001
        view = build_find_modal(notice=f":warning: {user_message(error)}")
    update_view(client, body, view)


def register(app: App) -> None:
    app.command("/prospect", middleware=MEMBERS)(ack=acknowledge, lazy=[handle_find_command])
    app.options("find.campaign", middleware=MEMBERS)(handle_campaign_options)
    app.options("find.prospect", middleware=MEMBERS)(handle_prospect_options)
    app.action("find.campaign", middleware=MEMBERS)(ack=acknowledge, lazy=[handle_campaign_chosen])
    app.action("find.page.next", middleware=MEMBERS)(ack=acknowledge, lazy=[handle_page])
    app.action("find.page.previous", middleware=MEMBERS)(ack=acknowledge, lazy=[handle_page])
    app.action("find.notify_channel", middleware=MEMBERS)(ack=acknowledge, lazy=[handle_notify_channel])

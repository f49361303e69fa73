"""/prospect, the campaign and prospect type-aheads, and the browsable list.

Each listener acknowledges at once; the work that calls the Web API runs after, in a lazy listener, so a slow
Slack or a large campaign never makes a user wait past Slack's three seconds."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from handlers import payloads
from handlers.access import gate
from handlers.blocks import escape, option
from handlers.bulk.views import build_bulk_form
from handlers.context import Services
from handlers.errors import user_message
from handlers.find.views import PAGE_SIZE, build_find_modal, prospect_option
from handlers.profile.listeners import open_profile
from handlers.profile.views import build_profile_modal
from storage.audit import Actor
from storage.campaigns import campaign_settings, configure_campaign, search_campaigns
from storage.db import Database
from storage.prospects import prospect_details
from storage.search import search_prospects

TYPE_AHEAD_SIZE = 20
UNAVAILABLE = "unavailable"  # the value of the placeholder option that says why no prospect can be listed
HELP = ("*/prospect* opens “Find a prospect”: choose a campaign, then type a name, email or company, or browse the "
        "list.\n*/prospect TEXT* searches every campaign: `/prospect jane`, `/prospect acme`, `/prospect jane@acme.com`."
        "\n*/prospect bulk* asks a manager to take many prospects out of a campaign at once: those who never "
        "opened or replied, everyone at some domains, or a list of addresses.")


def register(app: App, services: Services) -> None:
    database = services.database
    member = [gate(services.roles)]

    def acknowledge(ack: Ack) -> None:
        ack()

    def find_command(body: dict[str, Any], client: WebClient, respond: Respond) -> None:
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
                with database.snapshot() as session:
                    page = search_prospects(session, text, limit=PAGE_SIZE)
                    only = page.items[0].id if len(page.items) == 1 and not page.has_more else None
                    details = prospect_details(session, only) if only else None
                if details is not None:
                    view = build_profile_modal(details)
                else:
                    view = build_find_modal(query=text, page=page)
            client.views_open(trigger_id=body["trigger_id"], view=view)
        except Exception as error:  # noqa: BLE001 - every failure becomes a sentence for the user
            respond(response_type="ephemeral", text=user_message(error))

    app.command("/prospect", middleware=member)(ack=acknowledge, lazy=[find_command])

    def campaign_options(ack: Ack, body: dict[str, Any]) -> None:
        ack(options=campaign_choices(database, body.get("value") or ""))

    app.options("find.campaign", middleware=member)(campaign_options)

    def prospect_options(ack: Ack, body: dict[str, Any]) -> None:
        try:
            metadata = payloads.decode(body.get("view", {}).get("private_metadata"))
            campaign_id = payloads.identifier(metadata, "c")
            with database.snapshot() as session:
                page = search_prospects(session, body.get("value") or "", campaign_id=campaign_id,
                                            limit=TYPE_AHEAD_SIZE)
        except Exception as error:  # noqa: BLE001
            ack(options=[option(f"⚠ {user_message(error)}", UNAVAILABLE)])
            return
        ack(options=[prospect_option(item) for item in page.items])

    app.options("find.prospect", middleware=member)(prospect_options)

    def show_campaign(body: dict[str, Any], client: WebClient) -> None:
        value = body["actions"][0].get("selected_option", {}).get("value", "")
        _update_list(client, body, campaign_value=value, query="", offset=0)

    app.action("find.campaign", middleware=member)(ack=acknowledge, lazy=[show_campaign])

    def turn_page(body: dict[str, Any], client: WebClient) -> None:
        try:
            data = payloads.decode(body["actions"][0].get("value"))
            campaign_id = payloads.identifier(data, "c", required=False)
            query, offset = payloads.text(data, "q"), payloads.offset(data)
        except payloads.StalePayload as error:
            _update_view(client, body, build_find_modal(notice=str(error)))
            return
        _update_list(client, body, campaign_value=str(campaign_id or ""), query=query, offset=offset)

    app.action("find.page.next", middleware=member)(ack=acknowledge, lazy=[turn_page])
    app.action("find.page.previous", middleware=member)(ack=acknowledge, lazy=[turn_page])

    def _update_list(client: WebClient, body: dict[str, Any], *, campaign_value: str, query: str, offset: int,
                     notice: str | None = None) -> None:
        try:
            campaign_id = payloads.option_id(campaign_value)
            if campaign_id is None and not query:
                raise payloads.StalePayload()
            with database.snapshot() as session:
                settings = campaign_settings(session, campaign_id) if campaign_id else None
                page = search_prospects(session, query, campaign_id=campaign_id, offset=offset, limit=PAGE_SIZE)
            view = build_find_modal(campaign=(settings.id, settings.name) if settings else None, query=query,
                                    page=page, notify_channel=settings.notify_channel if settings else "",
                                    notice=notice)
        except Exception as error:  # noqa: BLE001
            view = build_find_modal(notice=f":warning: {user_message(error)}")
        _update_view(client, body, view)

    def set_notify_channel(body: dict[str, Any], client: WebClient) -> None:
        channel = body["actions"][0].get("selected_conversation") or ""
        try:
            metadata = payloads.decode(body["view"].get("private_metadata"))
            campaign_id = payloads.identifier(metadata, "c")
            with database.transaction() as session:
                name = campaign_settings(session, campaign_id).name
                configure_campaign(session, name, actor=Actor(f"slack:{body['user']['id']}", "slack"),
                                       channel=channel)
            notice = (f":bell: Opt-outs in *{escape(name)}* will be posted in <#{channel}>." if channel
                      else f":bell: Opt-outs in *{escape(name)}* go to the default channel.")
        except Exception as error:  # noqa: BLE001
            _update_view(client, body, build_find_modal(notice=f":warning: {user_message(error)}"))
            return
        _update_list(client, body, campaign_value=str(campaign_id), query="", offset=0, notice=notice)

    app.action("find.notify_channel", middleware=member)(ack=acknowledge, lazy=[set_notify_channel])

    def open_selected_prospect(body: dict[str, Any], client: WebClient) -> None:
        value = body["actions"][0].get("selected_option", {}).get("value", "")
        if value == UNAVAILABLE:
            return  # the "database unavailable" placeholder option
        try:
            metadata = payloads.decode(body["view"].get("private_metadata"))
        except payloads.StalePayload:
            metadata = {"c": "stale"}  # open_profile turns it into "this screen is out of date"
        # Not an id (a forged value): open_profile says the screen is out of date.
        open_profile(client, database, body, prospect_value={"p": payloads.option_id(value), "c": metadata.get("c")})

    app.action("find.prospect", middleware=member)(ack=acknowledge, lazy=[open_selected_prospect])

    def open_listed_prospect(body: dict[str, Any], client: WebClient) -> None:
        try:
            data = payloads.decode(body["actions"][0].get("value"))
        except payloads.StalePayload:
            data = {}
        open_profile(client, database, body, prospect_value=data)

    app.action("find.view", middleware=member)(ack=acknowledge, lazy=[open_listed_prospect])


def campaign_choices(database: Database, typed: str) -> list[dict[str, Any]]:
    """The campaign type-ahead's options: campaigns whose name starts with what was typed."""
    try:
        with database.snapshot() as session:
            found = search_campaigns(session, typed, limit=50)
    except Exception as error:  # noqa: BLE001
        return [option(f"⚠ {user_message(error)}", UNAVAILABLE)]
    return [option(name, str(campaign_id)) for campaign_id, name in found]


def _update_view(client: WebClient, body: dict[str, Any], view: dict[str, Any]) -> None:
    # The hash makes Slack refuse the update if the view changed meanwhile (a newer click won).
    client.views_update(view_id=body["view"]["id"], hash=body["view"].get("hash"), view=view)

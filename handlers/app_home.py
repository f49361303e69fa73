"""Publishing a person's App Home tab: when they open it, and after they decide a bulk request or a reply from
it."""

from __future__ import annotations

from slack_sdk import WebClient

from handlers.errors import user_message
from handlers.home.views import MAX_PENDING_SHOWN, MAX_REPLIES_SHOWN, build_home, build_refused_home
from handlers.services import Services
from storage import bulk_requests, feeds, reply_cards


def publish_home(client: WebClient, services: Services, user_id: str) -> None:
    try:
        access = services.roles.access(user_id)
        if not access.is_member:
            view = build_refused_home(access.refusal)
        else:
            with services.database.snapshot() as session:
                actor = f"slack:{user_id}"
                actions = feeds.recent_actions(session, actor)
                worked_on = feeds.campaigns_worked_on(session, actor)
                opt_outs = feeds.recent_opt_outs(session, worked_on or None)
                pending = (bulk_requests.pending_requests(session, limit=MAX_PENDING_SHOWN + 1)
                           if access.is_manager else [])
                open_replies = reply_cards.open_cards(session, limit=MAX_REPLIES_SHOWN + 1)
            view = build_home(user_id, is_manager=access.is_manager, actions=actions, opt_outs=opt_outs,
                              pending=pending, open_replies=open_replies)
    except Exception as error:  # noqa: BLE001 - the tab says what went wrong instead
        view = build_refused_home(user_message(error))
    client.views_publish(user_id=user_id, view=view)

"""The campaign type-ahead's options, shared by Find and the bulk unsubscribe form."""

from __future__ import annotations

from typing import Any

from handlers.blocks import option
from handlers.errors import user_message
from storage.campaigns import search_campaigns
from storage.db import Database

# The value of a placeholder option that says why nothing can be listed; never an id.
UNAVAILABLE = "unavailable"


def campaign_choices(database: Database, typed: str) -> list[dict[str, Any]]:
    """Campaigns whose name starts with what was typed."""
    try:
        with database.snapshot() as session:
            found = search_campaigns(session, typed, limit=50)
    except Exception as error:  # noqa: BLE001 - shown as the only option, so the person knows why
        return [unavailable_option(error)]
    return [option(name, str(campaign_id)) for campaign_id, name in found]


def unavailable_option(error: BaseException) -> dict[str, Any]:
    return option(f"⚠ {user_message(error)}", UNAVAILABLE)

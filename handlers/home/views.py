"""The App Home tab."""

from __future__ import annotations

from typing import Any

from handlers.blocks import button, context, section


def build_home(user_id: str) -> dict[str, Any]:
    return {
        "type": "home",
        "blocks": [
            section(f"Hi <@{user_id}>! Find a prospect to see their profile, mark them *do not contact* "
                    "(recommended) or delete them."),
            {"type": "actions", "block_id": "home_actions",
             "elements": [button("Find a prospect", "home.find", style="primary")]},
            context("Tip: `/prospect jane@acme.com` goes straight to a profile."),
        ],
    }

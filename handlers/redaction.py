"""How the bot's messages read once a deleted prospect is taken out of them, for the worker that edits them: the
notification says "a prospect (deleted since)", the approval message shows a sample without them, and the
confirmation of a save becomes a sentence naming nobody."""

from __future__ import annotations

from handlers.blocks import Block, section
from handlers.bulk.views import request_message
from handlers.edit.views import REDACTED_SAVED_MESSAGE
from handlers.notifications.views import build_opt_out_message
from handlers.replies.views import GONE as REDACTED_REPLY_CARD
from storage.slack_messages import CONFIRMATION, REPLY_CARD, RedactedContent

# For a message whose notification or request is gone (its campaign was removed).
REDACTED_MESSAGE = "This message named a prospect who has been deleted since."


def redacted_message(content: RedactedContent) -> tuple[str, list[Block]]:
    """(fallback text, blocks) for chat.update."""
    if content.notice is not None:
        return build_opt_out_message(content.notice)
    if content.request is not None:
        return request_message(content.request)
    text = {CONFIRMATION: REDACTED_SAVED_MESSAGE, REPLY_CARD: REDACTED_REPLY_CARD}.get(content.kind, REDACTED_MESSAGE)
    return text, [section(text)]

"""Turning what went wrong into a sentence for the user. Unexpected errors are logged with their traceback and
shown as a plain apology: a user never sees a traceback."""

from __future__ import annotations

import logging

from storage.errors import ProspectbotError

log = logging.getLogger("prospectbot.handlers")

UNEXPECTED = "Something went wrong on our side and nothing was changed. Please try again in a moment."


def user_message(error: BaseException) -> str:
    if isinstance(error, ProspectbotError):
        return str(error)
    log.error("unexpected error in a Slack listener", exc_info=error)
    return UNEXPECTED

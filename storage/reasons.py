"""Why someone is do not contact, and the note that may go with it: the one place these are validated."""

from __future__ import annotations

from collections.abc import Sequence

from storage.errors import InvalidInput

# Reasons a user may choose; "domain-blocked" is set only by a domain block.
USER_DNC_REASONS = ("requested", "not-target", "no-interest", "other")
# A prospect's own opt-out outranks every other reason and is never replaced or lifted by a user.
OWN_OPT_OUT = "requested"
MAX_NOTE_CHARS = 2000


def clean_note(note: str) -> str:
    """A note as both databases keep it, or InvalidInput when it is too long. PostgreSQL refuses NUL characters
    in text and nobody means to type one, so they are dropped, as CSV files' are."""
    note = note.replace("\x00", "").strip()
    if len(note) > MAX_NOTE_CHARS:
        raise InvalidInput(f"The note can be at most {MAX_NOTE_CHARS:,} characters long.")
    return note


def checked_reason(reason: str, note: str, *, allowed: Sequence[str] = USER_DNC_REASONS) -> str:
    """The cleaned note, once `reason` is one a user may choose and "other" comes with a note saying why."""
    if reason not in allowed:
        raise InvalidInput(f"Unknown reason \"{reason}\": choose one of {', '.join(USER_DNC_REASONS)}.")
    note = clean_note(note)
    if reason == "other" and not note:
        raise InvalidInput('The reason "other" needs a note saying why.')
    return note

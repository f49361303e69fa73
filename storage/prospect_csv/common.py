"""What the rest of the package shares: the error for a file we cannot read, and cleaning a cell's text."""

from __future__ import annotations


class UnreadableFile(Exception):
    """The file is not a CSV we can read; str(error) is one sentence for the user."""


EMPTY = "The file is empty."
BLANK = "The file holds only blank lines."


# --- Characters ---------------------------------------------------------------------------------------------

ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
_STRIPPED = "".join(c for c in map(chr, range(0x3001)) if c.isspace()) + ZERO_WIDTH


def clean(text: str) -> str:
    return text.strip(_STRIPPED)

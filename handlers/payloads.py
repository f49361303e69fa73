"""Reading ids out of Slack payloads. Anything can arrive here (a stale view, a forged request), so every id is
checked for shape here and for existence by the storage operation that uses it."""

from __future__ import annotations

import json
from typing import Any, Literal, overload

from storage.errors import ProspectbotError

# Ids are INTEGER columns: PostgreSQL refuses a larger number outright ("integer out of range") instead of finding
# nothing, so a forged or garbled one is stopped here.
MAX_ID = 2**31 - 1


class StalePayload(ProspectbotError):
    def __init__(self) -> None:
        super().__init__("This screen is out of date. Run /prospect to start again.")


def decode(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except (ValueError, RecursionError):  # RecursionError: nested deeper than any value this app writes
        raise StalePayload() from None
    if not isinstance(value, dict):
        raise StalePayload()
    return value


@overload
def identifier(data: dict[str, Any], key: str) -> int: ...
@overload
def identifier(data: dict[str, Any], key: str, *, required: Literal[True]) -> int: ...
@overload
def identifier(data: dict[str, Any], key: str, *, required: bool) -> int | None: ...


def identifier(data: dict[str, Any], key: str, *, required: bool = True) -> int | None:
    """The id under `key`: a positive integer the database can hold; None only when not `required` and absent."""
    value = data.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise StalePayload()
    return value


def option_id(raw: str) -> int | None:
    """The id in a select option's value ("123"), or None: only ASCII digits count ("²".isdigit() is true but
    int() refuses it), and only ids the database can hold."""
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10):
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None


def offset(data: dict[str, Any]) -> int:
    value = data.get("o", 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1_000_000:
        raise StalePayload()
    return value


def text(data: dict[str, Any], key: str, limit: int = 200) -> str:
    value = data.get(key) or ""
    if not isinstance(value, str):
        raise StalePayload()
    return value[:limit]

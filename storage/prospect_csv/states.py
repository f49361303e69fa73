"""States another tool recorded about a person — their own opt-out, a team's do not contact, a hard bounce — read
from the cells of the columns ``headers`` recognises for them.

A cell is true when it says so (yes, true, 1, x, ✓, on, opted out, unsubscribed, …) or holds a date, such as the
date of the unsubscribe; false when it is empty or says no. Anything else is unreadable, and the row is refused
rather than guessed: a person wrongly taken as contactable could be emailed against their wish.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

# The kinds of state, as the import reports them.
OWN_OPT_OUT = "opted_out"
TEAM_DO_NOT_CONTACT = "do_not_contact"
HARD_BOUNCE = "bounced"
STATE_KINDS = (OWN_OPT_OUT, TEAM_DO_NOT_CONTACT, HARD_BOUNCE)

TRUE_WORDS = ("yes", "y", "true", "t", "1", "x", "✓", "✔", "☑", "on", "opted out", "unsubscribed")
FALSE_WORDS = ("", "no", "n", "false", "f", "0", "off", "-", "none", "null", "not unsubscribed")
_WORDS = {**dict.fromkeys(TRUE_WORDS, True), **dict.fromkeys(FALSE_WORDS, False)}
# The values nearly every cell holds, as exports write them: looked up before anything else is done.
_COMMON = {**_WORDS, **{word.upper(): value for word, value in _WORDS.items()},
           **{word.capitalize(): value for word, value in _WORDS.items()}}


@dataclass(frozen=True)
class StateColumn:
    header: str  # as written in the file
    kind: str  # one of STATE_KINDS


class UnreadableState(ValueError):
    """A state cell that is neither true nor false; str(error) names the column and the value, for the report."""


def row_states(columns: Sequence[StateColumn], cells: Sequence[str]) -> dict[str, str]:
    """{kind: header of the first column saying so} for the states a row records, given its cells in the
    columns' order. Several columns of one kind: any one saying so is enough. UnreadableState for a cell that
    is neither true nor false."""
    found: dict[str, str] = {}
    for column, cell in zip(columns, cells, strict=True):
        value = _COMMON.get(cell)
        if value is None:
            value = state_value(cell)
            if value is None:
                raise UnreadableState(f'column "{column.header}" holds "{_shown(cell)}": expected yes or no, '
                                      "or a date")
        if value and column.kind not in found:
            found[column.kind] = column.header
    return found


@lru_cache(maxsize=4096)  # exports repeat their values (dates included) row after row
def state_value(text: str) -> bool | None:
    """True, False, or None when ``text`` is neither."""
    # An emoji presentation selector ("✔️") changes how a mark looks, not what it says.
    words = " ".join(text.replace("\ufe0f", "").replace("\ufe0e", "").split()).lower()
    known = _WORDS.get(words)
    if known is not None:
        return known
    return True if _is_date(words) else None


def _shown(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- Dates -----------------------------------------------------------------------------------------------------

_MONTHS = {name: number for number, names in enumerate(
    (("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
     ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
     ("dec", "december")), start=1) for name in names}

# A time of day after a date: 10:12, 10:12:13.000, 10:12 pm, with a zone (Z, UTC, +01:00) or not.
_TIME = (r"(?:(?:\s+|t|,\s*)(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,]\d+)?)?"
         r"\s*(?P<half>[ap]\.?m\.?)?\s*(?:z|utc|gmt|[+-]\d{2}(?::?\d{2})?)?)?")
_WEEKDAY = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"
# 2024-03-05 (ISO 8601), 2024/03/05
_YEAR_FIRST = re.compile(r"(?P<year>\d{4})(?P<sep>[-/])(?P<a>\d{1,2})(?P=sep)(?P<b>\d{1,2})" + _TIME)
# 05/03/2024, 3/5/2024, 3/5/24, 05.03.2024, 05-03-2024: day or month first, both are dates
_YEAR_LAST = re.compile(r"(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})(?P=sep)(?P<year>\d{4}|\d{2})" + _TIME)
# Mar 5, 2024; March 5th 2024; Tue, Mar 5, 2024
_MONTH_NAME_FIRST = re.compile(_WEEKDAY + r"(?P<month>[a-z]+)\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+"
                               r"(?P<year>\d{4})" + _TIME)
# 5 Mar 2024, 5-Mar-24 (Excel), Tue, 05 Mar 2024 10:12:00 +0000 (RFC 2822)
_DAY_FIRST = re.compile(_WEEKDAY + r"(?P<day>\d{1,2})(?:st|nd|rd|th)?[\s-]+(?P<month>[a-z]+)\.?(?:[\s-]+|,\s*)"
                        r"(?P<year>\d{4}|\d{2})" + _TIME)


def _is_date(text: str) -> bool:
    if match := _YEAR_FIRST.fullmatch(text):
        return _real_date(match["year"], match["a"], match["b"]) and _real_time(match)
    if match := _YEAR_LAST.fullmatch(text):
        year = match["year"]
        return (_real_date(year, match["a"], match["b"]) or _real_date(year, match["b"], match["a"])) and _real_time(
            match)
    for pattern in (_MONTH_NAME_FIRST, _DAY_FIRST):
        if match := pattern.fullmatch(text):
            month = _MONTHS.get(match["month"])
            return month is not None and _real_date(match["year"], str(month), match["day"]) and _real_time(match)
    return False


def _real_date(year: str, month: str, day: str) -> bool:
    full_year = int(year) + (2000 if len(year) == 2 else 0)
    try:
        dt.date(full_year, int(month), int(day))
    except ValueError:
        return False
    return True


def _real_time(match: re.Match[str]) -> bool:
    if match["hour"] is None:
        return True
    hour, minute, second = int(match["hour"]), int(match["minute"]), int(match["second"] or 0)
    highest_hour = 12 if match["half"] else 23
    return hour <= highest_hour and minute <= 59 and second <= 59

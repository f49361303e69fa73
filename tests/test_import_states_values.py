"""Reading the cells of an opt-out, do-not-contact or bounce column: true, false, or refused — never a guess."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from storage.prospect_csv import StateColumn, UnreadableState, row_states
from storage.prospect_csv.states import FALSE_WORDS, TRUE_WORDS, state_value

PROPERTY = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
SPACES = st.text(alphabet=" \t\u00a0", max_size=3)

UNSUBSCRIBED = StateColumn("Unsubscribed", "opted_out")
DO_NOT_CONTACT = StateColumn("Do Not Contact", "do_not_contact")
BOUNCED = StateColumn("Bounced", "bounced")
BOUNCE_DATE = StateColumn("Bounce date", "bounced")


@pytest.mark.parametrize("text", ["yes", "Yes", "YES", " y ", "true", "TRUE", "t", "1", "x", "X", "✓", "✔", "☑", "on",
                                  "On", "opted out", "Opted  Out", "unsubscribed", "Unsubscribed", "✔\ufe0f", "☑\ufe0f"])
def test_true_values(text):
    assert state_value(text) is True


@pytest.mark.parametrize("text", ["", "  ", "no", "No", "NO", "n", "false", "False", "f", "0", "off", "-", "none",
                                  "None", "null", "NULL", "not unsubscribed", "Not Unsubscribed"])
def test_false_values(text):
    assert state_value(text) is False


@pytest.mark.parametrize("text", [
    "2024-03-05", "2024-03-05T10:12:00Z", "2024-03-05T10:12:00.000+0000", "2024-03-05 10:12:13", "2024-03-05T10:12",
    "2024-03-05T10:12:00+01:00", "2024/03/05", "05/03/2024", "3/5/2024", "3/5/2024 10:12", "3/5/2024 10:12 PM",
    "3/5/24", "05.03.2024", "05-03-2024", "13/03/2024", "03/13/2024", "Mar 5, 2024", "March 5, 2024",
    "Mar 5th 2024", "5 Mar 2024", "5-Mar-24", "05-Mar-2024", "Tue, 05 Mar 2024 10:12:00 +0000", "Sept 5, 2024",
    "2024-02-29",
])
def test_dates_are_true(text):
    assert state_value(text) is True


@pytest.mark.parametrize("text", [
    "maybe", "2", "-1", "45356", "45356.43", "1.0", "20240305", "1709633520", "2024-02-30", "2023-02-29",
    "13/13/2024", "2024-13-01", "3/5", "Mar 2024", "Smarch 5, 2024", "3/5/2024 25:00", "3/5/2024 13:00 pm",
    "n/a", "yes please", "opted-in", "subscribed", "unsubscribe", "https://x.io/unsubscribe", "☐", "✗", "?",
])
def test_anything_else_is_unreadable(text):
    assert state_value(text) is None


def test_row_states_names_the_first_column_saying_so_per_kind():
    columns = [UNSUBSCRIBED, BOUNCED, BOUNCE_DATE, DO_NOT_CONTACT]
    assert row_states(columns, ["", "", "", ""]) == {}
    assert row_states(columns, ["no", "", "2024-03-05", "x"]) == {"bounced": "Bounce date", "do_not_contact":
                                                                  "Do Not Contact"}
    assert row_states(columns, ["Yes", "yes", "2024-03-05", ""]) == {"opted_out": "Unsubscribed",
                                                                     "bounced": "Bounced"}


def test_an_unreadable_cell_names_its_column_and_value_even_after_true_ones():
    with pytest.raises(UnreadableState) as caught:
        row_states([UNSUBSCRIBED, DO_NOT_CONTACT], ["yes", "perhaps\nlater"])
    assert str(caught.value) == 'column "Do Not Contact" holds "perhaps later": expected yes or no, or a date'


def test_a_long_unreadable_value_is_shortened_in_the_message():
    with pytest.raises(UnreadableState) as caught:
        row_states([UNSUBSCRIBED], ["z" * 500])
    assert str(caught.value) == f'column "Unsubscribed" holds "{"z" * 39}…": expected yes or no, or a date'


# --- properties ---------------------------------------------------------------------------------------------------


def _any_case(word: str, flips: list[bool]) -> str:
    return "".join(c.upper() if flip else c for c, flip in zip(word, flips + [False] * len(word), strict=False))


@PROPERTY
@given(word=st.sampled_from(TRUE_WORDS + FALSE_WORDS), flips=st.lists(st.booleans(), max_size=20),
       before=SPACES, after=SPACES)
def test_the_words_mean_the_same_in_any_case_and_with_spaces_around(word, flips, before, after):
    assert state_value(before + _any_case(word, flips) + after) is (word in TRUE_WORDS)


@PROPERTY
@given(moment=st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2099, 12, 31)),
       layout=st.sampled_from(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f+00:00",
                               "%d/%m/%Y", "%m/%d/%Y", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%d.%m.%Y",
                               "%d/%m/%y", "%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%d-%b-%y",
                               "%a, %d %b %Y %H:%M:%S +0000"]))
def test_every_date_in_every_layout_exports_use_is_true(moment, layout):
    assert state_value(moment.strftime(layout)) is True


@PROPERTY
@given(number=st.one_of(st.integers().filter(lambda n: n not in (0, 1)).map(str),
                        st.floats(allow_nan=False, allow_infinity=False).map(repr)))
@example(number="45356")  # an Excel serial date number: not taken for a date
@example(number="1e3")
def test_plain_numbers_other_than_0_and_1_are_unreadable(number):
    assert state_value(number) is None


@PROPERTY
@given(text=st.text(max_size=60))
@example(text="2024-03-05\n")
@example(text="\x00")
@example(text="\u2714\ufe0f")
def test_any_text_is_true_false_or_refused_and_a_refusal_is_one_line_naming_the_column(text):
    value = state_value(text)
    assert value in (True, False, None)
    words = " ".join(text.replace("\ufe0f", "").replace("\ufe0e", "").split()).lower()
    if value is not None and words not in TRUE_WORDS + FALSE_WORDS:
        assert value is True and re.search(r"\d", words), text  # only a date is true beyond the words
    try:
        found = row_states([UNSUBSCRIBED], [text])
    except UnreadableState as error:
        message = str(error)
        assert value is None
        assert message.startswith('column "Unsubscribed" holds "') and "\n" not in message and len(message) < 120
    else:
        assert found == ({"opted_out": "Unsubscribed"} if value else {})

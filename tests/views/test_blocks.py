"""The Block Kit helpers every view builder uses (handlers/blocks.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.blocks import build_notice_modal, button, clip, escape, modal, option, section, who
from tests.views.examples import PROPERTY, assert_valid_view, stored, value_of, words


def test_escape_turns_slacks_control_characters_into_entities():
    assert escape("Lee & Co <sales>") == "Lee &amp; Co &lt;sales&gt;"
    # What someone typed stays what they typed: an entity they typed is not read as one.
    assert escape("&lt;") == "&amp;lt;"


def test_escape_leaves_mentions_harmless():
    assert "<" not in escape("<!channel> <@U0BOSS>")


@PROPERTY
@given(text=st.text(stored), limit=st.integers(1, 3000))
def test_clip_keeps_text_within_its_limit_and_short_text_whole(text, limit):
    clipped = clip(text, limit)
    assert len(clipped) <= limit
    if len(text) <= limit:
        assert clipped == text
    else:
        assert clipped.endswith("…") and text.startswith(clipped[:-1])


def test_a_buttons_value_is_what_its_listener_reads_back():
    element = button("View", "find.view", {"p": 42, "c": None, "q": "Lee & Co"})
    assert element["action_id"] == "find.view" and element["text"]["text"] == "View"
    assert value_of(element) == {"p": 42, "c": None, "q": "Lee & Co"}


def test_a_long_button_label_is_clipped_to_slacks_75_characters():
    assert len(button("Block " + "x" * 100 + ".com…", "edit.block_domain")["text"]["text"]) == 75
    assert len(option("y" * 100, "v")["text"]["text"]) == 75


def test_a_modal_keeps_slacks_limits_whatever_it_is_given():
    view = modal("Bulk unsubscribe requests", [section(f"Line {n}") for n in range(130)], callback_id="x",
                 metadata={"c": 1}, submit="Preview")
    assert_valid_view(view)
    assert len(view["blocks"]) == 100 and len(view["title"]["text"]) <= 24
    assert view["submit"]["text"] == "Preview"


def test_the_notice_modal_says_its_sentence_and_offers_only_to_close():
    view = build_notice_modal("Prospect deleted", "*Jane Doe* was deleted.", close="Done")
    assert_valid_view(view)
    assert view["title"]["text"] == "Prospect deleted" and view["close"]["text"] == "Done"
    assert "*Jane Doe* was deleted." in words(view)
    assert "submit" not in view


@pytest.mark.parametrize(("actor", "shown"), [
    ("slack:U0BOB", "<@U0BOB>"),  # a Slack mention: Slack shows the person's name
    ("cli:ops", "ops"),
    ("cli:<ops & co>", "&lt;ops &amp; co&gt;"),
    ("prospect", "prospect"),
])
def test_who_shows_an_actor_as_a_person_reads_it(actor, shown):
    assert who(actor) == shown

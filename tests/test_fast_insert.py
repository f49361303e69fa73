"""storage.fast_insert's lookups by many values at once (`among`, `id_values`), on both databases: whatever the
values, the rows found are exactly those that hold one of them."""

from __future__ import annotations

from uuid import uuid4

import pytest
from sqlalchemy import insert, select

from storage.fast_insert import among, id_values
from storage.models import Campaign, Setting
from tests import factories

# Values a key may hold, the separators of the forms the lookups travel in among them.
KEYS = ["plain", "", "with\x1funit separator", "with,comma", 'with {braces} and "quotes"', "back\\slash", "NULL",
        "Ünïcode", " "]


@pytest.fixture
def stored(database) -> str:
    """A row for each of KEYS, each keyed by the prefix returned (settings outlive a test on PostgreSQL)."""
    prefix = f"test:{uuid4().hex}:"
    with database.transaction() as session:
        session.execute(insert(Setting), [{"key": f"{prefix}{key}", "value": key} for key in KEYS])
    return prefix


@pytest.mark.parametrize("wanted", [
    ["plain"],
    [""],
    ["", "plain"],
    ["with\x1funit separator"],
    ["with\x1funit separator", "plain"],
    ["with,comma", 'with {braces} and "quotes"', "back\\slash", "NULL", "Ünïcode", " "],
    ["nobody", "plain", "plain"],
    ["\x1f"],
    [],
])
def test_among_finds_exactly_the_rows_holding_one_of_the_values(database, stored, wanted):
    with database.snapshot() as session:
        found = list(session.scalars(select(Setting.value).where(Setting.key.startswith(stored),
                                                                 among(session, Setting.value, wanted))))
    assert sorted(found) == sorted(set(wanted) & set(KEYS))


def test_among_and_id_values_find_exactly_the_rows_with_one_of_the_ids(database):
    with database.transaction() as session:
        ids = sorted(factories.campaign(session, f"Campaign {n}") for n in range(5))
    wanted = [ids[0], ids[3], ids[3], ids[-1], 10**12]
    with database.snapshot() as session:
        found = set(session.scalars(select(Campaign.id).where(among(session, Campaign.id, wanted))))
        listed = list(session.scalars(select(id_values(session, wanted))))
        none = set(session.scalars(select(Campaign.id).where(among(session, Campaign.id, []))))
    assert found == {ids[0], ids[3], ids[-1]}
    assert listed == wanted and none == set()

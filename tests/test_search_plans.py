"""A campaign's search gives the same pages however it is read: from the campaign's memberships (a small
campaign) or along the name indexes (a big one). Checked on both databases against each other and against the
search's definition, on generated people among many others, with ties, accents, Unicode domains and paging."""

from __future__ import annotations

import math
import random
import time

import pytest
from sqlalchemy import func, insert, select

from storage import search
from storage.emails import normalise_email
from storage.keys import search_key
from storage.models import Membership, Prospect, utcnow
from storage.search import campaign_plan, search_prospects, search_with_plan
from tests import factories

FIRST = ["Ana", "Anaïs", "ANA", "José", "Jose", "Joséphine", "Zoë", "Łukasz", "Œdipe", "Jo", "Ярослав", "Ёлка", "王", ""]
LAST = ["Adams", "Núñez", "Nunez", "Müller", "Muller", "Smith", "Ål", "Ana", ""]
COMPANY = ["Acme", "Acme Analytics", "ACME", "Ångström AB", "Zephyr", "Ana Adams", "Jo", ""]
DOMAINS = ["acme.com", "exämple.es", "xn--bcher-kva.de", "smith.io"]
QUERIES = [
    "", "  ", "a", "A", "an", "ana", "ana a", "ana adams", "ANA ADAMS", "anaï", "anai", "jo", "jo ", "josé", "jose",
    "JOSE N", "nú", "nu", "mü", "mu", "ł", "lukasz", "œ", "oe", "acme", "acme an", "ång", "ang", "z", "zoë", "zoe",
    "@", "ana.", "ana.adams.1", "jo@", "jo@exä", "jo@exämple.es", "jo@xn--exmple-cua.es", "bücher", "\u0301", "%",
    "_", "x", "smith.io", "josé.n", "ł", "łukasz.m", "zoë.å", "œdipe", "ana.ad", "ANA  A", "  josé   nú", "я", "王",
]
OTHERS, MEMBERS = 420, 45


@pytest.fixture
def people(database):
    """MEMBERS people in "Small" among OTHERS who are not (many of them in "Everyone"), drawn from a few names so
    that keys tie within a column and across columns."""
    rng = random.Random(14)
    rows = [("jo@exämple.es", "Jo", "", "Jo"), ("jo@acme.com", "Jo", "Ana", "Ana Adams")]
    for n in range(len(rows), OTHERS + MEMBERS):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        names = [part for part in (first, last) if part]
        someone_else = f"{rng.choice(FIRST)}.{rng.choice(LAST)}".strip(".").lower() or "x"
        local = rng.choice([".".join(names).lower() or "x", ".".join(map(search_key, names)) or "x", someone_else,
                            "jo", "ana.adams"])
        rows.append((normalise_email(f"{local}.{n}@{rng.choice(DOMAINS)}"), first, last, rng.choice(COMPANY)))
    with database.transaction() as session:
        small, everyone = factories.campaign(session, "Small"), factories.campaign(session, "Everyone")
        ids = [factories.prospect(session, email, first_name=first, last_name=last, company=company)
               for email, first, last, company in rows]
        members = rng.sample(ids, MEMBERS)
        join = [{"campaign_id": small, "prospect_id": pid, "status": "active", "added_at": utcnow()} for pid in members]
        join += [{"campaign_id": everyone, "prospect_id": pid, "status": "active", "added_at": utcnow()}
                 for pid in ids if pid % 3]
        session.execute(insert(Membership), join)
    return {"small": small, "everyone": everyone}


def expected_ids(database, campaign_id: int, query: str) -> list[int]:
    """The definition: the campaign's prospects whose full name, last name or company key, or whose address key,
    starts with the query's; ranked by the least matching key, ties by id. An empty query lists everyone by name."""
    name, email = search_key(query), search._address_prefix(query)
    with database.snapshot() as session:
        keys = session.execute(
            select(Prospect.id, Prospect.name_key, Prospect.last_name_key, Prospect.company_key, Prospect.email_key)
            .join(Membership, Membership.prospect_id == Prospect.id).where(Membership.campaign_id == campaign_id)
        ).all()
    ranked = []
    for pid, name_key, last_key, company_key, email_key in keys:
        matches = [name_key] if not name else [k for k in (name_key, last_key, company_key) if k.startswith(name)]
        if email and email_key.startswith(email):
            matches.append(email_key)
        if matches:
            ranked.append((min(matches), pid))
    return [pid for _, pid in sorted(ranked)]


def first_pages(database, campaign_id: int, query: str, plan: search.Plan, limit: int) -> list[search.SearchPage]:
    """The pages in order, up to the last or the tenth."""
    pages: list[search.SearchPage] = []
    with database.snapshot() as session:
        while len(pages) < 10 and (not pages or pages[-1].has_more):
            pages.append(search_with_plan(session, query, campaign_id=campaign_id, offset=len(pages) * limit,
                                          limit=limit, plan=plan))
    return pages


@pytest.mark.parametrize("campaign", ["small", "everyone"])
def test_both_plans_give_every_page_of_the_definition(database, people, campaign):
    campaign_id = people[campaign]
    for query in QUERIES:
        expected = expected_ids(database, campaign_id, query)
        for limit in (1, 4, 20):
            by_members = first_pages(database, campaign_id, query, "members", limit)
            by_indexes = first_pages(database, campaign_id, query, "indexes", limit)
            assert by_members == by_indexes, (query, limit)
            found = [item.id for page in by_members for item in page.items]
            assert found == expected[: len(by_members) * limit], (query, limit)
            assert [page.has_more for page in by_members] == [
                (n + 1) * limit < len(expected) for n in range(len(by_members))], (query, limit)


def test_the_data_holds_ties_accents_and_domains(database, people):
    """The comparison above is only worth as much as its data: one key shared by several people and by two
    columns, accents, an internationalised domain, and matches for most queries."""
    small, everyone = people["small"], people["everyone"]
    assert len(expected_ids(database, small, "ana adams")) >= 2
    with database.snapshot() as session:
        assert session.scalar(select(Prospect.id).where(Prospect.company_key == "ana adams", Prospect.id % 3 != 0))
        assert session.scalar(select(Prospect.id).where(Prospect.name_key == "ana adams", Prospect.id % 3 != 0))
    assert expected_ids(database, small, "anai") == expected_ids(database, small, "anaï") != []
    assert len(expected_ids(database, everyone, "jo@exämple.es")) == 1
    assert sum(bool(expected_ids(database, small, query)) for query in QUERIES) >= len(QUERIES) // 2


def test_a_page_past_the_end_and_a_query_with_a_nul(database, people):
    with database.snapshot() as session:
        for plan in ("members", "indexes"):
            page = search_with_plan(session, "a", campaign_id=people["small"], offset=10_000, limit=5, plan=plan)
            assert (page.items, page.has_more) == ([], False)
            page = search_with_plan(session, "a\x00", campaign_id=people["small"], offset=0, limit=5, plan=plan)
            assert (page.items, page.has_more) == ([], False)
        with pytest.raises(ValueError):
            search_with_plan(session, "a", campaign_id=None, offset=0, limit=5, plan="members")


@pytest.fixture
def memory(monkeypatch):
    """The plans and limits remembered start empty; `forget()` lets every remembered plan lapse."""
    monkeypatch.setattr(search, "_plans", {})
    monkeypatch.setattr(search, "_limits", {})

    def forget() -> None:
        for key, (plan, _) in list(search._plans.items()):
            search._plans[key] = (plan, 0.0)
        search._limits.clear()
    return forget


def test_a_small_campaign_is_read_from_its_members_and_a_big_one_along_the_indexes(database, people, monkeypatch,
                                                                                   memory):
    with database.snapshot() as session:
        prospects = session.scalar(select(func.max(Prospect.id)))
        assert search.small_campaign_limit(session) == math.isqrt(search.SMALL_CAMPAIGN_FACTOR * prospects)
    monkeypatch.setattr(search, "small_campaign_limit", lambda session: MEMBERS)
    with database.snapshot() as session:
        assert campaign_plan(session, people["small"]) == "members"  # exactly at the limit
        assert campaign_plan(session, people["everyone"]) == "indexes"
        assert campaign_plan(session, 12345) == "members"  # no such campaign: nothing to read
    with database.transaction() as session:
        factories.prospect(session, "one.more@example.com", people["small"], first_name="Ana")
    with database.snapshot() as session:
        assert campaign_plan(session, people["small"]) == "members"  # remembered for a typed word: right, if slower
        memory()
        assert campaign_plan(session, people["small"]) == "indexes"
        for campaign_id in (people["small"], people["everyone"]):
            page = search_prospects(session, "ana", campaign_id=campaign_id, limit=20)
            assert [item.id for item in page.items] == expected_ids(database, campaign_id, "ana")[:20]


def test_plans_and_the_limit_are_remembered_for_a_while(database, people, monkeypatch, memory):
    counted = []

    def limit(session) -> int:
        counted.append(session)
        return MEMBERS - 1
    monkeypatch.setattr(search, "small_campaign_limit", limit)
    with database.snapshot() as session:
        assert campaign_plan(session, people["small"]) == "indexes"
        assert campaign_plan(session, people["everyone"]) == "indexes"
        assert campaign_plan(session, 12345) == "members"
    assert len(counted) == 1  # the prospects counted once for the three
    left = {plan: until - time.monotonic() for plan, until in search._plans.values()}
    assert left["members"] <= search.PLAN_MEMORY_SECONDS["members"] < left["indexes"]  # a word; a minute
    monkeypatch.setattr(search, "small_campaign_limit", lambda session: MEMBERS)  # as if a member had left since
    with database.snapshot() as session:
        assert campaign_plan(session, people["small"]) == "indexes"  # remembered: searched right, if slower
        memory()  # the minute is over
        assert campaign_plan(session, people["small"]) == "members"

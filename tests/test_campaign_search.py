"""A campaign's search reads the search keys its memberships carry (migration 0010). Its pages are checked against
the search's definition, read from the prospects themselves, on both databases: on generated people among many
others, with ties, accents, Unicode domains and paging; and the copies are checked to hold whoever writes a
membership or changes a prospect's keys."""

from __future__ import annotations

import io
import random

import pytest
from sqlalchemy import insert, select, text

from storage import search
from storage.audit import Actor
from storage.emails import normalise_email
from storage.importing import import_prospects
from storage.keys import search_key
from storage.models import MEMBER_SEARCH_KEYS, Membership, Prospect, utcnow
from storage.prospect_csv import ProspectCsv
from storage.search import search_prospects
from tests import factories
from tests.support import TEST_SECRET_KEY

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


def expected_ids(database, campaign_id: int | None, query: str) -> list[int]:
    """The definition: the prospects (of the campaign, if one is given) whose full name, last name or company key,
    or whose address key, starts with the query's; ranked by the least matching key, ties by id. An empty query
    lists everyone by name. Read from the prospects' own keys, never from the memberships' copies."""
    name, email = search_key(query), search._address_prefix(query)
    statement = select(Prospect.id, Prospect.name_key, Prospect.last_name_key, Prospect.company_key,
                       Prospect.email_key)
    if campaign_id is not None:
        statement = statement.join(Membership, Membership.prospect_id == Prospect.id).where(
            Membership.campaign_id == campaign_id)
    with database.snapshot() as session:
        keys = session.execute(statement).all()
    ranked = []
    for pid, name_key, last_key, company_key, email_key in keys:
        matches = [name_key] if not name else [k for k in (name_key, last_key, company_key) if k.startswith(name)]
        if email and email_key.startswith(email):
            matches.append(email_key)
        if matches:
            ranked.append((min(matches), pid))
    return [pid for _, pid in sorted(ranked)]


def first_pages(database, campaign_id: int | None, query: str, limit: int) -> list[search.SearchPage]:
    """The pages in order, up to the last or the tenth."""
    pages: list[search.SearchPage] = []
    with database.snapshot() as session:
        while len(pages) < 10 and (not pages or pages[-1].has_more):
            pages.append(search_prospects(session, query, campaign_id=campaign_id, offset=len(pages) * limit,
                                          limit=limit))
    return pages


@pytest.mark.parametrize("campaign", ["small", "everyone", None])
def test_every_page_is_the_definitions(database, people, campaign):
    campaign_id = people[campaign] if campaign else None
    for query in QUERIES:
        expected = expected_ids(database, campaign_id, query)
        for limit in (1, 4, 20):
            pages = first_pages(database, campaign_id, query, limit)
            found = [item.id for page in pages for item in page.items]
            assert found == expected[: len(pages) * limit], (query, limit)
            assert [page.has_more for page in pages] == [
                (n + 1) * limit < len(expected) for n in range(len(pages))], (query, limit)


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
        for campaign_id in (people["small"], None):
            page = search_prospects(session, "a", campaign_id=campaign_id, offset=10_000, limit=5)
            assert (page.items, page.has_more) == ([], False)
            page = search_prospects(session, "a\x00", campaign_id=campaign_id, offset=0, limit=5)
            assert (page.items, page.has_more) == ([], False)


def member_keys(database) -> dict[tuple[int, int], tuple[str | None, ...]]:
    """Each membership's copies beside its prospect's keys, {(campaign, prospect): (copies..., keys...)}."""
    copies = [getattr(Membership, key) for key in MEMBER_SEARCH_KEYS]
    originals = [getattr(Prospect, key) for key in MEMBER_SEARCH_KEYS]
    with database.snapshot() as session:
        rows = session.execute(select(Membership.campaign_id, Membership.prospect_id, *copies, *originals)
                               .join(Prospect, Prospect.id == Membership.prospect_id)).all()
    return {(row[0], row[1]): tuple(row[2:]) for row in rows}


def assert_copies_are_the_prospects(database) -> None:
    keys = member_keys(database)
    assert keys
    width = len(MEMBER_SEARCH_KEYS)
    assert {pair: both[:width] for pair, both in keys.items()} == {pair: both[width:] for pair, both in keys.items()}


def test_a_membership_written_without_its_keys_gets_its_prospects(database, people):
    """The fixture's memberships were inserted raw, as another program would: the trigger copied every key."""
    assert_copies_are_the_prospects(database)


def test_an_import_gives_the_keys_of_those_it_creates_and_those_it_finds(database, people):
    with database.snapshot() as session:
        known = session.execute(select(Prospect.email, Prospect.id).order_by(Prospect.id).limit(3)).all()
    lines = ["email,first_name,last_name,company"]
    # Someone known comes back under another name: the campaign finds them by the name they have.
    lines += [f"{email},Other,Name,Elsewhere" for email, _ in known]
    lines += [f"new.person.{n}@import.example,Ünïque{n},Newcomer,Fresh Co" for n in range(5)]
    report = import_prospects(database.transaction, ProspectCsv(io.BytesIO("\n".join(lines).encode()), name="x.csv"),
                              campaign_name="Imported", actor=Actor("cli:ops", "cli"), secret_key=TEST_SECRET_KEY,
                              source_label="import:x.csv")
    assert (report.counts["new"], report.counts["added"]) == (5, 3)
    assert_copies_are_the_prospects(database)
    with database.snapshot() as session:
        campaign_id = session.scalar(select(Membership.campaign_id).where(Membership.import_id == report.import_id)
                                     .limit(1))
        assert len(search_prospects(session, "unique", campaign_id=campaign_id, limit=20).items) == 5
        assert search_prospects(session, "other name", campaign_id=campaign_id).items == []
        found = search_prospects(session, known[0][0], campaign_id=campaign_id).items
        assert [item.id for item in found] == [known[0][1]]


def test_a_change_to_a_prospects_keys_reaches_their_memberships(database, people):
    """Nothing in prospectbot renames anyone; a later migration re-keying everyone, or another program, might."""
    with database.transaction() as session:
        member = session.scalar(select(Membership.prospect_id).where(Membership.campaign_id == people["small"])
                                .order_by(Membership.prospect_id).limit(1))
        session.execute(text("UPDATE prospects SET name_key = 'zzz renamed', company_key = 'zzz co' WHERE id = :id"),
                        {"id": member})
    assert_copies_are_the_prospects(database)
    with database.snapshot() as session:
        assert [item.id for item in search_prospects(session, "zzz", campaign_id=people["small"]).items] == [member]
    assert expected_ids(database, people["small"], "zzz") == [member]


def test_keys_given_by_the_writer_are_kept(database, people):
    """The trigger fills only keys left out: an import's own copies are not read again from the prospects."""
    with database.transaction() as session:
        campaign_id = factories.campaign(session, "Given")
        someone = session.scalar(select(Prospect.id).limit(1))
        session.execute(insert(Membership), [{"campaign_id": campaign_id, "prospect_id": someone, "status": "active",
                                              "added_at": utcnow(), **dict.fromkeys(MEMBER_SEARCH_KEYS, "given")}])
    assert member_keys(database)[(campaign_id, someone)][:len(MEMBER_SEARCH_KEYS)] == ("given",) * 4

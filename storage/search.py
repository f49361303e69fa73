"""Finding prospects: the search box, the type-ahead and `prospectbot find`."""

from __future__ import annotations

import math
import time
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from sqlalchemy import ColumnElement, Join, Select, Subquery, and_, bindparam, case, func, or_, select, true, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session

from storage.emails import InvalidEmail, ascii_domain
from storage.errors import InvalidInput
from storage.keys import KEY_CEILING, search_key
from storage.models import DoNotContact, Membership, Prospect
from storage.prospects import Person


@dataclass(frozen=True)
class ProspectSummary(Person):
    do_not_contact: bool


@dataclass(frozen=True)
class SearchPage:
    items: list[ProspectSummary]
    offset: int
    limit: int
    has_more: bool


MAX_PAGE_SIZE = 100

# Two ways to find a campaign's matches, which give the same page, to the row:
# - "indexes": each searched column read in key order, each candidate's membership checked, the read stopped at the
#   page's end. It costs about the page times (prospects / members) a column: a few dozen rows in a campaign of
#   everyone, but ~6,300 for a page of 21 in a 10,000-member campaign among 3,000,000 prospects, and every match in
#   the database for a prefix the campaign's members do not share;
# - "members": every member's row read once, the matches sorted. It costs the campaign's size, whatever the size of
#   the database.
# A campaign is read from its members when members² ≤ SMALL_CAMPAIGN_FACTOR × prospects, where that costs what the
# indexes cost at worst: for a prefix that matches in all four columns ("a"), 4 × 21 × prospects / members
# candidates. Measured at 3,000,000 prospects on the project's 2-core machine (benchmarks/storage_bench.py
# --search-only --extra-prospects 2000000), a member costs 0.85 µs on SQLite and 3.2 µs on PostgreSQL, a candidate
# 0.31 µs and 1.0 µs: they meet at factors of 31 and 26 (about 45 at 1,000,000 prospects). With 30, a 1,000-member
# campaign is read from its members in any database of more than 33,000 prospects (1.5 ms on SQLite, 4.2 ms on
# PostgreSQL, the same at 1,000,000 and 3,000,000), a 10,000-member one along the indexes up to 3,300,000.
# A member does not cost the same in every campaign, though: 10,000 read from their members took 30 to 50 ms on
# SQLite at 1,000,000 prospects (their rows no longer in the page cache), not 10 × the 1,000's 1 ms, so a campaign
# near the limit is read more slowly than the indexes would; a lower factor is for a quiet machine to measure.
SMALL_CAMPAIGN_FACTOR = 30
Plan = Literal["indexes", "members"]
# Each campaign's plan, by database and campaign, with until when (time.monotonic()) it holds: the keystrokes of a
# type-ahead skip the check. Either plan gives the same page, so this only decides how fast. "indexes" holds for a
# minute (a campaign that has shrunk meanwhile is still searched right, along the indexes); "members" for a few
# seconds, a typed word: a campaign that grows past the limit (an import into it) is read whole no longer than that.
PLAN_MEMORY_SECONDS: dict[Plan, float] = {"indexes": 60.0, "members": 5.0}
_plans: dict[tuple[str, int], tuple[Plan, float]] = {}
# small_campaign_limit by database, with until when it holds: prospects are counted once a minute.
LIMIT_MEMORY_SECONDS = 60.0
_limits: dict[str, tuple[int, float]] = {}


def search_prospects(
    session: Session, query: str, *, campaign_id: int | None = None, offset: int = 0, limit: int = 10
) -> SearchPage:
    """Prospects whose email, full name, last name or company starts with `query`, case- and accent-insensitive.

    The query is compared as plain text (no wildcards). An empty query lists everyone, by name. Each searched
    column is read in index order and cut at the page's end, so a short prefix on a million prospects costs no
    more than a long one; a small campaign is read from its own memberships instead, so that its search does not
    slow down as the rest of the database grows (SMALL_CAMPAIGN_FACTOR).
    """
    plan: Plan = "indexes"
    if campaign_id is not None and _searchable(query, offset, limit):
        plan = campaign_plan(session, campaign_id)
    return search_with_plan(session, query, campaign_id=campaign_id, offset=offset, limit=limit, plan=plan)


def campaign_plan(session: Session, campaign_id: int) -> Plan:
    """"members" for a campaign small enough for the database (small_campaign_limit), else "indexes". The check
    reads the campaign's (campaign_id, prospect_id) index range no further than one past that limit, so a million
    members cost what ten thousand do; its answer and the limit are remembered (PLAN_MEMORY_SECONDS), so the
    keystrokes that follow cost a dictionary look-up."""
    database = session.get_bind().engine.url.render_as_string()
    now = time.monotonic()
    plan, until = _plans.get((database, campaign_id), ("indexes", 0.0))
    if until > now:
        return plan
    beyond, until = _limits.get(database, (0, 0.0))
    if until <= now:
        beyond = small_campaign_limit(session)
        if len(_limits) >= 4096:
            _limits.clear()
        _limits[database] = (beyond, now + LIMIT_MEMORY_SECONDS)
    found = session.scalar(_size_statement(), {"campaign_id": campaign_id, "beyond": beyond})
    plan = "members" if found is None else "indexes"
    if len(_plans) >= 4096:
        _plans.clear()
    _plans[(database, campaign_id)] = (plan, now + PLAN_MEMORY_SECONDS[plan])
    return plan


def small_campaign_limit(session: Session) -> int:
    """The most members a campaign read from its members may have: 5,477 among 1,000,000 prospects, 9,486 among
    3,000,000. Prospects are counted by the highest id (ids are never reused), one step down the primary key."""
    return math.isqrt(SMALL_CAMPAIGN_FACTOR * (session.scalar(select(func.max(Prospect.id))) or 0))


def search_with_plan(
    session: Session, query: str, *, campaign_id: int | None, offset: int, limit: int, plan: Plan
) -> SearchPage:
    """search_prospects, with the way a campaign is read given: "members" needs a campaign. Either gives the same
    page."""
    if not _searchable(query, offset, limit):
        # No stored value holds a NUL (PostgreSQL refuses them), so nothing starts with this query.
        return SearchPage(items=[], offset=offset, limit=limit, has_more=False)
    if plan == "members" and campaign_id is None:
        raise ValueError("only a campaign can be searched from its members")
    name_prefix = search_key(query)
    email_prefix = _address_prefix(query)
    dialect = session.get_bind().dialect.name
    statement = _search_statement(bool(name_prefix), bool(email_prefix), campaign_id is not None, plan, dialect)
    rows = session.execute(
        statement,
        {
            "name_low": name_prefix, "name_high": name_prefix + KEY_CEILING,
            "email_low": email_prefix, "email_high": email_prefix + KEY_CEILING,
            "top": max(name_prefix + KEY_CEILING, email_prefix + KEY_CEILING),
            "campaign_id": campaign_id, "wanted": offset + limit + 1, "offset": offset, "page_end": limit + 1,
        },
    ).all()
    return SearchPage(
        items=[ProspectSummary(*row) for row in rows[:limit]], offset=offset, limit=limit, has_more=len(rows) > limit
    )


def _searchable(query: str, offset: int, limit: int) -> bool:
    """Raises InvalidInput for a page out of bounds; False when no prospect can match (a NUL in the query)."""
    if offset < 0 or not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(f"Pages start at 0 and hold 1 to {MAX_PAGE_SIZE} prospects.")
    return "\x00" not in query


def _address_prefix(query: str) -> str:
    """The start of an address as its identity spells it (storage.emails.address_key): lower case, and a Unicode
    domain typed whole in its ASCII form, so `josé@exämple.es` and `josé@xn--exmple-cua.es` find one person."""
    text = unicodedata.normalize("NFC", query.strip().lower())
    local, at, domain = text.rpartition("@")
    if not at or domain.isascii():
        return text
    try:
        return f"{local}@{ascii_domain(domain)}"
    except InvalidEmail:
        return text  # not a whole domain yet: no identity starts with it


@cache
def _size_statement() -> Select:
    return (select(Membership.prospect_id).where(Membership.campaign_id == bindparam("campaign_id"))
            .order_by(Membership.campaign_id, Membership.prospect_id).offset(bindparam("beyond")).limit(1))


@cache
def _search_statement(by_name: bool, by_email: bool, in_campaign: bool, plan: Plan, dialect: str) -> Select:
    """The search as one statement, one round trip: the matches' ids and best ranks, then the page's rows. Built
    once per shape; a type-ahead runs it on every keystroke."""
    searches = _searched_columns(by_name, by_email)
    if plan == "members":
        best = _from_members(searches, dialect)
    else:
        best = _along_indexes(searches, in_campaign, dialect)
    return (
        select(
            Prospect.id, Prospect.email, Prospect.first_name, Prospect.last_name, Prospect.company,
            Prospect.title, DoNotContact.prospect_id.is_not(None),
        )
        .join(best, best.c.id == Prospect.id)
        .outerjoin(DoNotContact, DoNotContact.prospect_id == Prospect.id)
        .order_by(best.c.rank, Prospect.id)
        .offset(bindparam("offset"))
        .limit(bindparam("page_end"))
    )


def _searched_columns(by_name: bool, by_email: bool) -> list[tuple[Any, ColumnElement[bool] | None]]:
    """Each searched column and the condition for a match on it; None: every prospect matches (the list of
    everyone by name that an empty query asks for). A prospect's rank is the least of its matching columns."""
    searches: list[tuple[Any, str]] = [(Prospect.name_key, "name")]
    if by_name:
        searches += [(Prospect.last_name_key, "name"), (Prospect.company_key, "name")]
    if by_email:
        searches.append((Prospect.email_key, "email"))
    return [
        (column, and_(column >= bindparam(f"{kind}_low"), column < bindparam(f"{kind}_high"))
         if kind == "email" or by_name else None)
        for column, kind in searches
    ]


def _along_indexes(searches: list[tuple[Any, ColumnElement[bool] | None]], in_campaign: bool, dialect: str) -> Subquery:
    """Each column's matches in index order, cut at the page's end, then merged: a prospect's best rank."""
    hits = []
    for column, condition in searches:
        statement: Select[Any] = select(Prospect.id.label("id"), column.label("rank"))
        if condition is not None:
            statement = statement.where(condition)
        if in_campaign:
            member = select(Membership.prospect_id).where(
                Membership.prospect_id == Prospect.id, Membership.campaign_id == bindparam("campaign_id"))
            if dialect == "postgresql":
                # An OFFSET keeps PostgreSQL from turning the check into a join with the whole campaign (hashing
                # every member, or sorting every match: what it plans for a mid-sized campaign, and what a
                # prepared statement's generic plan may keep for the next campaign): it probes the index per
                # candidate, in key order, and stops at the page's end.
                member = member.offset(0)
            statement = statement.where(member.exists())
        # Address keys are unique, so their index alone gives a total order.
        order = (column,) if column is Prospect.email_key else (column, Prospect.id)
        hit = statement.order_by(*order).limit(bindparam("wanted")).subquery()
        hits.append(select(hit.c.id, hit.c.rank))
    merged = union_all(*hits).subquery()
    return select(merged.c.id, func.min(merged.c.rank).label("rank")).group_by(merged.c.id).subquery()


def _from_members(searches: list[tuple[Any, ColumnElement[bool] | None]], dialect: str) -> Subquery:
    """The campaign's members that match, each with the least of its matching columns, in page order, cut at the
    page's end: one pass over the campaign's (campaign_id, prospect_id) index and each member's row. The ranks are
    those `_along_indexes` merges, and ties are broken by id alike, so the page is the same."""
    # A column that does not match stands in as a value no match reaches: a column every prospect matches, or
    # else `top`, the greater of the searched ranges' ends, above every key of either range.
    always = [column for column, condition in searches if condition is None]
    fallback = always[0] if always else bindparam("top", type_=Prospect.name_key.type)
    values = [column if condition is None else func.coalesce(case((condition, column)), fallback)
              for column, condition in searches]
    least = func.least if dialect == "postgresql" else func.min  # SQLite's min() of several values
    rank = (values[0] if len(values) == 1 else least(*values)).label("rank")
    match = [] if always else [or_(*(condition for _, condition in searches if condition is not None))]
    in_campaign = Membership.campaign_id == bindparam("campaign_id")
    if dialect == "postgresql":
        # Each member's row looked up by itself (LATERAL, and OFFSET so that it stays a lookup): otherwise the
        # planner, from its average campaign, may hash the campaign against every prospect matching the prefix,
        # or send the campaign to parallel workers that take longer to start than the search does.
        member = (select(Prospect.id.label("id"), rank).where(Prospect.id == Membership.prospect_id, *match)
                  .offset(0).lateral())
        statement = select(member.c.id, member.c.rank).select_from(Membership).join(member, true()).where(in_campaign)
        return statement.order_by(member.c.rank, member.c.id).limit(bindparam("wanted")).subquery()
    members_first = _MembersFirst(Membership.__table__, Prospect.__table__, Prospect.id == Membership.prospect_id)
    statement = select(Prospect.id.label("id"), rank).select_from(members_first).where(in_campaign, *match)
    return statement.order_by(rank, Prospect.id).limit(bindparam("wanted")).subquery()


class _MembersFirst(Join):
    """memberships JOIN prospects, read in that order. SQLite's CROSS JOIN, which its planner never reorders: with
    statistics of big campaigns it would rather read every prospect matching the prefix, then their memberships."""

    inherit_cache = True


@compiles(_MembersFirst, "sqlite")
def _cross_join(join: _MembersFirst, compiler: Any, **kw: Any) -> str:
    return str(compiler.visit_join(join, **kw)).replace(" JOIN ", " CROSS JOIN ", 1)  # the left side is a table

"""Finding prospects: the search box, the type-ahead and `prospectbot find`."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, select, union_all
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


def search_prospects(
    session: Session, query: str, *, campaign_id: int | None = None, offset: int = 0, limit: int = 10
) -> SearchPage:
    """Prospects whose email, full name, last name or company starts with `query`, case- and accent-insensitive.

    The query is compared as plain text (no wildcards). An empty query lists everyone, by name. Each searched
    key is read in index order and cut at the page's end, so a short prefix on a million prospects costs no more
    than a long one. In a campaign, the keys read are the copies its memberships carry, indexed after the campaign
    (migration 0010): a page costs its own rows, in a campaign of a thousand as in one of a million, however many
    prospects the rest of the database holds.
    """
    if not _searchable(query, offset, limit):
        # No stored value holds a NUL (PostgreSQL refuses them), so nothing starts with this query.
        return SearchPage(items=[], offset=offset, limit=limit, has_more=False)
    name_prefix = search_key(query)
    email_prefix = _address_prefix(query)
    statement = _search_statement(bool(name_prefix), bool(email_prefix), campaign_id is not None)
    rows = session.execute(
        statement,
        {
            "name_low": name_prefix, "name_high": name_prefix + KEY_CEILING,
            "email_low": email_prefix, "email_high": email_prefix + KEY_CEILING,
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
def _search_statement(by_name: bool, by_email: bool, in_campaign: bool) -> Select:
    """The search as one statement, one round trip: each searched key's matches in index order, cut at the page's
    end, merged into each prospect's best rank (the least of its matching keys), then the page's rows. Built once
    per shape; a type-ahead runs it on every keystroke."""
    hits = []
    for key, condition in _searched_keys(by_name, by_email, in_campaign):
        person = Membership.prospect_id if in_campaign else Prospect.id
        statement: Select[Any] = select(person.label("id"), key.label("rank"))
        if condition is not None:
            statement = statement.where(condition)
        if in_campaign:
            statement = statement.where(Membership.campaign_id == bindparam("campaign_id"))
        # Address keys are unique, so their order alone is total.
        order = (key,) if key.key == "email_key" else (key, person)
        hit = statement.order_by(*order).limit(bindparam("wanted")).subquery()
        hits.append(select(hit.c.id, hit.c.rank))
    merged = union_all(*hits).subquery()
    best = select(merged.c.id, func.min(merged.c.rank).label("rank")).group_by(merged.c.id)
    # The page is cut from the ranks alone; only its own rows are then read from prospects.
    page = best.order_by("rank", merged.c.id).offset(bindparam("offset")).limit(bindparam("page_end")).subquery()
    return (
        select(
            Prospect.id, Prospect.email, Prospect.first_name, Prospect.last_name, Prospect.company,
            Prospect.title, DoNotContact.prospect_id.is_not(None),
        )
        .join(page, page.c.id == Prospect.id)
        .outerjoin(DoNotContact, DoNotContact.prospect_id == Prospect.id)
        .order_by(page.c.rank, Prospect.id)
    )


def _searched_keys(by_name: bool, by_email: bool, in_campaign: bool) -> list[tuple[Any, ColumnElement[bool] | None]]:
    """Each searched key (the prospect's, or its copy on the campaign's memberships) and the condition for a match
    on it; None: every prospect matches (the list of everyone by name that an empty query asks for)."""
    source: Any = Membership if in_campaign else Prospect
    searches: list[tuple[str, str]] = [("name_key", "name")]
    if by_name:
        searches += [("last_name_key", "name"), ("company_key", "name")]
    if by_email:
        searches.append(("email_key", "email"))
    keys = [(getattr(source, name), kind) for name, kind in searches]
    return [
        (key, and_(key >= bindparam(f"{kind}_low"), key < bindparam(f"{kind}_high"))
         if kind == "email" or by_name else None)
        for key, kind in keys
    ]

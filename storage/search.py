"""Finding prospects: the search box, the type-ahead and `prospectbot find`."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, exists, func, select, union_all
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
    column is read in index order and cut at the page's end, so a short prefix on a million prospects costs no
    more than a long one.
    """
    if offset < 0 or not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(f"Pages start at 0 and hold 1 to {MAX_PAGE_SIZE} prospects.")
    if "\x00" in query:
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
    """The search as one statement, one round trip: each column's matches in index order, cut at the page's end,
    then merged. Built once per shape; a type-ahead runs it on every keystroke."""
    searches: list[tuple[Any, str]] = [(Prospect.name_key, "name")]
    if by_name:
        searches += [(Prospect.last_name_key, "name"), (Prospect.company_key, "name")]
    if by_email:
        searches.append((Prospect.email_key, "email"))
    hits = []
    for column, kind in searches:
        statement: Select[Any] = select(Prospect.id.label("id"), column.label("rank"))
        if kind == "email" or by_name:
            statement = statement.where(column >= bindparam(f"{kind}_low"), column < bindparam(f"{kind}_high"))
        if in_campaign:
            statement = statement.where(
                exists().where(Membership.prospect_id == Prospect.id,
                               Membership.campaign_id == bindparam("campaign_id"))
            )
        # Address keys are unique, so their index alone gives a total order.
        order = (column,) if column is Prospect.email_key else (column, Prospect.id)
        hit = statement.order_by(*order).limit(bindparam("wanted")).subquery()
        hits.append(select(hit.c.id, hit.c.rank))
    merged = union_all(*hits).subquery()
    best = select(merged.c.id, func.min(merged.c.rank).label("rank")).group_by(merged.c.id).subquery()
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


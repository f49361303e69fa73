"""A prospect: their details as a profile shows them, the version stale screens are checked against, finding
them by address, locking them for a change, and creating new ones."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from storage.emails import InvalidEmail, address_key, email_domain, normalise_email
from storage.errors import InvalidInput, ProspectNotFound, StaleProspect
from storage.fast_insert import among, bulk_insert, bulk_insert_values, chunked, insert_copy_rows, table_of
from storage.keys import AddressIdentity, search_key
from storage.models import Activity, BlockedDomain, Campaign, DoNotContact, Membership, Prospect
from storage.reasons import OWN_OPT_OUT


@dataclass(frozen=True)
class CampaignActivity:
    campaign_id: int
    campaign_name: str
    status: str
    added_at: dt.datetime
    sent: int
    opened: int
    replied: int
    bounced: int
    last_activity_at: dt.datetime | None


@dataclass(frozen=True)
class DoNotContactState:
    reason: str
    note: str
    actor: str
    channel: str
    since: dt.datetime


@dataclass(frozen=True)
class Person:
    """Who a prospect is, as every list and screen names them."""

    id: int
    email: str
    first_name: str
    last_name: str
    company: str
    title: str

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True)
class ProspectDetails(Person):
    phone: str
    linkedin_url: str
    source: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int
    do_not_contact: DoNotContactState | None
    campaigns: list[CampaignActivity] = field(default_factory=list)
    domain: str = ""
    domain_blocked: bool = False
    bounced_at: dt.datetime | None = None  # a hard bounce: no campaign sends to this address

    @property
    def is_own_opt_out(self) -> bool:
        return self.do_not_contact is not None and self.do_not_contact.reason == OWN_OPT_OUT

    @property
    def lift_refusal(self) -> str | None:
        """Why this do not contact can never be lifted, or None: a prospect's own opt-out is theirs, and a blocked
        domain keeps everyone there do not contact."""
        name = self.full_name or self.email
        if self.is_own_opt_out:
            return f"{name} opted out themselves: that can never be lifted."
        if self.do_not_contact is not None and self.domain_blocked:
            return f"Everyone at {self.domain} is blocked, so {name} stays do not contact."
        return None


def find_prospect_id(session: Session, email: str) -> int:
    """The prospect with this address, in whichever form it is written (case, Unicode or punycode domain)."""
    try:
        address = normalise_email(email)
        key = address_key(address)
    except InvalidEmail as error:
        raise InvalidInput(f'"{email}" is not a valid email address: {error.reason}.') from None
    prospect_id = session.scalar(select(Prospect.id).where(Prospect.email_key == key))
    if prospect_id is None:
        raise ProspectNotFound(f"No prospect has the address {address}.")
    return prospect_id


def live_prospect_with(session: Session, fingerprints: Sequence[str]) -> int | None:
    """The prospect whose address has one of these fingerprints (as suppressions and deleted memberships keep
    them), or None: the person a link sent before a delete reaches once they are imported again."""
    if not fingerprints:
        return None
    return session.scalar(select(Prospect.id).where(
        Prospect.fingerprint.in_(fingerprints) | Prospect.legacy_fingerprint.in_(fingerprints)).limit(1))


def prospect_details(session: Session, prospect_id: int) -> ProspectDetails:
    # The prospect, their do-not-contact row and whether their domain is blocked in one statement: three
    # statements when a profile is opened before, two after a save (which holds the prospect already).
    found = session.execute(
        select(Prospect, DoNotContact, BlockedDomain.domain)
        .outerjoin(DoNotContact, DoNotContact.prospect_id == Prospect.id)
        .outerjoin(BlockedDomain, BlockedDomain.domain == Prospect.email_domain)
        .where(Prospect.id == prospect_id)
    ).first()
    if found is None:
        raise ProspectNotFound()
    prospect, dnc, blocked_domain = found

    def count(kind: str) -> Any:
        return func.count(case((Activity.kind == kind, 1)))

    rows = session.execute(
        select(
            Campaign.id, Campaign.name, Membership.status, Membership.added_at,
            count("sent"), count("opened"), count("replied"), count("bounced"), func.max(Activity.occurred_at),
        )
        .join(Campaign, Campaign.id == Membership.campaign_id)
        .outerjoin(Activity, (Activity.prospect_id == Membership.prospect_id)
                   & (Activity.campaign_id == Membership.campaign_id))
        .where(Membership.prospect_id == prospect_id)
        .group_by(Campaign.id, Campaign.name, Membership.status, Membership.added_at)
        .order_by(Membership.added_at, Campaign.id)
    )
    campaigns = [
        CampaignActivity(cid, name, status, _as_utc(added), sent, opened, replied, bounced,
                         None if last is None else _as_utc(last))
        for cid, name, status, added, sent, opened, replied, bounced, last in rows
    ]
    return ProspectDetails(
        id=prospect.id,
        email=prospect.email,
        first_name=prospect.first_name,
        last_name=prospect.last_name,
        company=prospect.company,
        title=prospect.title,
        phone=prospect.phone,
        linkedin_url=prospect.linkedin_url,
        source=prospect.source,
        created_at=prospect.created_at,
        updated_at=prospect.updated_at,
        version=prospect_version(prospect, dnc),
        do_not_contact=_dnc_state(dnc),
        campaigns=campaigns,
        domain=prospect.email_domain,
        domain_blocked=blocked_domain is not None,
        bounced_at=None if prospect.bounced_at is None else _as_utc(prospect.bounced_at),
    )


def prospect_version(prospect: Prospect, dnc: DoNotContact | None) -> int:
    """What a screen remembers and a save is checked against: it moves with every change to the prospect or to
    their do-not-contact state, and never goes back."""
    return prospect.version + (dnc.revision if dnc is not None else 0)


def _as_utc(value: dt.datetime | str) -> dt.datetime:
    # Aggregates such as max() bypass the column type, so SQLite hands back text or naive datetimes.
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _dnc_state(dnc: DoNotContact | None) -> DoNotContactState | None:
    if dnc is None:
        return None
    return DoNotContactState(dnc.reason, dnc.note, dnc.actor, dnc.channel, dnc.created_at)


def lock_prospect(session: Session, prospect_id: int, expected_version: int | None) -> Prospect:
    """The prospect, locked for a change until the transaction ends; StaleProspect when the screen the change
    comes from (read at `expected_version`) is out of date."""
    # With their do-not-contact row, which their version includes, in the same statement, where a save made two.
    # Only the prospect's row is locked (FOR UPDATE OF), as before: the null side of an outer join can not be.
    statement = (select(Prospect, DoNotContact)
                 .outerjoin(DoNotContact, DoNotContact.prospect_id == Prospect.id)
                 .where(Prospect.id == prospect_id)
                 .execution_options(populate_existing=True))
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(of=Prospect)
    found = session.execute(statement).first()
    if found is None:
        raise ProspectNotFound()
    prospect, dnc = found
    if expected_version is not None:
        current = prospect_version(prospect, dnc)
        if current != expected_version:
            raise StaleProspect(prospect_id, current)
    return prospect


def lock_existing(session: Session, prospect_ids: Sequence[int]) -> set[int]:
    """Those of `prospect_ids` that exist, kept from being deleted until the transaction ends. SQLite writers
    already hold the database's write lock (BEGIN IMMEDIATE). PostgreSQL takes the weakest row lock that stops a
    delete (FOR KEY SHARE, which two bulk changes may hold at once), in id order so that nothing deadlocks."""
    statement = select(Prospect.id).where(among(session, Prospect.id, prospect_ids))
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.order_by(Prospect.id).with_for_update(key_share=True)
    return set(session.scalars(statement))


# -- creating prospects -----------------------------------------------------------------------------------------


def prospect_ids_by_key(session: Session, keys: Sequence[str]) -> dict[str, int]:
    """{address key: prospect id} of those of `keys` (storage.emails.address_key) a prospect has."""
    found: dict[str, int] = {}
    # Through the connection: the session would put each of thousands of rows through the ORM's row handling.
    connection, prospects = session.connection(), table_of(Prospect)
    for batch in chunked(list(keys)):
        found.update(connection.execute(select(prospects.c.email_key, prospects.c.id)
                                        .where(among(session, prospects.c.email_key, batch))).all())
    return found


def insert_new_prospects(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Creates prospects from `new_prospect_row` dicts; returns {address key: id} of those created. An address a
    concurrent writer created a moment ago is skipped, not an error."""
    if session.get_bind().dialect.name == "postgresql":
        return dict(bulk_insert(session, Prospect, rows, ignore_duplicates=True, returning=("email_key", "id")))
    highest = _highest_id(session)
    bulk_insert(session, Prospect, rows, ignore_duplicates=True)
    return _created_since(session, highest)


def insert_prospect_values(session: Session, rows: Sequence[tuple[Any, ...]], *, source: str,
                           now: dt.datetime) -> dict[str, int]:
    """insert_new_prospects for `new_prospect_values` tuples, all from `source` at `now`: an import's chunk,
    which travels from the process that prepared it as tuples, half the size of dicts."""
    constants = _new_prospect_constants(source, now)
    if session.get_bind().dialect.name == "postgresql":
        return dict(bulk_insert_values(session, Prospect, NEW_PROSPECT_COLUMNS, rows, constants,
                                       ignore_duplicates=True, returning=("email_key", "id")))
    highest = _highest_id(session)
    bulk_insert_values(session, Prospect, NEW_PROSPECT_COLUMNS, rows, constants, ignore_duplicates=True)
    return _created_since(session, highest, [row[KEY] for row in rows])


def insert_prospect_copy_rows(session: Session, rows: Sequence[bytes], *, source: str,
                              now: dt.datetime) -> dict[str, int]:
    """insert_prospect_values on PostgreSQL for `new_prospect_values` already in COPY's format (copy_text_row),
    as an import's chunk comes from the process that prepared it there."""
    return dict(insert_copy_rows(session, Prospect, NEW_PROSPECT_COLUMNS, rows, _new_prospect_constants(source, now),
                                 ignore_duplicates=True, returning=("email_key", "id")))


def _highest_id(session: Session) -> int:
    return session.scalar(select(func.max(Prospect.id))) or 0


def _created_since(session: Session, highest: int, keys: Sequence[str] | None = None) -> dict[str, int]:
    """SQLite: this transaction holds the write lock and new rows get ids above the current highest, so the rows
    above `highest` are exactly the ones it created. Given the `keys` it inserted, in order: when every one was
    created, their ids are the consecutive ones above `highest`, each row taking the next as it went in, and are
    counted rather than read back (1,000,000 rows: 0.9 s of reading back and building tuples)."""
    prospects = table_of(Prospect)
    connection = session.connection()
    if keys is not None:
        count, first, last = connection.execute(select(func.count(), func.min(prospects.c.id), func.max(prospects.c.id))
                                                .where(prospects.c.id > highest)).one()
        if count == 0:
            return {}
        if count == len(keys) and last - first + 1 == count:
            return dict(zip(keys, range(first, last + 1), strict=True))
    return dict(connection.execute(select(prospects.c.email_key, prospects.c.id)
                                   .where(prospects.c.id > highest)).all())


# The widths of the prospects' text columns (models.py). A CSV cell may hold up to 500 characters; SQLite would
# keep them all, PostgreSQL refuses the whole chunk, so longer values are cut to fit on both.
TEXT_WIDTH, URL_WIDTH = 255, 500
# The columns of a new prospect that are the person's own, in the order of new_prospect_values.
NEW_PROSPECT_COLUMNS = ("email", "email_key", "email_domain", "fingerprint", "legacy_fingerprint", "first_name",
                        "last_name", "company", "title", "phone", "linkedin_url", "name_key", "last_name_key",
                        "company_key")
KEY = NEW_PROSPECT_COLUMNS.index("email_key")


def _fit(value: str, width: int = TEXT_WIDTH) -> str:
    return value if len(value) <= width else value[:width].rstrip()


def new_prospect_values(values: dict[str, str], identity: AddressIdentity) -> tuple[Any, ...]:
    """A new prospect's own column values (NEW_PROSPECT_COLUMNS) from canonical fields (email as shown,
    normalised) and the identity of that address (storage.keys.address_identity)."""
    first, last = _fit(values.get("first_name", "")), _fit(values.get("last_name", ""))
    company = _fit(values.get("company", ""))
    return (values["email"], identity.key, email_domain(identity.key), identity.fingerprint,
            identity.legacy_fingerprint, first, last, company, _fit(values.get("title", "")),
            _fit(values.get("phone", "")), _fit(values.get("linkedin_url", ""), URL_WIDTH),
            search_key(f"{first} {last}"), search_key(last), search_key(company))


def new_prospect_row(values: dict[str, str], identity: AddressIdentity, *, source: str,
                     now: dt.datetime) -> dict[str, Any]:
    """The column values of a new prospect (new_prospect_values), from `source`, created `now`."""
    return {**dict(zip(NEW_PROSPECT_COLUMNS, new_prospect_values(values, identity), strict=True)),
            **_new_prospect_constants(source, now)}


def _new_prospect_constants(source: str, now: dt.datetime) -> dict[str, Any]:
    """The columns of a new prospect that are the same for every one made from `source` at `now`."""
    return {"source": source[:255], "version": 1, "created_at": now, "updated_at": now}

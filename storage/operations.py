"""The prospect lifecycle: search, details, do not contact, delete.

Every caller (the CLI, Slack, the web endpoints) goes through these functions. They take a Session whose
transaction the caller owns, and write each change together with its audit row in that transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, case, delete, exists, func, insert, literal, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.bulk import among, bulk_insert
from storage.emails import InvalidEmail, email_domain, normalise_email
from storage.errors import CampaignNotFound, InvalidInput, NotAllowed, NotFound, ProspectNotFound, StaleProspect
from storage.keys import KEY_CEILING, address_fingerprint, search_key
from storage.models import (
    CHANNELS,
    Activity,
    DNC_REASONS,
    AuditEntry,
    BlockedDomain,
    Campaign,
    DeletedMembership,
    DoNotContact,
    Membership,
    Notification,
    Prospect,
    Suppression,
    utcnow,
)

# Reasons a user may choose; "domain-blocked" is set only by a domain block.
USER_DNC_REASONS = ("requested", "not-target", "no-interest", "other")
# A prospect's own opt-out outranks every other reason and is never replaced or lifted by a user.
OWN_OPT_OUT = "requested"
# Keeps IN (...) lists well under every driver's bound-parameter limit.
CHUNK = 2_000


@dataclass(frozen=True)
class Actor:
    """Who acted and through which channel: "slack:U0123" via slack, "cli:alice" via cli, ..."""

    who: str
    channel: str

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}")


def storable_text(text: str) -> str:
    """Free text (a note) as both databases keep it: PostgreSQL refuses NUL characters in text, and nobody means
    to type one, so they are dropped, as CSV files' are."""
    return text.replace("\x00", "")


def chunked(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def insert_ignoring_duplicates(session: Session, model: type, rows: list[dict[str, Any]], *returning: Any) -> list[Any]:
    """INSERT ... ON CONFLICT DO NOTHING: a row a concurrent writer already added is skipped, not an error."""
    if not rows:
        return []
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(model).on_conflict_do_nothing()
    if returning:
        return list(session.execute(statement.returning(*returning), rows))
    session.execute(statement, rows)
    return []


def record_audit(
    session: Session,
    actor: Actor,
    action: str,
    *,
    prospect_id: int | None = None,
    campaign_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    session.execute(
        insert(AuditEntry),
        [
            {
                "actor": actor.who,
                "channel": actor.channel,
                "action": action,
                "prospect_id": prospect_id,
                "campaign_id": campaign_id,
                "before": before,
                "after": after,
                "occurred_at": utcnow(),
            }
        ],
    )


# -- campaigns ------------------------------------------------------------------------------------------------


def campaign_key(name: str) -> str:
    return search_key(name)


def find_campaign(session: Session, name: str) -> Campaign:
    campaign = session.scalar(select(Campaign).where(Campaign.name_key == campaign_key(name)))
    if campaign is None:
        raise CampaignNotFound(name)
    return campaign


def get_or_create_campaign(session: Session, name: str, actor: Actor) -> Campaign:
    clean = " ".join(name.split())
    if not clean:
        raise InvalidInput("A campaign needs a name.")
    if len(clean) > 200:
        raise InvalidInput("A campaign name can be at most 200 characters long.")
    key = campaign_key(clean)
    inserted = insert_ignoring_duplicates(
        session, Campaign, [{"name": clean, "name_key": key, "created_at": utcnow()}], Campaign.id
    )
    campaign = session.scalars(select(Campaign).where(Campaign.name_key == key)).one()
    if inserted:
        record_audit(session, actor, "campaign.create", campaign_id=campaign.id)
    return campaign


def search_campaigns(session: Session, query: str, *, limit: int = 50) -> list[tuple[int, str]]:
    """(id, name) of campaigns whose name starts with `query`, by name: the campaign type-ahead."""
    if "\x00" in query:
        return []  # no name holds a NUL (PostgreSQL refuses them): none starts with this
    prefix = campaign_key(query)
    statement = select(Campaign.id, Campaign.name).order_by(Campaign.name_key).limit(limit)
    if prefix:
        statement = statement.where(Campaign.name_key >= prefix, Campaign.name_key < prefix + KEY_CEILING)
    return [(cid, name) for cid, name in session.execute(statement)]


def campaign_name(session: Session, campaign_id: int) -> str:
    return campaign_settings(session, campaign_id).name


@dataclass(frozen=True)
class CampaignSettings:
    id: int
    name: str
    notify_channel: str


def campaign_settings(session: Session, campaign_id: int) -> CampaignSettings:
    row = session.execute(select(Campaign.id, Campaign.name, Campaign.notify_channel)
                          .where(Campaign.id == campaign_id)).first()
    if row is None:
        raise NotFound("This campaign no longer exists.")
    return CampaignSettings(*row)


def is_member(session: Session, prospect_id: int, campaign_id: int) -> bool:
    return session.scalar(
        select(exists().where(Membership.prospect_id == prospect_id, Membership.campaign_id == campaign_id))
    ) or False


CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,20}$")


def configure_campaign(
    session: Session, name: str, *, actor: Actor, channel: str | None = None, subject: str | None = None,
    body: str | None = None,
) -> Campaign:
    """Sets a campaign's notification channel (a Slack channel id, or "" for the default) and message template."""
    campaign = find_campaign(session, name)
    before = {"notify_channel": campaign.notify_channel, "has_template": bool(campaign.body_template)}
    if channel is not None:
        channel = channel.strip().lstrip("#")
        if channel and not CHANNEL_ID.match(channel):
            raise InvalidInput(f'"{channel}" is not a Slack channel id: use the id (C…), found in the channel\'s '
                               "details in Slack, not its name.")
        campaign.notify_channel = channel
    if subject is not None:
        campaign.subject_template = subject.strip()[:500]
    if body is not None:
        campaign.body_template = body[:20_000]
    record_audit(session, actor, "campaign.configure", campaign_id=campaign.id, before=before,
                 after={"notify_channel": campaign.notify_channel, "has_template": bool(campaign.body_template)})
    return campaign


@dataclass(frozen=True)
class CampaignSummary:
    id: int
    name: str
    members: int
    sendable: int


def list_campaigns(session: Session) -> list[CampaignSummary]:
    members = (
        select(Membership.campaign_id, func.count().label("members"),
               func.count().filter(Membership.status == "active",
                                   ~exists().where(DoNotContact.prospect_id == Membership.prospect_id))
               .label("sendable"))
        .group_by(Membership.campaign_id)
        .subquery()
    )
    rows = session.execute(
        select(Campaign.id, Campaign.name, func.coalesce(members.c.members, 0), func.coalesce(members.c.sendable, 0))
        .outerjoin(members, members.c.campaign_id == Campaign.id)
        .order_by(Campaign.name_key)
    )
    return [CampaignSummary(*row) for row in rows]


# -- search ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProspectSummary:
    id: int
    email: str
    first_name: str
    last_name: str
    company: str
    title: str
    do_not_contact: bool

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


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
    email_prefix = query.strip().lower()
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


@lru_cache(maxsize=None)
def _search_statement(by_name: bool, by_email: bool, in_campaign: bool) -> Select[Any]:
    """The search as one statement, one round trip: each column's matches in index order, cut at the page's end,
    then merged. Built once per shape; a type-ahead runs it on every keystroke."""
    searches: list[tuple[Any, str]] = [(Prospect.name_key, "name")]
    if by_name:
        searches += [(Prospect.last_name_key, "name"), (Prospect.company_key, "name")]
    if by_email:
        searches.append((Prospect.email, "email"))
    hits = []
    for column, kind in searches:
        statement: Select[Any] = select(Prospect.id.label("id"), column.label("rank"))
        if kind == "email" or by_name:
            statement = statement.where(column >= bindparam(f"{kind}_low"), column < bindparam(f"{kind}_high"))
        if in_campaign:
            statement = statement.where(
                exists().where(Membership.prospect_id == Prospect.id, Membership.campaign_id == bindparam("campaign_id"))
            )
        # Emails are unique, so the email index alone gives a total order.
        order = (column,) if column is Prospect.email else (column, Prospect.id)
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


# -- details --------------------------------------------------------------------------------------------------


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
class ProspectDetails:
    id: int
    email: str
    first_name: str
    last_name: str
    company: str
    title: str
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

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


def find_prospect_id(session: Session, email: str) -> int:
    try:
        address = normalise_email(email)
    except InvalidEmail as error:
        raise InvalidInput(f'"{email}" is not a valid email address: {error.reason}.') from None
    prospect_id = session.scalar(select(Prospect.id).where(Prospect.email == address))
    if prospect_id is None:
        raise ProspectNotFound(f"No prospect has the address {address}.")
    return prospect_id


def prospect_details(session: Session, prospect_id: int) -> ProspectDetails:
    prospect = session.get(Prospect, prospect_id)
    if prospect is None:
        raise ProspectNotFound()
    dnc = session.get(DoNotContact, prospect_id)

    def count(kind: str) -> Any:
        return func.count(case((Activity.kind == kind, 1)))

    rows = session.execute(
        select(
            Campaign.id, Campaign.name, Membership.status, Membership.added_at,
            count("sent"), count("opened"), count("replied"), count("bounced"), func.max(Activity.occurred_at),
        )
        .join(Campaign, Campaign.id == Membership.campaign_id)
        .outerjoin(
            Activity, (Activity.prospect_id == Membership.prospect_id) & (Activity.campaign_id == Membership.campaign_id)
        )
        .where(Membership.prospect_id == prospect_id)
        .group_by(Campaign.id, Campaign.name, Membership.status, Membership.added_at)
        .order_by(Membership.added_at, Campaign.id)
    )
    campaigns = [
        CampaignActivity(cid, name, status, _as_utc(added), sent, opened, replied, bounced, _as_utc(last))
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
        domain_blocked=session.get(BlockedDomain, prospect.email_domain) is not None,
    )


def prospect_version(prospect: Prospect, dnc: DoNotContact | None) -> int:
    """What a screen remembers and a save is checked against: it moves with every change to the prospect or to
    their do-not-contact state, and never goes back."""
    return prospect.version + (dnc.revision if dnc is not None else 0)


def _as_utc(value: dt.datetime | str | None) -> dt.datetime | None:
    # Aggregates such as max() bypass the column type, so SQLite hands back text or naive datetimes.
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _dnc_state(dnc: DoNotContact | None) -> DoNotContactState | None:
    if dnc is None:
        return None
    return DoNotContactState(dnc.reason, dnc.note, dnc.actor, dnc.channel, dnc.created_at)


def _dnc_audit_state(dnc: DoNotContactState | DoNotContact | None) -> dict[str, Any]:
    # The note is free text that may name the person, so the audit log keeps only whether there was one.
    if dnc is None:
        return {"do_not_contact": None}
    return {"do_not_contact": {"reason": dnc.reason, "channel": dnc.channel, "has_note": bool(dnc.note)}}


# -- do not contact -------------------------------------------------------------------------------------------


@dataclass
class DoNotContactResult:
    marked: list[int] = field(default_factory=list)
    already: list[int] = field(default_factory=list)
    upgraded_to_own_opt_out: list[int] = field(default_factory=list)
    not_found: list[int] = field(default_factory=list)


def validate_dnc_reason(reason: str, note: str, *, allowed: Sequence[str] = USER_DNC_REASONS) -> None:
    if reason not in allowed:
        raise InvalidInput(f"Unknown reason \"{reason}\": choose one of {', '.join(USER_DNC_REASONS)}.")
    if reason == "other" and not note.strip():
        raise InvalidInput('The reason "other" needs a note saying why.')
    if len(note) > 2000:
        raise InvalidInput("The note can be at most 2,000 characters long.")


def mark_do_not_contact(
    session: Session, prospect_ids: Sequence[int], *, reason: str, actor: Actor, note: str = "", notify: bool = True
) -> DoNotContactResult:
    """Exclude these prospects from every send, in every campaign, now and later. Idempotent.

    A prospect already marked keeps their state, except that their own opt-out ("requested") replaces a reason
    someone else gave; it is never itself replaced. With `notify`, each change is announced in Slack through the
    outbox, in this same transaction.
    """
    note = storable_text(note)
    validate_dnc_reason(reason, note)
    return _mark_do_not_contact(session, prospect_ids, reason=reason, actor=actor, note=note.strip(), notify=notify)


def _mark_do_not_contact(
    session: Session, prospect_ids: Sequence[int], *, reason: str, actor: Actor, note: str, notify: bool
) -> DoNotContactResult:
    """mark_do_not_contact for any reason, including those no user may choose ("domain-blocked"). Each chunk is
    written by INSERT ... SELECT, audit rows included; only the ids left over (marked already, or gone) are read
    back to sort them out."""
    assert reason in DNC_REASONS, reason
    result = DoNotContactResult()
    now = utcnow()
    values = {"reason": reason, "note": note, "actor": actor.who, "channel": actor.channel, "created_at": now}
    audit = {"occurred_at": now, "actor": actor.who, "channel": actor.channel, "action": "do_not_contact",
             "campaign_id": None,
             "after": {"do_not_contact": {"reason": reason, "channel": actor.channel, "has_note": bool(note)}}}
    for ids in chunked(sorted(set(prospect_ids)), 10_000):
        new_ids = _insert_do_not_contact(session, ids, values, {**audit, "before": _dnc_audit_state(None)})
        result.marked += new_ids
        inserted = set(new_ids)
        # Usually none are left: prospects marked already, or that do not exist.
        left = [pid for pid in ids if pid not in inserted]
        current = {
            row.prospect_id: _dnc_audit_state(row)
            for row in session.scalars(select(DoNotContact).where(among(session, DoNotContact.prospect_id, left))
                                       .order_by(DoNotContact.prospect_id))
        } if left else {}
        upgrade_ids = [
            pid for pid, state in current.items()
            if reason == OWN_OPT_OUT and state["do_not_contact"]["reason"] != OWN_OPT_OUT
        ]
        upgrading = set(upgrade_ids)
        unmarked = [pid for pid in left if pid not in current]
        existing_ids = _lock_prospects(session, unmarked) if unmarked else set()
        result.not_found += [pid for pid in unmarked if pid not in existing_ids]
        result.already += [pid for pid in left if pid in existing_ids or (pid in current and pid not in upgrading)]
        result.upgraded_to_own_opt_out += upgrade_ids
        if upgrade_ids:
            session.execute(
                update(DoNotContact).where(among(session, DoNotContact.prospect_id, upgrade_ids))
                .values(**values, revision=DoNotContact.revision + 1)
            )
            bulk_insert(session, AuditEntry.__table__,
                        [{**audit, "prospect_id": pid, "before": current[pid]} for pid in upgrade_ids])
        # Rows the session may hold must not shadow what was just written in bulk.
        session.expire_all()
    if notify:
        enqueue_opt_out_notifications(session, result.marked + result.upgraded_to_own_opt_out, reason=reason,
                                      actor=actor)
    return result


def mark_prospect_do_not_contact(
    session: Session,
    prospect_id: int,
    *,
    reason: str,
    actor: Actor,
    note: str = "",
    expected_version: int | None = None,
) -> ProspectDetails:
    """One prospect, as a person saves it from a screen read at `expected_version`; returns the new state."""
    note = storable_text(note)
    validate_dnc_reason(reason, note)
    _lock_one(session, prospect_id, expected_version)
    mark_do_not_contact(session, [prospect_id], reason=reason, actor=actor, note=note)
    return prospect_details(session, prospect_id)


def _lock_prospects(session: Session, prospect_ids: Sequence[int]) -> set[int]:
    """Those of `prospect_ids` that exist, kept from being deleted until the transaction ends. SQLite writers
    already hold the database's write lock (BEGIN IMMEDIATE). PostgreSQL takes the weakest row lock that stops a
    delete (FOR KEY SHARE, which two bulk changes may hold at once), in id order so that nothing deadlocks."""
    statement = select(Prospect.id).where(among(session, Prospect.id, prospect_ids))
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.order_by(Prospect.id).with_for_update(key_share=True)
    return set(session.scalars(statement))


def _insert_do_not_contact(
    session: Session, prospect_ids: Sequence[int], values: dict[str, Any], audit: dict[str, Any]
) -> list[int]:
    """Inserts do-not-contact rows (`values`), each with its audit row (`audit`), for those of `prospect_ids` that
    exist and are not marked yet; returns the ids inserted, in order. INSERT ... SELECT: the ids travel to the
    database once, and no row is built in Python. On PostgreSQL two bulk changes may mark the same prospect at
    once: the second one finds the row there and leaves it, as for any prospect already marked."""
    postgres = session.get_bind().dialect.name == "postgresql"

    def constants(table: Any, row: dict[str, Any]) -> list[Any]:
        return [literal(value, table.c[name].type) for name, value in row.items()]

    # In id order on PostgreSQL, where it is the order the prospects get locked in; SQLite would honour an ORDER BY
    # by reading every prospect.
    def rows(ids: Sequence[int]) -> Any:
        existing = (select(Prospect.id, *constants(DoNotContact.__table__, values))
                    .where(among(session, Prospect.id, ids)))
        return ((postgresql if postgres else sqlite).insert(DoNotContact)
                .from_select(["prospect_id", *values], existing.order_by(Prospect.id) if postgres else existing)
                .on_conflict_do_nothing().returning(DoNotContact.prospect_id))

    def audit_rows(prospect_id: Any, *where: Any) -> Any:
        chosen = select(prospect_id, *constants(AuditEntry.__table__, audit)).where(*where).order_by(prospect_id)
        return insert(AuditEntry).from_select(["prospect_id", *audit], chosen)

    if not postgres:
        # SQLite: the writer holds the database's lock, so nothing changes between the two statements.
        new_ids = sorted(session.scalars(rows(prospect_ids)))
        session.execute(audit_rows(DoNotContact.prospect_id, among(session, DoNotContact.prospect_id, new_ids)))
        return new_ids

    def insert_with_audit(ids: Sequence[int]) -> list[int]:
        inserted = rows(ids).cte("inserted")
        return sorted(session.scalars(audit_rows(inserted.c.prospect_id).returning(AuditEntry.prospect_id)))

    # The foreign key checks lock each prospect inserted (FOR KEY SHARE), in id order, until the transaction ends,
    # so no lock is taken beforehand; if a prospect is deleted while the statement runs, its check fails, and the
    # chunk is done again on the prospects still there, locked first.
    try:
        with session.begin_nested():
            return insert_with_audit(prospect_ids)
    except IntegrityError as error:
        if getattr(error.orig, "sqlstate", None) != "23503":  # foreign_key_violation
            raise
    return insert_with_audit(sorted(_lock_prospects(session, prospect_ids)))


def _lock_one(session: Session, prospect_id: int, expected_version: int | None) -> Prospect:
    statement = select(Prospect).where(Prospect.id == prospect_id).execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    prospect = session.scalar(statement)
    if prospect is None:
        raise ProspectNotFound()
    if expected_version is not None:
        dnc = session.scalar(select(DoNotContact).where(DoNotContact.prospect_id == prospect_id)
                             .execution_options(populate_existing=True))
        current = prospect_version(prospect, dnc)
        if current != expected_version:
            raise StaleProspect(prospect_id, current)
    return prospect


def lift_do_not_contact(
    session: Session, prospect_id: int, *, actor: Actor, expected_version: int | None = None
) -> ProspectDetails:
    """Makes a prospect contactable again, when a colleague's do not contact was a mistake. A prospect's own
    opt-out can never be lifted, nor can anyone's at a blocked domain."""
    prospect = _lock_one(session, prospect_id, expected_version)
    dnc = session.scalar(select(DoNotContact).where(DoNotContact.prospect_id == prospect_id)
                         .execution_options(populate_existing=True))
    if dnc is None:
        return prospect_details(session, prospect_id)
    name = f"{prospect.first_name} {prospect.last_name}".strip() or prospect.email
    if dnc.reason == OWN_OPT_OUT:
        raise NotAllowed(f"{name} opted out themselves: that can never be lifted.")
    if session.get(BlockedDomain, prospect.email_domain) is not None:
        raise NotAllowed(f"Everyone at {prospect.email_domain} is blocked, so {name} stays do not contact.")
    before = _dnc_audit_state(dnc)
    # The version must keep moving forward although the do-not-contact revision it included goes away.
    prospect.version = prospect_version(prospect, dnc) + 1
    prospect.updated_at = utcnow()
    session.execute(delete(DoNotContact).where(DoNotContact.prospect_id == prospect_id))
    record_audit(session, actor, "lift_do_not_contact", prospect_id=prospect_id, before=before,
                 after=_dnc_audit_state(None))
    session.flush()
    session.expire_all()
    return prospect_details(session, prospect_id)


# -- domains --------------------------------------------------------------------------------------------------


def normalise_domain(raw: str) -> str:
    """"Acme.COM", "@acme.com" or "jane@acme.com" → "acme.com", validated as the domain of an address."""
    text = raw.strip().lstrip("@")
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    try:
        return email_domain(normalise_email(f"x@{text}"))
    except InvalidEmail as error:
        raise InvalidInput(f'"{raw.strip()}" is not an email domain: {error.reason}.') from None


@dataclass(frozen=True)
class DomainBlockResult:
    domain: str
    newly_blocked: bool
    marked: int
    already: int


def block_domain(session: Session, domain: str, *, actor: Actor, note: str = "") -> DomainBlockResult:
    """Nobody at `domain` is contacted again: every current prospect there becomes do not contact (announced in
    one summary), and imports skip new addresses there."""
    domain = normalise_domain(domain)
    note = storable_text(note)
    if len(note) > 2000:
        raise InvalidInput("The note can be at most 2,000 characters long.")
    inserted = insert_ignoring_duplicates(
        session, BlockedDomain,
        [{"domain": domain, "actor": actor.who, "channel": actor.channel, "note": note.strip(), "created_at": utcnow()}],
        BlockedDomain.domain,
    )
    ids = list(session.scalars(select(Prospect.id).where(Prospect.email_domain == domain)))
    result = _mark_do_not_contact(session, ids, reason="domain-blocked", actor=actor, note=note.strip(), notify=True)
    record_audit(session, actor, "block_domain", after={"domain": domain, "marked": len(result.marked)})
    return DomainBlockResult(domain, bool(inserted), len(result.marked), len(ids) - len(result.marked))


def blocked_domains_among(session: Session, domains: Sequence[str]) -> set[str]:
    if not domains:
        return set()
    return set(session.scalars(select(BlockedDomain.domain).where(among(session, BlockedDomain.domain, list(domains)))))


def list_blocked_domains(session: Session) -> list[BlockedDomain]:
    return list(session.scalars(select(BlockedDomain).order_by(BlockedDomain.domain)))


# -- delete ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeleteResult:
    prospect_id: int
    campaigns_left: int
    reimport_blocked: bool
    blocked_because_opted_out: bool


def delete_prospect(
    session: Session,
    prospect_id: int,
    *,
    actor: Actor,
    secret_key: bytes,
    block_reimport: bool,
    expected_version: int | None = None,
) -> DeleteResult:
    """Remove the person entirely: row, memberships, do-not-contact state; their activity stays, anonymous.

    Without `block_reimport` a later import brings the address back as a new, sendable contact. A person who
    opted out themselves is always fingerprinted, so their opt-out survives the delete.
    """
    prospect = _lock_one(session, prospect_id, expected_version)
    dnc = session.get(DoNotContact, prospect_id)
    opted_out = dnc is not None and dnc.reason == OWN_OPT_OUT
    keep_fingerprint = block_reimport or opted_out
    fingerprint = address_fingerprint(secret_key, prospect.email)
    if keep_fingerprint:
        suppress_fingerprint(session, fingerprint, reason="requested" if opted_out else "deleted",
                             channel=actor.channel)
    memberships = session.execute(
        select(Membership.id, Membership.campaign_id).where(Membership.prospect_id == prospect_id)
    ).all()
    campaign_ids = sorted(campaign_id for _, campaign_id in memberships)
    # Their unsubscribe links keep working: a click after the delete blocks the address by its fingerprint.
    bulk_insert(session, DeletedMembership.__table__,
                [{"membership_id": mid, "campaign_id": cid, "fingerprint": fingerprint, "deleted_at": utcnow()}
                 for mid, cid in memberships], ignore_duplicates=True)
    session.execute(update(Activity).where(Activity.prospect_id == prospect_id).values(prospect_id=None))
    session.execute(delete(DoNotContact).where(DoNotContact.prospect_id == prospect_id))
    session.execute(delete(Membership).where(Membership.prospect_id == prospect_id))
    session.execute(delete(Prospect).where(Prospect.id == prospect_id))
    record_audit(
        session,
        actor,
        "delete",
        prospect_id=prospect_id,
        before={**_dnc_audit_state(dnc), "campaign_ids": campaign_ids},
        after={"deleted": True, "reimport_blocked": keep_fingerprint},
    )
    session.expunge(prospect)
    return DeleteResult(prospect_id, len(campaign_ids), keep_fingerprint, opted_out and not block_reimport)


def suppress_address(session: Session, email: str, *, secret_key: bytes, reason: str, channel: str) -> bool:
    """Keep the address's fingerprint so imports skip it; True when it was not kept already."""
    return suppress_fingerprint(session, address_fingerprint(secret_key, email), reason=reason, channel=channel)


def suppress_fingerprint(session: Session, fingerprint: str, *, reason: str, channel: str) -> bool:
    inserted = insert_ignoring_duplicates(
        session,
        Suppression,
        [{"fingerprint": fingerprint, "reason": reason, "channel": channel, "created_at": utcnow()}],
        Suppression.fingerprint,
    )
    return bool(inserted)


def is_address_suppressed(session: Session, email: str, *, secret_key: bytes) -> bool:
    fingerprint = address_fingerprint(secret_key, email)
    return session.get(Suppression, fingerprint) is not None


def block_unknown_address(session: Session, email: str, *, secret_key: bytes, actor: Actor) -> bool:
    """Do not contact for an address not in the database yet: its fingerprint keeps future imports from adding it."""
    added = suppress_address(session, email, secret_key=secret_key, reason="blocked", channel=actor.channel)
    if added:
        record_audit(session, actor, "block_address", after={"fingerprint": address_fingerprint(secret_key, email)[:12]})
    return added


def prospect_ids_by_email(session: Session, emails: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for batch in chunked(list(emails), 10_000):
        found.update(session.execute(select(Prospect.email, Prospect.id).where(among(session, Prospect.email, batch))).all())
    return found


def insert_new_prospects(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Creates prospects from `new_prospect_row` dicts; returns {email: id} of those created. An address a
    concurrent writer created a moment ago is skipped, not an error."""
    if session.get_bind().dialect.name == "postgresql":
        return dict(bulk_insert(session, Prospect.__table__, rows, ignore_duplicates=True, returning=("email", "id")))
    # SQLite: this transaction holds the write lock and new rows get ids above the current highest, so the rows
    # above it are exactly the ones created here.
    highest = session.scalar(select(func.max(Prospect.id))) or 0
    bulk_insert(session, Prospect.__table__, rows, ignore_duplicates=True)
    return dict(session.execute(select(Prospect.email, Prospect.id).where(Prospect.id > highest)).all())


# The widths of the prospects' text columns (models.py). A CSV cell may hold up to 500 characters; SQLite would
# keep them all, PostgreSQL refuses the whole chunk, so longer values are cut to fit on both.
TEXT_WIDTH, URL_WIDTH = 255, 500


def _fit(value: str, width: int = TEXT_WIDTH) -> str:
    return value if len(value) <= width else value[:width].rstrip()


def new_prospect_row(values: dict[str, str], *, source: str, now: dt.datetime) -> dict[str, Any]:
    """The column values of a new prospect from canonical fields (email already normalised)."""
    first, last = _fit(values.get("first_name", "")), _fit(values.get("last_name", ""))
    company = _fit(values.get("company", ""))
    return {
        "email": values["email"],
        "email_domain": email_domain(values["email"]),
        "first_name": first,
        "last_name": last,
        "company": company,
        "title": _fit(values.get("title", "")),
        "phone": _fit(values.get("phone", "")),
        "linkedin_url": _fit(values.get("linkedin_url", ""), URL_WIDTH),
        "source": source[:255],
        "name_key": search_key(f"{first} {last}"),
        "last_name_key": search_key(last),
        "company_key": search_key(company),
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


SUMMARY_ABOVE = 10  # more prospects than this in one change: one summary per channel, not a message each


def enqueue_opt_out_notifications(
    session: Session, prospect_ids: Sequence[int], *, reason: str, actor: Actor, campaign_id: int | None = None
) -> None:
    """Outbox rows for these opt-outs, in the caller's transaction: one per prospect and notification channel,
    naming the campaigns that channel follows — or, for a bulk change, one summary per channel. `campaign_id`
    narrows it to one campaign: an unsubscribe link is clicked in one campaign's email."""
    if not prospect_ids:
        return
    now = utcnow()
    common = {"created_at": now, "reason": reason, "via": actor.channel, "actor": actor.who, "attempts": 0,
              "next_attempt_at": now, "last_error": ""}
    if len(prospect_ids) > SUMMARY_ABOVE:
        rows = [{**common, "prospect_id": None, "prospect_count": count, "channel": channel, "campaign_ids": campaigns}
                for channel, (count, campaigns) in _summary_by_channel(session, prospect_ids).items()]
    else:
        rows = [{**common, "prospect_id": pid, "prospect_count": 1, "channel": channel, "campaign_ids": campaigns}
                for (pid, channel), campaigns in _campaigns_by_prospect_and_channel(session, prospect_ids,
                                                                                      campaign_id).items()]
    bulk_insert(session, Notification.__table__, rows)


def _campaigns_by_prospect_and_channel(
    session: Session, prospect_ids: Sequence[int], campaign_id: int | None
) -> dict[tuple[int, str], list[int]]:
    statement = (
        select(Membership.prospect_id, Membership.campaign_id, Campaign.notify_channel)
        .join(Campaign, Campaign.id == Membership.campaign_id)
        .where(among(session, Membership.prospect_id, list(prospect_ids)))
        .order_by(Membership.prospect_id, Membership.campaign_id)
    )
    if campaign_id is not None:
        statement = statement.where(Membership.campaign_id == campaign_id)
    grouped: dict[tuple[int, str], list[int]] = {}
    for pid, cid, channel in session.execute(statement):
        grouped.setdefault((pid, channel), []).append(cid)
    announced = {pid for pid, _ in grouped}
    for pid in prospect_ids:
        if pid not in announced:
            grouped[(pid, "")] = []  # in no campaign: the default channel still hears of it
    return grouped


def _summary_by_channel(session: Session, prospect_ids: Sequence[int]) -> dict[str, tuple[int, list[int]]]:
    """{channel: (how many of the prospects are in its campaigns, those campaigns)}, counted by the database."""
    counts: dict[str, int] = {}
    campaigns: dict[str, set[int]] = {}
    in_any_campaign = 0
    for ids in chunked(list(prospect_ids), 10_000):  # disjoint chunks: their counts add up exactly
        members = among(session, Membership.prospect_id, ids)
        for channel, count in session.execute(
            select(Campaign.notify_channel, func.count(func.distinct(Membership.prospect_id)))
            .join(Campaign, Campaign.id == Membership.campaign_id).where(members).group_by(Campaign.notify_channel)
        ):
            counts[channel] = counts.get(channel, 0) + count
        for channel, cid in session.execute(
            select(Campaign.notify_channel, Membership.campaign_id).distinct()
            .join(Campaign, Campaign.id == Membership.campaign_id).where(members)
        ):
            campaigns.setdefault(channel, set()).add(cid)
        in_any_campaign += session.scalar(select(func.count(func.distinct(Membership.prospect_id))).where(members)) or 0
    outside = len(prospect_ids) - in_any_campaign
    if outside:
        counts[""] = counts.get("", 0) + outside
        campaigns.setdefault("", set())
    return {channel: (count, sorted(campaigns.get(channel, set()))) for channel, count in counts.items()}

"""Bulk unsubscribe requests: a member picks a rule, the exact set of prospects it matches is frozen, and a
manager other than the requester approves or rejects it. Approval applies the whole set in one transaction,
exactly once; prospects who became do not contact or were deleted meanwhile are skipped and counted.

Nothing here knows about Slack: callers say who acts (an Actor) and show the results.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    Select,
    cast,
    exists,
    func,
    insert,
    literal,
    null,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from storage.audit import Actor, record_audit
from storage.campaigns import campaign_settings
from storage.do_not_contact import mark_do_not_contact
from storage.domains import normalise_domain
from storage.emails import InvalidEmail, address_key, normalise_email
from storage.errors import InvalidInput, NotAllowed, NotFound
from storage.fast_insert import table_of
from storage.models import (
    UNENGAGED,
    BulkRequest,
    BulkRequestItem,
    Campaign,
    DoNotContact,
    Membership,
    Prospect,
    utcnow,
)
from storage.outbox import enqueue_summary
from storage.reasons import checked_reason

DEFAULT_TTL = dt.timedelta(days=7)
SAMPLE_SIZE = 5
MAX_DOMAINS = 50
MAX_ADDRESSES = 1_000
MAX_MIN_SENT = 1_000
# What a rule means, as the reason the prospects end up with unless the requester chose another.
DEFAULT_REASONS = {"no-engagement": "no-interest", "domains": "not-target", "addresses": "not-target"}


@dataclass(frozen=True)
class Rule:
    kind: str
    min_sent: int = 0
    domains: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()

    @property
    def parameters(self) -> dict[str, Any]:
        if self.kind == "no-engagement":
            return {"min_sent": self.min_sent}
        if self.kind == "domains":
            return {"domains": list(self.domains)}
        return {"addresses": len(self.addresses)}


def describe_rule(kind: str, parameters: dict[str, Any]) -> str:
    """The rule in words, as the requester and the approver read it."""
    if kind == "no-engagement":
        sent = parameters.get("min_sent", 0)
        return f"No opens and no replies after at least {sent} email{'s' if sent != 1 else ''} sent"
    if kind == "domains":
        domains = parameters.get("domains", [])
        shown = ", ".join(domains[:10]) + (f" and {len(domains) - 10} more" if len(domains) > 10 else "")
        return f"Everyone at {shown}"
    count = parameters.get("addresses", 0)
    return f"A pasted list of {count} address{'es' if count != 1 else ''}"


SEPARATORS = re.compile(r"[\s,;]+")


def parse_rule(kind: str, *, min_sent: str | int | None = None, domains: str = "", addresses: str = "") -> Rule:
    """A rule from what a person typed; InvalidInput says what to fix."""
    if kind == "no-engagement":
        text = str(min_sent if min_sent is not None else "").strip()
        # ASCII digits only: "²".isdigit() is true, but int() refuses it.
        if not (text.isascii() and text.isdigit() and len(text) <= 9) or not 1 <= int(text) <= MAX_MIN_SENT:
            raise InvalidInput(f"Say after how many emails sent, as a whole number from 1 to {MAX_MIN_SENT}.")
        return Rule(kind, min_sent=int(text))
    if kind == "domains":
        found = _listed(domains, at_most=MAX_DOMAINS, none="List at least one email domain, such as acme.com.",
                        too_many=f"List at most {MAX_DOMAINS} domains in one request.")
        return Rule(kind, domains=tuple(sorted({normalise_domain(part) for part in found})))
    if kind == "addresses":
        found = _listed(addresses, at_most=MAX_ADDRESSES, none="Paste at least one email address.",
                        too_many=f"Paste at most {MAX_ADDRESSES:,} addresses in one request.")
        clean = set()
        for part in found:
            try:
                clean.add(address_key(normalise_email(part)))
            except InvalidEmail as error:
                raise InvalidInput(f'"{part[:100]}" is not a valid email address: {error.reason}.') from None
        return Rule(kind, addresses=tuple(sorted(clean)))
    raise InvalidInput("Choose a rule: no engagement, email domains, or a list of addresses.")


def _listed(text: str, *, at_most: int, none: str, too_many: str) -> list[str]:
    """The items typed, separated by commas, semicolons or white space; InvalidInput for none or too many."""
    found = [part for part in SEPARATORS.split(text) if part]
    if not found:
        raise InvalidInput(none)
    if len(found) > at_most:
        raise InvalidInput(too_many)
    return found


def _matching(campaign_id: int, rule: Rule) -> Select[Any]:
    """The ids of the campaign's prospects that `rule` matches and that are not do not contact yet, as one column
    named prospect_id."""
    if rule.kind == "no-engagement":
        return _never_engaged(campaign_id, rule.min_sent)
    matched = select(Prospect.id)
    if rule.kind == "domains":
        matched = matched.where(Prospect.email_domain.in_(rule.domains))
    else:
        matched = matched.where(Prospect.email_key.in_(rule.addresses))
    return select(Membership.prospect_id).where(
        Membership.campaign_id == campaign_id,
        ~exists().where(DoNotContact.prospect_id == Membership.prospect_id),
        Membership.prospect_id.in_(matched),
    )


def _never_engaged(campaign_id: int, min_sent: int) -> Select[Any]:
    """Members sent at least `min_sent` emails of the campaign who never opened or replied to one: a range of
    ix_memberships_unengaged, whose counts the activity trigger keeps (migration 0009)."""
    return select(Membership.prospect_id).where(
        Membership.campaign_id == campaign_id,
        Membership.sent_count >= min_sent,
        text(UNENGAGED),
        ~exists().where(DoNotContact.prospect_id == Membership.prospect_id),
    )


@dataclass(frozen=True)
class SampleProspect:
    id: int
    email: str
    name: str


@dataclass(frozen=True)
class Preview:
    campaign_id: int
    campaign_name: str
    rule: Rule
    count: int
    sample: list[SampleProspect]
    # For a pasted list: how many of the addresses are not in the campaign, or are do not contact already.
    not_matched: int = 0


def preview(session: Session, campaign_id: int, rule: Rule) -> Preview:
    """How many prospects the rule would take out of the campaign now, and a few of them."""
    settings = campaign_settings(session, campaign_id)
    # One statement, so that the count and the sample agree.
    if rule.kind == "no-engagement" and session.get_bind().dialect.name == "postgresql":
        # The count, and beside it the first few ids, each an index-only pass over the same range of
        # ix_memberships_unengaged (the first few by a top-N sort): in a 1,000,000-member campaign, 0.049 s
        # beside 0.044 s for the count alone (benchmarks/REPORT.md). (The other rules match few enough that
        # this makes no difference.)
        ids = _matching(campaign_id, rule).cte("matching").prefix_with("NOT MATERIALIZED")
        few = select(ids.c.prospect_id).order_by(ids.c.prospect_id).limit(SAMPLE_SIZE).subquery()
        rows = session.execute(union_all(
            select(few.c.prospect_id, cast(null(), BigInteger)),
            select(cast(null(), Integer), func.count()).select_from(ids),
        )).all()
        count = next((n for _, n in rows if n is not None), 0)
        first_ids = sorted(pid for pid, n in rows if n is None)
    else:
        # The matching ids gathered once, then counted and the first few taken (SQLite would gather them twice
        # above).
        ids = _matching(campaign_id, rule).cte("matching").prefix_with("MATERIALIZED")
        first = session.execute(
            select(ids.c.prospect_id, select(func.count()).select_from(ids).scalar_subquery())
            .order_by(ids.c.prospect_id).limit(SAMPLE_SIZE)
        ).all()
        count = first[0][1] if first else 0
        first_ids = [pid for pid, _ in first]
    sample = _sample(session, first_ids)
    not_matched = len(rule.addresses) - count if rule.kind == "addresses" else 0
    return Preview(campaign_id, settings.name, rule, count, sample, not_matched)


def _sample(session: Session, ids: Select[Any] | list[int]) -> list[SampleProspect]:
    rows = session.execute(
        select(Prospect.id, Prospect.email, Prospect.first_name, Prospect.last_name)
        .where(Prospect.id.in_(ids)).order_by(Prospect.id).limit(SAMPLE_SIZE)
    )
    return [SampleProspect(pid, email, f"{first} {last}".strip()) for pid, email, first, last in rows]


def create_request(
    session: Session, campaign_id: int, rule: Rule, *, actor: Actor, note: str = "", reason: str | None = None,
    ttl: dt.timedelta = DEFAULT_TTL,
) -> int:
    """Freezes the prospects the rule matches now into a pending request; nothing else changes until a manager
    approves it. Returns the request's id."""
    reason = reason or DEFAULT_REASONS[rule.kind]
    note = checked_reason(reason, note)
    settings = campaign_settings(session, campaign_id)
    now = utcnow()
    request_id = session.execute(
        insert(BulkRequest).returning(BulkRequest.id),
        [{"campaign_id": campaign_id, "rule": rule.kind, "parameters": rule.parameters, "reason": reason,
          "note": note, "requested_by": actor.who, "requested_at": now, "expires_at": now + ttl,
          "prospect_count": 0, "status": "pending", "applied_count": 0, "skipped_count": 0,
          "message_channel": "", "message_ts": ""}],
    ).scalar_one()
    ids = _matching(campaign_id, rule).subquery()
    session.execute(insert(BulkRequestItem).from_select(["request_id", "prospect_id"],
                                                        select(literal(request_id), ids.c.prospect_id)))
    # Counted, not taken from the row count: psycopg reports -1 for some INSERT ... SELECT statements.
    frozen = session.scalar(select(func.count()).where(BulkRequestItem.request_id == request_id)) or 0
    if not frozen:
        raise InvalidInput(f"No prospect in {settings.name} matches this rule any more (or they are all do not "
                           "contact already): there is nothing to request.")
    session.execute(update(BulkRequest).where(BulkRequest.id == request_id).values(prospect_count=frozen))
    record_audit(session, actor, "bulk.request", campaign_id=campaign_id,
                 after={"request_id": request_id, "rule": rule.kind, "prospects": frozen})
    return request_id


@dataclass(frozen=True)
class RequestView:
    id: int
    campaign_id: int
    campaign_name: str
    rule: str
    rule_text: str
    reason: str
    note: str
    requested_by: str
    requested_at: dt.datetime
    expires_at: dt.datetime
    prospect_count: int
    status: str
    decided_by: str | None
    decided_at: dt.datetime | None
    applied_count: int
    skipped_count: int
    message_channel: str
    message_ts: str
    sample: list[SampleProspect]

    @property
    def is_pending(self) -> bool:
        return self.status == "pending"


def request_view(session: Session, request_id: int) -> RequestView:
    row = session.execute(
        select(BulkRequest, Campaign.name).join(Campaign, Campaign.id == BulkRequest.campaign_id)
        .where(BulkRequest.id == request_id)
    ).first()
    if row is None:
        raise NotFound("This request no longer exists: its campaign may have been removed.")
    request, campaign_name = row
    sample = _sample(session, select(BulkRequestItem.prospect_id).where(BulkRequestItem.request_id == request_id))
    return RequestView(
        request.id, request.campaign_id, campaign_name, request.rule,
        describe_rule(request.rule, request.parameters or {}), request.reason, request.note, request.requested_by,
        request.requested_at, request.expires_at, request.prospect_count, request.status, request.decided_by,
        request.decided_at, request.applied_count, request.skipped_count, request.message_channel,
        request.message_ts, sample,
    )


def pending_requests(session: Session, *, now: dt.datetime | None = None, limit: int = 10) -> list[RequestView]:
    now = now or utcnow()
    ids = session.scalars(
        select(BulkRequest.id).where(BulkRequest.status == "pending", BulkRequest.expires_at > now)
        .order_by(BulkRequest.requested_at, BulkRequest.id).limit(limit)
    )
    return [request_view(session, request_id) for request_id in list(ids)]


def record_message(session: Session, request_id: int, *, channel: str, ts: str) -> None:
    """Where the approval message was posted, so that the decision can update it in place."""
    session.execute(update(BulkRequest).where(BulkRequest.id == request_id)
                    .values(message_channel=channel, message_ts=ts))


class AlreadyDecided(NotAllowed):
    def __init__(self, request: RequestView) -> None:
        super().__init__(f"This request was already {request.status}.")
        self.request = request


def decide(session: Session, request_id: int, *, decider: Actor, approve: bool,
           now: dt.datetime | None = None) -> RequestView:
    """Approves or rejects a pending request, once. Two managers deciding at the same moment are serialised on
    the request's row: the second one finds it decided and gets AlreadyDecided. A request past its expiry is
    marked expired instead and changes nothing else. The caller checks that `decider` is a manager."""
    now = now or utcnow()
    statement = select(BulkRequest).where(BulkRequest.id == request_id).execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    request = session.scalar(statement)
    if request is None:
        raise NotFound("This request no longer exists: its campaign may have been removed.")
    if request.status != "pending":
        raise AlreadyDecided(request_view(session, request_id))
    if request.requested_by == decider.who:
        raise NotAllowed("You asked for this change yourself, so another manager must approve or reject it.")
    if request.expires_at <= now:
        _expire(session, request, now)
        return request_view(session, request_id)
    request.decided_by, request.decided_at = decider.who, now
    if approve:
        # Read as plain rows: the ORM's row handling cost 0.05 s of a 100,000-prospect approval.
        items = table_of(BulkRequestItem)
        ids = session.connection().scalars(select(items.c.prospect_id).where(items.c.request_id == request_id)).all()
        note = f"Bulk request #{request_id}" + (f": {request.note}" if request.note else "")
        result = mark_do_not_contact(session, ids, reason=request.reason, note=note[:2000],
                                     actor=Actor(decider.who, "bulk"), notify=False,
                                     created_by=None if _ids_never_reused(session) else request.requested_at)
        applied = len(result.marked) + len(result.upgraded_to_own_opt_out)
        request.status, request.applied_count = "approved", applied
        request.skipped_count = request.prospect_count - applied
        if applied:  # one message for the whole request, never one per prospect
            enqueue_summary(session, prospect_count=applied, campaign_id=request.campaign_id, reason=request.reason,
                            actor=Actor(decider.who, "bulk"))
    else:
        request.status = "rejected"
    record_audit(session, decider, f"bulk.{'approve' if approve else 'reject'}", campaign_id=request.campaign_id,
                 after={"request_id": request_id, "applied": request.applied_count, "skipped": request.skipped_count})
    session.flush()
    return request_view(session, request_id)


def _ids_never_reused(session: Session) -> bool:
    """Whether every prospect id this database ever handed out was new. PostgreSQL's sequences never go back, so
    a prospect holding a frozen id is the one the request froze, or a prospect gone: the foreign key check sorts
    those out. On SQLite the first release handed a deleted prospect's id to someone new (migration 0005 ended
    that), so a request it froze may hold such an id: there a prospect created after the request was made is
    skipped, like the deleted. The check reads each prospect's row, 0.15-0.18 s of a 100,000-prospect approval
    on PostgreSQL."""
    return session.get_bind().dialect.name == "postgresql"


def _expire(session: Session, request: BulkRequest, now: dt.datetime) -> None:
    request.status, request.decided_at = "expired", now
    record_audit(session, Actor("system:expiry", "bulk"), "bulk.expire", campaign_id=request.campaign_id,
                 after={"request_id": request.id})
    session.flush()


def expire_due(session: Session, *, now: dt.datetime | None = None, limit: int = 100) -> list[RequestView]:
    """Marks pending requests past their expiry as expired; returns them, for their messages to be updated."""
    now = now or utcnow()
    statement = (select(BulkRequest).where(BulkRequest.status == "pending", BulkRequest.expires_at <= now)
                 .order_by(BulkRequest.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    expired = []
    for request in session.scalars(statement).all():
        _expire(session, request, now)
        expired.append(request.id)
    return [request_view(session, request_id) for request_id in expired]

"""Do not contact: the person stays in the database, is excluded from every send in every campaign, now and
later, and still counts in historical metrics. Marking one prospect from a screen, many at once, a list of
addresses, and lifting a colleague's mistake."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import CursorResult, delete, insert, literal, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.audit import Actor, record_audit
from storage.emails import InvalidEmail, address_key, normalise_email
from storage.errors import InvalidInput, NotAllowed
from storage.fast_insert import (
    among,
    bulk_insert,
    chunked,
    id_values,
    insert_skipping_conflicts,
    is_foreign_key_violation,
    is_key_violation,
    table_of,
)
from storage.models import DNC_REASONS, AuditEntry, DoNotContact, Prospect, utcnow
from storage.outbox import enqueue_opt_out_notifications
from storage.prospects import (
    DoNotContactState,
    ProspectDetails,
    lock_existing,
    lock_prospect,
    prospect_details,
    prospect_ids_by_key,
    prospect_version,
)
from storage.reasons import OWN_OPT_OUT, checked_reason
from storage.suppressions import block_unknown_address


def dnc_audit_state(dnc: DoNotContactState | DoNotContact | None) -> dict[str, Any]:
    # The note is free text that may name the person, so the audit log keeps only whether there was one.
    if dnc is None:
        return {"do_not_contact": None}
    return {"do_not_contact": {"reason": dnc.reason, "channel": dnc.channel, "has_note": bool(dnc.note)}}


@dataclass
class DoNotContactResult:
    marked: list[int] = field(default_factory=list)
    already: list[int] = field(default_factory=list)
    upgraded_to_own_opt_out: list[int] = field(default_factory=list)
    not_found: list[int] = field(default_factory=list)


def mark_do_not_contact(
    session: Session, prospect_ids: Sequence[int], *, reason: str, actor: Actor, note: str = "", notify: bool = True,
    created_by: dt.datetime | None = None,
) -> DoNotContactResult:
    """Exclude these prospects from every send, in every campaign, now and later. Idempotent.

    A prospect already marked keeps their state, except that their own opt-out ("requested") replaces a reason
    someone else gave; it is never itself replaced. With `notify`, each change is announced in Slack through the
    outbox, in this same transaction. With `created_by`, a prospect created after that moment is not the one
    meant: it is left alone and counted as not found.
    """
    note = checked_reason(reason, note)
    return apply_do_not_contact(session, prospect_ids, reason=reason, actor=actor, note=note, notify=notify,
                                created_by=created_by)


def apply_do_not_contact(
    session: Session, prospect_ids: Sequence[int], *, reason: str, actor: Actor, note: str, notify: bool,
    created_by: dt.datetime | None = None,
) -> DoNotContactResult:
    """mark_do_not_contact for any reason, including those no user may choose ("domain-blocked"), with a note
    already cleaned. Each chunk is written by INSERT ... SELECT, audit rows included; only the ids left over
    (marked already, created after `created_by`, or gone) are read back to sort them out."""
    assert reason in DNC_REASONS, reason
    result = DoNotContactResult()
    now = utcnow()
    values = {"reason": reason, "note": note, "actor": actor.who, "channel": actor.channel, "created_at": now}
    audit = {"occurred_at": now, "actor": actor.who, "channel": actor.channel, "action": "do_not_contact",
             "campaign_id": None,
             "after": {"do_not_contact": {"reason": reason, "channel": actor.channel, "has_note": bool(note)}}}
    for ids in chunked(sorted(set(prospect_ids))):
        new_ids = _insert_do_not_contact(session, ids, values, {**audit, "before": dnc_audit_state(None)},
                                         created_by)
        result.marked += new_ids
        if len(new_ids) < len(ids):  # some marked already, or gone
            inserted = set(new_ids)
            _sort_out_the_others(session, [pid for pid in ids if pid not in inserted], result, reason=reason,
                                 values=values, audit=audit, created_by=created_by)
        # Do-not-contact rows the session may hold must not shadow what was just written in bulk. Nothing else was
        # written: a prospect the caller holds stays as it is, and is not read again (lock_prospect's, for a save).
        for instance in [held for held in session.identity_map.values() if isinstance(held, DoNotContact)]:
            session.expire(instance)
    if notify:
        enqueue_opt_out_notifications(session, result.marked + result.upgraded_to_own_opt_out, reason=reason,
                                      actor=actor)
    return result


def _sort_out_the_others(
    session: Session, left: list[int], result: DoNotContactResult, *, reason: str, values: dict[str, Any],
    audit: dict[str, Any], created_by: dt.datetime | None,
) -> None:
    """Of a chunk's prospects that _insert_do_not_contact did not mark (`left`): those marked already, whose own
    opt-out replaces a colleague's reason, and those that do not exist (or, with `created_by`, are not the ones
    meant). Added to `result`."""
    if created_by is not None:
        # Someone new who has the id of the prospect meant is not them: as if they did not exist.
        younger = set(session.scalars(select(Prospect.id).where(among(session, Prospect.id, left),
                                                                Prospect.created_at > created_by)))
        result.not_found += [pid for pid in left if pid in younger]
        left = [pid for pid in left if pid not in younger]
    current = {
        row.prospect_id: dnc_audit_state(row)
        for row in session.scalars(select(DoNotContact).where(among(session, DoNotContact.prospect_id, left))
                                   .order_by(DoNotContact.prospect_id))
    } if left else {}
    upgrade_ids = [
        pid for pid, state in current.items()
        if reason == OWN_OPT_OUT and state["do_not_contact"]["reason"] != OWN_OPT_OUT
    ]
    upgrading = set(upgrade_ids)
    unmarked = [pid for pid in left if pid not in current]
    existing_ids = lock_existing(session, unmarked) if unmarked else set()
    result.not_found += [pid for pid in unmarked if pid not in existing_ids]
    result.already += [pid for pid in left if pid in existing_ids or (pid in current and pid not in upgrading)]
    result.upgraded_to_own_opt_out += upgrade_ids
    if upgrade_ids:
        session.execute(
            update(DoNotContact).where(among(session, DoNotContact.prospect_id, upgrade_ids))
            .values(**values, revision=DoNotContact.revision + 1)
        )
        bulk_insert(session, AuditEntry,
                    [{**audit, "prospect_id": pid, "before": current[pid]} for pid in upgrade_ids])


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
    note = checked_reason(reason, note)
    # Held until the details are read: the session keeps only a weak reference, and would read it again.
    prospect = lock_prospect(session, prospect_id, expected_version)
    apply_do_not_contact(session, [prospect_id], reason=reason, actor=actor, note=note, notify=True)
    return prospect_details(session, prospect.id)


@dataclass(frozen=True)
class AddressesResult:
    """`mark_addresses`: what happened to the prospects found, and the addresses no prospect has."""

    prospects: DoNotContactResult
    blocked_unknown: list[str]


def mark_addresses(
    session: Session, raw_addresses: Sequence[str], *, reason: str, actor: Actor, secret_key: bytes, note: str = ""
) -> AddressesResult:
    """Do not contact by address, as typed or listed in a file: the prospects found are marked, and an address
    no prospect has yet is blocked from future imports by its fingerprint. Nothing is written when any address
    is not valid."""
    note = checked_reason(reason, note)
    shown: dict[str, str] = {}  # {identity: the address as first given}
    invalid = []
    for value in raw_addresses:
        try:
            address = normalise_email(value)
            shown.setdefault(address_key(address), address)
        except InvalidEmail as error:
            invalid.append(f'"{value}" ({error.reason})')
    if invalid:
        raise InvalidInput(f"Not valid email addresses: {', '.join(invalid[:5])}{' …' if len(invalid) > 5 else ''}. "
                           "Nothing was changed.")
    if not shown:
        raise InvalidInput("Give at least one address.")
    known = prospect_ids_by_key(session, list(shown))
    result = apply_do_not_contact(session, list(known.values()), reason=reason, actor=actor, note=note, notify=True)
    unknown = [address for key, address in shown.items() if key not in known]
    for address in unknown:
        block_unknown_address(session, address, secret_key=secret_key, actor=actor)
    return AddressesResult(result, unknown)


def _rows_written(session: Session, statement: Any) -> int:
    # An INSERT's row count is dropped with its cursor unless asked for: psycopg's then says -1.
    result = session.execute(statement, execution_options={"preserve_rowcount": True})
    return cast(CursorResult[Any], result).rowcount


# From this many prospects, a chunk's first try is a plain INSERT (see _insert_do_not_contact).
PLAIN_INSERT_FROM = 1_000


class _NotAllInserted(Exception):
    """Undoes a chunk of do-not-contact rows of which some were not inserted: marked already, or not there."""


def _insert_do_not_contact(
    session: Session, prospect_ids: Sequence[int], values: dict[str, Any], audit: dict[str, Any],
    created_by: dt.datetime | None = None,
) -> list[int]:
    """Inserts do-not-contact rows (`values`), each with its audit row (`audit`), for those of `prospect_ids` that
    exist (created by `created_by`, when given) and are not marked yet; returns the ids inserted, in order.
    INSERT ... SELECT: the ids travel to the database once, and no row is built in Python.

    Without `created_by` the rows are made from the ids themselves, and the foreign key check, which visits each
    prospect anyway, finds one that does not exist: then the chunk is undone and done again on the prospects still
    there, locked first. Reading the prospects beforehand cost a second visit to each (on 100,000 prospects, about
    0.1 s of 1.3 on PostgreSQL). Likewise, from PLAIN_INSERT_FROM prospects the first try is a plain INSERT, which
    fails on a prospect marked already: ON CONFLICT DO NOTHING, which the second try uses, cost PostgreSQL 0.18 s
    more on 100,000 prospects none of whom was marked (1.57-1.61 s against 1.76-1.84 s, 2026-12-01). A smaller
    list keeps it: there someone marked already is common (a second click on an unsubscribe link), and PostgreSQL
    logs every failed statement as an error. On PostgreSQL two bulk changes may mark the same prospect at once: the
    second one waits for the first, then finds the row there and leaves it, as for any prospect already marked.

    Fewer than PLAIN_INSERT_FROM (a save from Slack, a click on an unsubscribe link) are chosen from the prospects
    still there, locked against a delete as they are read (FOR KEY SHARE on PostgreSQL; a SQLite writer holds the
    database's lock), so that the foreign key check can not fail and no savepoint is needed: one statement where
    the savepoint made it three (on PostgreSQL, a Slack save's two round trips of thirteen)."""
    postgres = session.get_bind().dialect.name == "postgresql"

    def constants(table: Any, row: dict[str, Any]) -> list[Any]:
        return [literal(value, table.c[name].type) for name, value in row.items()]

    def rows(ids: Sequence[int], *, returning: bool = True, skip_marked: bool = True, locked: bool = False) -> Any:
        """The do-not-contact rows of `ids`; `locked`: of those still there only, each locked as it is read."""
        if created_by is None and not locked:
            # WHERE: SQLite would read the ON of ON CONFLICT as the join's.
            chosen = select(id_values(session, ids), *constants(table_of(DoNotContact), values)).where(true())
        else:
            # Read here, where the prospects' rows are visited anyway: a separate pass over them cost as much as
            # a third of a bulk request's approval.
            chosen = (select(Prospect.id, *constants(table_of(DoNotContact), values))
                      .where(among(session, Prospect.id, ids)))
            if created_by is not None:
                chosen = chosen.where(Prospect.created_at <= created_by)
            # In id order on PostgreSQL, where it is the order the prospects get locked in; SQLite would honour an
            # ORDER BY by reading every prospect.
            if postgres:
                chosen = chosen.order_by(Prospect.id)
                if locked:
                    chosen = chosen.with_for_update(key_share=True)
        statement = insert_skipping_conflicts(session, DoNotContact).from_select(["prospect_id", *values], chosen)
        if skip_marked:
            statement = statement.on_conflict_do_nothing()
        return statement.returning(DoNotContact.prospect_id) if returning else statement

    def audit_rows(chosen: Any) -> Any:
        return insert(AuditEntry).from_select(
            ["prospect_id", *audit], select(chosen, *constants(table_of(AuditEntry), audit)).order_by(chosen))

    def insert_with_audit(ids: Sequence[int], *, locked: bool = False) -> list[int]:
        if not postgres:
            # SQLite: the writer holds the database's lock, so nothing changes between the two statements.
            new_ids = sorted(session.scalars(rows(ids, locked=locked)))
            session.execute(audit_rows(id_values(session, new_ids)))
            return new_ids
        inserted = rows(ids, locked=locked).cte("inserted")
        return sorted(session.scalars(audit_rows(inserted.c.prospect_id).returning(AuditEntry.prospect_id)))

    def insert_counted(ids: Sequence[int]) -> int:
        """As insert_with_audit, but reads nothing back, and fails on a prospect marked already: how many were
        inserted. When that is all of them, their ids are known already; reading 100,000 back cost an eighth of a
        do not contact on SQLite."""
        if not postgres:
            inserted = _rows_written(session, rows(ids, returning=False, skip_marked=False))
            if inserted == len(ids):
                session.execute(audit_rows(id_values(session, ids)))
            return inserted
        return _rows_written(session, audit_rows(rows(ids, skip_marked=False).cte("inserted").c.prospect_id))

    if len(prospect_ids) < PLAIN_INSERT_FROM:
        return insert_with_audit(prospect_ids, locked=True)

    # The foreign key checks lock each prospect inserted (FOR KEY SHARE on PostgreSQL), in id order, until the
    # transaction ends, so no lock is taken beforehand; if a prospect is gone, or is deleted while the statement
    # runs, its check fails, and if one is marked already, the primary key does. Usually every prospect is there
    # and none is marked yet. Otherwise the chunk is undone and done again on the prospects still there, locked
    # first, skipping those marked already and reading back which ones it marked.
    try:
        with session.begin_nested():
            if insert_counted(prospect_ids) == len(prospect_ids):
                return list(prospect_ids)
            raise _NotAllInserted
    except _NotAllInserted:
        pass
    except IntegrityError as error:
        if not (is_foreign_key_violation(error) or is_key_violation(error)):
            raise
    present = sorted(lock_existing(session, prospect_ids))
    return insert_with_audit(present) if present else []


def lift_do_not_contact(
    session: Session, prospect_id: int, *, actor: Actor, expected_version: int | None = None
) -> ProspectDetails:
    """Makes a prospect contactable again, when a colleague's do not contact was a mistake. A prospect's own
    opt-out can never be lifted, nor can anyone's at a blocked domain (ProspectDetails.lift_refusal)."""
    prospect = lock_prospect(session, prospect_id, expected_version)
    dnc = session.get(DoNotContact, prospect_id)  # read afresh with the prospect, under its lock
    details = prospect_details(session, prospect_id)
    if dnc is None:
        return details
    if details.lift_refusal:
        raise NotAllowed(details.lift_refusal)
    before = dnc_audit_state(dnc)
    # The version must keep moving forward although the do-not-contact revision it included goes away.
    prospect.version = prospect_version(prospect, dnc) + 1
    prospect.updated_at = utcnow()
    session.execute(delete(DoNotContact).where(DoNotContact.prospect_id == prospect_id))
    record_audit(session, actor, "lift_do_not_contact", prospect_id=prospect_id, before=before,
                 after=dnc_audit_state(None))
    session.flush()
    session.expire_all()
    return prospect_details(session, prospect_id)

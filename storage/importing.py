"""Import prospects from a CSV file into a campaign, in chunks that each commit with their audit row.

Memory stays flat: the file is streamed, each chunk is looked up against the database in a few queries, and
duplicates within the file are recognised by the import run that created their membership, not by a set kept
in memory. Re-running an interrupted import is safe: everything already written is recognised.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from itertools import islice
from typing import NamedTuple

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.audit import Actor, record_audit
from storage.campaigns import get_or_create_campaign
from storage.domains import blocked_domains_among
from storage.emails import InvalidEmail, email_domain, normalise_email
from storage.fast_insert import among, bulk_insert
from storage.keys import address_fingerprint
from storage.models import DoNotContact, Import, Membership, Suppression, utcnow
from storage.prospect_csv import ProspectCsv, RowProblem, SourceRow
from storage.prospects import insert_new_prospects, new_prospect_row, prospect_ids_by_email

Transaction = Callable[[], AbstractContextManager[Session]]
IMPORT_CHUNK = 5_000
SAMPLES_KEPT = 20

OUTCOMES = ("new", "added", "already_in_campaign", "duplicate_in_file", "skipped_do_not_contact",
            "skipped_blocked", "invalid")


class RowOutcome(NamedTuple):
    # A tuple, not a dataclass: one is made per row of files with millions of rows.
    line: int
    email: str
    outcome: str
    message: str = ""


@dataclass
class ImportReport:
    campaign_name: str
    import_id: int
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    # A few examples of each problem for the summary; --report writes every one.
    samples: dict[str, list[RowOutcome]] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    def add(self, outcome: RowOutcome) -> None:
        self.counts[outcome.outcome] += 1
        if outcome.outcome not in ("new", "added"):
            kept = self.samples.setdefault(outcome.outcome, [])
            if len(kept) < SAMPLES_KEPT:
                kept.append(outcome)


def import_prospects(
    transaction: Transaction,
    source: ProspectCsv,
    *,
    campaign_name: str,
    actor: Actor,
    secret_key: bytes,
    source_label: str,
    on_outcome: Callable[[RowOutcome], None] | None = None,
    on_progress: Callable[[], None] | None = None,
    chunk_size: int = IMPORT_CHUNK,
) -> ImportReport:
    with transaction() as session:
        campaign = get_or_create_campaign(session, campaign_name, actor)
        run = Import(campaign_id=campaign.id, actor=actor.who, source_name=source_label[:255], started_at=utcnow(),
                     counts={})
        session.add(run)
        session.flush()
        report = ImportReport(campaign_name=campaign.name, import_id=run.id)
        campaign_id = campaign.id

    def emit(outcome: RowOutcome) -> None:
        report.add(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    rows = iter(source)
    while chunk := list(islice(rows, chunk_size)):
        with _no_cycle_collection(), transaction() as session:
            outcomes = _import_chunk(session, chunk, campaign_id=campaign_id, import_id=report.import_id,
                                     actor=actor, secret_key=secret_key, source_label=source_label)
        for outcome in outcomes:
            emit(outcome)
        if on_progress is not None:
            on_progress()

    with transaction() as session:
        session.execute(
            update(Import).where(Import.id == report.import_id).values(finished_at=utcnow(), counts=report.counts)
        )
        record_audit(session, actor, "import.finish", campaign_id=campaign_id,
                     after={"import_id": report.import_id, **report.counts})
    return report


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """A chunk allocates tens of thousands of short-lived, acyclic objects; the cycle collector would rescan
    them again and again (a third of the import's time) and find nothing to free."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _import_chunk(
    session: Session,
    chunk: list[SourceRow | RowProblem],
    *,
    campaign_id: int,
    import_id: int,
    actor: Actor,
    secret_key: bytes,
    source_label: str,
) -> Iterator[RowOutcome]:
    """Writes one chunk and returns each row's outcome, in file order."""
    outcomes: dict[int, RowOutcome] = {}
    first_line_of: dict[str, int] = {}
    values_of: dict[str, dict[str, str]] = {}
    for row in chunk:
        if isinstance(row, RowProblem):
            outcomes[row.line] = RowOutcome(row.line, "", "invalid", row.message)
            continue
        raw = row.values.get("email", "")
        try:
            email = normalise_email(raw)
        except InvalidEmail as error:
            outcomes[row.line] = RowOutcome(row.line, raw, "invalid", f"invalid email address: {error.reason}")
            continue
        if email in first_line_of:
            outcomes[row.line] = RowOutcome(row.line, email, "duplicate_in_file",
                                            f"same address as line {first_line_of[email]}")
            continue
        first_line_of[email] = row.line
        values_of[email] = {**row.values, "email": email}

    known = prospect_ids_by_email(session, list(values_of))
    unknown = [email for email in values_of if email not in known]

    fingerprints = {email: address_fingerprint(secret_key, email) for email in unknown}
    suppressed = set(session.scalars(select(Suppression.fingerprint)
                                     .where(among(session, Suppression.fingerprint, list(fingerprints.values())))))
    blocked_domains = blocked_domains_among(session, sorted({email_domain(email) for email in unknown}))
    now = utcnow()
    to_create = []
    for email in unknown:
        if fingerprints[email] in suppressed:
            outcomes[first_line_of[email]] = RowOutcome(first_line_of[email], email, "skipped_blocked",
                                                        "this address was deleted and blocked from imports")
        elif blocked_domains and email_domain(email) in blocked_domains:
            outcomes[first_line_of[email]] = RowOutcome(first_line_of[email], email, "skipped_blocked",
                                                        f"everyone at {email_domain(email)} is blocked")
        else:
            to_create.append(new_prospect_row(values_of[email], source=source_label, now=now))
    created = insert_new_prospects(session, to_create)
    # A concurrent import may have created some of them a moment ago: treat those as known people.
    raced = [row["email"] for row in to_create if row["email"] not in created]
    known.update(prospect_ids_by_email(session, raced))

    known_ids = list(known.values())
    do_not_contact = set(session.scalars(select(DoNotContact.prospect_id)
                                         .where(among(session, DoNotContact.prospect_id, known_ids))))
    memberships = dict(
        session.execute(
            select(Membership.prospect_id, Membership.import_id).where(
                Membership.campaign_id == campaign_id, among(session, Membership.prospect_id, known_ids)
            )
        ).all()
    )
    to_add: list[int] = []
    for email, prospect_id in known.items():
        line = first_line_of[email]
        if prospect_id in do_not_contact:
            outcomes[line] = RowOutcome(line, email, "skipped_do_not_contact", "this person is do not contact")
        elif prospect_id in memberships:
            in_this_run = memberships[prospect_id] == import_id
            outcomes[line] = RowOutcome(line, email, "duplicate_in_file" if in_this_run else "already_in_campaign",
                                        "already added earlier in this file" if in_this_run else "")
        else:
            to_add.append(prospect_id)
            outcomes[line] = RowOutcome(line, email, "added")
    for email in created:
        outcomes[first_line_of[email]] = RowOutcome(first_line_of[email], email, "new")

    new_members = list(created.values()) + to_add
    bulk_insert(
        session,
        Membership,
        [{"campaign_id": campaign_id, "prospect_id": pid, "status": "active", "added_at": now, "import_id": import_id}
         for pid in new_members],
        ignore_duplicates=True,
    )
    if new_members:
        record_audit(session, actor, "import", campaign_id=campaign_id,
                     after={"import_id": import_id, "created": sorted(created.values()), "added": sorted(to_add)})
    return iter(sorted(outcomes.values()))

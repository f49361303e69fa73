"""The whole lifecycle of a prospect, model-based (issue #11, item 7): a hypothesis state machine imports, marks do
not contact, lifts, deletes, blocks domains, clicks unsubscribe links old and new, asks for and approves bulk
unsubscribes, saves or deletes from Slack screens opened steps earlier, imports files with an Unsubscribed
column, reads replies asking to stop, mailto: unsubscribes, replies that may be opt-outs (and decides their cards)
and hard bounces from the mailbox — each step one unit of work, through
the storage functions the CLI, Slack and the unsubscribe endpoint call — and after every step compares the
database with the plain-Python model of the rules in tests/lifecycle_model.py.

After every step: `sendable_recipients` is exactly the model's (campaign, address) pairs; every live prospect has
the model's id, reason and campaigns, and nobody else exists; the step changed exactly the people the model says
(a link, a screen or a frozen set never reaches someone new); a refused step wrote nothing; the outbox got one
opt-out notification per change due; an address nobody live has (nor their name) is in no column of any table;
an own opt-out is never undone.

Bounded to about a minute per database. LIFECYCLE_DEPTH=10 runs ten times as many examples. The pool spells the
same people in upper and lower case, composed and decomposed Unicode, and Unicode and punycode domains
(josé@exämple.es, josé@xn--exmple-cua.es).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session

from storage import bulk_requests as bulk
from storage import do_not_contact, inbound, reply_cards
from storage.audit import Actor
from storage.campaigns import find_campaign
from storage.db import Database
from storage.deferred_indexes import missing as missing_indexes
from storage.deletion import delete_prospect
from storage.do_not_contact import lift_do_not_contact, mark_addresses, mark_prospect_do_not_contact
from storage.domains import block_domain
from storage.emails import normalise_email
from storage.errors import InvalidInput, NotAllowed, ProspectNotFound, StaleProspect
from storage.importing import import_prospects
from storage.mail_reading import read_mail
from storage.models import DoNotContact, Membership, Notification, Prospect
from storage.outbox import REPLY_CARD
from storage.prospect_csv import ProspectCsv
from storage.prospects import find_prospect_id, prospect_details
from storage.reasons import USER_DNC_REASONS
from storage.reply_intent import classify_reply
from storage.search import search_prospects
from storage.sending import record_activity, sendable_recipients
from storage.suppressions import is_address_suppressed
from storage.unsubscribe import membership_for_token, unsubscribe, unsubscribe_address_for, unsubscribe_token
from tests.inbound_mail import bounce, reply
from tests.lifecycle_model import OWN_OPT_OUT, Card, Lifecycle, Link, Person, Request, Screen, domain_of, identity
from tests.support import TEST_SECRET_KEY, empty_database_url

DEPTH = int(os.environ.get("LIFECYCLE_DEPTH", "1"))

MEMBER = Actor("slack:U0ALICE", "slack")
MANAGER = Actor("slack:U0BOSS", "slack")
CLI = Actor("cli:ops", "cli")

# A small pool, so that re-imports, deletes of the newest row and clicks on old links keep meeting. Each person:
# the spellings files and people use for them, and a surname nobody else has (searched for after a delete).
PEOPLE: dict[str, tuple[list[str], str, str]] = {
    "jane@acme.com": (["jane@acme.com", "Jane@Acme.com", "JANE@ACME.COM"], "Jane", "Quillfeather"),
    "bob@acme.com": (["bob@acme.com", "Bob@ACME.com"], "Bob", "Marchbanks"),
    "ana@globex.io": (["ana@globex.io", "Ana@Globex.IO"], "Ana", "Villanueva"),
    "lee@globex.io": (["lee@globex.io"], "Lee", "Okonkwo"),
    "sam@initech.net": (["sam@initech.net", "SAM@initech.net"], "Sam", "Thistlewood"),
    "kim@initech.net": (["kim@initech.net", "Kim@Initech.Net"], "Kim", "Nakagawa"),
    "josé@exämple.es": (["josé@exämple.es", "josé@xn--exmple-cua.es", "JOSÉ@EXÄMPLE.ES",
                         unicodedata.normalize("NFD", "josé@exämple.es")], "José", "Etxeberria"),
    "zoë@exämple.es": (["zoë@xn--exmple-cua.es", "Zoë@Exämple.es"], "Zoë", "Abernathy"),
}
DOMAINS = ["acme.com", "ACME.com", "globex.io", "GLOBEX.io", "initech.net", "Initech.NET", "exämple.es",
           "xn--exmple-cua.es"]
# Only initech.net and exämple.es are ever blocked whole: a blocked domain stops every re-import there, and
# re-imports are the point of the other addresses.
BLOCKABLE_DOMAINS = ["initech.net", "Initech.NET", "exämple.es", "xn--exmple-cua.es"]
SPELLINGS = [spelling for spellings, _, _ in PEOPLE.values() for spelling in spellings]
assert all(identity(spelling) == key for key, (spellings, _, _) in PEOPLE.items() for spelling in spellings)
# Campaign names are one campaign regardless of case.
CAMPAIGNS = {"Q1 Outreach": ["Q1 Outreach", "q1 outreach"], "Q2 Outreach": ["Q2 Outreach"],
             "Agencies": ["Agencies", "AGENCIES"]}
REASONS = list(USER_DNC_REASONS)
# An Unsubscribed column: another tool's record of people's own opt-outs.
OPTED_OUT_CELLS = ["yes", "2024-03-05"]
UNSUBSCRIBED_CELLS = ["", "no", *OPTED_OUT_CELLS]
NOTE = "Asked us on a call"
# How a person asks to stop from an email: its link, their mail client's mailto: button, or a reply (rule 8).
HOW_TO_STOP = ["link", "mailto", "reply"]
UNSUBSCRIBE_MAILBOX = "unsubscribe@acme-sales.example"
CARD_DECISIONS = {"do-not-contact": OWN_OPT_OUT, "not-interested": "no-interest", "not-an-opt-out": None}


def note_for(reason: str) -> str:
    return NOTE if reason == "other" else ""


@dataclass(frozen=True)
class ProspectRow:
    key: str  # identity(email)
    email: str
    version: int
    reason: str | None
    campaign_ids: frozenset[int]


@dataclass(frozen=True)
class Observation:
    """The database at one moment: every prospect, every table's row count, the newest notification."""

    prospects: dict[int, ProspectRow]
    counts: dict[str, int]
    last_notification: int


def observe(session: Session, tables: list[str]) -> Observation:
    dnc = dict(session.execute(select(DoNotContact.prospect_id, DoNotContact.revision)).all())
    reasons = dict(session.execute(select(DoNotContact.prospect_id, DoNotContact.reason)).all())
    campaigns: dict[int, set[int]] = {}
    for prospect_id, campaign_id in session.execute(select(Membership.prospect_id, Membership.campaign_id)):
        campaigns.setdefault(prospect_id, set()).add(campaign_id)
    prospects = {
        pid: ProspectRow(identity(email), email, version + dnc.get(pid, 0), reasons.get(pid),
                         frozenset(campaigns.get(pid, ())))
        for pid, email, version in session.execute(select(Prospect.id, Prospect.email, Prospect.version))
    }
    counts: dict[str, int] = dict(session.execute(text(" UNION ALL ".join(
        f"SELECT '{name}', count(*) FROM \"{name}\"" for name in tables))).all())
    return Observation(prospects, counts, session.scalar(select(func.max(Notification.id))) or 0)


def rows_as_text(session: Session, tables: list[str]) -> dict[str, str]:
    """Every table's every value as text, lower-cased: what a search for a deleted person's address reads."""
    found = {}
    for name in tables:
        values = []
        for row in session.execute(text(f'SELECT * FROM "{name}"')):
            for value in row:
                if isinstance(value, dict | list):
                    values += [json.dumps(value, ensure_ascii=False), json.dumps(value)]
                elif isinstance(value, bytes | memoryview):
                    values.append(bytes(value).decode("utf-8", "replace"))
                elif value is not None:
                    values.append(str(value))
        found[name] = "\n".join(values).lower()
    return found


def traces_of(key: str) -> set[str]:
    """The strings that would betray a person: each spelling of their address (and as JSON escapes it), their
    surname."""
    spellings, _, surname = PEOPLE[key]
    forms = set()
    for spelling in {*spellings, key}:
        for form in (spelling.lower(), normalise_email(spelling)):
            forms |= {form, unicodedata.normalize("NFD", form), json.dumps(form)[1:-1]}
    return forms | {surname.lower()}


class LifecycleMachine(RuleBasedStateMachine):
    def __init__(self, database: Database, secret_key: bytes, *, directory: Path | None = None) -> None:
        super().__init__()
        self.database = database
        self.directory = directory
        self.key = secret_key
        self.model = Lifecycle()
        self.campaign_ids: dict[str, int] = {}
        self.tables = sorted(inspect(database.engine).get_table_names())
        self.spoken: dict[int, str] = {}  # prospect id -> identity, of everyone the database ever held
        self.latest: Observation | None = None  # after the last step; the invariants read it
        self.uid = 0  # the last message read from the mailbox

    @initialize(first_try=st.sampled_from(["on conflict", "plain insert"]))
    def choose_the_first_try_of_lists(self, first_try: str) -> None:
        """A short list of do not contact is chosen from the prospects still there, locked as they are read, with ON
        CONFLICT DO NOTHING; from PLAIN_INSERT_FROM prospects (a thousand), each chunk is first tried as a plain
        INSERT that fails on someone gone or marked already. The model's lists are short: half the examples try
        them the way a thousand would be."""
        self.plain_insert_from = do_not_contact.PLAIN_INSERT_FROM
        if first_try == "plain insert":
            do_not_contact.PLAIN_INSERT_FROM = 1
        event(f"first try of lists: {first_try}")

    def teardown(self) -> None:
        do_not_contact.PLAIN_INSERT_FROM = getattr(self, "plain_insert_from", do_not_contact.PLAIN_INSERT_FROM)
        self.database.dispose()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)

    # -- observing ----------------------------------------------------------------------------------------------

    def observe(self) -> Observation:
        with self.database.snapshot() as session:
            seen = observe(session, self.tables)
        self.spoken.update({pid: row.key for pid, row in seen.prospects.items()})
        self.latest = seen
        return seen

    def current(self) -> Observation:
        """The database now: as the last step left it (nothing else writes), or read afresh."""
        return self.latest or self.observe()

    def check_step(self, step: str, before: Observation, *, changed: set[str],
                   notified: Sequence[tuple[str | None, int, str]] = (), refused: bool = False) -> Observation:
        """The step changed exactly the people in `changed` (identities) and wrote the notifications in
        `notified`: (identity, 1, reason) for one prospect, (None, count, reason) for a summary."""
        after = self.observe()
        if refused:
            assert after == before, f"{step}: refused, yet something was written"
            return after
        touched = set()
        for pid in before.prospects.keys() | after.prospects.keys():
            was, now = before.prospects.get(pid), after.prospects.get(pid)
            if was != now:
                touched |= {row.key for row in (was, now) if row is not None}
        assert touched == changed, f"{step}: changed {sorted(touched)}; the model changes {sorted(changed)}"
        with self.database.snapshot() as session:
            rows = session.execute(select(Notification.prospect_id, Notification.prospect_count, Notification.reason)
                                   .where(Notification.id > before.last_notification)).all()
        got = Counter((None if pid is None else after.prospects[pid].key if pid in after.prospects
                       else self.spoken.get(pid, f"#{pid}"), n, reason) for pid, n, reason in rows)
        assert got == Counter(notified), f"{step}: notifications {dict(got)}, expected {Counter(notified)}"
        return after

    # -- invariants ---------------------------------------------------------------------------------------------

    @invariant()
    def every_index_is_there(self) -> None:
        with self.database.engine.connect() as connection:
            assert not missing_indexes(connection), f"indexes missing: {missing_indexes(connection)}"

    @invariant()
    def sendable_is_the_models(self) -> None:
        with self.database.snapshot() as session:
            rows = session.execute(select(sendable_recipients.c.campaign_id, sendable_recipients.c.email)).all()
        names = {cid: name for name, cid in self.campaign_ids.items()}
        got = Counter((names.get(cid, f"#{cid}"), identity(email)) for cid, email in rows)
        expected = Counter(self.model.sendable())
        assert got == expected, (f"sendable_recipients: extra {sorted((got - expected).elements())}, "
                                 f"missing {sorted((expected - got).elements())}")

    @invariant()
    def prospects_are_the_models(self) -> None:
        seen = self.current().prospects
        by_key = {row.key: (pid, row) for pid, row in seen.items()}
        assert len(by_key) == len(seen), f"one address held by several prospects: {sorted(r.email for r in seen.values())}"
        assert set(by_key) == set(self.model.live), (f"prospects {sorted(by_key)}, the model has "
                                                     f"{sorted(self.model.live)}")
        for key, person in self.model.live.items():
            pid, row = by_key[key]
            campaigns = {self.campaign_ids[name] for name in person.campaigns}
            assert (pid, row.reason, row.campaign_ids) == (person.prospect_id, person.reason, campaigns), (
                f"{key}: id {pid}, do not contact {row.reason!r}, campaigns {sorted(row.campaign_ids)}; the model "
                f"has id {person.prospect_id}, {person.reason!r}, {sorted(campaigns)}")

    @invariant()
    def engagement_is_the_models(self) -> None:
        """What the no-engagement rule reads, kept on each membership by the activity trigger."""
        names = {cid: name for name, cid in self.campaign_ids.items()}
        with self.database.snapshot() as session:
            got = {(pid, names[cid]): (sent, bool(engaged)) for pid, cid, sent, engaged in session.execute(
                select(Membership.prospect_id, Membership.campaign_id, Membership.sent_count, Membership.engaged))}
        expected = {(person.prospect_id, campaign): (person.sent[campaign], campaign in person.engaged)
                    for person in self.model.live.values() for campaign in person.campaigns}
        assert got == expected, f"memberships' (sent, engaged): {got}; the model has {expected}"

    @invariant()
    def each_campaigns_search_finds_its_members(self) -> None:
        """By their surname, in each campaign they are in and in no other: a campaign's search reads the copies of
        the search keys on its memberships, which imports of new and known people, deletes and re-imports must
        all leave right."""
        with self.database.snapshot() as session:
            for campaign, campaign_id in self.campaign_ids.items():
                listed = {item.id for item in search_prospects(session, "", campaign_id=campaign_id, limit=100).items}
                members = {person.prospect_id for person in self.model.live.values() if campaign in person.campaigns}
                assert listed == members, f"{campaign} lists {sorted(listed)}; the model has {sorted(members)}"
                for key, person in self.model.live.items():
                    found = search_prospects(session, PEOPLE[key][2], campaign_id=campaign_id, limit=100).items
                    assert ([item.id for item in found] == [person.prospect_id]) == (campaign in person.campaigns), (
                        f"{key} searched in {campaign}: {[item.email for item in found]}")

    @invariant()
    def nobody_gone_leaves_a_trace(self) -> None:
        gone = [key for key in PEOPLE if key not in self.model.live]
        if not gone:
            return
        with self.database.snapshot() as session:
            tables = rows_as_text(session, self.tables)
        for key in gone:
            for trace in traces_of(key):
                holding = [name for name, content in tables.items() if trace in content]
                assert not holding, f"{key} is not in the database, yet {trace!r} is in {holding}"

    @invariant()
    def own_opt_outs_stay(self) -> None:
        with self.database.snapshot() as session:
            for key in sorted(self.model.own_opt_outs):
                if key in self.model.live:
                    reason = session.scalar(select(DoNotContact.reason)
                                            .where(DoNotContact.prospect_id == self.model.live[key].prospect_id))
                    assert reason == OWN_OPT_OUT, f"{key} opted out themselves, but is now {reason!r}"
                else:
                    spellings = PEOPLE[key][0]
                    assert any(is_address_suppressed(session, normalise_email(s), secret_key=self.key)
                               for s in spellings), f"{key} opted out themselves, but imports no longer skip them"

    # -- steps --------------------------------------------------------------------------------------------------

    @rule(campaign=st.sampled_from(sorted(CAMPAIGNS)), data=st.data(),
          addresses=st.lists(st.sampled_from(SPELLINGS), min_size=1, max_size=4))
    def import_batch(self, campaign: str, data: st.DataObject, addresses: list[str]) -> None:
        self.import_file(campaign, data.draw(st.sampled_from(CAMPAIGNS[campaign]), label="campaign as typed"),
                         addresses)

    @rule(campaign=st.sampled_from(sorted(CAMPAIGNS)),
          rows=st.lists(st.tuples(st.sampled_from(SPELLINGS), st.sampled_from(UNSUBSCRIBED_CELLS)),
                        min_size=1, max_size=4))
    def import_with_unsubscribed_column(self, campaign: str, rows: list[tuple[str, str]]) -> None:
        """An export from another tool, whose Unsubscribed column records people's own opt-outs."""
        self.import_file(campaign, campaign, [address for address, _ in rows], [cell for _, cell in rows])

    @rule(campaign=st.sampled_from(sorted(CAMPAIGNS)),
          rows=st.lists(st.tuples(st.sampled_from(SPELLINGS), st.sampled_from(UNSUBSCRIBED_CELLS)),
                        min_size=2, max_size=4), data=st.data())
    def import_interrupted(self, campaign: str, rows: list[tuple[str, str]], data: st.DataObject) -> None:
        """An import stopped midway (Ctrl-C, a crash): the rows it committed stay, the rest are not there, its
        opt-outs are not announced, and every index is back; running a file again is another step."""
        stop_after = data.draw(st.integers(1, len(rows) - 1), label="rows committed")
        self.import_file(campaign, campaign, [address for address, _ in rows], [cell for _, cell in rows],
                         stop_after=stop_after)

    @precondition(lambda self: self.model.returnable())
    @rule(campaign=st.sampled_from(sorted(CAMPAIGNS)), data=st.data())
    def import_someone_deleted(self, campaign: str, data: st.DataObject) -> None:
        """The help page's warning: someone deleted without a block is extracted again, in any spelling."""
        key = data.draw(st.sampled_from(sorted(self.model.returnable())), label="deleted")
        self.import_file(campaign, campaign, [data.draw(st.sampled_from(PEOPLE[key][0]), label="spelled")])

    def import_file(self, campaign: str, spelled: str, addresses: list[str], unsubscribed: list[str] | None = None,
                    *, stop_after: int | None = None) -> None:
        """Imports the rows; with `stop_after`, the import is interrupted once that many rows (one chunk each)
        have committed."""
        lines = ["Email,First Name,Last Name,Company" + (",Unsubscribed" if unsubscribed is not None else "")]
        for i, address in enumerate(addresses):
            _, first, last = PEOPLE[identity(address)]
            lines.append(f"{address},{first},{last},{domain_of(identity(address)).split('.')[0].title()}"
                         + (f",{unsubscribed[i]}" if unsubscribed is not None else ""))
        before = self.current()
        committed = addresses[:stop_after]
        opting_out = {identity(a) for a, cell in zip(committed, unsubscribed or []) if cell in OPTED_OUT_CELLS}
        expected = self.model.import_rows(campaign, committed, opting_out)
        chunks = 0

        def interrupt_after_chunk(_bytes_read: int) -> None:
            nonlocal chunks
            chunks += 1
            if chunks == stop_after:
                raise KeyboardInterrupt

        interrupted = {} if stop_after is None else {"chunk_size": 1, "on_progress": interrupt_after_chunk}
        step = f"import {addresses} into {spelled}" + (f", interrupted after {stop_after}" if stop_after else "")
        try:
            report = import_prospects(self.database.transaction,
                                      ProspectCsv(io.BytesIO("\n".join(lines).encode()), name="leads.csv"),
                                      campaign_name=spelled, actor=CLI, secret_key=self.key,
                                      source_label="lifecycle", **interrupted)  # type: ignore[arg-type]
        except KeyboardInterrupt:
            assert stop_after is not None, f"{step}: interrupted unasked"
            event("import: interrupted")
        else:
            assert stop_after is None, f"{step}: not interrupted"
            got = Counter({outcome: n for outcome, n in report.counts.items() if n})
            assert got == expected.counts, f"{step}: outcomes {dict(got)}, the model expects {dict(expected.counts)}"
            for outcome in got:
                event(f"import: {outcome}")
        with self.database.transaction() as session:
            self.campaign_ids[campaign] = find_campaign(session, spelled).id
            first_spelling = {identity(a): a for a in reversed(addresses)}
            for key in expected.created:
                self.model.live[key].prospect_id = find_prospect_id(session, first_spelling[key])
            # The sender mails every new member who may be emailed: each gets an unsubscribe link.
            for key in expected.created + expected.added:
                person = self.model.live[key]
                if person.reason is None and not person.bounced:
                    self.send_email(session, campaign, person, step)
        # An import announces its opt-outs in one summary, not a message each, when it finishes.
        announced = expected.opted_out and stop_after is None
        self.check_step(step, before, changed={*expected.created, *expected.added, *expected.opted_out},
                        notified=[(None, len(expected.opted_out), OWN_OPT_OUT)] if announced else [])

    def send_email(self, session: Session, campaign: str, person: Person, step: str) -> None:
        """What the sender records of an email it sent: its Message-ID; the email carries an unsubscribe link."""
        membership_id = session.scalar(select(Membership.id).where(
            Membership.prospect_id == person.prospect_id, Membership.campaign_id == self.campaign_ids[campaign]))
        assert membership_id is not None, f"{step}: {person.address} is not a member of {campaign}"
        message_id = f"life-{membership_id}-{len(self.model.links)}@acme-sales.example"
        record_activity(session, self.campaign_ids[campaign], person.prospect_id, "sent", message_id=message_id)
        self.model.send(person, campaign)
        self.model.links.append(Link(unsubscribe_token(self.key, membership_id), membership_id,
                                     person.serial, person.address, campaign, message_id))

    @precondition(lambda self: self.model.sendable())
    @rule(data=st.data())
    def send_again(self, data: st.DataObject) -> None:
        """The sender's next step of a campaign: one more email to each member it may still email."""
        campaign = data.draw(st.sampled_from(sorted({name for name, _ in self.model.sendable()})), label="campaign")
        step = f"send the next email of {campaign}"
        before = self.current()
        with self.database.transaction() as session:
            for name, key in sorted(self.model.sendable()):
                if name == campaign:
                    self.send_email(session, campaign, self.model.live[key], step)
        self.check_step(step, before, changed=set())

    def addresses(self, serials: frozenset[int]) -> list[str]:
        return sorted(person.address for person in map(self.model.by_serial, serials) if person is not None)

    def pick_live(self, data: st.DataObject) -> Person:
        return self.model.live[data.draw(st.sampled_from(sorted(self.model.live)), label="prospect")]

    @precondition(lambda self: self.model.live)
    @rule(data=st.data(), reason=st.sampled_from(REASONS))
    def do_not_contact_in_slack(self, data: st.DataObject, reason: str) -> None:
        """A member opens the profile and saves at once: the screen is current."""
        self.mark_in_slack(self.pick_live(data), reason)

    def mark_in_slack(self, person: Person, reason: str) -> None:
        before = self.current()
        version = before.prospects[person.prospect_id].version
        changed = self.model.mark(person.address, reason)
        with self.database.transaction() as session:
            mark_prospect_do_not_contact(session, person.prospect_id, reason=reason, note=note_for(reason),
                                         actor=MEMBER, expected_version=version)
        self.check_step(f"do not contact {person.address} ({reason}) in Slack", before,
                        changed={person.address} if changed else set(),
                        notified=[(person.address, 1, reason)] if changed else [])

    @rule(address=st.sampled_from(SPELLINGS), reason=st.sampled_from(REASONS))
    def do_not_contact_by_address(self, address: str, reason: str) -> None:
        """`prospectbot dnc ADDRESS`: as typed, any case; an address nobody has yet is blocked from imports."""
        key = identity(address)
        before = self.current()
        changed = self.model.mark_address(key, reason)
        with self.database.transaction() as session:
            mark_addresses(session, [address], reason=reason, note=note_for(reason), actor=CLI, secret_key=self.key)
        self.check_step(f"dnc {address} ({reason})", before, changed={key} if changed else set(),
                        notified=[(key, 1, reason)] if changed else [])

    @precondition(lambda self: self.model.live)
    @rule(data=st.data())
    def lift(self, data: st.DataObject) -> None:
        person = self.pick_live(data)
        before = self.current()
        outcome = self.model.lift(person.address)
        event(f"lift: {outcome}")
        step = f"lift {person.address} ({before.prospects[person.prospect_id].reason})"
        try:
            with self.database.transaction() as session:
                lift_do_not_contact(session, person.prospect_id, actor=CLI,
                                    expected_version=prospect_details(session, person.prospect_id).version)
        except NotAllowed:
            assert outcome == "refused", f"{step}: refused; the model says {outcome}"
            self.check_step(step, before, changed=set(), refused=True)
            return
        assert outcome != "refused", f"{step}: done, but the model refuses it"
        self.check_step(step, before, changed={person.address} if outcome == "lifted" else set())

    @precondition(lambda self: self.model.live)
    @rule(data=st.data(), block=st.booleans())
    def delete(self, data: st.DataObject, block: bool) -> None:
        self.delete_from_cli(self.pick_live(data), block)

    def delete_from_cli(self, person: Person, block: bool) -> None:
        before = self.current()
        self.model.delete(person.address, block=block)
        with self.database.transaction() as session:
            delete_prospect(session, person.prospect_id, actor=CLI, block_reimport=block,
                            expected_version=prospect_details(session, person.prospect_id).version)
        self.check_step(f"delete {person.address}{' blocking re-import' if block else ''}", before,
                        changed={person.address})

    @precondition(lambda self: self.model.links)
    @rule(data=st.data(), how=st.sampled_from(HOW_TO_STOP))
    def click_unsubscribe_link(self, data: st.DataObject, how: str) -> None:
        """One-click unsubscribe through any email ever sent — its link, its mailto: address, or a reply asking to
        stop: current, or its membership deleted since, or its person deleted and re-imported since."""
        self.click(data.draw(st.sampled_from(self.model.links), label="link"), how)

    @precondition(lambda self: self.model.links_of_the_returned())
    @rule(data=st.data(), how=st.sampled_from(HOW_TO_STOP))
    def click_old_link_of_someone_back(self, data: st.DataObject, how: str) -> None:
        """The link in an email sent before a delete, clicked after the address was imported again."""
        self.click(data.draw(st.sampled_from(self.model.links_of_the_returned()), label="old link"), how)

    def click(self, link: Link, how: str = "link") -> None:
        event(f"unsubscribe by {how}: " + ("current link" if self.model.by_serial(link.serial) is not None else
                                           "old link, address live again" if link.address in self.model.live else
                                           "old link, address gone"))
        before = self.current()
        changed = self.model.unsubscribe(link)
        step = f"unsubscribe by {how} from the email to {link.address} in {link.campaign} ({link.membership_id})"
        if how == "link":
            membership_id = membership_for_token(self.key, link.token)
            assert membership_id == link.membership_id
            with self.database.transaction() as session:
                result = unsubscribe(session, membership_id)
            assert result is not None, f"{step}: the link answers 404"
        elif how == "mailto":
            self.read(reply(PEOPLE[link.address][0][-1], "", subject="unsubscribe",
                            to=unsubscribe_address_for(UNSUBSCRIBE_MAILBOX, link.token)))
        else:
            self.model.reply(link)
            outcome = self.read(reply(PEOPLE[link.address][0][0], "Please remove me from your list.",
                                      in_reply_to=link.message_id)).outcome
            assert outcome in ("do-not-contact", "already-opted-out", "address-blocked"), f"{step}: {outcome}"
        self.check_step(step, before, changed={changed.address} if changed else set(),
                        notified=[(changed.address, 1, OWN_OPT_OUT)] if changed else [])

    def read(self, raw: bytes) -> inbound.Processed:
        """A message arriving in the mailbox, as bot/inbox.py hands it over."""
        self.uid += 1
        mail = read_mail(raw)
        intent = classify_reply(mail.new_text, mail.subject) if mail.kind == "reply" else None
        context = inbound.MailboxContext("sales", 1, "lifecycle", self.key, frozenset(), UNSUBSCRIBE_MAILBOX)
        with self.database.transaction() as session:
            assert inbound.claim_mailbox(session, "sales", "lifecycle") is not None
            return inbound.process_message(session, context, self.uid, mail, intent)

    @precondition(lambda self: self.model.links)
    @rule(data=st.data())
    def reply_that_may_be_an_opt_out(self, data: st.DataObject) -> None:
        """ "Not interested" to any email ever sent: a card for the person it reaches, unless they are do not
        contact already (rule 8). It quotes their name, so a delete must erase it."""
        link = data.draw(st.sampled_from(self.model.links), label="email")
        before = self.current()
        person = self.model.may_be_an_opt_out(link)
        self.model.reply(link)
        _, first, surname = PEOPLE[link.address]
        result = self.read(reply(link.address, f"Not interested, thanks.\n{first} {surname}",
                                 in_reply_to=link.message_id))
        step = f"a reply that may be an opt-out, to the email to {link.address} in {link.campaign}"
        assert (result.outcome == "carded") == (person is not None), f"{step}: {result.outcome}"
        if person is not None:
            assert result.inbound_id is not None
            self.model.cards.append(Card(result.inbound_id, person.serial, person.address))
            event("reply card: posted")
        self.check_step(step, before, changed=set(),
                        notified=[(person.address, 1, REPLY_CARD)] if person is not None else [])

    @precondition(lambda self: self.model.cards)
    @rule(data=st.data(), decision=st.sampled_from(sorted(CARD_DECISIONS)))
    def decide_a_reply_card(self, data: st.DataObject, decision: str) -> None:
        """A member presses a button on any card ever posted: the first decision counts, once (rule 8)."""
        card = data.draw(st.sampled_from(self.model.cards), label="card")
        before = self.current()
        decided, changed = self.model.decide(card, CARD_DECISIONS[decision])
        step = f"{decision} on the card of {card.address}'s reply"
        try:
            with self.database.transaction() as session:
                reply_cards.decide_card(session, card.inbound_id, decision, actor=MEMBER)
        except reply_cards.AlreadyDecided:
            assert not decided, f"{step}: refused as decided already; the model decides it"
            event("reply card: already decided, or its person deleted")
            self.check_step(step, before, changed=set(), refused=True)
            return
        assert decided, f"{step}: decided; the model says it was closed"
        event(f"reply card: {decision}")
        self.check_step(step, before, changed={changed.address} if changed else set(),
                        notified=[(changed.address, 1, CARD_DECISIONS[decision] or "")] if changed else [])

    @precondition(lambda self: self.model.links)
    @rule(data=st.data())
    def hard_bounce(self, data: st.DataObject) -> None:
        """The email to a link's address bounced: nobody with that address is sent anything, in any campaign."""
        link = data.draw(st.sampled_from(self.model.links), label="email")
        before = self.current()
        person = self.model.hard_bounce(link)
        result = self.read(bounce(link.address, "5.1.1", original=link.message_id))
        step = f"a hard bounce of the email to {link.address} in {link.campaign}"
        assert (result.outcome == "bounced") == (person is not None), f"{step}: {result.outcome}"
        event(f"hard bounce: {result.outcome}")
        self.check_step(step, before, changed={person.address} if person else set())

    @rule(domain=st.sampled_from(BLOCKABLE_DOMAINS))
    def block_a_domain(self, domain: str) -> None:
        before = self.current()
        changed = self.model.block_domain(domain_of(identity(f"x@{domain}")))
        with self.database.transaction() as session:
            block_domain(session, domain, actor=MANAGER, note="Their legal team asked")
        self.check_step(f"block domain {domain}", before, changed={p.address for p in changed},
                        notified=[(p.address, 1, "domain-blocked") for p in changed])

    @precondition(lambda self: self.campaign_ids)
    @rule(data=st.data(), kind=st.sampled_from(("addresses", "domains", "no-engagement")),
          reason=st.sampled_from(REASONS))
    def ask_for_bulk_unsubscribe(self, data: st.DataObject, kind: str, reason: str) -> None:
        """A member asks about someone the campaign may still email, as people do (among others, maybe);
        when nobody is left, about anyone: the request matches nobody and is refused. Or about everyone sent
        one, two or three of its emails who never replied."""
        targets = sorted(self.model.sendable())
        if targets:
            campaign, key = data.draw(st.sampled_from(targets), label="aimed at")
        else:
            campaign, key = data.draw(st.sampled_from(sorted(self.campaign_ids)), label="campaign"), None
        if kind == "no-engagement":
            min_sent = data.draw(st.integers(1, 3), label="emails sent")
            typed = [f"sent {min_sent}, no reply"]
            rule_ = bulk.parse_rule(kind, min_sent=min_sent)
            frozen = self.model.matching(campaign, min_sent=min_sent)
        elif kind == "domains":
            first = DOMAINS if key is None else [d for d in DOMAINS if identity(f"x@{d}") == f"x@{domain_of(key)}"]
            typed = [data.draw(st.sampled_from(first), label="first"),
                     *data.draw(st.lists(st.sampled_from(DOMAINS), max_size=1), label="more")]
            rule_ = bulk.parse_rule(kind, domains=", ".join(typed))
            frozen = self.model.matching(campaign, domains={domain_of(identity(f"x@{d}")) for d in typed})
        else:
            first = SPELLINGS if key is None else PEOPLE[key][0]
            typed = [data.draw(st.sampled_from(first), label="first"),
                     *data.draw(st.lists(st.sampled_from(SPELLINGS), max_size=2), label="more")]
            rule_ = bulk.parse_rule(kind, addresses="\n".join(typed))
            frozen = self.model.matching(campaign, addresses={identity(a) for a in typed})
        step = f"bulk request in {campaign} for {typed} ({reason})"
        before = self.current()
        try:
            with self.database.transaction() as session:
                request_id = bulk.create_request(session, self.campaign_ids[campaign], rule_, actor=MEMBER,
                                                 note="cleanup", reason=reason)
                view = bulk.request_view(session, request_id)
        except InvalidInput:
            event(f"bulk request ({kind}): matches nobody")
            assert not frozen, f"{step}: refused as matching nobody; the model freezes {self.addresses(frozen)}"
            self.check_step(step, before, changed=set(), refused=True)
            return
        # The request shows the first few it froze, by prospect id (storage.bulk_requests.SAMPLE_SIZE).
        people = sorted((person for person in map(self.model.by_serial, frozen) if person is not None),
                        key=lambda person: person.prospect_id)
        expected = sorted(person.address for person in people[:bulk.SAMPLE_SIZE])
        assert (view.prospect_count, sorted(identity(p.email) for p in view.sample)) == (len(frozen), expected), (
            f"{step}: froze {view.prospect_count}, shown {[p.email for p in view.sample]}; the model freezes "
            f"{self.addresses(frozen)}")
        self.model.requests[request_id] = Request(request_id, campaign, frozen, reason)
        event(f"bulk request ({kind}): frozen")
        self.check_step(step, before, changed=set())

    @precondition(lambda self: self.model.requests)
    @rule(data=st.data(), approve=st.booleans())
    def decide_bulk_request(self, data: st.DataObject, approve: bool) -> None:
        """Another manager decides; approval applies the frozen set as it was frozen (rule 7)."""
        request_id = data.draw(st.sampled_from(sorted(self.model.requests)), label="request")
        request = self.model.requests[request_id]
        before = self.current()
        applied = self.model.approve(request_id) if approve else []
        if not approve:
            self.model.reject(request_id)
        with self.database.transaction() as session:
            view = bulk.decide(session, request_id, decider=MANAGER, approve=approve)
        step = f"{'approve' if approve else 'reject'} bulk request {request_id} ({request.reason})"
        if approve:
            event(f"bulk approval ({request.reason}): {len(request.frozen) - len(applied)} of "
                  f"{len(request.frozen)} skipped")
            assert (view.status, view.applied_count, view.skipped_count) == (
                "approved", len(applied), len(request.frozen) - len(applied)), (
                f"{step}: applied {view.applied_count}, skipped {view.skipped_count}; the model applies "
                f"{[p.address for p in applied]} of {len(request.frozen)}")
        self.check_step(step, before, changed={p.address for p in applied},
                        notified=[(None, len(applied), request.reason)] if applied else [])

    @precondition(lambda self: self.model.frozen_and_live())
    @rule(data=st.data(), delete=st.booleans(), reason=st.sampled_from(REASONS))
    def change_someone_frozen(self, data: st.DataObject, delete: bool, reason: str) -> None:
        """While a request waits, a colleague marks or deletes someone in its frozen set (rules 1 and 7)."""
        person = data.draw(st.sampled_from(self.model.frozen_and_live()), label="frozen")
        if delete:
            self.delete_from_cli(person, block=False)
        else:
            self.mark_in_slack(person, reason)

    @precondition(lambda self: self.model.live)
    @rule(data=st.data())
    def open_edit_screen(self, data: st.DataObject) -> None:
        """Someone opens Edit prospect and leaves it open while other steps happen."""
        person = self.pick_live(data)
        with self.database.snapshot() as session:
            version = prospect_details(session, person.prospect_id).version
        self.model.screens.append(Screen(person.serial, person.address, person.prospect_id, version, person.changes))

    def pick_screen(self, data: st.DataObject) -> tuple[Screen, str]:
        screen = data.draw(st.sampled_from(self.model.screens), label="screen")
        current = self.model.screen_is_current(screen)
        event("screen: " + ("current" if current else "stale" if self.model.by_serial(screen.serial)
                            else "person deleted" if screen.address not in self.model.live
                            else "person deleted and re-imported"))
        return screen, f"opened on {screen.address} (id {screen.prospect_id}, version {screen.version})"

    def check_refusal(self, step: str, screen: Screen, current: bool, error: Exception, before: Observation) -> None:
        """A stale screen is told the person changed (and shown them as they are now); a deleted person's screen
        that they are gone — never shown someone new."""
        expected = None if current else StaleProspect if self.model.by_serial(screen.serial) else ProspectNotFound
        assert type(error) is expected, (f"{step}: refused with {type(error).__name__}; the model expects "
                                         f"{expected.__name__ if expected else 'the screen to be current'}")
        self.check_step(step, before, changed=set(), refused=True)

    @precondition(lambda self: self.model.screens)
    @rule(data=st.data(), reason=st.sampled_from(REASONS))
    def save_from_earlier_screen(self, data: st.DataObject, reason: str) -> None:
        screen, opened = self.pick_screen(data)
        step = f"save do not contact ({reason}) from a screen {opened}"
        before = self.current()
        current = self.model.screen_is_current(screen)
        changed = current and self.model.mark(screen.address, reason)
        try:
            with self.database.transaction() as session:
                mark_prospect_do_not_contact(session, screen.prospect_id, reason=reason, note=note_for(reason),
                                             actor=MEMBER, expected_version=screen.version)
        except (StaleProspect, ProspectNotFound) as error:
            self.check_refusal(step, screen, current, error, before)
            return
        assert current, f"{step}: saved, but the screen was stale or its person deleted"
        self.check_step(step, before, changed={screen.address} if changed else set(),
                        notified=[(screen.address, 1, reason)] if changed else [])

    @precondition(lambda self: self.model.screens)
    @rule(data=st.data(), block=st.booleans())
    def delete_from_earlier_screen(self, data: st.DataObject, block: bool) -> None:
        screen, opened = self.pick_screen(data)
        step = f"delete{' blocking re-import' if block else ''} from a screen {opened}"
        before = self.current()
        current = self.model.screen_is_current(screen)
        if current:
            self.model.delete(screen.address, block=block)
        try:
            with self.database.transaction() as session:
                delete_prospect(session, screen.prospect_id, actor=MANAGER, block_reimport=block, expected_version=screen.version)
        except (StaleProspect, ProspectNotFound) as error:
            self.check_refusal(step, screen, current, error, before)
            return
        assert current, f"{step}: deleted someone, but the screen was stale or its person deleted"
        self.check_step(step, before, changed={screen.address})


# Sized for about a minute per database on a 2-core machine (with the mailbox steps an example costs about 0.4 s
# on SQLite and 0.8 s on PostgreSQL); LIFECYCLE_DEPTH=10 runs ten times the examples.
STEPS = 40
EXAMPLES = {"sqlite": 150, "postgresql": 75}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_lifecycle(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    runs = count()

    def fresh_machine() -> LifecycleMachine:
        directory = tmp_path / f"example-{next(runs)}"
        directory.mkdir()
        return LifecycleMachine(Database(empty_database_url(kind, request, directory)), TEST_SECRET_KEY,
                                directory=directory)

    run_state_machine_as_test(fresh_machine, settings=settings(  # type: ignore[arg-type]
        max_examples=EXAMPLES[kind] * DEPTH, stateful_step_count=STEPS, deadline=None, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]))

"""A plain-Python reference model of who may be emailed, for tests/test_lifecycle.py (issue #11, item 7).

It holds the rules, not the storage: who is live (by address identity, each with a serial that is never reused),
their do-not-contact reason and campaigns, which addresses imports must skip, which domains are blocked, and what
every unsubscribe link, Slack screen and bulk request's frozen set was issued for. Each method applies one step and
returns what it changed, so the test can check that the database changed exactly that and nothing else.

The rules:
 1. Identities never come back: a link, a screen or a frozen set names the person it was issued for, and an action
    through it affects that person (a link: that address, rule 2) or nobody.
 2. An opt-out through any link ever sent blocks the address and makes the live prospect with that address, if
    any, do not contact as their own request ("requested").
 3. An address is one identity regardless of case, Unicode composition, or Unicode vs punycode domain.
 4. Delete without block: a later import brings the address back, new and sendable. Delete with block, or of
    someone who opted out themselves: a later import skips it.
 5. Domain block: everyone there do not contact ("domain-blocked"), imports skip new addresses there, no lift.
 6. An own opt-out is never lifted or replaced; it replaces a colleague's reason.
 7. Bulk approval marks the frozen set only, skipping the deleted and those do not contact already, except that
    a request whose reason is the person's own ("requested") replaces a colleague's reason, as rule 6 says.
 8. A reply asking to stop, or a mailto: unsubscribe, is the link's opt-out (rule 2). A reply that may be one
    gets a card for the person it reaches (the one the email went to, else whoever has that address now), unless
    they are do not contact already; the first decision on a card applies to that person, and a card whose person
    was deleted can no longer be decided. A hard bounce makes the person it reaches unsendable everywhere, until
    deleted: someone imported again is new.
An import's Unsubscribed column is the person's own opt-out (rules 2 and 6) for whoever the import leaves with
that address.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

OWN_OPT_OUT = "requested"
DOMAIN_BLOCKED = "domain-blocked"


def identity_domain(domain: str) -> str:
    """acme.COM, exämple.es and xn--exmple-cua.es as one key each: NFKC, lower-case, punycode labels decoded."""
    labels = []
    for label in unicodedata.normalize("NFKC", domain.strip().lstrip("@")).lower().split("."):
        if label.startswith("xn--"):
            label = label[4:].encode("ascii").decode("punycode")
        labels.append(unicodedata.normalize("NFC", label.lower()))
    return ".".join(labels)


def identity(address: str) -> str:
    """The person an address names (rule 3): Jane@Acme.com is jane@acme.com, josé@xn--exmple-cua.es is
    josé@exämple.es."""
    local, _, domain = address.strip().rpartition("@")
    return f"{unicodedata.normalize('NFC', unicodedata.normalize('NFC', local).lower())}@{identity_domain(domain)}"


def domain_of(key: str) -> str:
    return key.rpartition("@")[2]


@dataclass
class Person:
    serial: int  # the model's identity of this incarnation: never reused, unlike a database id may be
    address: str  # identity()
    prospect_id: int = 0  # the database's id, filled in once the import made them
    reason: str | None = None
    campaigns: set[str] = field(default_factory=set)
    changes: int = 0  # moves with every change a screen opened earlier must notice
    bounced: bool = False
    sent: Counter[str] = field(default_factory=Counter)  # emails sent to this incarnation, by campaign
    last_sent: str | None = None  # the campaign of the latest: a reply matched by its sender counts there
    engaged: set[str] = field(default_factory=set)  # campaigns whose emails they replied to


@dataclass(frozen=True)
class Link:
    """An unsubscribe link sent in an email: it names one membership of one person."""

    token: str
    membership_id: int
    serial: int
    address: str
    campaign: str
    message_id: str  # the email's Message-ID, which replies and bounces name


@dataclass
class Card:
    """A reply that may be an opt-out, waiting in Slack for one decision (rule 8)."""

    inbound_id: int
    serial: int
    address: str
    open: bool = True


@dataclass(frozen=True)
class Screen:
    """A Slack Edit modal opened at some moment: private_metadata holds the prospect id and version."""

    serial: int
    address: str
    prospect_id: int
    version: int
    changes: int


@dataclass(frozen=True)
class Request:
    request_id: int
    campaign: str
    frozen: frozenset[int]  # serials
    reason: str


@dataclass
class ImportOutcome:
    counts: Counter[str] = field(default_factory=Counter)
    created: list[str] = field(default_factory=list)  # identities, in file order
    added: list[str] = field(default_factory=list)
    opted_out: list[str] = field(default_factory=list)  # identities an Unsubscribed column changed


class Lifecycle:
    def __init__(self) -> None:
        self.live: dict[str, Person] = {}
        self.blocked: set[str] = set()  # identities imports skip once nobody live has them
        self.blocked_domains: set[str] = set()
        self.own_opt_outs: set[str] = set()  # identities that ever opted out themselves: never undone
        self.deleted: set[str] = set()  # identities ever deleted
        self.links: list[Link] = []
        self.screens: list[Screen] = []
        self.requests: dict[int, Request] = {}
        self.cards: list[Card] = []
        self._serials = itertools.count(1)

    # -- what the database must show ---------------------------------------------------------------------------

    def sendable(self) -> set[tuple[str, str]]:
        return {(campaign, key) for key, person in self.live.items() if person.reason is None and not person.bounced
                for campaign in person.campaigns}

    def returnable(self) -> list[str]:
        """Identities deleted without a block: an import brings them back (rule 4)."""
        return sorted(key for key in self.deleted if key not in self.live and key not in self.blocked
                      and domain_of(key) not in self.blocked_domains)

    def links_of_the_returned(self) -> list[Link]:
        """Links sent to a person since deleted, whose address is live again in someone new."""
        return [link for link in self.links if link.address in self.live
                and self.live[link.address].serial != link.serial]

    def frozen_and_live(self) -> list[Person]:
        """People in a pending request's frozen set who are still there."""
        frozen = {serial for request in self.requests.values() for serial in request.frozen}
        return [person for _, person in sorted(self.live.items()) if person.serial in frozen]

    def by_serial(self, serial: int) -> Person | None:
        return next((person for person in self.live.values() if person.serial == serial), None)

    # -- steps -------------------------------------------------------------------------------------------------

    def _mark(self, person: Person, reason: str) -> bool:
        """Rule 6: a reason lands on someone not do not contact; an own opt-out also replaces any other reason."""
        if person.reason is None or (reason == OWN_OPT_OUT and person.reason != OWN_OPT_OUT):
            person.reason = reason
            person.changes += 1
            if reason == OWN_OPT_OUT:
                self.own_opt_outs.add(person.address)
            return True
        return False

    def import_rows(self, campaign: str, addresses: list[str], unsubscribed: frozenset[str] | set[str] = frozenset()
                    ) -> ImportOutcome:
        """Each row's outcome from the state before the file; then an Unsubscribed column's own opt-outs (any row
        of the address saying so) land on whoever has the address now, new or known (rules 2 and 6)."""
        outcome = ImportOutcome()
        seen: set[str] = set()
        for raw in addresses:
            key = identity(raw)
            if key in seen:
                outcome.counts["duplicate_in_file"] += 1
                continue
            seen.add(key)
            person = self.live.get(key)
            if person is not None:
                if person.reason is not None:
                    outcome.counts["skipped_do_not_contact"] += 1
                elif campaign in person.campaigns:
                    outcome.counts["already_in_campaign"] += 1
                else:
                    person.campaigns.add(campaign)
                    outcome.counts["added"] += 1
                    outcome.added.append(key)
            elif key in self.blocked or domain_of(key) in self.blocked_domains:  # rules 2, 4, 5
                outcome.counts["skipped_blocked"] += 1
            else:
                self.live[key] = Person(next(self._serials), key, campaigns={campaign})
                outcome.counts["new"] += 1
                outcome.created.append(key)
        for key in sorted(unsubscribed):
            person = self.live.get(key)
            if person is not None and self._mark(person, OWN_OPT_OUT):
                outcome.opted_out.append(key)
        return outcome

    def mark(self, key: str, reason: str) -> bool:
        return self._mark(self.live[key], reason)

    def mark_address(self, key: str, reason: str) -> bool:
        """The CLI's `dnc ADDRESS`: the live prospect, or else the address blocked from future imports."""
        if key in self.live:
            return self._mark(self.live[key], reason)
        self.blocked.add(key)
        if reason == OWN_OPT_OUT:
            self.own_opt_outs.add(key)
        return False

    def lift(self, key: str) -> str:
        """"lifted", "nothing" (not do not contact) or "refused" (rules 5 and 6)."""
        person = self.live[key]
        if person.reason is None:
            return "nothing"
        if person.reason == OWN_OPT_OUT or domain_of(key) in self.blocked_domains:
            return "refused"
        person.reason = None
        person.changes += 1
        return "lifted"

    def delete(self, key: str, *, block: bool) -> Person:
        person = self.live.pop(key)
        self.delete_cards_of(person)
        self.deleted.add(key)
        if block or person.reason == OWN_OPT_OUT:  # rule 4
            self.blocked.add(key)
        return person

    def unsubscribe(self, link: Link) -> Person | None:
        """Rule 2, whatever became of the link's membership: the live prospect with its address changed, if any."""
        self.blocked.add(link.address)
        self.own_opt_outs.add(link.address)
        person = self.live.get(link.address)
        return person if person is not None and self._mark(person, OWN_OPT_OUT) else None

    def reached_by(self, link: Link) -> Person | None:
        """Whom a reply to, or a bounce of, the link's email reaches (rule 8)."""
        return self.by_serial(link.serial) or self.live.get(link.address)

    def send(self, person: Person, campaign: str) -> None:
        person.sent[campaign] += 1
        person.last_sent = campaign

    def reply(self, link: Link) -> None:
        """A reply to the link's email is engagement, in the campaign it answers; a reply matched only by its
        sender counts in the campaign last sent to them, and nowhere if nothing was."""
        person = self.by_serial(link.serial)
        campaign = link.campaign if person is not None else None
        if person is None and (person := self.live.get(link.address)) is not None:
            campaign = person.last_sent
        if person is not None and campaign is not None:
            person.engaged.add(campaign)

    def may_be_an_opt_out(self, link: Link) -> Person | None:
        """The person a card is posted for, if any."""
        person = self.reached_by(link)
        return person if person is not None and person.reason is None else None

    def decide(self, card: Card, reason: str | None) -> tuple[bool, Person | None]:
        """(decided, the person it changed): a card whose person is gone can not be decided any more."""
        person = self.by_serial(card.serial)
        if not card.open or person is None:
            card.open = False
            return False, None
        card.open = False
        return True, person if reason is not None and self._mark(person, reason) else None

    def hard_bounce(self, link: Link) -> Person | None:
        person = self.reached_by(link)
        if person is None or person.bounced:
            return None
        person.bounced = True
        person.changes += 1
        return person

    def delete_cards_of(self, person: Person) -> None:
        for card in self.cards:
            if card.serial == person.serial:
                card.open = False

    def block_domain(self, domain: str) -> list[Person]:
        self.blocked_domains.add(domain)
        return [person for key, person in sorted(self.live.items())
                if domain_of(key) == domain and self._mark(person, DOMAIN_BLOCKED)]

    def matching(self, campaign: str, *, addresses: frozenset[str] | set[str] = frozenset(),
                 domains: frozenset[str] | set[str] = frozenset(), min_sent: int | None = None
                 ) -> frozenset[int]:
        """A bulk request's frozen set: campaign members the rule matches who are not do not contact yet. With
        `min_sent`, the no-engagement rule: sent that many of the campaign's emails and never replied to one."""
        def matches(key: str, person: Person) -> bool:
            if min_sent is not None:
                return person.sent[campaign] >= min_sent and campaign not in person.engaged
            return key in addresses or domain_of(key) in domains

        return frozenset(person.serial for key, person in self.live.items()
                         if campaign in person.campaigns and person.reason is None and matches(key, person))

    def approve(self, request_id: int) -> list[Person]:
        """Rule 7: the frozen set only; the deleted (and anyone re-imported since, a new person) are skipped, and so
        are those do not contact already unless rule 6 lets the request's reason replace theirs."""
        request = self.requests.pop(request_id)
        applied = []
        for serial in sorted(request.frozen):
            person = self.by_serial(serial)
            if person is not None and self._mark(person, request.reason):
                applied.append(person)
        return applied

    def reject(self, request_id: int) -> None:
        del self.requests[request_id]

    def screen_is_current(self, screen: Screen) -> bool:
        person = self.live.get(screen.address)
        return person is not None and person.serial == screen.serial and person.changes == screen.changes

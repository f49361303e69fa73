"""What a CSV's state columns say (storage.prospect_csv.states), written chunk by chunk as an import goes: a
person's own opt-out and a team's do not contact become do not contact, a hard bounce a bounce in the campaign."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.orm import Session

from storage.audit import Actor
from storage.do_not_contact import apply_do_not_contact
from storage.fast_insert import among, bulk_insert
from storage.models import Activity, Membership, Prospect
from storage.outbox import enqueue_summary
from storage.prospect_csv import HARD_BOUNCE, OWN_OPT_OUT, TEAM_DO_NOT_CONTACT, StateColumn


class StateRecorder:
    """What a file's state columns say, written chunk by chunk: do not contact for an own opt-out (reason
    "requested", which nobody can lift) or a team's decision ("other", with a note naming the column), through
    the channel "import"; a bounce in the campaign for a hard bounce.

    Slack hears of it once, at the end of the import (`announce`): one summary per reason in the campaign's
    channel. A file of 50,000 old opt-outs must not post 50,000 messages, nor one summary per chunk of 5,000."""

    def __init__(self, columns: tuple[StateColumn, ...], file_name: str, actor: Actor) -> None:
        self.columns = columns
        self._file_name = file_name
        self._actor = Actor(actor.who, "import")
        self._changed = {"requested": 0, "other": 0}  # prospects newly do not contact (or upgraded), by reason

    def record(self, session: Session, flagged: list[tuple[int, str, dict[str, str]]], prospect_ids: dict[str, int],
               *, campaign_id: int, members: set[int], now: dt.datetime) -> tuple[dict[int, str], list[int]]:
        """Writes the states of the `flagged` rows whose person exists (`prospect_ids`, by address key; a row
        skipped as blocked has none); returns each such row's state, as it said it, for its outcome, and the
        prospects newly bounced in the campaign. A bounce is recorded for `members` of the campaign: anyone else
        was skipped as do not contact already."""
        own: dict[str, set[int]] = {}  # note -> prospects
        team: dict[int, str] = {}  # prospect -> note
        bouncing: set[int] = set()
        states: dict[int, str] = {}
        for line, key, recorded in flagged:
            prospect_id = prospect_ids.get(key)
            if prospect_id is None:
                continue
            kinds = []
            if OWN_OPT_OUT in recorded:
                own.setdefault(self._note(recorded[OWN_OPT_OUT]), set()).add(prospect_id)
                kinds.append(OWN_OPT_OUT)
            elif TEAM_DO_NOT_CONTACT in recorded:
                team.setdefault(prospect_id, self._note(recorded[TEAM_DO_NOT_CONTACT]))
                kinds.append(TEAM_DO_NOT_CONTACT)
            if HARD_BOUNCE in recorded:
                if prospect_id in members:
                    bouncing.add(prospect_id)
                kinds.append(HARD_BOUNCE)
            if kinds:
                states[line] = "+".join(kinds)
        # Their own opt-out outranks a team's decision for the same person, even from another row.
        opted_out = set().union(*own.values())
        by_note: dict[str, list[int]] = {}
        for prospect_id, note in team.items():
            if prospect_id not in opted_out:
                by_note.setdefault(note, []).append(prospect_id)
        for reason, groups in (("requested", own), ("other", by_note)):
            for note, ids in groups.items():
                result = apply_do_not_contact(session, list(ids), reason=reason, actor=self._actor, note=note,
                                              notify=False)
                self._changed[reason] += len(result.marked) + len(result.upgraded_to_own_opt_out)
        return states, record_bounces(session, campaign_id, sorted(bouncing), now=now)

    def announce(self, session: Session, campaign_id: int) -> None:
        for reason, count in self._changed.items():
            if count:
                enqueue_summary(session, prospect_count=count, campaign_id=campaign_id, reason=reason,
                                actor=self._actor)

    def _note(self, header: str) -> str:
        shown = " ".join(header.split())
        shown = shown if len(shown) <= 100 else shown[:99] + "…"
        return f'Imported from column "{shown}" of {self._file_name}'


def record_bounces(session: Session, campaign_id: int, prospect_ids: list[int], *, now: dt.datetime) -> list[int]:
    """What storage.sending.record_activity writes for a hard bounce, for many prospects at once: the address is
    sent nothing again in any campaign (`prospects.bounced_at`), the membership's status becomes "bounced" and a
    "bounced" activity is added. Memberships bounced already are left alone, so running the import again records
    nothing twice."""
    if not prospect_ids:
        return []
    session.execute(
        update(Prospect)
        .where(among(session, Prospect.id, prospect_ids), Prospect.bounced_at.is_(None))
        .values(bounced_at=now, version=Prospect.version + 1)
        .execution_options(synchronize_session=False)
    )
    changed = sorted(session.scalars(
        update(Membership)
        .where(Membership.campaign_id == campaign_id, among(session, Membership.prospect_id, prospect_ids),
               Membership.status == "active")
        .values(status="bounced").returning(Membership.prospect_id)
        .execution_options(synchronize_session=False)
    ))
    bulk_insert(session, Activity, [{"campaign_id": campaign_id, "prospect_id": pid, "kind": "bounced",
                                     "occurred_at": now} for pid in changed])
    return changed

"""The prospect lifecycle on both databases: search, details, do not contact, delete, audit."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from storage import do_not_contact
from storage.audit import Actor
from storage.deletion import delete_prospect
from storage.do_not_contact import DoNotContactResult, mark_do_not_contact, mark_prospect_do_not_contact
from storage.errors import InvalidInput, ProspectNotFound, StaleProspect
from storage.models import Activity, AuditEntry, Base, DoNotContact, Membership, Prospect, Suppression
from storage.prospects import prospect_details
from storage.search import search_prospects
from storage.sending import is_sendable, iter_sendable, record_activity
from storage.suppressions import is_address_suppressed
from tests import factories


@pytest.fixture
def people(database):
    """Two campaigns and a handful of people, some in both."""
    with database.transaction() as session:
        q4 = factories.campaign(session, "Q4 Outreach")
        paris = factories.campaign(session, "Agencies Paris")
        ids = {
            "jose": factories.prospect(session, "jose.nunez@acme.com", q4, first_name="José", last_name="Núñez",
                                       company="Acme Analytics", title="CEO"),
            "joan": factories.prospect(session, "joan@bluebird.studio", q4, paris, first_name="Joan", last_name="Smith",
                                       company="Bluebird Studio"),
            "anna": factories.prospect(session, "anna_b%@cobalt.io", paris, first_name="Anna", last_name="Jones",
                                       company="Cobalt Cloud"),
            "sam": factories.prospect(session, "sam@acme.com", q4, first_name="Sam", last_name="Acker",
                                      company="Zephyr"),
        }
    return {"q4": q4, "paris": paris, **ids}


def emails(page):
    return [item.email for item in page.items]


# -- search ---------------------------------------------------------------------------------------------------


def test_search_matches_email_name_last_name_and_company_prefixes(database, people):
    with database.snapshot() as session:
        # ranked by the matching text: "joan smith" (name), "jones" (last name), "jose nunez" (name)
        assert emails(search_prospects(session, "jo")) == [
            "joan@bluebird.studio", "anna_b%@cobalt.io", "jose.nunez@acme.com"]
        assert emails(search_prospects(session, "SMITH")) == ["joan@bluebird.studio"]
        assert emails(search_prospects(session, "acme an")) == ["jose.nunez@acme.com"]
        assert emails(search_prospects(session, "jose n")) == ["jose.nunez@acme.com"]
        assert emails(search_prospects(session, "sam@")) == ["sam@acme.com"]


def test_search_ignores_case_and_accents(database, people):
    with database.snapshot() as session:
        assert emails(search_prospects(session, "NUNEZ")) == ["jose.nunez@acme.com"]
        assert emails(search_prospects(session, "núñ")) == ["jose.nunez@acme.com"]
        assert emails(search_prospects(session, "  José   Nú")) == ["jose.nunez@acme.com"]


def test_search_treats_wildcards_as_plain_characters(database, people):
    with database.snapshot() as session:
        assert emails(search_prospects(session, "anna_b%")) == ["anna_b%@cobalt.io"]
        assert emails(search_prospects(session, "%")) == []
        assert emails(search_prospects(session, "_")) == []
        assert emails(search_prospects(session, "an__")) == []
        assert emails(search_prospects(session, "' OR 1=1 --")) == []


def test_search_in_one_campaign(database, people):
    with database.snapshot() as session:
        assert emails(search_prospects(session, "acme", campaign_id=people["paris"])) == []
        assert set(emails(search_prospects(session, "j", campaign_id=people["paris"]))) == {
            "joan@bluebird.studio", "anna_b%@cobalt.io"}


def test_search_pages_cover_every_match_once(database):
    with database.transaction() as session:
        campaign = factories.campaign(session, "Big")
        for n in range(23):
            factories.prospect(session, f"lee{n:02}@example.com", campaign, first_name="Lee", last_name=f"N{n:02}",
                               company="Lee & Co")
    seen, offset = [], 0
    with database.snapshot() as session:
        while True:
            page = search_prospects(session, "lee", campaign_id=campaign, offset=offset, limit=10)
            seen += emails(page)
            if not page.has_more:
                break
            offset += 10
    assert len(seen) == 23 and len(set(seen)) == 23
    assert offset == 20


def test_empty_query_lists_everyone_in_the_campaign_by_name(database, people):
    with database.snapshot() as session:
        page = search_prospects(session, "", campaign_id=people["q4"])
    assert [item.full_name for item in page.items] == ["Joan Smith", "José Núñez", "Sam Acker"]


def test_search_rejects_silly_pages(database, people):
    with database.snapshot() as session, pytest.raises(InvalidInput):
        search_prospects(session, "a", limit=1000)


# -- details --------------------------------------------------------------------------------------------------


def test_details_show_fields_campaigns_and_metrics(database, people):
    with database.transaction() as session:
        for kind in ("sent", "sent", "opened", "replied"):
            record_activity(session, people["q4"], people["joan"], kind)
        record_activity(session, people["paris"], people["joan"], "sent")
        record_activity(session, people["paris"], people["joan"], "bounced")
    with database.snapshot() as session:
        details = prospect_details(session, people["joan"])
    assert (details.full_name, details.email, details.company) == ("Joan Smith", "joan@bluebird.studio", "Bluebird Studio")
    by_name = {c.campaign_name: c for c in details.campaigns}
    q4, paris = by_name["Q4 Outreach"], by_name["Agencies Paris"]
    assert (q4.sent, q4.opened, q4.replied, q4.bounced, q4.status) == (2, 1, 1, 0, "active")
    assert (paris.sent, paris.bounced, paris.status) == (1, 1, "bounced")
    assert q4.last_activity_at is not None and q4.last_activity_at.tzinfo is not None
    assert details.do_not_contact is None


def test_details_of_a_missing_prospect(database):
    with database.snapshot() as session, pytest.raises(ProspectNotFound):
        prospect_details(session, 12345)


# -- do not contact -------------------------------------------------------------------------------------------


def sendable_ids(database, campaign_id):
    with database.snapshot(streaming=True) as session:
        return {r.prospect_id for r in iter_sendable(session, campaign_id)}


def test_do_not_contact_excludes_from_every_campaign_now_and_later(database, people, slack_actor):
    with database.transaction() as session:
        record_activity(session, people["q4"], people["joan"], "sent")
        details = mark_prospect_do_not_contact(session, people["joan"], reason="not-target", actor=slack_actor)
    assert details.do_not_contact.reason == "not-target" and details.do_not_contact.actor == "slack:U0ALICE"
    assert people["joan"] not in sendable_ids(database, people["q4"]) | sendable_ids(database, people["paris"])
    with database.transaction() as session:
        later = factories.campaign(session, "Added afterwards")
        factories.join(session, people["joan"], later)
    assert sendable_ids(database, later) == set()
    with database.snapshot() as session:
        # still in the database, still counted in historical metrics
        again = prospect_details(session, people["joan"])
        assert {c.campaign_name: c.sent for c in again.campaigns}["Q4 Outreach"] == 1
        assert not is_sendable(session, people["q4"], people["joan"])
        assert is_sendable(session, people["q4"], people["jose"])


def test_do_not_contact_is_idempotent_with_one_audit_row(database, people, cli_actor):
    for _ in range(2):
        with database.transaction() as session:
            result = mark_do_not_contact(session, [people["sam"]], reason="no-interest", actor=cli_actor)
    assert result.already == [people["sam"]] and result.marked == []
    with database.snapshot() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action == "do_not_contact")).all()
    assert len(rows) == 1
    assert rows[0].prospect_id == people["sam"] and rows[0].actor == "cli:ops" and rows[0].channel == "cli"
    assert rows[0].before == {"do_not_contact": None}
    assert rows[0].after["do_not_contact"]["reason"] == "no-interest"


def test_a_list_with_someone_deleted_marks_the_others_and_counts_the_deleted_as_not_found(database, people,
                                                                                          slack_actor, cli_actor,
                                                                                          first_try):
    # The list was read before a colleague deleted Sam. A short list is chosen from the prospects still there; a
    # long one's first try meets the missing prospect at its foreign key check, and the whole chunk is done again
    # on the prospects still there, nothing of the first try left behind.
    with database.transaction() as session:
        mark_do_not_contact(session, [people["jose"]], reason="no-interest", actor=slack_actor)
        delete_prospect(session, people["sam"], actor=slack_actor, block_reimport=False)
    listed = [people["joan"], people["sam"], people["jose"]]
    with database.transaction() as session:
        result = mark_do_not_contact(session, listed, reason="not-target", actor=cli_actor, notify=False)
    assert (result.marked, result.already, result.not_found) == ([people["joan"]], [people["jose"]], [people["sam"]])
    with database.snapshot() as session:
        marked = dict(session.execute(select(DoNotContact.prospect_id, DoNotContact.reason)).all())
        audited = session.scalars(select(AuditEntry.prospect_id).where(AuditEntry.action == "do_not_contact",
                                                                       AuditEntry.actor == cli_actor.who)).all()
    assert marked == {people["jose"]: "no-interest", people["joan"]: "not-target"}
    assert audited == [people["joan"]]


def marked_and_audited(database) -> tuple[dict[int, str], list[int]]:
    """Who is do not contact and who marked them; whose do-not-contact audit rows there are, oldest first."""
    with database.snapshot() as session:
        marked = dict(session.execute(select(DoNotContact.prospect_id, DoNotContact.actor)).all())
        audited = session.scalars(select(AuditEntry.prospect_id).where(AuditEntry.action == "do_not_contact")
                                  .order_by(AuditEntry.id)).all()
    return marked, list(audited)


@pytest.fixture(params=["short list", "long list"])
def first_try(request, monkeypatch):
    """Both ways a list of do not contact is written: a short one chosen from the prospects still there, locked as
    they are read, with ON CONFLICT DO NOTHING; from do_not_contact.PLAIN_INSERT_FROM prospects (here two, not a
    thousand) a plain INSERT first, which fails on someone gone or marked already."""
    if request.param == "long list":
        monkeypatch.setattr(do_not_contact, "PLAIN_INSERT_FROM", 2)
    return request.param


def marked_while(database, colleague: Callable[[Session], None], prospect_ids: list[int],
                 actor: Actor) -> DoNotContactResult:
    """Marks `prospect_ids` (not the target) in a second thread while a colleague's transaction, which ran
    `colleague`, is still open: the list waits for it. What the list did, once the colleague committed."""
    others: dict[str, DoNotContactResult] = {}

    def mark() -> None:
        with database.transaction() as session:
            others["result"] = mark_do_not_contact(session, prospect_ids, reason="not-target", actor=actor)

    with database.transaction() as session:
        colleague(session)
        second = threading.Thread(target=mark)
        second.start()
        second.join(timeout=0.5)
        assert second.is_alive()  # waiting for the colleague's transaction
    second.join(timeout=10)
    return others["result"]


def test_a_list_with_someone_marked_already_marks_and_audits_only_the_others(database, people, slack_actor,
                                                                              cli_actor, first_try):
    # The chunk's first try writes without reading back which rows it inserted; finding one fewer than asked (a
    # short list), or failing on Jose (a long one), it is undone and done again reading them back, so that Joan
    # counts as marked and Jose as already.
    with database.transaction() as session:
        mark_do_not_contact(session, [people["jose"]], reason="no-interest", actor=slack_actor)
    with database.transaction() as session:
        result = mark_do_not_contact(session, [people["jose"], people["joan"]], reason="not-target", actor=cli_actor)
    assert (result.marked, result.already, result.not_found) == ([people["joan"]], [people["jose"]], [])
    assert marked_and_audited(database) == ({people["jose"]: slack_actor.who, people["joan"]: cli_actor.who},
                                            [people["jose"], people["joan"]])


def test_two_lists_marked_at_the_same_moment_mark_and_audit_each_prospect_once(database, people, slack_actor,
                                                                             cli_actor, first_try):
    # The second waits for the first (for Jose's row on PostgreSQL, for the database on SQLite), then finds Jose
    # marked: its first try fails on him, and is undone and done again around him.
    def colleague(session: Session) -> None:
        mark_do_not_contact(session, [people["jose"]], reason="no-interest", actor=slack_actor)

    result = marked_while(database, colleague, [people["jose"], people["joan"]], cli_actor)
    assert (result.marked, result.already, result.not_found) == ([people["joan"]], [people["jose"]], [])
    assert marked_and_audited(database) == ({people["jose"]: slack_actor.who, people["joan"]: cli_actor.who},
                                            [people["jose"], people["joan"]])


def test_a_list_marked_while_a_colleague_deletes_someone_on_it_marks_the_others(database, people, slack_actor,
                                                                                cli_actor, first_try):
    # The list reaches Sam while the colleague's delete is not committed yet: it waits for it (for Sam's row on
    # PostgreSQL, for the database on SQLite), then finds Sam gone, and marks and audits Joan alone.
    def colleague(session: Session) -> None:
        delete_prospect(session, people["sam"], actor=slack_actor, block_reimport=False)

    result = marked_while(database, colleague, [people["joan"], people["sam"]], cli_actor)
    assert (result.marked, result.already, result.not_found) == ([people["joan"]], [], [people["sam"]])
    assert marked_and_audited(database) == ({people["joan"]: cli_actor.who}, [people["joan"]])


def test_own_opt_out_is_never_replaced(database, people, slack_actor, cli_actor):
    with database.transaction() as session:
        mark_do_not_contact(session, [people["jose"]], reason="requested", actor=link_actor())
    with database.transaction() as session:
        result = mark_do_not_contact(session, [people["jose"]], reason="other", note="cleanup", actor=slack_actor)
    assert result.already == [people["jose"]]
    with database.snapshot() as session:
        state = prospect_details(session, people["jose"]).do_not_contact
    assert (state.reason, state.channel) == ("requested", "unsubscribe-link")


def test_own_opt_out_replaces_a_colleagues_reason(database, people, slack_actor):
    with database.transaction() as session:
        mark_do_not_contact(session, [people["jose"]], reason="no-interest", actor=slack_actor)
    with database.transaction() as session:
        result = mark_do_not_contact(session, [people["jose"]], reason="requested", actor=link_actor())
    assert result.upgraded_to_own_opt_out == [people["jose"]]
    with database.snapshot() as session:
        assert prospect_details(session, people["jose"]).do_not_contact.reason == "requested"
        audit = session.scalars(select(AuditEntry).where(AuditEntry.prospect_id == people["jose"])
                                .order_by(AuditEntry.id)).all()
    assert [a.after["do_not_contact"]["reason"] for a in audit] == ["no-interest", "requested"]
    assert audit[1].before["do_not_contact"]["reason"] == "no-interest"


def link_actor():
    """The prospect themselves, through an email's unsubscribe link."""
    return Actor("unsubscribe-link", "unsubscribe-link")


def test_stale_version_writes_nothing(database, people, slack_actor):
    with database.snapshot() as session:
        seen = prospect_details(session, people["joan"]).version
    with database.transaction() as session:
        mark_prospect_do_not_contact(session, people["joan"], reason="no-interest", actor=slack_actor,
                                         expected_version=seen)
    with pytest.raises(StaleProspect) as stale, database.transaction() as session:
        mark_prospect_do_not_contact(session, people["joan"], reason="other", note="x", actor=slack_actor,
                                         expected_version=seen)
    assert stale.value.current_version == seen + 1
    with database.snapshot() as session:
        assert prospect_details(session, people["joan"]).do_not_contact.reason == "no-interest"


@pytest.mark.parametrize("reason,note", [("other", ""), ("other", "   "), ("spam", ""), ("domain-blocked", "")])
def test_bad_reasons_are_refused(database, people, slack_actor, reason, note):
    with pytest.raises(InvalidInput), database.transaction() as session:
        mark_do_not_contact(session, [people["joan"]], reason=reason, note=note, actor=slack_actor)
    with database.snapshot() as session:
        assert session.scalar(select(func.count()).select_from(DoNotContact)) == 0


def test_do_not_contact_of_a_deleted_prospect(database, people, slack_actor, secret_key):
    with database.transaction() as session:
        delete_prospect(session, people["sam"], actor=slack_actor, block_reimport=False)
    with pytest.raises(ProspectNotFound), database.transaction() as session:
        mark_prospect_do_not_contact(session, people["sam"], reason="no-interest", actor=slack_actor)


# -- delete ---------------------------------------------------------------------------------------------------


def all_text_in_database(database) -> str:
    """Every value of every table, as one string: to prove an address or name is gone."""
    chunks = []
    with database.snapshot() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(table.select()):
                chunks.append(repr(tuple(row)))
    return "\n".join(chunks)


def test_delete_leaves_no_trace_of_the_person_but_keeps_campaign_totals(database, people, slack_actor, secret_key):
    with database.transaction() as session:
        record_activity(session, people["q4"], people["jose"], "sent")
        record_activity(session, people["q4"], people["jose"], "opened")
        mark_do_not_contact(session, [people["jose"]], reason="other", note="José asked on LinkedIn",
                                actor=slack_actor)
        result = delete_prospect(session, people["jose"], actor=slack_actor, block_reimport=False)
    assert result.campaigns_left == 1 and not result.reimport_blocked
    everything = all_text_in_database(database).lower()
    for trace in ("jose.nunez", "josé", "núñez", "nunez", "linkedin"):
        assert trace not in everything
    with database.snapshot() as session:
        assert session.get(Prospect, people["jose"]) is None
        assert session.scalar(select(func.count()).select_from(Membership).where(Membership.prospect_id == people["jose"])) == 0
        kinds = session.scalars(select(Activity.kind).where(Activity.campaign_id == people["q4"])).all()
        assert sorted(kinds) == ["opened", "sent"]  # anonymous now, but the campaign's totals hold
        assert session.scalar(select(func.count()).select_from(Suppression)) == 0
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "delete")).one()
    assert audit.prospect_id == people["jose"] and audit.actor == "slack:U0ALICE"
    assert audit.before["campaign_ids"] == [people["q4"]]


def test_delete_of_someone_who_opted_out_keeps_the_fingerprint(database, people, slack_actor, secret_key):
    with database.transaction() as session:
        mark_do_not_contact(session, [people["joan"]], reason="requested", actor=link_actor())
        result = delete_prospect(session, people["joan"], actor=slack_actor, block_reimport=False)
    assert result.reimport_blocked and result.blocked_because_opted_out
    with database.snapshot() as session:
        assert is_address_suppressed(session, "joan@bluebird.studio", secret_key=secret_key)
        stored = session.scalars(select(Suppression.fingerprint)).one()
    assert "joan" not in stored and len(stored) == 64
    assert "joan" not in all_text_in_database(database).lower()


def test_delete_with_block_reimport(database, people, slack_actor, secret_key):
    with database.transaction() as session:
        delete_prospect(session, people["sam"], actor=slack_actor, block_reimport=True)
    with database.snapshot() as session:
        assert is_address_suppressed(session, "sam@acme.com", secret_key=secret_key)
        assert not is_address_suppressed(session, "sam@acme.com", secret_key=b"another-key" * 4)


def test_delete_twice_says_the_prospect_is_gone(database, people, slack_actor, secret_key):
    with database.transaction() as session:
        delete_prospect(session, people["sam"], actor=slack_actor, block_reimport=False)
    with pytest.raises(ProspectNotFound), database.transaction() as session:
        delete_prospect(session, people["sam"], actor=slack_actor, block_reimport=False)


def test_delete_of_a_changed_prospect_is_refused(database, people, slack_actor, secret_key):
    with database.snapshot() as session:
        seen = prospect_details(session, people["sam"]).version
    with database.transaction() as session:
        mark_do_not_contact(session, [people["sam"]], reason="requested", actor=link_actor())
    with pytest.raises(StaleProspect), database.transaction() as session:
        delete_prospect(session, people["sam"], actor=slack_actor, block_reimport=False, expected_version=seen)
    with database.snapshot() as session:
        assert session.get(Prospect, people["sam"]) is not None


# -- audit log ------------------------------------------------------------------------------------------------


def test_audit_log_is_append_only(database, people, slack_actor):
    with database.transaction() as session:
        mark_do_not_contact(session, [people["sam"]], reason="no-interest", actor=slack_actor)
    for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        with pytest.raises(DatabaseError), database.transaction() as session:
            session.execute(text(statement))
    with database.snapshot() as session:
        assert set(session.scalars(select(AuditEntry.actor))) >= {"slack:U0ALICE"}
        assert "someone else" not in set(session.scalars(select(AuditEntry.actor)))


# -- the sender's contract ------------------------------------------------------------------------------------


@pytest.mark.parametrize("streaming", [True, False], ids=["streaming snapshot", "plain snapshot"])
def test_the_sender_reads_every_recipient_in_prospect_order_across_batches_and_may_stop_early(
        database, people, streaming):
    """iter_sendable reads from the driver's cursor a batch at a time (a server-side cursor on PostgreSQL): whole
    records, in prospect order, past a batch's end; a read stopped early leaves the session usable."""
    with database.snapshot(streaming=streaming) as session:
        read = list(iter_sendable(session, people["q4"], batch_size=2))
        assert [r.prospect_id for r in read] == sorted([people["jose"], people["joan"], people["sam"]])
        jose = next(r for r in read if r.prospect_id == people["jose"])
        assert (jose.campaign_name, jose.email, jose.first_name, jose.last_name, jose.company, jose.title) == (
            "Q4 Outreach", "jose.nunez@acme.com", "José", "Núñez", "Acme Analytics", "CEO")
        for _ in iter_sendable(session, people["q4"], batch_size=1):
            break
        assert {r.email for r in iter_sendable(session, people["paris"])} == {
            "joan@bluebird.studio", "anna_b%@cobalt.io"}
        assert is_sendable(session, people["paris"], people["anna"])


def test_opt_out_after_the_batch_was_selected_is_honoured_by_the_one_row_check(database, people):
    with database.snapshot(streaming=True) as session:
        batch = [r.prospect_id for r in iter_sendable(session, people["q4"])]
    assert set(batch) == {people["jose"], people["joan"], people["sam"]}
    with database.transaction() as session:
        mark_do_not_contact(session, [people["joan"]], reason="requested", actor=link_actor())
    with database.snapshot() as session:
        checks = {pid: is_sendable(session, people["q4"], pid) for pid in batch}
    assert checks == {people["jose"]: True, people["joan"]: False, people["sam"]: True}


def test_a_hard_bounce_reported_by_the_sender_stops_every_campaign(database, people):
    """A mailbox that does not exist does not exist for any campaign (issue 13): the sender's contract."""
    assert people["joan"] in sendable_ids(database, people["q4"])
    with database.transaction() as session:
        record_activity(session, people["paris"], people["joan"], "bounced")
    assert people["joan"] not in sendable_ids(database, people["paris"])
    assert people["joan"] not in sendable_ids(database, people["q4"])
    with database.snapshot() as session:
        details = prospect_details(session, people["joan"])
        assert details.bounced_at is not None
        assert [(c.campaign_id, c.status, c.bounced) for c in details.campaigns if c.campaign_id == people["paris"]] \
            == [(people["paris"], "bounced", 1)]


def test_the_view_holds_the_columns_senders_read(database, people):
    with database.snapshot() as session:
        row = session.execute(text(
            "SELECT campaign_id, campaign_name, membership_id, prospect_id, email, first_name, last_name, company "
            "FROM sendable_recipients WHERE email = 'joan@bluebird.studio' ORDER BY campaign_id")).all()
    assert [(r.campaign_name, r.first_name, r.company) for r in row] == [
        ("Q4 Outreach", "Joan", "Bluebird Studio"), ("Agencies Paris", "Joan", "Bluebird Studio")]

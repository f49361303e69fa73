"""Importing CSV files into campaigns, on both databases."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from storage.audit import Actor
from storage.campaigns import find_campaign
from storage.deletion import delete_prospect
from storage.do_not_contact import mark_do_not_contact
from storage.domains import block_domain
from storage.importing import FIRST_CHUNK_INTO_POPULATED, import_prospects
from storage.keys import address_identity
from storage.models import AuditEntry, Campaign, Import, Membership, Prospect, utcnow
from storage.prepared_elsewhere import IN_PROCESS_ROWS
from storage.prospect_csv import ProspectCsv, UnreadableFile
from storage.prospects import find_prospect_id, insert_prospect_values, new_prospect_values, prospect_details
from storage.sending import iter_sendable
from storage.suppressions import block_unknown_address

IMPORTER = Actor("cli:ops", "cli")


def run_import(database, secret_key, content: bytes | str, campaign="Q4 Outreach", **kwargs):
    data = content.encode("utf-8") if isinstance(content, str) else content
    return import_prospects(database.transaction, ProspectCsv(io.BytesIO(data), name="test.csv"),
                            campaign_name=campaign, actor=IMPORTER, secret_key=secret_key,
                            source_label="import:test.csv", **kwargs)


def count(database, model, *where):
    with database.snapshot() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def sendable_emails(database, campaign_name):
    with database.snapshot(streaming=True) as session:
        campaign_id = find_campaign(session, campaign_name).id
        return {r.email for r in iter_sendable(session, campaign_id)}


MESSY = (
    "\ufeffE-mail;First Name;LAST_NAME;Company Name;Job Title;Notes\r\n"
    "  Jane.Doe@Acme.com ;Jane;Doe;Acme;CEO;met at a fair\r\n"
    "mailto:bob@bluebird.studio;Bob;Martin;Bluebird;\"Head of\nSales\";\r\n"
    "not-an-address;X;Y;Z;;\r\n"
    "\r\n"
    "JANE.DOE@acme.com;Jane;D.;Acme;;duplicate\r\n"
    "Carl Ek <carl@fjordlabs.no>;Carl;Ek;Fjord Labs;CTO;\r\n"
)


def test_messy_file_is_imported_with_a_precise_summary(database, secret_key):
    report = run_import(database, secret_key, MESSY)
    assert report.counts == {"new": 3, "added": 0, "already_in_campaign": 0, "duplicate_in_file": 1,
                             "skipped_do_not_contact": 0, "skipped_blocked": 0, "invalid": 1}
    [invalid] = report.samples["invalid"]
    assert invalid.line == 5 and "not-an-address" in invalid.email  # bob's title spans lines 3 and 4
    [duplicate] = report.samples["duplicate_in_file"]
    assert duplicate.line == 7
    assert sendable_emails(database, "q4 outreach") == {"jane.doe@acme.com", "bob@bluebird.studio", "carl@fjordlabs.no"}
    with database.snapshot() as session:
        bob = session.scalars(select(Prospect).where(Prospect.email == "bob@bluebird.studio")).one()
        assert (bob.first_name, bob.last_name, bob.company, bob.title) == ("Bob", "Martin", "Bluebird", "Head of\nSales")
        assert bob.source == "import:test.csv"
        run = session.scalars(select(Import)).one()
        assert run.finished_at is not None and run.counts == report.counts  # no opt-out columns, no state counts
    assert report.states == {"opted_out": 0, "do_not_contact": 0, "bounced": 0}


def test_known_people_are_added_without_touching_their_state(database, secret_key, slack_actor):
    run_import(database, secret_key, "email,first name\nann@x.io,Ann\nbea@x.io,Bea\n", campaign="First")
    with database.transaction() as session:
        bea = find_prospect_id(session, "bea@x.io")
        mark_do_not_contact(session, [bea], reason="requested", actor=Actor("link", "unsubscribe-link"))
    report = run_import(database, secret_key, "Email,First Name\nann@x.io,Annie\nbea@x.io,Bea\nann@x.io,A\n",
                        campaign="Second")
    assert report.counts["added"] == 1 and report.counts["skipped_do_not_contact"] == 1
    assert report.counts["duplicate_in_file"] == 1
    assert report.samples["skipped_do_not_contact"][0].email == "bea@x.io"
    assert sendable_emails(database, "Second") == {"ann@x.io"}
    with database.snapshot() as session:
        ann = prospect_details(session, find_prospect_id(session, "ann@x.io"))
        bea_state = prospect_details(session, bea).do_not_contact
    assert ann.first_name == "Ann"  # an import never overwrites what we know
    assert [c.campaign_name for c in ann.campaigns] == ["First", "Second"]
    assert bea_state.reason == "requested"


def test_running_the_same_import_again_adds_nothing(database, secret_key):
    content = "email\n" + "".join(f"p{n}@example.com\n" for n in range(30))
    first = run_import(database, secret_key, content, chunk_size=7)
    again = run_import(database, secret_key, content, chunk_size=7)
    assert first.counts["new"] == 30
    assert again.counts["already_in_campaign"] == 30 and again.counts["new"] == 0
    assert count(database, Prospect) == 30 and count(database, Membership) == 30


def test_fingerprinted_addresses_are_skipped_and_plain_deletes_come_back(database, secret_key, slack_actor):
    run_import(database, secret_key, "email\nkept.out@x.io\ncomes.back@x.io\n")
    with database.transaction() as session:
        for email, block in (("kept.out@x.io", True), ("comes.back@x.io", False)):
            delete_prospect(session, find_prospect_id(session, email), actor=slack_actor,
                                block_reimport=block)
    report = run_import(database, secret_key, "email\nKept.Out@x.io\ncomes.back@x.io\n")
    assert report.counts["skipped_blocked"] == 1 and report.counts["new"] == 1
    assert report.samples["skipped_blocked"][0].line == 2
    assert sendable_emails(database, "Q4 Outreach") == {"comes.back@x.io"}


def test_an_address_blocked_before_it_was_ever_imported_is_skipped(database, secret_key, cli_actor):
    with database.transaction() as session:
        block_unknown_address(session, "never@x.io", secret_key=secret_key, actor=cli_actor)
    report = run_import(database, secret_key, "email\nnever@x.io\nfine@x.io\n")
    assert report.counts["skipped_blocked"] == 1 and sendable_emails(database, "Q4 Outreach") == {"fine@x.io"}


def test_chunks_after_a_chunk_of_new_people_still_recognise_everyone_known_deleted_or_blocked(
        database, secret_key, slack_actor, cli_actor):
    """A chunk that found nobody known sends the next one straight to the insert (storage.importing
    _known_and_unknown) unless something in it was deleted and blocked or is at a blocked domain: each kind of
    person below arrives in such a chunk, after one of new people, and gets the outcome they get anywhere else."""
    run_import(database, secret_key, "email\nin.campaign@x.io\n", campaign="Spring")
    run_import(database, secret_key, "email\nknown@x.io\ndnc@x.io\ngone@x.io\n", campaign="Other")
    with database.transaction() as session:
        mark_do_not_contact(session, [find_prospect_id(session, "dnc@x.io")], reason="requested",
                            actor=Actor("link", "unsubscribe-link"))
        delete_prospect(session, find_prospect_id(session, "gone@x.io"), actor=slack_actor, block_reimport=True)
        block_domain(session, "spam.example", actor=cli_actor)
    pairs = [("new1", "new2"), ("known", "new3"), ("new4", "new5"), ("dnc", "new6"), ("new7", "new8"),
             ("NEW1", "new9"), ("new10", "new11"), ("gone", "new12"), ("someone@spam.example", "new13"),
             ("in.campaign", "new14")]
    addresses = [name if "@" in name else f"{name}@x.io" for pair in pairs for name in pair]
    seen = []
    report = run_import(database, secret_key, "email\n" + "".join(f"{email}\n" for email in addresses),
                        campaign="Spring", chunk_size=2, on_outcome=seen.append)
    outcome_of = {addresses[outcome.line - 2]: outcome.outcome for outcome in seen if outcome.line != 12}
    assert outcome_of["known@x.io"] == "added"
    assert outcome_of["dnc@x.io"] == "skipped_do_not_contact"
    assert outcome_of["gone@x.io"] == outcome_of["someone@spam.example"] == "skipped_blocked"
    assert outcome_of["in.campaign@x.io"] == "already_in_campaign"
    assert [outcome.outcome for outcome in seen if outcome.line == 12] == ["duplicate_in_file"]  # NEW1
    assert {email for email, outcome in outcome_of.items() if outcome == "new"} == {
        f"new{n}@x.io" for n in range(1, 15)}
    assert report.counts["new"] == 14 and report.counts["added"] == 1
    assert sendable_emails(database, "Spring") == {"in.campaign@x.io", "known@x.io",
                                                   *(f"new{n}@x.io" for n in range(1, 15))}
    with database.snapshot() as session:
        everyone = set(session.scalars(select(Prospect.email)))
    assert everyone == {"in.campaign@x.io", "known@x.io", "dnc@x.io", *(f"new{n}@x.io" for n in range(1, 15))}


def created_per_chunk(database, import_id):
    with database.snapshot() as session:
        chunks = session.scalars(select(AuditEntry).where(AuditEntry.action == "import")
                                 .order_by(AuditEntry.id)).all()
    return [len(entry.after["created"]) for entry in chunks if entry.after["import_id"] == import_id]


def test_chunks_start_small_into_a_populated_sqlite_database_and_are_whole_on_postgresql(database, secret_key):
    """On SQLite a colleague's save waits for the chunk being written: into a populated database, where every index
    is kept row by row, the first chunk is small and the pace of each sets the next. PostgreSQL locks rows only."""
    run_import(database, secret_key, "email\nalready.here@x.io\n", campaign="Earlier")
    rows = FIRST_CHUNK_INTO_POPULATED + 500
    report = run_import(database, secret_key, "email\n" + "".join(f"p{n}@example.com\n" for n in range(rows)))
    assert report.counts["new"] == rows
    chunks = created_per_chunk(database, report.import_id)
    assert sum(chunks) == rows
    if database.is_sqlite:
        assert chunks[0] == FIRST_CHUNK_INTO_POPULATED and len(chunks) >= 2
    else:
        assert chunks == [rows]


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04\x14\x00\x06\x00" + bytes(200), b"name,company\nJane,Acme\n"])
def test_unreadable_files_are_refused_before_anything_is_written(database, content):
    with pytest.raises(UnreadableFile):
        ProspectCsv(io.BytesIO(content), name="bad.csv")
    assert count(database, Campaign) == 0


def test_each_chunk_commits_with_its_audit_row(database, secret_key):
    content = "email\n" + "".join(f"p{n}@example.com\n" for n in range(10))
    report = run_import(database, secret_key, content, chunk_size=4)
    with database.snapshot() as session:
        chunks = session.scalars(select(AuditEntry).where(AuditEntry.action == "import")).all()
        finish = session.scalars(select(AuditEntry).where(AuditEntry.action == "import.finish")).one()
    assert [len(a.after["created"]) for a in chunks] == [4, 4, 2]
    assert all(a.after["import_id"] == report.import_id for a in chunks)
    assert finish.after["new"] == 10
    assert "example.com" not in repr([(a.before, a.after) for a in chunks])


def long_file(rows: int) -> str:
    lines = [f"p{n}@example.com,Ana{n}" for n in range(rows)]
    lines.append("P7@Example.com,again")  # line rows + 2: the same person as line 9, prepared in the other process
    return "email,first_name\n" + "\n".join(lines) + "\n"


def test_a_long_file_is_imported_whole_by_the_two_processes(database, secret_key):
    """Past IN_PROCESS_ROWS rows, the chunks are read and prepared in a second process (storage.prepared_elsewhere):
    every row arrives once, and a duplicate across the two is recognised."""
    rows = IN_PROCESS_ROWS + 3_000
    report = run_import(database, secret_key, long_file(rows), chunk_size=2_000)
    assert report.counts["new"] == rows and report.counts["duplicate_in_file"] == 1
    [duplicate] = report.samples["duplicate_in_file"]
    assert duplicate.line == rows + 2
    assert count(database, Prospect) == rows == count(database, Membership)
    with database.snapshot() as session:
        assert prospect_details(session, find_prospect_id(session, "p22999@example.com")).first_name == "Ana22999"


def test_an_import_stopped_while_the_second_process_prepares_can_be_run_again(database, secret_key):
    rows, size = IN_PROCESS_ROWS + 3_000, 2_000
    content = long_file(rows)
    chunks = 0

    def stop_after_the_first_chunk_from_the_second_process(_bytes_read: int) -> None:
        nonlocal chunks
        chunks += 1
        if chunks == IN_PROCESS_ROWS // size + 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_import(database, secret_key, content, chunk_size=size,
                   on_progress=stop_after_the_first_chunk_from_the_second_process)
    imported = count(database, Prospect)
    assert imported == IN_PROCESS_ROWS + size
    report = run_import(database, secret_key, content)
    # Line 9's person was in the campaign before this run, and so is the same person's again on the last line.
    assert report.counts["already_in_campaign"] == imported + 1 and report.counts["new"] == rows - imported
    assert count(database, Prospect) == rows == count(database, Membership)


def test_the_people_a_chunk_creates_are_named_by_the_ids_the_database_gave_them(database, secret_key):
    """A chunk's new people by id: on SQLite counted from the highest id when every row went in (the top one
    deleted before, which the next ids skip), read back when one of the rows was somebody already there."""
    def values(n: int) -> tuple:
        email = f"p{n}@ids.example"
        return new_prospect_values({"email": email}, address_identity(secret_key, email))

    with database.transaction() as session:
        first = insert_prospect_values(session, [values(n) for n in range(5)], source="test", now=utcnow())
        delete_prospect(session, first["p4@ids.example"], actor=IMPORTER, block_reimport=False)
    with database.transaction() as session:
        counted = insert_prospect_values(session, [values(n) for n in (10, 11, 12)], source="test", now=utcnow())
        read_back = insert_prospect_values(session, [values(n) for n in (20, 1, 21)], source="test", now=utcnow())
    with database.snapshot() as session:
        stored = dict(session.execute(select(Prospect.email_key, Prospect.id)).all())
    assert counted == {f"p{n}@ids.example": stored[f"p{n}@ids.example"] for n in (10, 11, 12)}
    assert min(counted.values()) > first["p4@ids.example"]
    assert read_back == {f"p{n}@ids.example": stored[f"p{n}@ids.example"] for n in (20, 21)}
    assert {key: first[key] for key in first if key in stored} == {f"p{n}@ids.example": stored[f"p{n}@ids.example"]
                                                                  for n in range(4)}


def test_any_character_a_cell_may_hold_is_stored_as_read(database, secret_key):
    """Cells with what PostgreSQL's COPY format escapes (backslashes, tabs, line breaks, a literal \\N) or
    another encoding would not hold arrive as the file has them, on both databases, through the second process
    too (IN_PROCESS_ROWS rows go first)."""
    tricky = ["back\\slash", "tab\there", "two\nlines", "\\N", "trailing\\", "Zoë Ærø 東京", "a\\tb", "\\\\N"]
    filler = [f"f{n}@filler.example,F,,Filler,\n" for n in range(IN_PROCESS_ROWS)]
    cells = [f'p{n}@tricky.example,"{value}",Doe,"{value}","{value}"\n' for n, value in enumerate(tricky)]
    content = "email,first_name,last_name,company,title\n" + "".join(filler + cells)
    expected = {}
    for row in ProspectCsv(io.BytesIO(content.encode()), name="test.csv"):
        if row.values["email"].endswith("@tricky.example"):
            expected[row.values["email"]] = (row.values["first_name"], row.values["company"], row.values["title"])
    report = run_import(database, secret_key, content)
    assert report.counts["new"] == IN_PROCESS_ROWS + len(tricky)
    with database.snapshot() as session:
        stored = {email: (first, company, title) for email, first, company, title in session.execute(
            select(Prospect.email, Prospect.first_name, Prospect.company, Prospect.title)
            .where(Prospect.email.like("%@tricky.example")))}
    assert stored == expected and len(stored) == len(tricky)
    assert {first for first, _, _ in stored.values()} >= {"back\\slash", "tab\there", "\\N", "trailing\\"}


def test_a_per_row_report_and_the_counts_alone_tell_the_same_import(database, secret_key):
    """An import asked for each row's outcome (--report) and one asked only for the counts agree, on new people,
    people added, every other outcome and the states recorded; the rows come in file order."""
    def files(tag: str) -> tuple[str, str]:
        header = "Email,First Name,Unsubscribed\n"
        known = "".join(f"k{n}@known-{tag}.example,K,no\n" for n in range(3))
        rows = ("".join(f"n{n}@new-{tag}.example,N,no\n" for n in range(4)) + f"k0@known-{tag}.example,K,yes\n"
                + f"n5@new-{tag}.example,N,yes\n" + f"n0@new-{tag}.example,Again,no\n" + "not-an-address,X,no\n"
                + f"k1@known-{tag}.example,K,no\n" + f"k2@known-{tag}.example,K,maybe\n")
        return header + known, header + rows

    results = []
    for tag, per_row in (("counted", False), ("listed", True)):
        known, rows = files(tag)
        run_import(database, secret_key, known, campaign=f"Earlier {tag}")
        seen: list = []
        report = run_import(database, secret_key, rows, campaign=tag, on_outcome=seen.append if per_row else None)
        results.append((report.counts, report.states, {k: [o.line for o in v] for k, v in report.samples.items()},
                        seen))
    (counts, states, samples, none_seen), (counts_again, states_again, samples_again, seen) = results
    assert counts == counts_again and states == states_again and samples == samples_again and none_seen == []
    assert counts == {"new": 5, "added": 2, "already_in_campaign": 0, "duplicate_in_file": 1,
                      "skipped_do_not_contact": 0, "skipped_blocked": 0, "invalid": 2}
    assert states["opted_out"] == 2
    assert [o.line for o in seen] == list(range(2, 12))
    by_line = {o.line: (o.email, o.outcome, o.state) for o in seen}
    assert by_line[6] == ("k0@known-listed.example", "added", "opted_out")
    assert by_line[7] == ("n5@new-listed.example", "new", "opted_out")
    assert by_line[2] == ("n0@new-listed.example", "new", "") and by_line[9][1] == "invalid"

"""Imports honour the opt-outs, do-not-contact decisions and hard bounces other tools exported, through
`prospectbot import` on both databases: who is in the database afterwards, with which state, whom the sender may
email, the audit rows, the Slack outbox, and what the command and its --report say."""

from __future__ import annotations

import csv
import io

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.cli import cli
from storage.audit import Actor
from storage.campaigns import find_campaign
from storage.importing import import_prospects
from storage.models import Activity, AuditEntry, Import, Membership, Notification, Prospect
from storage.prospect_csv import ProspectCsv
from storage.prospect_csv.common import clean
from storage.prospect_csv.states import state_value
from storage.prospects import find_prospect_id, prospect_details
from storage.sending import iter_sendable, record_activity
from tests.support import TEST_SECRET_KEY


@pytest.fixture
def run(database_url, tmp_path, monkeypatch):
    """Runs `prospectbot ARGS` in-process against the test database; returns (exit code, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)
    env = {"DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET_KEY.decode(), "PROSPECTBOT_ACTOR": "ops"}

    def invoke(*args: str):
        result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
        assert "Traceback" not in result.output + result.stderr
        return result.exit_code, result.stdout, result.stderr

    return invoke


@pytest.fixture
def import_file(run, tmp_path):
    """Writes `text` to FILE and runs `prospectbot import FILE --campaign CAMPAIGN --report …`; returns
    (stdout, report rows as dicts)."""

    def do(text: str, campaign: str = "Q4 Outreach", name: str = "leads.csv"):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        report = tmp_path / f"{name}.report.csv"
        code, out, err = run("import", str(path), "--campaign", campaign, "--report", str(report))
        assert code == 0, err
        with report.open(encoding="utf-8", newline="") as handle:
            return out, list(csv.DictReader(handle))

    return do


def state(database, email):
    """(reason, channel, note) of the prospect's do not contact, or None."""
    with database.snapshot() as session:
        dnc = prospect_details(session, find_prospect_id(session, email)).do_not_contact
    return None if dnc is None else (dnc.reason, dnc.channel, dnc.note)


def sendable(database, campaign="Q4 Outreach"):
    with database.snapshot(streaming=True) as session:
        return {r.email for r in iter_sendable(session, find_campaign(session, campaign).id)}


def memberships(database, campaign="Q4 Outreach"):
    """{email: (status, bounced activities)} of the campaign's members."""
    with database.snapshot() as session:
        campaign_id = find_campaign(session, campaign).id
        bounces = dict(session.execute(
            select(Activity.prospect_id, func.count()).where(Activity.campaign_id == campaign_id,
                                                            Activity.kind == "bounced")
            .group_by(Activity.prospect_id)).all())
        return {email: (status, bounces.get(pid, 0)) for email, status, pid in session.execute(
            select(Prospect.email, Membership.status, Prospect.id).join(Membership, Membership.prospect_id == Prospect.id)
            .where(Membership.campaign_id == campaign_id))}


def audit(database, action):
    with database.snapshot() as session:
        return session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).all()


def notifications(database):
    with database.snapshot() as session:
        return [(n.prospect_id, n.prospect_count, n.reason, n.via) for n in
                session.scalars(select(Notification).order_by(Notification.id))]


def note(column, file="leads.csv"):
    return f'Imported from column "{column}" of {file}'


def counted(out, label):
    """The number the import summary shows beside `label`."""
    [line] = [line for line in out.splitlines() if line.strip().startswith(label)]
    return int(line.split()[-1].replace(",", ""))


# -- each kind of column -------------------------------------------------------------------------------------------

VALUES = [("yes", True), ("", False), ("2024-03-05", True), ("No", False), ("✓", True), ("not unsubscribed", False),
          ("3/5/2024 10:12", True), ("FALSE", False), ("Mar 5, 2024", True), ("-", False)]


@pytest.mark.parametrize("header", ["Unsubscribed", "Email Opt Out", "HasOptedOutOfEmail", "UNSUB_TIME",
                                    "unsubscribed_at", "Opted out", "Global unsubscribe"])
def test_an_own_opt_out_column_makes_them_do_not_contact_as_their_own_request(database, import_file, header):
    rows = "".join(f"p{n}@acme.com,\"{value}\"\n" for n, (value, _) in enumerate(VALUES))
    out, report = import_file(f"Email,{header}\n{rows}")
    flagged = {f"p{n}@acme.com" for n, (_, true) in enumerate(VALUES) if true}
    for n in range(len(VALUES)):
        email = f"p{n}@acme.com"
        assert state(database, email) == (("requested", "import", note(header)) if email in flagged else None)
    # Still created and in the campaign, with the sendable ones only.
    assert set(memberships(database)) == {f"p{n}@acme.com" for n in range(len(VALUES))}
    assert sendable(database) == {f"p{n}@acme.com" for n in range(len(VALUES))} - flagged
    assert [(r["outcome"], r["state"]) for r in report] == [("new", "opted_out" if true else "") for _, true in VALUES]
    assert f"Opt-out columns: {header} (own opt-out)" in out
    assert counted(out, "opted out themselves") == 5 and counted(out, "new contacts") == len(VALUES)


@pytest.mark.parametrize("header", ["Do Not Contact", "Do not email", "Blacklisted", "Blocklisted"])
def test_a_do_not_contact_column_is_a_team_decision_with_a_note_naming_the_column(database, import_file, header):
    rows = "".join(f"p{n}@acme.com,\"{value}\"\n" for n, (value, _) in enumerate(VALUES))
    out, report = import_file(f"Email,{header}\n{rows}")
    for n, (_, true) in enumerate(VALUES):
        assert state(database, f"p{n}@acme.com") == (("other", "import", note(header)) if true else None)
    assert len(sendable(database)) == 5
    assert [r["state"] for r in report] == ["do_not_contact" if true else "" for _, true in VALUES]
    assert f"Opt-out columns: {header} (do not contact)" in out
    assert counted(out, "do not contact (team decision)") == 5


@pytest.mark.parametrize("header", ["Bounced", "Hard Bounce", "Email bounced", "Bounce date", "EmailBouncedDate"])
def test_a_hard_bounce_column_records_a_bounce_in_the_campaign(database, import_file, header):
    rows = "".join(f"p{n}@acme.com,\"{value}\"\n" for n, (value, _) in enumerate(VALUES))
    out, report = import_file(f"Email,{header}\n{rows}")
    assert memberships(database) == {f"p{n}@acme.com": ("bounced", 1) if true else ("active", 0)
                                     for n, (_, true) in enumerate(VALUES)}
    assert all(state(database, f"p{n}@acme.com") is None for n in range(len(VALUES)))  # a bounce is no opt-out
    assert len(sendable(database)) == 5
    assert [r["state"] for r in report] == ["bounced" if true else "" for _, true in VALUES]
    assert f"Opt-out columns: {header} (hard bounce)" in out and counted(out, "hard bounces") == 5
    with database.snapshot() as session:
        first = prospect_details(session, find_prospect_id(session, "p0@acme.com"))
    assert [(c.status, c.bounced) for c in first.campaigns] == [("bounced", 1)]


@pytest.mark.parametrize(("value", "shown"), [("maybe", "maybe"), ("2", "2"), ("45356", "45356"),
                                              ("2024-02-30", "2024-02-30"), ("n/a", "n/a"),
                                              ("Opted\nin", "Opted in")])
def test_an_unreadable_value_is_an_invalid_row_naming_column_and_value(database, import_file, value, shown):
    quoted = value.replace('"', '""')
    out, report = import_file(f'Email,First Name,Unsubscribed\nbad@acme.com,Bad,"{quoted}"\nok@acme.com,Ok,no\n')
    message = f'column "Unsubscribed" holds "{shown}": expected yes or no, or a date'
    assert report[0] == {"line": "2", "email": "bad@acme.com", "outcome": "invalid", "message": message, "state": ""}
    assert f"line 2: bad@acme.com ({message})" in out
    assert counted(out, "invalid rows") == 1
    assert sendable(database) == {"ok@acme.com"}
    with database.snapshot() as session:
        assert session.scalars(select(Prospect.email)).all() == ["ok@acme.com"]  # the row is not imported


def test_a_later_row_for_the_same_address_is_imported_when_the_first_is_unreadable(database, import_file):
    _, report = import_file("Email,Unsubscribed\nann@acme.com,later\nann@acme.com,yes\n")
    assert [(r["outcome"], r["state"]) for r in report] == [("invalid", ""), ("new", "opted_out")]
    assert state(database, "ann@acme.com")[0] == "requested"


# -- people the database knows ---------------------------------------------------------------------------------------


def test_a_known_contactable_prospect_is_flagged_in_this_campaign_and_every_other(database, import_file):
    import_file("Email\nann@acme.com\nbob@acme.com\n", campaign="First")
    import_file("Email\nann@acme.com\n")
    _, report = import_file("Email,Unsubscribed,Bounced\nann@acme.com,yes,\nbob@acme.com,,yes\n")
    assert [(r["outcome"], r["state"]) for r in report] == [("already_in_campaign", "opted_out"), ("added", "bounced")]
    assert state(database, "ann@acme.com") == ("requested", "import", note("Unsubscribed"))
    assert state(database, "bob@acme.com") is None
    # A hard bounce is the address's: a mailbox that does not exist does not exist for "First" either.
    assert sendable(database) == set() and sendable(database, "First") == set()
    assert memberships(database) == {"ann@acme.com": ("active", 0), "bob@acme.com": ("bounced", 1)}


def test_a_colleagues_do_not_contact_is_upgraded_to_their_own_opt_out(database, run, import_file):
    import_file("Email\nann@acme.com\n", campaign="First")
    assert run("dnc", "ann@acme.com", "--reason", "other", "--note", "Competitor")[0] == 0
    _, report = import_file("Email,Email Opt Out\nann@acme.com,true\n")
    assert [(r["outcome"], r["state"]) for r in report] == [("skipped_do_not_contact", "opted_out")]
    assert state(database, "ann@acme.com") == ("requested", "import", note("Email Opt Out"))
    upgrade = audit(database, "do_not_contact")[-1]
    assert (upgrade.channel, upgrade.before["do_not_contact"]["reason"], upgrade.after["do_not_contact"]["reason"]) == (
        "import", "other", "requested")
    code, _, err = run("lift", "ann@acme.com", "--yes")
    assert code == 1 and "opted out themselves: that can never be lifted" in err


def test_an_own_opt_out_is_never_downgraded_by_a_do_not_contact_column(database, import_file):
    import_file("Email,Unsubscribed\nann@acme.com,yes\n")
    _, report = import_file("Email,Do Not Contact\nann@acme.com,yes\nbob@acme.com,yes\n", name="team.csv")
    assert [(r["outcome"], r["state"]) for r in report] == [("skipped_do_not_contact", "do_not_contact"),
                                                           ("new", "do_not_contact")]
    assert state(database, "ann@acme.com") == ("requested", "import", note("Unsubscribed"))
    assert state(database, "bob@acme.com") == ("other", "import", note("Do Not Contact", "team.csv"))
    assert len(audit(database, "do_not_contact")) == 2  # ann once, bob once: nothing was written over ann


def test_in_one_row_or_two_their_own_opt_out_outranks_a_team_decision(database, import_file):
    _, report = import_file("Email,Do Not Contact,Unsubscribed\n"
                            "ann@acme.com,yes,yes\nbob@acme.com,yes,\nbob@acme.com,,yes\n")
    assert [(r["outcome"], r["state"]) for r in report] == [("new", "opted_out"), ("new", "do_not_contact"),
                                                           ("duplicate_in_file", "opted_out")]
    assert state(database, "ann@acme.com")[0] == "requested" and state(database, "bob@acme.com")[0] == "requested"


def test_a_person_skipped_as_blocked_is_not_created_for_their_opt_out(database, run, import_file):
    assert run("dnc", "--domain", "blocked.io")[0] == 0
    _, report = import_file("Email,Unsubscribed\nann@blocked.io,yes\n")
    assert [(r["outcome"], r["state"]) for r in report] == [("skipped_blocked", "")]
    with database.snapshot() as session:
        assert session.scalar(select(func.count()).select_from(Prospect)) == 0


def test_a_bounce_already_recorded_by_the_sender_is_not_recorded_twice(database, import_file):
    import_file("Email\nann@acme.com\n")
    with database.transaction() as session:
        ann = find_prospect_id(session, "ann@acme.com")
        record_activity(session, find_campaign(session, "Q4 Outreach").id, ann, "bounced")
    import_file("Email,Bounced\nann@acme.com,yes\n")
    assert memberships(database) == {"ann@acme.com": ("bounced", 1)}


# -- what is not guessed -----------------------------------------------------------------------------------------


def test_ambiguous_columns_are_not_imported_and_nobody_is_flagged(database, import_file):
    out, report = import_file("Email,DNC,Subscribed,Status,Stage,Opt in,Email status,Do Not Call\n"
                              "ann@acme.com,yes,no,unsubscribed,Lost,no,bounced,true\n")
    assert "Columns not imported: DNC, Subscribed, Status, Stage, Opt in, Email status, Do Not Call" in out
    assert "Opt-out columns" not in out and "from the opt-out columns" not in out
    assert list(report[0]) == ["line", "email", "outcome", "message"]  # no state column without opt-out columns
    assert state(database, "ann@acme.com") is None and sendable(database) == {"ann@acme.com"}


# -- the summary, the report, the audit log and Slack ----------------------------------------------------------------


def test_summary_and_report_count_each_state_beside_the_outcomes(database, import_file):
    out, report = import_file(
        "Email,First Name,Unsubscribed,Do Not Contact,Hard Bounce,Notes\n"
        "ann@acme.com,Ann,yes,,,\n"
        "bob@acme.com,Bob,,x,2024-03-05,\n"
        "cat@acme.com,Cat,maybe,,,\n"
        "dan@acme.com,Dan,,,,hi\n"
        "ann@acme.com,Annie,,yes,,\n"
        "eve@acme.com,Eve,Opted Out,,TRUE,\n")
    assert out.splitlines() == [
        'Imported leads.csv into "Q4 Outreach": 6 rows.',
        "Opt-out columns: Unsubscribed (own opt-out), Do Not Contact (do not contact), Hard Bounce (hard bounce)",
        "Columns not imported: Notes",
        "  new contacts                             4",
        "  existing contacts added                  0",
        "  already in the campaign                  0",
        "  duplicates within the file               1",
        "  skipped: do not contact                  0",
        "  skipped: blocked from imports            0",
        "  invalid rows                             1",
        "  of which, from the opt-out columns (never emailed again):",
        "    opted out themselves                   2",
        "    do not contact (team decision)         2",
        "    hard bounces                           2",
        "Invalid rows:",
        '  line 4: cat@acme.com (column "Unsubscribed" holds "maybe": expected yes or no, or a date)',
        out.splitlines()[-1],
    ]
    assert out.splitlines()[-1].startswith("Every row's outcome is in ")
    assert report == [
        {"line": "2", "email": "ann@acme.com", "outcome": "new", "message": "", "state": "opted_out"},
        {"line": "3", "email": "bob@acme.com", "outcome": "new", "message": "", "state": "do_not_contact+bounced"},
        {"line": "4", "email": "cat@acme.com", "outcome": "invalid",
         "message": 'column "Unsubscribed" holds "maybe": expected yes or no, or a date', "state": ""},
        {"line": "5", "email": "dan@acme.com", "outcome": "new", "message": "", "state": ""},
        {"line": "6", "email": "ann@acme.com", "outcome": "duplicate_in_file", "message": "same address as line 2",
         "state": "do_not_contact"},
        {"line": "7", "email": "eve@acme.com", "outcome": "new", "message": "", "state": "opted_out+bounced"},
    ]
    assert sendable(database) == {"dan@acme.com"}
    with database.snapshot() as session:
        run = session.scalars(select(Import)).one()
    assert run.counts == {"new": 4, "added": 0, "already_in_campaign": 0, "duplicate_in_file": 1,
                          "skipped_do_not_contact": 0, "skipped_blocked": 0, "invalid": 1,
                          "opted_out": 2, "do_not_contact": 2, "bounced": 2}


def test_every_change_has_its_audit_row(database, import_file):
    import_file("Email,Unsubscribed,Blacklisted,Bounced\nann@acme.com,yes,,\nbob@acme.com,,yes,yes\n"
                "cat@acme.com,,,\n")
    with database.snapshot() as session:
        ids = {email: find_prospect_id(session, email) for email in ("ann@acme.com", "bob@acme.com", "cat@acme.com")}
    marks = audit(database, "do_not_contact")
    assert sorted((a.prospect_id, a.actor, a.channel, a.after["do_not_contact"]["reason"]) for a in marks) == [
        (ids["ann@acme.com"], "cli:ops", "import", "requested"), (ids["bob@acme.com"], "cli:ops", "import", "other")]
    [chunk] = audit(database, "import")
    assert chunk.after["created"] == sorted(ids.values()) and chunk.after["bounced"] == [ids["bob@acme.com"]]
    [finish] = audit(database, "import.finish")
    assert (finish.after["opted_out"], finish.after["do_not_contact"], finish.after["bounced"]) == (1, 1, 1)
    assert "acme.com" not in repr([(a.before, a.after) for a in marks + [chunk, finish]])


def test_running_the_same_import_again_changes_nothing_and_announces_nothing(database, import_file):
    content = "Email,Unsubscribed,Do Not Contact,Bounced\n" + "".join(
        f"p{n}@acme.com,{'yes' if n % 3 == 0 else ''},{'yes' if n % 3 == 1 else ''},{'yes' if n % 2 else ''}\n"
        for n in range(30))
    import_file(content)
    before = (len(audit(database, "do_not_contact")), memberships(database), notifications(database))
    _, report = import_file(content)
    assert {r["outcome"] for r in report} == {"already_in_campaign", "skipped_do_not_contact"}
    assert (len(audit(database, "do_not_contact")), memberships(database), notifications(database)) == before


def test_slack_hears_one_summary_per_reason_per_import_not_a_message_per_person(database, import_file):
    rows = "".join(f"own{n}@acme.com,yes,\n" for n in range(3)) + "".join(f"team{n}@acme.com,,yes\n" for n in range(2))
    import_file("Email,Unsubscribed,Do Not Contact\n" + rows)
    assert notifications(database) == [(None, 3, "requested", "import"), (None, 2, "other", "import")]


def test_the_summary_is_one_message_for_the_whole_import_whatever_its_chunks(database, secret_key):
    rows = "".join(f"p{n}@acme.com,{'yes' if n % 2 else ''},{'x' if n % 5 == 0 else ''}\n" for n in range(40))
    data = ("Email,Unsubscribed,Bounced\n" + rows + "p1@acme.com,,yes\n").encode()
    report = import_prospects(database.transaction, ProspectCsv(io.BytesIO(data), name="big.csv"),
                              campaign_name="Q4 Outreach", actor=Actor("cli:ops", "cli"), secret_key=secret_key,
                              source_label="import:big.csv", chunk_size=7)
    assert report.states == {"opted_out": 20, "do_not_contact": 0, "bounced": 9}
    assert report.counts["new"] == 40 and report.counts["duplicate_in_file"] == 1
    assert notifications(database) == [(None, 20, "requested", "import")]
    # The duplicate in a later chunk recorded its bounce too.
    assert memberships(database)["p1@acme.com"] == ("bounced", 1)
    assert sendable(database) == {f"p{n}@acme.com" for n in range(40) if n % 2 == 0 and n % 5}


# -- garbage never shows a traceback -------------------------------------------------------------------------------

cell = st.one_of(st.sampled_from(["yes", "", "no", "2024-03-05", "13/13/2024", "\x00", "=1+1", "\ufeffyes", "☑",
                                  "x" * 600, '"', "\r\n"]), st.text(max_size=20))


@settings(max_examples=15, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.sampled_from(["a@x.io", "b@x.io", "bad", ""]), cell, cell, cell), max_size=6))
def test_garbage_in_state_columns_never_shows_a_traceback(database, run, tmp_path, rows):
    path = tmp_path / "garbage.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Email", "Unsubscribed", "Do Not Contact", "Bounced"])
        writer.writerows(rows)
    code, out, err = run("import", str(path), "--campaign", "Garbage")
    assert code == 0 and err == ""
    with database.snapshot(streaming=True) as session:
        campaign_id = find_campaign(session, "Garbage").id
        members = set(session.scalars(select(Prospect.email).join(Membership, Membership.prospect_id == Prospect.id)
                                      .where(Membership.campaign_id == campaign_id)))
        sendable_now = {r.email for r in iter_sendable(session, campaign_id)}
    for email, *cells in rows:
        read = [state_value(clean(cell[:500])) for cell in cells]
        if None not in read and any(read):  # a row read as flagging them: never sendable again
            assert email not in sendable_now
    assert sendable_now <= members

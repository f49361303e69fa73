"""Roles, domain blocks, lifting do not contact and deciding bulk requests from the command line: the real
commands against both databases, checking what the operator reads and what the database then holds."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from storage import bulk_requests as bulk
from storage import roles
from storage.audit import Actor
from storage.campaigns import find_campaign
from storage.models import AuditEntry, BlockedDomain, BulkRequest, DoNotContact, Notification, Prospect, RoleGrant
from tests.test_cli import write

REQUESTER = Actor("slack:U0ALICE", "slack")



def rows(database, model: type) -> int:
    with database.snapshot() as session:
        return session.scalar(select(func.count()).select_from(model))


def dnc_reasons(database) -> dict[str, str]:
    with database.snapshot() as session:
        return dict(session.execute(select(Prospect.email, DoNotContact.reason)
                                    .join(DoNotContact, DoNotContact.prospect_id == Prospect.id)).all())


def audit_actions(database, actor: str = "cli:ops") -> list[str]:
    with database.snapshot() as session:
        return list(session.scalars(select(AuditEntry.action).where(AuditEntry.actor == actor)
                                    .order_by(AuditEntry.id)))


# -- roles ----------------------------------------------------------------------------------------------------


def test_grant_change_list_and_revoke_a_role(run, database):
    code, out, _ = run("roles", "grant", "manager", "u0abc")
    assert code == 0 and out == "U0ABC is now a manager. Slack picks this up within about a minute.\n"
    code, out, _ = run("roles", "grant", "member", "<@U0ABC>")
    assert code == 0 and out.startswith("U0ABC is now a member (was: manager).")
    code, out, _ = run("roles", "grant", "member", "U0ABC")
    assert code == 0 and out == "U0ABC was already a member: nothing changed.\n"
    run("roles", "grant", "manager", "W0BOSS")

    with database.snapshot() as session:
        assert [(g.user_id, g.role, g.granted_by) for g in roles.list_grants(session)] == [
            ("W0BOSS", "manager", "cli:ops"), ("U0ABC", "member", "cli:ops")]
    assert audit_actions(database) == ["role.grant", "role.grant", "role.grant"]  # the no-op wrote nothing

    code, out, _ = run("roles", "list")
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["USER", "ROLE", "GRANTED", "BY", "WHEN", "(UTC)"]
    assert lines[1].split()[:3] == ["W0BOSS", "manager", "cli:ops"]
    assert lines[2].split()[:3] == ["U0ABC", "member", "cli:ops"]
    assert lines[3] == ("In Slack, also: workspace admins and owners are managers (SLACK_MANAGER_GROUP is not set); "
                        "every full member of the workspace is a member (SLACK_MEMBER_GROUP is not set).")

    code, out, _ = run("roles", "revoke", "U0ABC")
    assert code == 0 and out.startswith("U0ABC no longer has the member role granted here; a role from a Slack user "
                                        "group stays.")
    code, out, _ = run("roles", "revoke", "U0ABC")
    assert code == 0 and out == "U0ABC has no role granted here: nothing changed.\n"
    with database.snapshot() as session:
        assert roles.granted_role(session, "U0ABC") is None and roles.granted_role(session, "W0BOSS") == "manager"
    assert audit_actions(database)[-1:] == ["role.revoke"] and audit_actions(database).count("role.revoke") == 1


def test_roles_list_names_the_slack_user_groups(run):
    code, out, _ = run("roles", "list", env={"SLACK_MANAGER_GROUP": "@sales-leads", "SLACK_MEMBER_GROUP": "S0SALES"})
    assert code == 0
    assert out.splitlines() == [
        "No role is granted here yet: give one with `prospectbot roles grant manager U0123`.",
        "In Slack, also: the people in the Slack user group @sales-leads are managers; the people in S0SALES are "
        "members.",
    ]


@pytest.mark.parametrize("args", [["grant", "manager", "bob"], ["grant", "member", "jane@acme.com"],
                                  ["revoke", "#general"]])
def test_a_bad_user_id_is_one_line_and_writes_nothing(run, database, args):
    code, out, err = run("roles", *args)
    assert code == 1 and out == ""
    assert err.startswith("Error: ") and "is not a Slack user id: use the member id (U…)" in err
    assert len(err.strip().splitlines()) == 1
    assert rows(database, RoleGrant) == 0 and rows(database, AuditEntry) == 0


def test_an_unknown_role_is_refused(run, database):
    code, _, err = run("roles", "grant", "admin", "U0ABC")
    assert code == 2 and "'admin' is not one of 'manager', 'member'" in err
    assert rows(database, RoleGrant) == 0


# -- domain blocks --------------------------------------------------------------------------------------------


def test_blocking_a_domain_marks_its_prospects_and_later_imports_skip_it(run, database, tmp_path):
    run("import", write(tmp_path / "leads.csv", "email,first_name,last_name\njane@acme.com,Jane,Doe\n"
                        "bob@acme.com,Bob,Stone\nlee@other.io,Lee,Park\n"), "--campaign", "Q4")
    run("dnc", "bob@acme.com", "--reason", "not-target")

    code, out, _ = run("dnc", "--domain", "@Acme.COM", "--note", "their legal team asked")
    assert code == 0
    assert out == ("Blocked acme.com: 1 prospect is now do not contact (1 already was). "
                   "Future imports skip addresses at acme.com.\n")
    assert dnc_reasons(database) == {"jane@acme.com": "domain-blocked", "bob@acme.com": "not-target"}
    with database.snapshot() as session:
        block = session.get(BlockedDomain, "acme.com")
        assert (block.actor, block.channel, block.note) == ("cli:ops", "cli", "their legal team asked")
        # Announced in Slack through the outbox, like any other do not contact.
        assert session.scalars(select(Notification.reason)).all() == ["not-target", "domain-blocked"]
    assert "block_domain" in audit_actions(database)

    code, out, _ = run("dnc", "--domain", "acme.com")
    assert out.startswith("acme.com was already blocked: the 2 prospects there already were do not contact.")

    code, out, _ = run("import", write(tmp_path / "more.csv", "email\nnew@acme.com\njane@acme.com\nsam@other.io\n"),
                       "--campaign", "Q4", "--report", str(tmp_path / "report.csv"))
    assert code == 0 and "line 2: new@acme.com (everyone at acme.com is blocked)" in out
    assert (tmp_path / "report.csv").read_text().splitlines()[1:] == [
        "2,new@acme.com,skipped_blocked,everyone at acme.com is blocked",
        "3,jane@acme.com,skipped_do_not_contact,this person is do not contact",
        "4,sam@other.io,new,",
    ]
    with database.snapshot() as session:
        assert session.scalar(select(Prospect.id).where(Prospect.email == "new@acme.com")) is None

    code, out, _ = run("dnc", "--list-domains")
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["DOMAIN", "BLOCKED", "BY", "WHEN", "(UTC)", "NOTE"]
    assert lines[1].startswith("acme.com") and lines[1].endswith("their legal team asked") and len(lines) == 2

    code, _, err = run("lift", "jane@acme.com", "--yes")
    assert code == 1 and err == "Error: Everyone at acme.com is blocked, so Jane Doe stays do not contact.\n"
    assert dnc_reasons(database)["jane@acme.com"] == "domain-blocked"


def test_no_blocked_domain_yet(run):
    out = run("dnc", "--list-domains")[1]
    assert out == "No domain is blocked: block one with `prospectbot dnc --domain acme.com`.\n"


@pytest.mark.parametrize(
    "args,code,expected",
    [
        (["dnc", "jane@acme.com"], 2, "Missing option '--reason': choose requested, not-target, no-interest, other"),
        (["dnc", "--domain", "acme.com", "jane@acme.com"], 2,
         "Give either --domain or addresses (or --file), not both."),
        (["dnc", "--domain", "acme.com", "--reason", "requested"], 2, "--reason does not go with --domain"),
        (["dnc", "--list-domains", "--domain", "acme.com"], 2, "--list-domains goes alone."),
        (["dnc", "--domain", "acme"], 1, '"acme" is not an email domain'),
        (["dnc", "--domain", "acme.com", "--note", "x" * 2001], 1, "The note can be at most 2,000 characters long."),
    ],
)
def test_dnc_option_mistakes_change_nothing(run, database, tmp_path, args, code, expected):
    run("import", write(tmp_path / "l.csv", "email\njane@acme.com\n"), "--campaign", "Q4")
    got, _, err = run(*args)
    assert got == code and expected in err and "Traceback" not in err
    assert dnc_reasons(database) == {}
    assert rows(database, BlockedDomain) == 0


# -- lift -----------------------------------------------------------------------------------------------------


def test_lift_asks_lifts_and_refuses_an_own_opt_out(run, database, tmp_path):
    run("import", write(tmp_path / "l.csv", "email,first_name,last_name\n"
                        "jane@acme.com,Jane,Doe\nbob@acme.com,Bob,Stone\n"), "--campaign", "Q4")
    run("dnc", "jane@acme.com", "--reason", "requested")
    run("dnc", "bob@acme.com", "--reason", "other", "--note", "wrong list")

    code, out, err = run("lift", "jane@acme.com", "--yes")
    assert code == 1 and out == ""
    assert err == "Error: Jane Doe opted out themselves: that can never be lifted.\n"
    code, out, err = run("lift", "jane@acme.com")  # refused before any question is asked
    assert code == 1 and out == "" and "can never be lifted" in err

    code, out, err = run("lift", "bob@acme.com")  # not a terminal: shows what it would do, asks for --yes
    assert code == 1
    assert "Bob Stone <bob@acme.com>: do not contact since" in out and "other (cli, by cli:ops) — wrong list." in out
    assert "Lifting it lets 1 campaign email them again." in out
    assert err == "Error: Not lifted: confirm with --yes when not running in a terminal.\n"
    assert dnc_reasons(database) == {"jane@acme.com": "requested", "bob@acme.com": "other"}

    code, out, _ = run("lift", "bob@acme.com", "--yes")
    assert code == 0 and out == "Lifted do not contact for bob@acme.com (was: other). They may be emailed again.\n"
    assert dnc_reasons(database) == {"jane@acme.com": "requested"}
    assert audit_actions(database)[-1] == "lift_do_not_contact"
    assert "  Contactable." in run("show", "bob@acme.com")[1].splitlines()

    code, out, _ = run("lift", "bob@acme.com", "--yes")
    assert code == 0 and out == "bob@acme.com is not do not contact: nothing to lift.\n"
    code, _, err = run("lift", "ghost@acme.com", "--yes")
    assert code == 1 and err == "Error: No prospect has the address ghost@acme.com.\n"


# -- bulk requests --------------------------------------------------------------------------------------------


@pytest.fixture
def q4(run, database, tmp_path):
    """Campaign Q4: three prospects at acme.com and one at zeta.io; returns a function that files a request."""
    run("import", write(tmp_path / "q4.csv", "email\na@acme.com\nb@acme.com\nc@acme.com\nz@zeta.io\n"),
        "--campaign", "Q4")

    def request(domains: str = "acme.com", *, actor: Actor = REQUESTER, ttl: dt.timedelta = bulk.DEFAULT_TTL,
                message: tuple[str, str] | None = None) -> int:
        with database.transaction() as session:
            campaign_id = find_campaign(session, "Q4").id
            request_id = bulk.create_request(session, campaign_id, bulk.parse_rule("domains", domains=domains),
                                             actor=actor, note="cleanup", ttl=ttl)
            if message:
                bulk.record_message(session, request_id, channel=message[0], ts=message[1])
        return request_id

    return request


def test_list_and_approve_a_request(run, database, q4):
    assert run("requests")[1] == "No bulk request is waiting for a decision.\n"
    first, second = q4("acme.com"), q4("zeta.io")

    code, out, _ = run("requests")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["ID", "CAMPAIGN", "PROSPECTS", "REQUESTED", "BY", "EXPIRES", "(UTC)", "WHO"]
    assert lines[1].split()[:4] == [f"#{first}", "Q4", "3", "slack:U0ALICE"]
    assert lines[1].endswith("Everyone at acme.com") and lines[2].endswith("Everyone at zeta.io")
    assert lines[3] == "Decide with `prospectbot requests approve ID` or `prospectbot requests reject ID`."

    code, out, _ = run("requests", "approve", f"#{first}")
    assert code == 0
    assert out.splitlines() == [
        f"Approved request #{first} (3 prospects in Q4): 3 now do not contact.",
        "Slack was not told (SLACK_BOT_TOKEN is not set here): the approval message shows the decision once "
        "someone presses one of its buttons.",
    ]
    assert dnc_reasons(database) == {f"{x}@acme.com": "not-target" for x in "abc"}
    with database.snapshot() as session:
        request = session.get(BulkRequest, first)
        assert (request.status, request.decided_by, request.applied_count) == ("approved", "cli:ops", 3)
        assert set(session.scalars(select(DoNotContact.actor))) == {"cli:ops"}
    assert audit_actions(database)[-1] == "bulk.approve"

    code, _, err = run("requests", "approve", str(first))
    assert code == 1 and err == f"Error: Request #{first} was already approved by cli:ops: nothing changed.\n"
    lines = run("requests")[1].splitlines()
    assert len(lines) == 3 and lines[1].startswith(f"#{second} ")

    code, out, _ = run("requests", "reject", str(second))
    assert code == 0 and out.startswith(f"Rejected request #{second} (1 prospect in Q4): nothing changed.")
    assert "z@zeta.io" not in dnc_reasons(database)
    assert run("requests")[1] == "No bulk request is waiting for a decision.\n"


def test_nobody_decides_their_own_request(run, database, q4):
    own = q4(actor=Actor("cli:ops", "cli"))
    code, out, err = run("requests", "approve", str(own))
    assert code == 1 and out == ""
    assert err == "Error: You asked for this change yourself, so another manager must approve or reject it.\n"
    assert dnc_reasons(database) == {}
    code, out, _ = run("requests", "approve", str(own), env={"PROSPECTBOT_ACTOR": "boss"})
    assert code == 0 and "3 now do not contact" in out


@pytest.mark.parametrize("args,code,expected", [
    (["requests", "approve", "999"], 1, "Error: There is no bulk request #999."),
    (["requests", "reject", "twelve"], 2, '"twelve" is not a request number such as 12.'),
])
def test_a_wrong_request_id(run, q4, args, code, expected):
    got, _, err = run(*args)
    assert got == code and expected in err


def test_an_expired_request_is_not_applied(run, database, q4):
    expired = q4(ttl=dt.timedelta(seconds=-1))
    assert run("requests")[1] == "No bulk request is waiting for a decision.\n"
    code, _, err = run("requests", "approve", str(expired))
    assert code == 1
    assert err.startswith(f"Error: Request #{expired} (3 prospects in Q4) expired on ") and "nothing changed" in err
    assert dnc_reasons(database) == {}
    with database.snapshot() as session:
        assert session.get(BulkRequest, expired).status == "expired"


def test_a_decision_updates_the_approval_message_and_tells_the_requester(run, q4, fake_slack):
    from tests.fake_slack import Scripted

    slack = {"SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_API_URL": fake_slack.api_url}
    approved = q4("acme.com", message=("C0APPROVALS", "1700000000.000100"))
    code, out, _ = run("requests", "approve", str(approved), env=slack)
    assert code == 0 and out.splitlines()[-1] == "In Slack: updated the approval message; told U0ALICE."
    [update] = fake_slack.calls_to("chat.update")
    assert (update["channel"], update["ts"]) == ("C0APPROVALS", "1700000000.000100")
    assert "Approved* by ops: 3 prospects are now do not contact" in str(update["blocks"])
    [told] = fake_slack.calls_to("chat.postMessage")
    assert told["channel"] == "U0ALICE" and "ops approved your request" in told["text"]

    # Slack refusing is reported in the same plain words; the decision stands.
    fake_slack.script("chat.update", Scripted(body={"ok": False, "error": "message_not_found"}))
    rejected = q4("zeta.io", message=("C0APPROVALS", "1700000000.000200"))
    code, out, _ = run("requests", "reject", str(rejected), env=slack)
    assert code == 0 and out.startswith(f"Rejected request #{rejected}")
    assert out.splitlines()[-1] == "In Slack: told U0ALICE; could not update the approval message (message_not_found)."

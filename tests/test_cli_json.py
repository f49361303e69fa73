"""`--json` on every command that lists or shows: one JSON object per line (JSON Lines), dates in ISO 8601, and
nothing at all on stdout when there is nothing to list. Real commands against both databases."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from storage import bulk_requests as bulk
from storage.audit import Actor
from storage.campaigns import find_campaign
from storage.prospects import find_prospect_id
from storage.sending import record_activity
from tests.test_cli import write


@pytest.fixture
def leads(run, tmp_path):
    run("import", write(tmp_path / "q4.csv", "email,first_name,last_name,company,title\n"
                        "jane@acme.com,Jane,Núñez,Acme,CTO\nbob@acme.com,Bob,Stone,Acme,\nlee@zeta.io,Lee,Park,Zeta,\n"),
        "--campaign", "Q4 Outreach")
    run("import", write(tmp_path / "agencies.csv", "email\njane@acme.com\n"), "--campaign", "Agencies")


def json_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def when(value: str) -> dt.datetime:
    """An ISO 8601 date from the output, which must say its time zone."""
    moment = dt.datetime.fromisoformat(value)
    assert moment.tzinfo is not None and moment.utcoffset() == dt.timedelta(0), value
    return moment


def recent(value: str) -> bool:
    return abs(dt.datetime.now(dt.UTC) - when(value)) < dt.timedelta(minutes=5)


def test_find_json_is_one_search_result_per_line(run, leads):
    code, out, _ = run("find", "acme", "--json")
    assert code == 0
    assert sorted(json_lines(out), key=lambda line: line["email"]) == [
        {"id": 2, "email": "bob@acme.com", "first_name": "Bob", "last_name": "Stone", "company": "Acme", "title": "",
         "do_not_contact": False},
        {"id": 1, "email": "jane@acme.com", "first_name": "Jane", "last_name": "Núñez", "company": "Acme",
         "title": "CTO", "do_not_contact": False},
    ]


def test_show_json_is_the_whole_record_in_one_object(run, leads, database):
    with database.transaction() as session:
        q4 = find_campaign(session, "Q4 Outreach").id
        jane = find_prospect_id(session, "jane@acme.com")
        record_activity(session, q4, jane, "sent")
        record_activity(session, q4, jane, "opened")
    run("dnc", "jane@acme.com", "--reason", "other", "--note", "wrong list")

    code, out, _ = run("show", "Jane@Acme.com", "--json")
    assert code == 0 and len(out.splitlines()) == 1
    [record] = json_lines(out)
    assert {key: record[key] for key in ("id", "email", "first_name", "last_name", "company", "title", "domain",
                                         "domain_blocked")} == {
        "id": jane, "email": "jane@acme.com", "first_name": "Jane", "last_name": "Núñez", "company": "Acme",
        "title": "CTO", "domain": "acme.com", "domain_blocked": False}
    assert recent(record["created_at"]) and recent(record["updated_at"]) and isinstance(record["version"], int)
    dnc = record["do_not_contact"]
    assert {key: dnc[key] for key in ("reason", "note", "actor", "channel")} == {
        "reason": "other", "note": "wrong list", "actor": "cli:ops", "channel": "cli"}
    assert recent(dnc["since"])
    campaigns = {c["campaign_name"]: c for c in record["campaigns"]}
    assert set(campaigns) == {"Q4 Outreach", "Agencies"}
    q4_activity = campaigns["Q4 Outreach"]
    assert (q4_activity["campaign_id"], q4_activity["status"], q4_activity["sent"], q4_activity["opened"],
            q4_activity["replied"], q4_activity["bounced"]) == (q4, "active", 1, 1, 0, 0)
    assert recent(q4_activity["added_at"]) and recent(q4_activity["last_activity_at"])
    assert campaigns["Agencies"]["sent"] == 0 and campaigns["Agencies"]["last_activity_at"] is None

    code, out, _ = run("show", "bob@acme.com", "--json")
    assert json_lines(out)[0]["do_not_contact"] is None


def test_campaigns_json(run, leads):
    run("dnc", "bob@acme.com", "--reason", "not-target")
    code, out, _ = run("campaigns", "--json")
    assert code == 0
    assert [{key: line[key] for key in ("name", "members", "sendable")} for line in json_lines(out)] == [
        {"name": "Agencies", "members": 1, "sendable": 1},
        {"name": "Q4 Outreach", "members": 3, "sendable": 2},
    ]
    assert all(isinstance(line["id"], int) for line in json_lines(out))
    # The table says the same.
    table = run("campaigns")[1].splitlines()
    assert table[0].split() == ["CAMPAIGN", "MEMBERS", "SENDABLE"]
    assert table[2].split() == ["Q4", "Outreach", "3", "2"]


def test_roles_list_json_holds_the_grants_only(run):
    run("roles", "grant", "manager", "U0BOSS")
    run("roles", "grant", "member", "U0ALICE")
    code, out, _ = run("roles", "list", "--json")
    assert code == 0
    lines = json_lines(out)
    assert {line["user_id"]: (line["role"], line["granted_by"]) for line in lines} == {
        "U0ALICE": ("member", "cli:ops"), "U0BOSS": ("manager", "cli:ops")}
    assert all(set(line) == {"user_id", "role", "granted_by", "granted_at"} and recent(line["granted_at"])
               for line in lines)
    assert "In Slack, also" not in out


def test_requests_json_lists_the_pending_requests(run, leads, database):
    with database.transaction() as session:
        q4 = find_campaign(session, "Q4 Outreach").id
        request_id = bulk.create_request(session, q4, bulk.parse_rule("domains", domains="acme.com"),
                                         actor=Actor("slack:U0ALICE", "slack"), note="cleanup")
    code, out, _ = run("requests", "--json")
    assert code == 0
    [request] = json_lines(out)
    assert {key: request[key] for key in ("id", "campaign_id", "campaign_name", "rule", "rule_text", "note",
                                          "requested_by", "prospect_count", "status", "decided_by")} == {
        "id": request_id, "campaign_id": q4, "campaign_name": "Q4 Outreach", "rule": "domains",
        "rule_text": "Everyone at acme.com", "note": "cleanup", "requested_by": "slack:U0ALICE",
        "prospect_count": 2, "status": "pending", "decided_by": None}
    assert recent(request["requested_at"]) and when(request["expires_at"]) > dt.datetime.now(dt.UTC)
    assert sorted(sample["email"] for sample in request["sample"]) == ["bob@acme.com", "jane@acme.com"]

    code, _, err = run("requests", "--json", "approve", str(request_id))
    assert code == 2 and "--json goes with the list alone" in err
    assert json_lines(run("requests", "--json")[1])[0]["status"] == "pending"  # nothing was decided


def test_blocked_domains_json(run, leads):
    run("dnc", "--domain", "acme.com", "--note", "their legal team asked")
    code, out, _ = run("dnc", "--list-domains", "--json")
    assert code == 0
    [block] = json_lines(out)
    assert set(block) == {"domain", "actor", "channel", "note", "created_at"}
    assert (block["domain"], block["actor"], block["channel"], block["note"]) == (
        "acme.com", "cli:ops", "cli", "their legal team asked")
    assert recent(block["created_at"])

    code, _, err = run("dnc", "bob@acme.com", "--reason", "requested", "--json")
    assert code == 2 and "--json goes with --list-domains." in err


@pytest.mark.parametrize("args", [
    ["find", "nobody", "--json"],
    ["campaigns", "--json"],
    ["roles", "list", "--json"],
    ["requests", "--json"],
    ["dnc", "--list-domains", "--json"],
])
def test_nothing_to_list_prints_nothing(run, args):
    assert run(*args) == (0, "", "")

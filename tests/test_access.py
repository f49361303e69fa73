"""Who is a manager or a member: operator grants, Slack user groups, workspace admins, guests, other workspaces —
resolved against the fake Slack Web API over HTTP, with the short cache and a Slack outage."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient

from handlers.access import GUEST as GUEST_REFUSAL
from handlers.access import NOT_A_MEMBER, UNREACHABLE, RoleDirectory
from handlers.access import OUTSIDER as OUTSIDER_REFUSAL
from storage import roles
from storage.audit import Actor
from storage.errors import InvalidInput
from tests.fake_slack import GUEST, MANAGER, MEMBER, OUTSIDER, Scripted

OPERATOR = Actor("cli:ops", "cli")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def directory(database, fake_slack, clock):
    def make(**groups: str) -> RoleDirectory:
        return RoleDirectory(database, WebClient(token="xoxb-test", base_url=fake_slack.api_url), clock=clock,
                             cache_seconds=60, **groups)
    return make


def test_without_groups_full_members_are_members_and_admins_managers(directory):
    roles_of = directory()
    assert roles_of.access(MEMBER).role == "member"
    assert roles_of.access(MANAGER).role == "manager"
    assert (roles_of.access(GUEST).role, roles_of.access(GUEST).refusal) == (None, GUEST_REFUSAL)
    assert (roles_of.access(OUTSIDER).role, roles_of.access(OUTSIDER).refusal) == (None, OUTSIDER_REFUSAL)


def test_user_groups_named_by_handle_or_id_decide(directory, fake_slack):
    fake_slack.usergroups = [
        {"id": "S0MGR", "handle": "sales-managers", "name": "Sales managers", "users": [MEMBER]},
        {"id": "S0SALES", "handle": "sales", "name": "Sales", "users": ["U0BOB"]},
    ]
    roles_of = directory(manager_group="sales-managers", member_group="S0SALES")
    assert roles_of.access(MEMBER).role == "manager"
    assert roles_of.access("U0BOB").role == "member"
    # With a manager group set, being a workspace admin is not enough; with a member group, neither is being a
    # full member.
    assert roles_of.access(MANAGER).role is None and roles_of.access(MANAGER).refusal == NOT_A_MEMBER
    assert roles_of.access("U0CAROL").role is None


def test_operator_grants_add_to_the_groups_and_work_while_slack_is_down(database, directory, fake_slack, clock):
    fake_slack.usergroups = [{"id": "S0SALES", "handle": "sales", "users": []}]
    with database.transaction() as session:
        roles.grant_role(session, "u0carol", "manager", actor=OPERATOR)
        roles.grant_role(session, GUEST, "member", actor=OPERATOR)
    roles_of = directory(member_group="sales")
    assert roles_of.access("U0CAROL").role == "manager"
    assert roles_of.access(GUEST).role == "member"  # granted by name: a deliberate exception

    fake_slack.script("users.info", *[Scripted(status=500, body={"ok": False})] * 4)
    clock.now += 61
    assert roles_of.access("U0CAROL").role == "manager"
    down = roles_of.access("U0DAVE")
    assert (down.role, down.refusal) == (None, UNREACHABLE)


def test_answers_are_cached_briefly(database, directory, fake_slack, clock):
    roles_of = directory()
    assert roles_of.access(MEMBER).role == "member"
    with database.transaction() as session:
        roles.grant_role(session, MEMBER, "manager", actor=OPERATOR)
    assert roles_of.access(MEMBER).role == "member"
    lookups = len(fake_slack.calls_to("users.info"))
    clock.now += 61
    assert roles_of.access(MEMBER).role == "manager"
    assert len(fake_slack.calls_to("users.info")) == lookups + 1


def test_grants_are_audited_and_bad_ids_refused(database):
    with database.transaction() as session:
        assert roles.grant_role(session, "<@U0CAROL|carol>", "member", actor=OPERATOR) is None
        assert roles.grant_role(session, "U0CAROL", "manager", actor=OPERATOR) == "member"
        assert [(g.user_id, g.role) for g in roles.list_grants(session)] == [("U0CAROL", "manager")]
        assert roles.revoke_role(session, "U0CAROL", actor=OPERATOR) == "manager"
        assert roles.revoke_role(session, "U0CAROL", actor=OPERATOR) is None
    for bad in ("carol", "C0123ABC", ""):
        with pytest.raises(InvalidInput, match="not a Slack user id"), database.transaction() as session:
            roles.grant_role(session, bad, "member", actor=OPERATOR)
    with pytest.raises(InvalidInput, match="choose manager or member"), database.transaction() as session:
        roles.grant_role(session, "U0CAROL", "admin", actor=OPERATOR)

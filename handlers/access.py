"""Who may do what. Two roles: members find prospects, save do not contact and ask for bulk changes; managers
also delete, lift a colleague's do not contact, block domains and decide bulk requests.

A role comes from `prospectbot roles grant` (kept in the database) or from the Slack user groups named in the
settings. Without a member group every full member of the workspace is a member; without a manager group the
workspace's admins and owners are managers. Guests and people from other workspaces are refused unless an
operator granted them a role by name. Answers are cached for a minute, so a listener rarely waits on Slack.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.blocks import build_notice_modal, option
from handlers.errors import user_message
from handlers.listening import user_of
from handlers.services import Services, services_of
from storage import roles
from storage.db import Database

log = logging.getLogger(__name__)

MANAGER, MEMBER = "manager", "member"


@dataclass(frozen=True)
class Access:
    user_id: str
    role: str | None
    # Why there is no role, in a sentence for the person: guest, another workspace, not in the groups.
    refusal: str = ""

    @property
    def is_manager(self) -> bool:
        return self.role == MANAGER

    @property
    def is_member(self) -> bool:
        return self.role in (MANAGER, MEMBER)


NOT_A_MEMBER = ("Sorry, prospectbot is only for the sales team, and you are not in it yet. Ask a manager to add "
                "you.")
GUEST = "Sorry, prospectbot is not available to guests of this workspace."
OUTSIDER = "Sorry, prospectbot only works for people in its own workspace."
UNREACHABLE = ("Sorry, I can not check your access right now because Slack is not answering. Please try again in "
               "a minute.")


class RoleDirectory:
    """`client`: role checks run before the acknowledgement, inside Slack's three seconds, so give one with a
    short timeout and no retries; an unanswered check is a polite refusal, not a wait."""

    def __init__(self, database: Database, client: WebClient, *, manager_group: str = "", member_group: str = "",
                 cache_seconds: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.database = database
        self.client = client
        self.manager_group = manager_group
        self.member_group = member_group
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._people: dict[str, tuple[float, Access]] = {}
        self._groups: tuple[float, dict[str, set[str]]] | None = None
        self._team_id: str | None = None

    def access(self, user_id: str, *, team_id: str | None = None) -> Access:
        """`team_id`: the bot's own workspace, when the caller knows it already (Bolt asked Slack once, with
        auth.test), which spares a Web API call inside Slack's three seconds."""
        if team_id and self._team_id is None:
            self._team_id = team_id
        now = self.clock()
        with self._lock:
            cached = self._people.get(user_id)
        if cached and cached[0] > now:
            return cached[1]
        access = self._resolve(user_id)
        if access.refusal != UNREACHABLE:
            with self._lock:
                self._people[user_id] = (now + self.cache_seconds, access)
        return access

    def forget(self) -> None:
        with self._lock:
            self._people.clear()
            self._groups = None

    def _resolve(self, user_id: str) -> Access:
        with self.database.snapshot() as session:
            granted = roles.granted_role(session, user_id)
        try:
            user = self.client.users_info(user=user_id)["user"]
            team_id = self._our_team()
            groups = self._group_members() if (self.manager_group or self.member_group) else {}
        except (SlackApiError, OSError, KeyError) as error:
            log.warning("could not look up %s's role in Slack: %s", user_id, error)
            # An operator's grant does not need Slack to be believed.
            return Access(user_id, granted) if granted else Access(user_id, None, UNREACHABLE)
        if granted:
            manager_by_group = user_id in groups.get(self.manager_group, set())
            return Access(user_id, MANAGER if manager_by_group else granted)
        if user.get("deleted") or user.get("is_bot"):
            return Access(user_id, None, NOT_A_MEMBER)
        if team_id and user.get("team_id") and user["team_id"] != team_id:
            return Access(user_id, None, OUTSIDER)
        if user.get("is_restricted") or user.get("is_ultra_restricted"):
            return Access(user_id, None, GUEST)
        if self.manager_group:
            is_manager = user_id in groups.get(self.manager_group, set())
        else:
            is_manager = bool(user.get("is_admin") or user.get("is_owner"))
        if is_manager:
            return Access(user_id, MANAGER)
        if not self.member_group or user_id in groups.get(self.member_group, set()):
            return Access(user_id, MEMBER)
        return Access(user_id, None, NOT_A_MEMBER)

    def _our_team(self) -> str | None:
        if self._team_id is None:
            self._team_id = self.client.auth_test().get("team_id") or ""
        return self._team_id or None

    def _group_members(self) -> dict[str, set[str]]:
        """{group setting: user ids}. A group is named by its id (S…), its handle or its name."""
        now = self.clock()
        with self._lock:
            if self._groups and self._groups[0] > now:
                return self._groups[1]
        listed: list[dict[str, Any]] = self.client.usergroups_list(include_users=True).get("usergroups", [])
        members: dict[str, set[str]] = {}
        for wanted in {self.manager_group, self.member_group} - {""}:
            key = wanted.lower()
            found = [group for group in listed if key in (str(group.get("id", "")).lower(),
                                                          str(group.get("handle", "")).lower(),
                                                          str(group.get("name", "")).lower())]
            if not found:
                log.warning("the Slack user group %r in the settings does not exist", wanted)
            members[wanted] = {user for group in found for user in group.get("users", [])}
        with self._lock:
            self._groups = (now + self.cache_seconds, members)
        return members


def gate(needs: str | Callable[[Services], str] = MEMBER, *, what: str = "") -> Callable[..., Any]:
    """Listener middleware: lets the request through to the listener only for people with the role `needs` (or
    the role it names from the settings); everyone else gets a polite refusal where they are, and nothing
    changes. The person's Access is left in the context for the listener."""
    refusal = (f"Only a manager can {what}. Ask a manager, or mark the prospect do not contact instead."
               if what else "Only a manager can do that.")

    def check(body: dict[str, Any], ack: Any, client: WebClient, respond: Any, context: Any,
              next: Callable[[], Any]) -> Any:  # noqa: A002 - Bolt passes the continuation by this name
        services = services_of(context)
        required = needs(services) if callable(needs) else needs
        try:
            authorized = context.authorize_result
            access = services.roles.access(user_of(body), team_id=authorized.team_id if authorized else None)
        except Exception as error:  # noqa: BLE001 - e.g. the database is down: say so, change nothing
            return refuse(body, ack, client, respond, user_message(error))
        context["access"] = access
        if access.is_manager or (required == MEMBER and access.is_member):
            return next()
        # Returning the acknowledgement ends the request here: the listener never runs.
        return refuse(body, ack, client, respond, access.refusal or refusal)

    return check


MEMBERS = [gate()]


def managers(what: str) -> list[Callable[..., Any]]:
    """The middleware list of a manager's action; `what` completes "Only a manager can …"."""
    return [gate(MANAGER, what=what)]


def refuse(body: dict[str, Any], ack: Any, client: WebClient, respond: Any, sentence: str) -> Any:
    """Says no privately, in the surface the request came from; returns the acknowledgement."""
    kind = body.get("type")
    if body.get("command"):
        return ack(response_type="ephemeral", text=sentence)
    if kind == "block_suggestion":
        return ack(options=[option(f"⚠ {sentence}", "unavailable")])
    if kind == "view_submission":
        # Shown under the first field, so the person keeps what they typed (and can retry when it was an outage).
        view = body.get("view") or {}
        inputs = [block["block_id"] for block in view.get("blocks", [])
                  if block.get("type") == "input" and block.get("block_id")]
        inputs += list((view.get("state") or {}).get("values") or {})
        if inputs:
            return ack(response_action="errors", errors={inputs[0]: sentence})
        return ack(response_action="update", view=build_notice_modal("Not allowed", f":no_entry_sign: {sentence}"))
    acknowledged = ack()
    try:
        view = body.get("view") or {}
        if view.get("type") == "modal":
            client.views_push(trigger_id=body["trigger_id"],
                              view=build_notice_modal("Not allowed", f":no_entry_sign: {sentence}", close="Back"))
        elif view:
            client.views_open(trigger_id=body["trigger_id"],
                              view=build_notice_modal("Not allowed", f":no_entry_sign: {sentence}"))
        elif body.get("response_url"):
            respond(text=sentence, response_type="ephemeral", replace_original=False)
    except Exception:  # noqa: BLE001 - the refusal itself is best effort; nothing was changed either way
        log.warning("could not show a refusal", exc_info=True)
    return acknowledged

"""Locust traffic for `python -m benchmarks.load_test` (issue 6): a sales team on Slack and mailbox providers'
one-click unsubscribes, spread over several `prospectbot serve` instances. Not meant to be run on its own: the
orchestrator seeds the database, writes the plan and passes, through environment variables,

- LOAD_PLAN: a JSON file with the campaigns, search prefixes and the prospect pools (below);
- LOAD_HOSTS: the instances' base URLs, comma-separated;
- LOAD_JOURNAL: a file to which every write this load caused is appended, one JSON line each;
- LOAD_TIMINGS: a file to which every request's timing is appended, one JSON line each;
- LOAD_THROUGHPUT: task runs per second for each user (constant throughput, each user with its own phase);
- LOAD_SIGNING_SECRET, LOAD_RESPONSE_URL: the Slack signing secret, and a response_url on the fake Web API.

The request mix (out of 100 requests, ~96 tasks): 50 type-ahead searches in a campaign (block_suggestion
find.prospect, 1-4 letters); 25 profile opens (20 block_actions find.view, 5 `/prospect EMAIL`); 15 do-not-contact
saves (view_submission "edit"): 9 on a fresh prospect at the version read, 2 races — the same prospect at the same
version submitted at the same moment on two instances by two people, exactly one may win — 1 stale re-save of a
saved prospect at the version from before the save, 1 re-save at the current version; 10 one-click unsubscribes:
5 first clicks, 2 links clicked twice at the same moment on both instances, 1 click on a link clicked earlier.

Saves and unsubscribes draw from disjoint pools of prospects, so what the database must hold afterwards follows
from the journal alone. Each prospect is submitted at most once per version its screen showed.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
from collections import deque
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

import gevent
from locust import FastHttpUser, events, task
from slack_sdk.signature import SignatureVerifier

try:
    PLAN: dict[str, Any] = json.loads(Path(os.environ["LOAD_PLAN"]).read_text())
    HOSTS = os.environ["LOAD_HOSTS"].split(",")
    THROUGHPUT = float(os.environ["LOAD_THROUGHPUT"])
    VERIFIER = SignatureVerifier(os.environ["LOAD_SIGNING_SECRET"])
    RESPONSE_URL = os.environ["LOAD_RESPONSE_URL"]
    JOURNAL = open(os.environ["LOAD_JOURNAL"], "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - for the run
    TIMINGS = open(os.environ["LOAD_TIMINGS"], "a", buffering=1, encoding="utf-8")  # noqa: SIM115
except KeyError as missing:
    raise SystemExit(f"{missing} is not set: run this through `python -m benchmarks.load_test`") from None

TEAM_ID = PLAN["team_id"]
CAMPAIGNS = PLAN["campaigns"]  # [{"id": 1, "prefixes": ["an", "smi", ...]}, ...]
BROWSE = PLAN["browse"]  # [[prospect_id, campaign_id, email], ...]: anyone may be looked at
REASONS = ("not-target", "no-interest", "other")

# Shared by every user: locust runs them as greenlets in one thread, so these need no lock.
fresh_saves: deque[list[int]] = deque(PLAN["saves"])  # [[prospect_id, campaign_id], ...]
fresh_links: deque[list[Any]] = deque(PLAN["unsubscribes"])  # [[membership_id, prospect_id, token], ...]
stale_resaves: deque[tuple[int, int, int]] = deque()  # (prospect, campaign, version before the save)
current_resaves: deque[tuple[int, int, int]] = deque()  # (prospect, campaign, version after the save)
clicked_links: list[list[Any]] = []
user_numbers = itertools.count(1)
race_numbers = itertools.count(1)
write_numbers = itertools.count(1)
# When the run time is up, locust kills users that are between tasks, and a user waking up at that moment can be
# killed a moment into its next request. So writes stop first, and those in flight are waited for: every write
# that reached an instance is in the journal with its answer.
stopping = False
in_flight = 0

TYPE_AHEAD = "type-ahead (block_suggestion)"
OPEN_LISTED = "profile open (find.view)"
OPEN_BY_EMAIL = "profile open (/prospect EMAIL)"
SAVE = "save do not contact (view_submission)"
UNSUBSCRIBE = "one-click unsubscribe (POST)"


def journal(**entry: Any) -> None:
    JOURNAL.write(json.dumps(entry) + "\n")


@events.test_stopping.add_listener
def finish_writes(**_: Any) -> None:
    global stopping
    stopping = True
    deadline = time.monotonic() + 30
    while in_flight and time.monotonic() < deadline:
        gevent.sleep(0.005)


@events.request.add_listener
def record_timing(request_type: str, name: str, response_time: float, exception: Any, start_time: float,
                  url: str = "", **_: Any) -> None:
    TIMINGS.write(json.dumps([name, urlparse(url).netloc, start_time, response_time,
                              None if exception is None else str(exception)[:200]]) + "\n")


def save_reply(text: str) -> str:
    if "Saved." in text:
        return "saved"
    if "Nothing to change" in text:
        return "unchanged"
    if "Someone else changed" in text:
        return "changed"
    if "no longer exists" in text:
        return "gone"
    return "other"


def version_shown(text: str) -> int | None:
    """The version in the profile the save answered with: what the person's screen shows now."""
    try:
        return int(json.loads(json.loads(text)["view"]["private_metadata"])["v"])
    except (ValueError, KeyError, TypeError):
        return None


def staggered_constant_throughput(task_runs_per_second: float) -> Any:
    """locust's constant_throughput, each user with its own phase. Locust's own counts from the moment the user
    was created, and headless locust with -r equal to -u creates every user in the same millisecond: they would
    all fire together, a burst of as many requests as users once a period, instead of a steady rate."""
    if task_runs_per_second <= 0:
        raise ValueError(f"a positive rate is needed, not {task_runs_per_second}")
    period = 1 / task_runs_per_second

    def wait_time(user: Any) -> float:
        now = time.perf_counter()
        # The next task starts one period after this one started, or at once when this one ran longer.
        user.next_task_at = max(now, user.next_task_at + period)
        return user.next_task_at - now

    return wait_time


class SalesTeamMember(FastHttpUser):
    """A plain member of the workspace (no role of their own in the fake Slack), or a mailbox provider."""

    host = HOSTS[0]
    wait_time = staggered_constant_throughput(THROUGHPUT)

    def on_start(self) -> None:
        self.user_id = f"U0LOAD{next(user_numbers):03}"
        # Each user's phase, uniformly over one period: together they send at an even rate.
        self.next_task_at = time.perf_counter() + random.uniform(0, 1 / THROUGHPUT)
        gevent.sleep(self.next_task_at - time.perf_counter())

    # -- requests ----------------------------------------------------------------------------------------------

    def slack(self, host: int, fields: dict[str, str], name: str, expect: Any) -> tuple[int, str]:
        """A form post to /slack/events signed exactly as Slack signs it; `expect(status, text)` names what is
        wrong with the answer, or returns None."""
        body = urlencode(fields)
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": timestamp,
                   "X-Slack-Signature": VERIFIER.generate_signature(timestamp=timestamp, body=body)}
        return self.post(HOSTS[host] + "/slack/events", body.encode(), headers, name, expect)

    def post(self, url: str, body: bytes, headers: dict[str, str], name: str, expect: Any) -> tuple[int, str]:
        with self.client.post(url, data=body, headers=headers, name=name, catch_response=True) as response:
            status = response.status_code or 0
            try:
                text = response.text or ""
            except Exception:  # noqa: BLE001 - a connection error has no body
                text = ""
            problem = expect(status, text) if status else f"no answer: {response.error}"
            if problem:
                response.failure(problem)
            else:
                response.success()
        return status, text

    def interaction(self, host: int, payload: dict[str, Any], name: str, expect: Any) -> tuple[int, str]:
        return self.slack(host, {"payload": json.dumps(payload)}, name, expect)

    def who(self, person: str | None = None) -> dict[str, str]:
        person = person or self.user_id
        return {"id": person, "username": person.lower(), "team_id": TEAM_ID}

    # -- reading ---------------------------------------------------------------------------------------------

    @task(50)
    def type_ahead(self) -> None:
        campaign = random.choice(CAMPAIGNS)
        view = {"id": "VLOADFIND", "hash": "h", "type": "modal", "callback_id": "find", "blocks": [],
                "private_metadata": json.dumps({"c": campaign["id"], "q": ""}), "state": {"values": {}},
                "previous_view_id": None}
        payload = {"type": "block_suggestion", "team": {"id": TEAM_ID, "domain": "acme"}, "user": self.who(),
                   "api_app_id": "A0LOAD", "action_id": "find.prospect", "block_id": "find_prospect",
                   "value": random.choice(campaign["prefixes"]), "view": view}
        self.interaction(random.randrange(len(HOSTS)), payload, TYPE_AHEAD, expect_options)

    @task(20)
    def open_listed(self) -> None:
        prospect_id, campaign_id, _ = random.choice(BROWSE)
        view = {"id": "VLOADFIND", "hash": "h", "type": "modal", "callback_id": "find", "blocks": [],
                "private_metadata": json.dumps({"c": campaign_id, "q": ""}), "state": {"values": {}},
                "previous_view_id": None}
        payload = {"type": "block_actions", "team": {"id": TEAM_ID, "domain": "acme"}, "user": self.who(),
                   "api_app_id": "A0LOAD", "trigger_id": trigger_id(), "container": {"type": "view",
                                                                                   "view_id": "VLOADFIND"},
                   "view": view, "actions": [{"type": "button", "action_id": "find.view", "block_id": "b",
                                              "value": json.dumps({"p": prospect_id, "c": campaign_id}),
                                              "action_ts": str(time.time())}]}
        self.interaction(random.randrange(len(HOSTS)), payload, OPEN_LISTED, expect_empty_ack)

    @task(5)
    def open_by_email(self) -> None:
        _, _, email = random.choice(BROWSE)
        fields = {"token": "legacy", "team_id": TEAM_ID, "team_domain": "acme", "channel_id": "C0SALES",
                  "channel_name": "sales", "user_id": self.user_id, "user_name": self.user_id.lower(),
                  "command": "/prospect", "text": email, "api_app_id": "A0LOAD", "is_enterprise_install": "false",
                  "response_url": f"{RESPONSE_URL}{self.user_id}", "trigger_id": trigger_id()}
        self.slack(random.randrange(len(HOSTS)), fields, OPEN_BY_EMAIL, expect_empty_ack)

    # -- saving do not contact ---------------------------------------------------------------------------------

    def save(self, host: int, prospect_id: int, campaign_id: int, version: int, kind: str,
             race: int | None = None, person: str | None = None) -> tuple[str, int | None]:
        """`person`: who presses Save (this user unless said otherwise: a colleague, in a race)."""
        person = person or self.user_id
        reason = random.choice(REASONS)
        note = f"load test, {person}" if reason == "other" else ""
        state: dict[str, Any] = {"dnc_reason": {"reason": {"type": "radio_buttons",
                                                           "selected_option": {"value": reason}}}}
        if note:
            state["dnc_note"] = {"note": {"type": "plain_text_input", "value": note}}
        view = {"id": f"VLOADEDIT{prospect_id}", "hash": "h", "type": "modal", "callback_id": "edit", "blocks": [],
                "private_metadata": json.dumps({"p": prospect_id, "v": version, "c": campaign_id}),
                "state": {"values": state}, "previous_view_id": None}
        payload = {"type": "view_submission", "team": {"id": TEAM_ID, "domain": "acme"}, "user": self.who(person),
                   "api_app_id": "A0LOAD", "trigger_id": trigger_id(), "view": view}
        expected = EXPECTED_SAVE_REPLIES[kind]
        entry = {"op": "save", "kind": kind, "race": race, "prospect": prospect_id, "campaign": campaign_id,
                 "version": version, "reason": reason, "note": note, "user": person, "host": host}
        status, text = self.write(entry, lambda: self.interaction(host, payload, SAVE, lambda status, text: (
            f"HTTP {status}" if status != 200 else
            None if save_reply(text) in expected else f"{kind} save answered {save_reply(text)}: {text[:200]}")),
            lambda status, text: {"reply": save_reply(text) if status == 200 else "error",
                                  "version_after": version_shown(text) if status == 200 else None})
        if status != 200:
            return "error", None
        return save_reply(text), version_shown(text)

    def write(self, entry: dict[str, Any], send: Any, describe: Any) -> tuple[int, str]:
        """Journals a write before it is sent and once answered, and keeps the end of the test waiting for it."""
        global in_flight
        entry = {"id": f"{self.user_id}-{next(write_numbers)}", **entry}
        journal(phase="sent", **entry)
        in_flight += 1
        started = time.time()
        try:
            status, text = send()
        except BaseException as error:  # killed mid-request: the outcome is unknown, and said so
            journal(phase="done", **entry, status=None, reply="interrupted", started=started, ended=time.time(),
                    text=repr(error))
            raise
        finally:
            in_flight -= 1
        answer = describe(status, text)
        journal(phase="done", **entry, status=status, started=started, ended=time.time(),
                text=text[:300] if answer.get("reply") in ("other", "error") else "", **answer)
        return status, text

    @task(9)
    def save_fresh(self) -> None:
        if stopping:
            return None
        if not fresh_saves:
            return self.type_ahead()
        prospect_id, campaign_id = fresh_saves.popleft()
        reply, shown = self.save(random.randrange(len(HOSTS)), prospect_id, campaign_id, 1, "fresh")
        if reply == "saved":
            stale_resaves.append((prospect_id, campaign_id, 1))
            current_resaves.append((prospect_id, campaign_id, shown or 2))
        return None

    @task(2)
    def save_race(self) -> None:
        """Two people saw the same profile at the same version and press Save at the same moment, on two
        instances: one is saved, the other is told someone else changed it."""
        if stopping:
            return None
        if not fresh_saves:
            return self.type_ahead()
        prospect_id, campaign_id = fresh_saves.popleft()
        race = next(race_numbers)
        first = gevent.spawn(self.save, 0, prospect_id, campaign_id, 1, "race", race)
        second = gevent.spawn(self.save, len(HOSTS) - 1, prospect_id, campaign_id, 1, "race", race,
                              self.user_id + "B")
        gevent.joinall([first, second])
        shown = [greenlet.value[1] for greenlet in (first, second)
                 if greenlet.successful() and greenlet.value[0] == "saved"]
        if shown:
            current_resaves.append((prospect_id, campaign_id, shown[0] or 2))
        return None

    @task(1)
    def save_stale(self) -> None:
        """A screen opened before a colleague's save: the save must not overwrite theirs."""
        self.resave(stale_resaves, "stale")

    @task(1)
    def save_current(self) -> None:
        """A screen opened after the save: already do not contact, nothing changes."""
        self.resave(current_resaves, "current")

    def resave(self, screens: deque[tuple[int, int, int]], kind: str) -> None:
        if stopping:
            return None
        if not screens:
            return self.save_fresh()
        prospect_id, campaign_id, version = screens.popleft()
        self.save(random.randrange(len(HOSTS)), prospect_id, campaign_id, version, kind)
        return None

    # -- one-click unsubscribes --------------------------------------------------------------------------------

    def click(self, host: int, link: list[Any], kind: str) -> None:
        membership_id, prospect_id, token = link
        entry = {"op": "unsubscribe", "kind": kind, "membership": membership_id, "prospect": prospect_id,
                 "host": host}
        self.write(entry, lambda: self.post(
            f"{HOSTS[host]}/unsubscribe/{token}", b"List-Unsubscribe=One-Click",
            {"Content-Type": "application/x-www-form-urlencoded"}, UNSUBSCRIBE,
            lambda status, text: None if status == 200 and text == "Unsubscribed." else f"HTTP {status}: {text[:200]}"),
            lambda status, text: {"reply": text[:100] if status == 200 else "error"})

    @task(5)
    def unsubscribe_first(self) -> None:
        if stopping:
            return None
        if not fresh_links:
            return self.type_ahead()
        link = fresh_links.popleft()
        self.click(random.randrange(len(HOSTS)), link, "first")
        clicked_links.append(link)
        return None

    @task(2)
    def unsubscribe_twice(self) -> None:
        """A mail client that sends the one-click POST twice at once, each reaching another instance."""
        if stopping:
            return None
        if not fresh_links:
            return self.type_ahead()
        link = fresh_links.popleft()
        gevent.joinall([gevent.spawn(self.click, host, link, "double") for host in (0, len(HOSTS) - 1)])
        clicked_links.append(link)
        return None

    @task(1)
    def unsubscribe_again(self) -> None:
        if stopping:
            return None
        if not clicked_links:
            return self.unsubscribe_first()
        self.click(random.randrange(len(HOSTS)), random.choice(clicked_links), "again")
        return None


EXPECTED_SAVE_REPLIES = {
    "fresh": {"saved"},
    "race": {"saved", "changed"},  # and exactly one "saved" per race: checked by the orchestrator
    "stale": {"changed"},
    "current": {"unchanged"},
}


def trigger_id() -> str:
    """Carries the monotonic time it was sent at (CLOCK_MONOTONIC is shared by every process on the machine),
    so the orchestrator can time the views.open / views.push the lazy listener makes on the fake Web API."""
    return f"load-{time.monotonic_ns()}-{random.randrange(10**6)}"


def expect_options(status: int, text: str) -> str | None:
    if status != 200:
        return f"HTTP {status}: {text[:200]}"
    try:
        options = json.loads(text)["options"]
    except (ValueError, KeyError):
        return f"not options: {text[:200]}"
    if any(not str(choice.get("value", "")).isdigit() for choice in options):
        return f"an error option: {text[:200]}"
    return None


def expect_empty_ack(status: int, text: str) -> str | None:
    return None if status == 200 and not text.strip() else f"HTTP {status}: {text[:200]}"

"""A bounded load test (issue 6): two `prospectbot serve` instances on one PostgreSQL database, mixed Slack and
unsubscribe traffic from locust at a fixed rate, then an exact check that nothing was lost or written twice.

1. A fresh, migrated schema; N prospects seeded in four campaigns (a tenth of them in two; one campaign with a
   notification channel of its own), then ANALYZE.
2. The fake Slack Web API (tests/fake_slack.py) in this process; two `prospectbot serve` processes on free ports,
   each with its own notification worker, pointed at it; both healthy before anything is sent.
3. Locust, headless, as a subprocess (benchmarks/load_locustfile.py): users at a constant throughput each,
   their phases spread over a period, so that the total is a steady --rate requests/s for --seconds; every Slack
   request signed as Slack signs it, every write journaled before it is sent and with the reply it got.
4. Once the instances have finished their lazy work and delivered the outbox: PASS/FAIL lines comparing the
   database with the journal — do_not_contact rows, their audit rows one for one, the notifications outbox and
   what reached Slack — and a markdown table of latencies per request type, with the rate achieved and where the
   CPU went.

Usage: python -m benchmarks.load_test --postgres-url URL [--rate 100] [--seconds 60] [--prospects 50000]
       [--users N] [--out FILE] [--keep]
The PostgreSQL database's `public` schema is dropped and rebuilt. Locust: `pip install -e '.[load]'`.
Exits 1 when the consistency check fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from benchmarks.common import BENCH_SECRET_KEY, fresh_database, percentile
from benchmarks.storage_bench import FIRST, LAST, SUFFIX, WORDS
from storage.audit import Actor
from storage.campaigns import configure_campaign, get_or_create_campaign
from storage.db import Database
from storage.fast_insert import bulk_insert
from storage.keys import address_identity, search_key
from storage.models import AuditEntry, DoNotContact, Membership, Notification, utcnow
from storage.prospects import insert_new_prospects, new_prospect_row
from storage.unsubscribe import unsubscribe_token
from tests.fake_slack import TEAM_ID, FakeSlack

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).resolve().parent / "load_locustfile.py"
SIGNING_SECRET = "load-test-signing-secret-0123456789"
NOTIFY_CHANNEL = "C0OPTOUTS"
# (name, share of the prospects, notification channel: "" is SLACK_NOTIFY_CHANNEL)
CAMPAIGNS = [("Q4 Outreach", 0.4, ""), ("Enterprise EMEA", 0.3, "C0ENTERPRISE"), ("Startups US", 0.2, ""),
             ("Partners", 0.1, "")]
IN_TWO_CAMPAIGNS = 0.1
SEED_CHUNK = 10_000
# Shares of the requests (see the locustfile): tasks per 100 requests, and how many requests each task makes.
REQUESTS_PER_TASK = 100 / 96
SAVE_SHARE, UNSUBSCRIBE_SHARE = 0.15, 0.10

TYPE_AHEAD = "type-ahead (block_suggestion)"
OPEN_LISTED = "profile open (find.view)"
OPEN_BY_EMAIL = "profile open (/prospect EMAIL)"
SAVE = "save do not contact (view_submission)"
UNSUBSCRIBE = "one-click unsubscribe (POST)"
ORDER = [TYPE_AHEAD, OPEN_LISTED, OPEN_BY_EMAIL, SAVE, UNSUBSCRIBE]


# -- seeding ----------------------------------------------------------------------------------------------------


@dataclass
class Seeded:
    campaigns: list[tuple[int, str, str]]  # (id, name, channel)
    people: dict[int, tuple[str, str, str, str]]  # prospect id: (email, first, last, company)
    memberships: dict[int, list[tuple[int, int]]]  # prospect id: [(membership id, campaign id), ...]
    channel_of: dict[int, str] = field(default_factory=dict)  # campaign id: its channel ("" for the default)


def seed(database: Database, prospects: int, rng: random.Random) -> Seeded:
    actor = Actor("cli:load-test", "cli")
    with database.transaction() as session:
        campaigns = []
        for name, _, channel in CAMPAIGNS:
            campaign = get_or_create_campaign(session, name, actor)
            if channel:
                configure_campaign(session, name, actor=actor, channel=channel)
            campaigns.append((campaign.id, name, channel))
    ids = [campaign_id for campaign_id, _, _ in campaigns]
    weights = [share for _, share, _ in CAMPAIGNS]
    people: dict[int, tuple[str, str, str, str]] = {}
    memberships: dict[int, list[tuple[int, int]]] = defaultdict(list)
    now = utcnow()
    for start in range(0, prospects, SEED_CHUNK):
        rows, facts = [], {}
        for n in range(start, min(prospects, start + SEED_CHUNK)):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            company = f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()} {rng.choice(SUFFIX)}"
            email = f"{search_key(first)}.{search_key(last)}.{n}@{company.lower().replace(' ', '')}.com"
            rows.append(new_prospect_row({"email": email, "first_name": first, "last_name": last,
                                          "company": company, "title": "Head of Sales"},
                                         address_identity(BENCH_SECRET_KEY, email), source="load test", now=now))
            facts[email] = (email, first, last, company)
        with database.transaction() as session:
            created = insert_new_prospects(session, rows)
            member_rows = []
            for email, prospect_id in created.items():
                people[prospect_id] = facts[email]
                chosen = rng.choices(ids, weights)[:1]
                if rng.random() < IN_TWO_CAMPAIGNS:
                    chosen.append(rng.choice([cid for cid in ids if cid != chosen[0]]))
                member_rows += [{"campaign_id": cid, "prospect_id": prospect_id, "status": "active", "added_at": now}
                                for cid in chosen]
            for membership_id, campaign_id, prospect_id in bulk_insert(
                    session, Membership, member_rows, returning=("id", "campaign_id", "prospect_id")):
                memberships[prospect_id].append((membership_id, campaign_id))
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))
    return Seeded(campaigns, people, dict(memberships), {cid: channel for cid, _, channel in campaigns})


def write_plan(seeded: Seeded, path: Path, rng: random.Random, *, rate: float, seconds: float) -> dict[str, Any]:
    """The locust users' material: search prefixes per campaign, who to look at, and disjoint pools of
    prospects to save and of unsubscribe links to click."""
    expected = rate * seconds
    everyone = sorted(seeded.people)
    rng.shuffle(everyone)
    save_count = min(len(everyone) // 3, int(expected * SAVE_SHARE * 1.3) + 100)
    link_count = min(len(everyone) // 3, int(expected * UNSUBSCRIBE_SHARE * 1.3) + 100)
    saves = [[pid, rng.choice(seeded.memberships[pid])[1]] for pid in everyone[:save_count]]
    links = []
    for pid in everyone[save_count:save_count + link_count]:
        membership_id, _ = rng.choice(seeded.memberships[pid])
        links.append([membership_id, pid, unsubscribe_token(BENCH_SECRET_KEY, membership_id)])
    members_of: dict[int, list[int]] = defaultdict(list)
    for pid, joined in seeded.memberships.items():
        for _, cid in joined:
            members_of[cid].append(pid)
    campaigns = []
    for cid, _, _ in seeded.campaigns:
        prefixes = []
        for pid in rng.sample(members_of[cid], min(500, len(members_of[cid]))):
            email, first, last, company = seeded.people[pid]
            typed = rng.choice((first, last, company, email))
            prefixes.append(typed[:rng.choice((1, 2, 2, 3, 3, 3, 4, 4))])
        campaigns.append({"id": cid, "prefixes": prefixes})
    browse = []
    for pid in rng.sample(everyone, min(5_000, len(everyone))):
        browse.append([pid, rng.choice(seeded.memberships[pid])[1], seeded.people[pid][0]])
    plan = {"team_id": TEAM_ID, "campaigns": campaigns, "browse": browse, "saves": saves, "unsubscribes": links}
    path.write_text(json.dumps(plan))
    return plan


# -- processes ----------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_serve(port: int, env: dict[str, str], workdir: Path, index: int) -> subprocess.Popen[bytes]:
    log = (workdir / f"serve-{index}.log").open("wb")
    prospectbot = Path(sys.executable).parent / "prospectbot"
    return subprocess.Popen([str(prospectbot), "serve", "--host", "127.0.0.1", "--port", str(port)], cwd=workdir,
                            env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_healthy(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"serve at {base} did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name: [state, ppid, ...]."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def postgres_total(postmaster: int) -> float:
    """CPU seconds of the whole PostgreSQL server so far, every database: the postmaster, its live children, and
    the children it has reaped (backends that came and went)."""
    fields = proc_stat(postmaster)
    if fields is None:
        return 0.0
    total = sum(int(value) for value in fields[11:15]) / TICKS  # utime, stime, cutime, cstime
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            child = proc_stat(int(entry.name))
            if child is not None and child[1] == str(postmaster):
                total += (int(child[11]) + int(child[12])) / TICKS
    return total


class BackendSampler(threading.Thread):
    """CPU of the PostgreSQL backends serving one database, sampled ten times a second. A lower bound: a backend
    that lives less than a tenth of a second, or the last moments of one, are missed."""

    def __init__(self, database_name: str) -> None:
        super().__init__(daemon=True)
        self.marker = f" {database_name} ".encode()
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.others: set[int] = set()
        self.done = threading.Event()
        self.sample(initial=True)

    def sample(self, initial: bool = False) -> None:
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) in self.others:
                continue
            pid = int(name)
            if pid not in self.last:
                try:
                    command = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                if not (command.startswith(b"postgres: ") and self.marker in command):
                    self.others.add(pid)
                    continue
            seconds = cpu_seconds(pid)
            if seconds is not None:
                self.first.setdefault(pid, seconds if initial else 0.0)
                self.last[pid] = seconds

    def run(self) -> None:
        while not self.done.wait(0.1):
            self.sample()

    def stop(self) -> float:
        self.done.set()
        self.join()
        self.sample()
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, over every core."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / TICKS, sum(values[:8]) / TICKS


def postmaster_of(database: Database) -> int:
    with database.engine.connect() as connection:
        backend = int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
    fields = proc_stat(backend)
    return int(fields[1]) if fields else 0


def connections_opened(database: Database, name: str) -> int:
    with database.engine.connect() as connection:
        return int(connection.execute(text("SELECT sessions FROM pg_stat_database WHERE datname = :name"),
                                      {"name": name}).scalar() or 0)


def run_locust(locust: str, env: dict[str, str], *, users: int, seconds: int, host: str, workdir: Path
               ) -> tuple[int, float]:
    """Runs locust headless to the end; returns (its exit code, the CPU seconds it used)."""
    command = [locust, "-f", str(LOCUSTFILE), "--headless", "-u", str(users), "-r", str(users), "-t", f"{seconds}s",
               "--stop-timeout", "30", "--csv", str(workdir / "locust"), "--only-summary", "--host", host]
    print(f"$ {' '.join(command)}", file=sys.stderr, flush=True)
    with (workdir / "locust.log").open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except KeyboardInterrupt:
            process.send_signal(signal.SIGINT)
            raise
        process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_utime + usage.ru_stime


# -- reading what happened -------------------------------------------------------------------------------------------


@dataclass
class Timing:
    name: str
    host: str
    start: float
    ms: float
    error: str | None


def read_timings(path: Path) -> list[Timing]:
    if not path.exists():
        return []
    return [Timing(*json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def read_journal(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the writes answered, with their answers; the writes sent that have no answer in the journal)."""
    if not path.exists():
        return [], []
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    done = [line for line in lines if line["phase"] == "done"]
    answered = {line["id"] for line in done}
    return done, [line for line in lines if line["phase"] == "sent" and line["id"] not in answered]


def trigger_sent(call_args: dict[str, Any]) -> float | None:
    trigger = str(call_args.get("trigger_id", ""))
    if not trigger.startswith("load-"):
        return None
    return int(trigger.split("-")[1]) / 1e9


def wait_for_quiet(database: Database, fake: FakeSlack, *, opens: int, commands: int, confirmations: int,
                   users: set[str], timeout: float = 90) -> None:
    """Until the instances have pushed every profile, posted every confirmation and delivered the outbox."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with database.snapshot() as session:
            pending = session.scalar(select(func.count()).select_from(Notification)
                                     .where(Notification.delivered_at.is_(None)))
        dms = sum(1 for call in fake.calls_to("chat.postMessage") if call.get("channel") in users)
        if (not pending and len(fake.calls_to("views.push")) >= opens and len(fake.calls_to("views.open")) >= commands
                and dms >= confirmations):
            break
        time.sleep(0.25)
    time.sleep(2)  # anything posted twice would arrive by now


@dataclass
class Check:
    ok: bool
    what: str

    def line(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'}  {self.what}"


def consistency(database: Database, fake: FakeSlack, seeded: Seeded, entries: list[dict[str, Any]],
                unanswered: list[dict[str, Any]], timings: list[Timing]) -> list[Check]:
    checks: list[Check] = []
    saves = [e for e in entries if e["op"] == "save"]
    clicks = [e for e in entries if e["op"] == "unsubscribe"]
    # A write with no answer may or may not have landed; the check accepts either for its prospect, and says so.
    uncertain = [e for e in entries if e["reply"] in ("interrupted", "error")] + unanswered
    unknown = {e["prospect"] for e in uncertain}

    # What the journal says must be there.
    won: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for e in saves:
        if e["reply"] == "saved":
            won[e["prospect"]].append(e)
    twice = {pid: len(wins) for pid, wins in won.items() if len(wins) > 1}
    unsubscribed = {e["prospect"] for e in clicks if e["status"] == 200 and e["reply"] == "Unsubscribed."}
    expected: dict[int, tuple[str, str, str, str]] = {}  # prospect: (reason, note, actor, channel)
    for pid, wins in won.items():
        expected[pid] = (wins[0]["reason"], wins[0]["note"], f"slack:{wins[0]['user']}", "slack")
    for pid in unsubscribed:
        expected[pid] = ("requested", "", "prospect", "unsubscribe-link")

    with database.snapshot() as session:
        rows = {r.prospect_id: (r.reason, r.note, r.actor, r.channel, r.revision)
                for r in session.scalars(select(DoNotContact))}
        audit = list(session.execute(select(AuditEntry.prospect_id, AuditEntry.actor, AuditEntry.channel,
                                            AuditEntry.after).where(AuditEntry.action == "do_not_contact")))
        notifications = list(session.execute(select(Notification.prospect_id, Notification.channel,
                                                    Notification.campaign_ids, Notification.delivered_at,
                                                    Notification.slack_ts, Notification.last_error)))

    lost = sorted(pid for pid in expected if pid not in rows and pid not in unknown)
    extra = sorted(pid for pid in rows if pid not in expected and pid not in unknown)
    wrong = sorted(pid for pid in expected if pid in rows and rows[pid][:4] != expected[pid])
    revised = sorted(pid for pid, row in rows.items() if row[4] != 1)
    checks.append(Check(
        not (lost or extra or wrong or twice or revised),
        f"do_not_contact rows == journal: {len(rows):,} rows; {len(won):,} prospects saved (\"Saved.\"), "
        f"{len(unsubscribed):,} unsubscribed; lost {len(lost)}, extra {len(extra)}, wrong reason/note/actor/channel "
        f"{len(wrong)}, saved twice {len(twice)}, revised {len(revised)}"
        + (f" — e.g. lost {lost[:5]} extra {extra[:5]} wrong {wrong[:5]} twice {list(twice)[:5]}"
           if lost or extra or wrong or twice else "")))
    checks.append(Check(True, f"writes without an answer (interrupted, HTTP error, never answered): "
                              f"{len(uncertain)}; either state was accepted for their {len(unknown)} prospects"))

    per_prospect: dict[int, list[Any]] = defaultdict(list)
    for row in audit:
        per_prospect[row.prospect_id].append(row)
    audit_missing = sorted(pid for pid in expected if pid not in per_prospect and pid not in unknown)
    audit_extra = sorted(pid for pid in per_prospect if pid not in expected and pid not in unknown)
    audit_twice = sorted(pid for pid, found in per_prospect.items() if len(found) > 1)
    audit_wrong = sorted(
        pid for pid, found in per_prospect.items() if pid in expected and len(found) == 1
        and ((found[0].after or {}).get("do_not_contact", {}).get("reason"), found[0].actor, found[0].channel)
        != (expected[pid][0], expected[pid][2], expected[pid][3]))
    checks.append(Check(
        not (audit_missing or audit_extra or audit_twice or audit_wrong),
        f"audit_log do_not_contact rows one for one: {len(audit):,} rows for {len(expected):,} changes; missing "
        f"{len(audit_missing)}, extra {len(audit_extra)}, duplicated {len(audit_twice)}, wrong who/reason "
        f"{len(audit_wrong)}"))

    # One outbox row per change and notification channel (an unsubscribe link names one campaign).
    want: Counter[int] = Counter()
    for pid in won:
        want[pid] = len({seeded.channel_of[cid] for _, cid in seeded.memberships[pid]})
    for pid in unsubscribed:
        want[pid] = 1
    have = Counter(row.prospect_id for row in notifications)
    outbox_wrong = sorted(pid for pid in set(want) | set(have) if want[pid] != have[pid] and pid not in unknown)
    undelivered = [row for row in notifications if row.delivered_at is None]
    channels = {NOTIFY_CHANNEL} | {channel for channel in seeded.channel_of.values() if channel}
    posted = [call for call in fake.calls_to("chat.postMessage") if call.get("channel") in channels]
    ts = [row.slack_ts for row in notifications if row.slack_ts]
    checks.append(Check(
        not outbox_wrong and not undelivered and len(posted) == len(notifications) == len(set(ts)),
        f"notifications outbox: {len(notifications):,} rows, {sum(want.values()):,} expected, {len(outbox_wrong)} "
        f"prospects off; undelivered {len(undelivered)}; posted to Slack {len(posted):,} (each row once: "
        f"{len(set(ts)):,} distinct ts)"))

    # The replies themselves: a race has exactly one winner; a stale screen never overwrites.
    races: dict[int, list[str]] = defaultdict(list)
    for e in saves:
        if e["kind"] == "race":
            races[e["race"]].append(e["reply"])
    bad_races = [race for race, replies in races.items()
                 if sorted(replies) != ["changed", "saved"] and not set(replies) & {"error", "interrupted"}]
    saves = [e for e in saves if e["reply"] not in ("error", "interrupted")]
    clicks = [e for e in clicks if e["reply"] not in ("error", "interrupted")]
    replies = Counter((e["kind"], e["reply"]) for e in saves)
    unexpected = {key: n for key, n in replies.items()
                  if key not in {("fresh", "saved"), ("race", "saved"), ("race", "changed"), ("stale", "changed"),
                                 ("current", "unchanged")}}
    click_replies = Counter((e["status"], e["reply"]) for e in clicks)
    bad_clicks = {key: n for key, n in click_replies.items() if key != (200, "Unsubscribed.")}
    checks.append(Check(
        not bad_races and not unexpected and not bad_clicks,
        f"replies: {len(races)} races each with exactly one \"Saved.\" (bad {len(bad_races)}); saves "
        + ", ".join(f"{kind}→{reply} {n}" for (kind, reply), n in sorted(replies.items()))
        + f"; clicks answered {sum(click_replies.values()):,}, all \"Unsubscribed.\""
        + (f" — unexpected {unexpected} {bad_clicks}" if unexpected or bad_clicks else "")))

    # The lazy listeners' work reached Slack once per request.
    acked = Counter(t.name for t in timings if t.error is None)
    confirmations = sum(1 for e in saves if e["reply"] in ("saved", "unchanged"))
    users = {e["user"] for e in saves}
    dms = sum(1 for call in fake.calls_to("chat.postMessage") if call.get("channel") in users)
    pushes, opens = len(fake.calls_to("views.push")), len(fake.calls_to("views.open"))
    checks.append(Check(
        pushes == acked[OPEN_LISTED] and opens == acked[OPEN_BY_EMAIL] and dms == confirmations,
        f"lazy work: views.push {pushes:,} for {acked[OPEN_LISTED]:,} profile opens, views.open {opens:,} for "
        f"{acked[OPEN_BY_EMAIL]:,} /prospect EMAIL, confirmations {dms:,} for {confirmations:,} saves answered"))
    return checks


# -- reporting -------------------------------------------------------------------------------------------------------


def latency_table(timings: list[Timing], fake: FakeSlack, hosts: list[str]) -> str:
    lines = ["| request | count | p50 (ms) | p99 (ms) | max (ms) | errors |", "|---|---:|---:|---:|---:|---:|"]

    def row(name: str, samples: list[float], errors: int | str) -> None:
        if samples:
            lines.append(f"| {name} | {len(samples):,} | {percentile(samples, 0.5):,.1f} | "
                         f"{percentile(samples, 0.99):,.1f} | {max(samples):,.1f} | {errors} |")
        else:
            lines.append(f"| {name} | 0 | — | — | — | {errors} |")

    for name in ORDER:
        mine = [t for t in timings if t.name == name]
        row(name, [t.ms for t in mine], sum(1 for t in mine if t.error))
    all_ms = [t.ms for t in timings]
    errors = sum(1 for t in timings if t.error)
    span = (max(t.start + t.ms / 1000 for t in timings) - min(t.start for t in timings)) if timings else 0
    rate = len(timings) / span if span else 0.0
    if all_ms:
        lines.append(f"| **all requests** | {len(all_ms):,} | {percentile(all_ms, 0.5):,.1f} | "
                     f"{percentile(all_ms, 0.99):,.1f} | {max(all_ms):,.1f} | {errors} |")
    for method, label in (("views.push", "profile open: find.view → views.push (lazy)"),
                          ("views.open", "profile open: /prospect EMAIL → views.open (lazy)")):
        delays = []
        for call in fake.calls:
            if call.method == method:
                sent = trigger_sent(call.args)
                if sent is not None:
                    delays.append((call.at - sent) * 1000)
        row(label, delays, "—")
    windows: dict[int, list[float]] = defaultdict(list)
    first = min((t.start for t in timings), default=0.0)
    for t in timings:
        windows[int((t.start - first) // 10)].append(t.ms)
    per_host = Counter(t.host for t in timings)
    spread = ", ".join(f"{host} {per_host[host.split('//')[1]]:,}" for host in hosts)
    lines.append("")
    lines.append(f"Achieved: {len(timings):,} requests in {span:,.1f} s = **{rate:,.1f} requests/s**; "
                 f"per instance: {spread}.")
    lines.append("")
    lines.append("p50 / p99 of all requests by 10 s of the run: " + ", ".join(
        f"{percentile(samples, 0.5):,.0f} / {percentile(samples, 0.99):,.0f}" for _, samples in sorted(windows.items()))
        + " ms.")
    return "\n".join(lines)


def cpu_table(usage: dict[str, float], wall: float, busy: float, total: float, ours: float, name: str) -> str:
    lines = ["| process | CPU s | share of one core |", "|---|---:|---:|"]
    for process, seconds in usage.items():
        lines.append(f"| {process} | {seconds:,.1f} | {seconds / wall * 100:,.0f}% |")
        if process.startswith("PostgreSQL"):
            lines.append(f"| ↳ of which backends of {name} (sampled at 10 Hz: at least) | {ours:,.1f} | "
                         f"{ours / wall * 100:,.0f}% |")
    cores = os.cpu_count() or 1
    known = sum(usage.values())
    lines.append(f"| everything else on the machine (other users' processes) | {max(0.0, busy - known):,.1f} "
                 f"| {max(0.0, busy - known) / wall * 100:,.0f}% |")
    lines.append(f"| **whole machine, {cores} cores** | {busy:,.1f} of {total:,.1f} | "
                 f"{busy / total * 100 if total else 0:,.0f}% busy |")
    return "\n".join(lines)


# -- main ------------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_DATABASE_URL", ""))
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second, in total (default 100)")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--prospects", type=int, default=50_000)
    parser.add_argument("--users", type=int, default=0, help="locust users (default: half the rate, at least 4)")
    parser.add_argument("--locust", default="", help="the locust executable (default: beside this Python)")
    parser.add_argument("--out", type=Path, help="also write the report to this markdown file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (journal, logs) on success")
    args = parser.parse_args()
    if not args.postgres_url.startswith("postgresql"):
        parser.error("needs --postgres-url postgresql+psycopg://… (or BENCH_DATABASE_URL): its schema is rebuilt")
    locust = args.locust or str(Path(sys.executable).parent / "locust")
    if not Path(locust).exists():
        locust = shutil.which("locust") or ""
    if not locust:
        parser.error("locust is not installed: pip install -e '.[load]'")
    users = args.users or max(4, math.ceil(args.rate / 2))
    throughput = args.rate / users / REQUESTS_PER_TASK
    rng = random.Random(6)
    workdir = Path(tempfile.mkdtemp(prefix="prospectbot-load-"))

    print(f"seeding {args.prospects:,} prospects …", file=sys.stderr, flush=True)
    started = time.perf_counter()
    database = fresh_database("postgresql", workdir, args.postgres_url, "load")
    seeded = seed(database, args.prospects, rng)
    plan = write_plan(seeded, workdir / "plan.json", rng, rate=args.rate, seconds=args.seconds)
    print(f"seeded in {time.perf_counter() - started:.1f} s; {len(plan['saves']):,} prospects to save, "
          f"{len(plan['unsubscribes']):,} links to click", file=sys.stderr, flush=True)
    database_name = database.url.database or ""
    database_url = database.url.render_as_string(hide_password=True)

    fake = FakeSlack().start()
    ports = [free_port(), free_port()]
    hosts = [f"http://127.0.0.1:{port}" for port in ports]
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("SLACK_", "DATABASE_URL", "SECRET_KEY", "LOAD_", "PROSPECTBOT_"))}
    serve_env = {**clean, "DATABASE_URL": args.postgres_url, "SECRET_KEY": BENCH_SECRET_KEY.decode(),
                 "SLACK_BOT_TOKEN": "xoxb-load-test", "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                 "SLACK_API_URL": fake.api_url, "SLACK_NOTIFY_CHANNEL": NOTIFY_CHANNEL,
                 "PROSPECTBOT_LOG_LEVEL": "WARNING"}
    servers = [start_serve(port, serve_env, workdir, index) for index, port in enumerate(ports)]
    try:
        for index, (base, server) in enumerate(zip(hosts, servers)):
            wait_healthy(base, server, workdir / f"serve-{index}.log")
        locust_env = {**clean, "LOAD_PLAN": str(workdir / "plan.json"), "LOAD_HOSTS": ",".join(hosts),
                      "LOAD_JOURNAL": str(workdir / "journal.jsonl"), "LOAD_TIMINGS": str(workdir / "timings.jsonl"),
                      "LOAD_THROUGHPUT": repr(throughput), "LOAD_SIGNING_SECRET": SIGNING_SECRET,
                      "LOAD_RESPONSE_URL": f"{fake.api_url}response_url/"}
        print(f"load: {args.rate:g} requests/s for {args.seconds} s from {users} users "
              f"({throughput:.3f} tasks/s each) over {', '.join(hosts)}", file=sys.stderr, flush=True)

        sessions_before = connections_opened(database, database_name)
        before = {f"serve {index + 1}": cpu_seconds(server.pid) or 0.0 for index, server in enumerate(servers)}
        postmaster = postmaster_of(database)
        pg_total_before = postgres_total(postmaster)
        sampler = BackendSampler(database_name)
        sampler.start()
        self_before = resource.getrusage(resource.RUSAGE_SELF)
        busy_before, total_before = machine_busy()
        wall_start = time.monotonic()
        code, locust_cpu = run_locust(locust, locust_env, users=users, seconds=args.seconds, host=hosts[0],
                                      workdir=workdir)
        wall = time.monotonic() - wall_start
        busy_after, total_after = machine_busy()
        self_after = resource.getrusage(resource.RUSAGE_SELF)
        ours = sampler.stop()
        pg_total = postgres_total(postmaster) - pg_total_before
        usage = {name: (cpu_seconds(server.pid) or 0.0) - before[name]
                 for name, server in zip(before, servers)}
        usage["PostgreSQL, whole server (every database)"] = pg_total
        usage["locust (load generator)"] = locust_cpu
        usage["this script (fake Slack Web API)"] = (self_after.ru_utime + self_after.ru_stime
                                                     - self_before.ru_utime - self_before.ru_stime)
        new_connections = connections_opened(database, database_name) - sessions_before

        timings = read_timings(workdir / "timings.jsonl")
        entries, unanswered = read_journal(workdir / "journal.jsonl")
        if not timings:
            raise SystemExit(f"locust made no requests (exit {code}):\n{(workdir / 'locust.log').read_text()[-3000:]}")
        acked = Counter(t.name for t in timings if t.error is None)
        wait_for_quiet(database, fake, opens=acked[OPEN_LISTED], commands=acked[OPEN_BY_EMAIL],
                       confirmations=sum(1 for e in entries if e["op"] == "save"
                                         and e["reply"] in ("saved", "unchanged")),
                       users={e["user"] for e in entries if e["op"] == "save"})
        checks = consistency(database, fake, seeded, entries, unanswered, timings)
        table = latency_table(timings, fake, hosts)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
    fake.stop()
    database.dispose()

    logs = "".join((workdir / f"serve-{index}.log").read_text(errors="replace") for index in range(len(servers)))
    problems = [line for line in logs.splitlines() if " ERROR " in line or "Traceback" in line]
    # waitress warns when requests wait for one of its 8 threads.
    depths = [int(found) for found in re.findall(r"Task queue depth is (\d+)", logs)]
    report = "\n".join([
        f"`python -m benchmarks.load_test --postgres-url {database_url} --rate {args.rate:g} --seconds {args.seconds} "
        f"--prospects {args.prospects} --users {users}`",
        "",
        f"Load test, {dt.date.today().isoformat()}: two `prospectbot serve` instances on one PostgreSQL database, "
        f"{args.prospects:,} prospects in {len(seeded.campaigns)} campaigns; target {args.rate:g} requests/s for "
        f"{args.seconds} s from {users} locust users (locust exit {code}).",
        "",
        *[check.line() for check in checks],
        "",
        table,
        "",
        f"Where the CPU went during the {wall:,.1f} s locust ran ({new_connections:,} new PostgreSQL connections "
        f"opened by the instances meanwhile; {len(problems)} ERROR/Traceback lines in their logs; waitress warned "
        f"{len(depths):,} times of requests queued for a thread, at most {max(depths, default=0)} deep):",
        "",
        cpu_table(usage, wall, busy_after - busy_before, total_after - total_before, ours, database_name),
    ])
    print(report)
    if args.out:
        args.out.write_text(report + "\n")
    ok = all(check.ok for check in checks)
    if ok and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"\nwork directory kept: {workdir} (plan, journal, timings, locust and serve logs)", file=sys.stderr)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

"""Speed of the Slack listeners (issues 3 and 14) on a 1,000,000-prospect campaign, SQLite and PostgreSQL.

Each listener is measured two ways, over the same data, in the same repeat:

- HTTP: through the server users hit: the production WSGI app (bot.web) behind waitress with the settings and
  threads `prospectbot serve` gives it (bot/runners.py), in a process of its own as `serve` runs (until 2026-12-02
  it ran in the benchmark's process, whose client and fake Web API took turns with it for the interpreter), on a
  random loopback port; each request signed as Slack
  signs it (v0 HMAC-SHA256 of `v0:{timestamp}:{body}`, before the clock starts) and sent over one keep-alive
  HTTP/1.1 connection, opened beforehand, so that no TCP handshake is timed;
- in-process: the same request handed straight to the app's Bolt dispatch (the figure measured until issue 14).

Beside each, the floor measured the same way in the same repeat: a no-op slash command registered on the same app
(HTTP parsing, the signature check, Bolt's dispatch and middleware; no role check, no work). Block actions and view
submissions have a second floor, a no-op button: through the server it also pays the once-only record every such
request gets (two small transactions). The Web API is a local fake on loopback, in this process; the
server's app has the same no-op listeners.

- type-ahead options (external select over the campaign's prospects): time to the options response;
- `/prospect TEXT`: from the request to the fake Web API receiving views.open (the acknowledgement comes first);
- opening a profile from the list (find.view): to views.push;
- saving do not contact: the view submission's response, which is sent after the change is committed; the next
  save is sent once the previous one's confirmation (a direct message, sent after the response) has reached the
  Web API, as one person's saves are. Beside it, the same saves back to back, each arriving while the previous
  one's confirmation still runs: a figure of load, with no target.

Every figure is taken --repeats times (default 3) over the same data, --samples requests each (saves on prospects
not yet saved), after a short warm-up that is not counted; in-process and HTTP alternate which goes first. The
first table gives each repeat's median and p99, the spread of p99 and the ratio to the floor; a target is met
only when every repeat's p99 meets it.

Usage: python -m benchmarks.slack_bench [--prospects N] [--databases sqlite,postgresql] [--postgres-url URL]
                                        [--repeats 3] [--samples 300] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select

from benchmarks.common import (
    BENCH_SECRET_KEY,
    Figure,
    add_benchmark_arguments,
    chosen_databases,
    cpu_pressure,
    generated_export,
    imported_database,
    markdown_table,
    median,
    percentile,
)
from benchmarks.slack_http import (
    NOOP_ACTION,
    NOOP_COMMAND,
    SERVE_THREADS,
    Arrivals,
    InProcess,
    OverHttp,
    Signer,
    Transport,
    add_noop_listeners,
    served_elsewhere,
)
from benchmarks.storage_bench import generate_csv
from bot.app import create_app
from bot.settings import Settings
from storage.db import Database
from storage.models import Membership
from storage.search import search_prospects
from tests.fake_slack import TEAM_ID, FakeSlack

SIGNING_SECRET = "benchmark-signing-secret"
SAMPLES = 300
REPEATS = 3
WARM_UP = 10  # requests of each kind on each path before the first repeat, not counted
USER = "U0BENCH"


@dataclass(frozen=True)
class Listener:
    key: str
    name: str
    target_ms: float | None
    once: bool  # a block action or view submission: the server records it once-only


FLOOR = Listener("floor", "floor: no-op slash command", None, False)
FLOOR_ONCE = Listener("floor_once", "floor: no-op button", None, True)
LISTENERS = [
    FLOOR, FLOOR_ONCE,
    Listener("options", "type-ahead options", 5, False),
    Listener("search", "/prospect TEXT → views.open", 20, False),
    Listener("open", "open a profile → views.push", 20, True),
    Listener("save", "save do not contact → response", 20, True),
    # The same saves sent back to back: each one arrives while the previous one's confirmation (a lazy listener: its
    # direct message, then the record of it) is still running, and waits on it for the interpreter and, on SQLite,
    # the database's one writer. A figure of load, not of one person's save: no target.
    Listener("save_back_to_back", "save do not contact, back to back → response", None, True),
]


@dataclass
class Series:
    database: str
    listener: Listener
    path: str
    repeats: list[list[float]]

    @property
    def medians(self) -> list[float]:
        return [median(samples) for samples in self.repeats]

    @property
    def p99s(self) -> list[float]:
        return [percentile(samples, 0.99) for samples in self.repeats]

    @property
    def met(self) -> list[bool]:
        target = self.listener.target_ms
        return [] if target is None else [p99 <= target for p99 in self.p99s]


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def command(name: str, text: str) -> str:
    return urlencode({"team_id": TEAM_ID, "user_id": USER, "command": name, "text": text, "channel_id": "C0",
                      "api_app_id": "A0", "trigger_id": f"t{time.time_ns()}",
                      "response_url": "http://127.0.0.1:9/unused"})


def interaction(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})


class Bench:
    """One method per listener: `samples` requests on `transport`, each one's time in milliseconds."""

    def __init__(self, arrivals: Arrivals, campaign_id: int, prefixes: list[str], profile_ids: list[int],
                 save_ids: list[int]) -> None:
        self.arrivals = arrivals
        self.signer = Signer(SIGNING_SECRET)
        self.campaign_id = campaign_id
        self.prefixes = prefixes
        self.profile_ids = profile_ids
        self.save_ids = iter(save_ids)
        self.find_view = {"id": "V1", "hash": "h", "type": "modal", "callback_id": "find", "blocks": [],
                          "private_metadata": json.dumps({"c": campaign_id, "q": ""})}

    def answer(self, transport: Transport, body: str) -> tuple[float, str]:
        request = self.signer.sign(body)
        start = time.perf_counter()
        status, text = transport.send(request)
        elapsed = (time.perf_counter() - start) * 1000
        assert status == 200, (transport.name, status, text[:300])
        return elapsed, text

    def arrival(self, transport: Transport, body: str, method: str) -> float:
        request = self.signer.sign(body)
        before = self.arrivals.count(method)
        start = time.monotonic()
        status, text = transport.send(request)
        assert status == 200, (transport.name, status, text[:300])
        return (self.arrivals.wait(method, before) - start) * 1000

    def interaction_base(self, kind: str) -> dict[str, Any]:
        return {"type": kind, "team": {"id": TEAM_ID}, "user": {"id": USER}, "api_app_id": "A0",
                "trigger_id": f"t{time.time_ns()}"}

    def floor(self, transport: Transport, samples: int) -> list[float]:
        return [self.answer(transport, command(NOOP_COMMAND, "x"))[0] for _ in range(samples)]

    def floor_once(self, transport: Transport, samples: int) -> list[float]:
        times = []
        for _ in range(samples):
            payload = {**self.interaction_base("block_actions"), "container": {"type": "view", "view_id": "V1"},
                       "view": self.find_view, "actions": [{"type": "button", "action_id": NOOP_ACTION,
                                                            "block_id": "b", "value": "x"}]}
            times.append(self.answer(transport, interaction(payload))[0])
        return times

    def options(self, transport: Transport, samples: int) -> list[float]:
        times = []
        for n in range(samples):
            payload = {**self.interaction_base("block_suggestion"), "action_id": "find.prospect",
                       "block_id": "find_prospect", "value": self.prefixes[n % len(self.prefixes)],
                       "view": self.find_view}
            elapsed, text = self.answer(transport, interaction(payload))
            assert '"options"' in text, text[:300]
            times.append(elapsed)
        return times

    def search(self, transport: Transport, samples: int) -> list[float]:
        return [self.arrival(transport, command("/prospect", self.prefixes[n % len(self.prefixes)]), "views.open")
                for n in range(samples)]

    def open(self, transport: Transport, samples: int) -> list[float]:
        times = []
        for n in range(samples):
            value = json.dumps({"p": self.profile_ids[n % len(self.profile_ids)], "c": self.campaign_id})
            payload = {**self.interaction_base("block_actions"), "view": self.find_view,
                       "container": {"type": "view", "view_id": "V1"},
                       "actions": [{"type": "button", "action_id": "find.view", "block_id": "b", "value": value}]}
            times.append(self.arrival(transport, interaction(payload), "views.push"))
        return times

    def save(self, transport: Transport, samples: int) -> list[float]:
        """Each save's response; the next save is sent once the previous one's confirmation (its direct message,
        sent by a lazy listener after the response) has reached Slack, off the clock, as one person's saves are."""
        times = []
        for _ in range(samples):
            confirmations = self.arrivals.count("chat.postMessage")
            times += self.save_back_to_back(transport, 1)
            self.arrivals.wait("chat.postMessage", confirmations)
        return times

    def save_back_to_back(self, transport: Transport, samples: int) -> list[float]:
        times = []
        for _ in range(samples):
            metadata = {"p": next(self.save_ids), "v": 1, "c": self.campaign_id}
            view = {"id": "V2", "hash": "h", "type": "modal", "callback_id": "edit", "previous_view_id": None,
                    "private_metadata": json.dumps(metadata),
                    "state": {"values": {"dnc_reason": {"reason": {"type": "radio_buttons",
                                                                   "selected_option": {"value": "no-interest"}}}}}}
            elapsed, text = self.answer(transport, interaction({**self.interaction_base("view_submission"),
                                                                "view": view}))
            assert "Saved." in text, text[:300]
            times.append(elapsed)
        return times


def sample_prospects(database: Database, campaign_id: int, saves: int) -> tuple[list[int], list[int]]:
    """100 prospects whose profiles are opened, and `saves` others, shuffled, to save once each."""
    with database.snapshot() as session:
        profiles = [item.id for item in search_prospects(session, "", campaign_id=campaign_id, limit=100).items]
        members = session.scalars(select(Membership.prospect_id).where(Membership.campaign_id == campaign_id)
                                  .order_by(Membership.id).limit(saves + len(profiles)))
        opened = set(profiles)
        targets = [prospect for prospect in members if prospect not in opened][:saves]
    if len(targets) < saves:
        raise SystemExit(f"{saves:,} saves need more prospects: raise --prospects or lower --repeats/--samples")
    random.Random(5).shuffle(targets)
    return profiles, targets


def measure(kind: str, postgres_url: str, workdir: Path, csv_path: Path, prefixes: list[str], *,
            repeats: int = REPEATS, samples: int = SAMPLES) -> list[Series]:
    database, campaign_id = imported_database(kind, workdir, postgres_url, "slack", csv_path)
    fake = FakeSlack().start()
    arrivals = Arrivals(fake)
    settings = Settings(database_url=database.url.render_as_string(hide_password=False), secret_key=BENCH_SECRET_KEY,
                        slack_bot_token="xoxb-bench", slack_signing_secret=SIGNING_SECRET, slack_api_url=fake.api_url)
    app = create_app(settings, database)
    add_noop_listeners(app)
    saving = sum(listener.key.startswith("save") for listener in LISTENERS)  # each save on a prospect of its own
    profiles, targets = sample_prospects(database, campaign_id, saving * 2 * (WARM_UP + repeats * samples))
    bench = Bench(arrivals, campaign_id, prefixes, profiles, targets)
    found: dict[tuple[str, str], list[list[float]]] = {}
    with served_elsewhere(settings, workdir / "slack-server.log") as port:
        remote = OverHttp(port)
        paths: list[Transport] = [InProcess(app), remote]
        say(f"[{kind}] serving on 127.0.0.1:{port} ({SERVE_THREADS} threads, a process of its own); warming up …")
        for listener in LISTENERS:
            for transport in paths:
                getattr(bench, listener.key)(transport, WARM_UP)
        for repeat in range(repeats):
            say(f"[{kind}] repeat {repeat + 1}/{repeats}; /proc/pressure/cpu: {cpu_pressure()}")
            for listener in LISTENERS:
                for transport in paths if repeat % 2 == 0 else paths[::-1]:
                    found.setdefault((listener.key, transport.name), []).append(
                        getattr(bench, listener.key)(transport, samples))
                    time.sleep(0.2)  # the last request's lazy listeners finish before the next batch
        remote.close()
        say(f"[{kind}] HTTP: {remote.connections_opened} keep-alive connection(s) for every HTTP request")
        time.sleep(1)  # the last confirmations (lazy listeners) finish before the database goes away
    fake.stop()
    database.dispose()
    return [Series(kind, listener, path, found[(listener.key, path)])
            for listener in LISTENERS for path in ("in-process", "HTTP")]


def _floor(series: list[Series], like: Series, floor: Listener) -> Series:
    return next(s for s in series if s.database == like.database and s.path == like.path and s.listener == floor)


def _each(values: list[float], unit: str = "") -> str:
    return " / ".join(f"{value:,.2f}" for value in values) + unit


def _ratios(figure: Series, floor: Series) -> str:
    return _each([m / f for m, f in zip(figure.medians, floor.medians)], "×")


def repeat_table(series: list[Series]) -> str:
    """One row per listener and path: every repeat's median and p99, the spread of p99, the ratio to the floors."""
    lines = ["| database | listener | path | median, each repeat (ms) | p99, each repeat (ms) | p99 spread (ms) | "
             "÷ no-op command, each repeat | ÷ no-op button | target | met |",
             "|---|---|---|---:|---:|---:|---:|---:|---|---|"]
    for s in series:
        p99s = s.p99s
        floor = "—" if s.listener in (FLOOR, FLOOR_ONCE) else _ratios(s, _floor(series, s, FLOOR))
        once = _ratios(s, _floor(series, s, FLOOR_ONCE)) if s.listener.once and s.listener != FLOOR_ONCE else "—"
        target = "—" if s.listener.target_ms is None else f"p99 ≤ {s.listener.target_ms:g} ms"
        met = "—" if not s.met else f"{sum(s.met)}/{len(s.met)}" + (" yes" if all(s.met) else " NO")
        lines.append(f"| {s.database} | {s.listener.name} | {s.path} | {_each(s.medians)} | {_each(p99s)} | "
                     f"{min(p99s):,.2f}–{max(p99s):,.2f} | {floor} | {once} | {target} | {met} |")
    return "\n".join(lines)


def figures_of(series: list[Series]) -> list[Figure]:
    """The report's rows: the median of the repeats' medians, the worst repeat's p99 (met when every repeat's is)."""
    figures = []
    for s in series:
        if s.listener in (FLOOR, FLOOR_ONCE):
            continue
        p99s = s.p99s
        floor, once = _floor(series, s, FLOOR), _floor(series, s, FLOOR_ONCE)
        figures.append(Figure(
            s.database, f"{s.listener.name} ({s.path}; {len(p99s)} repeats, p99 {min(p99s):,.2f}–{max(p99s):,.2f} ms)",
            median(s.medians), max(p99s), "ms", f"no-op slash command ({s.path})", median(floor.medians),
            "none" if s.listener.target_ms is None else f"p99 ≤ {s.listener.target_ms:g} ms",
            all(s.met) if s.met else None,
            floor2_name=f"no-op button ({s.path})" if s.listener.once else "",
            floor2_median=median(once.medians) if s.listener.once else float("nan")))
    return figures


def run(kind: str, prospects: int, postgres_url: str, workdir: Path, csv_path: Path, prefixes: list[str]) -> list[Figure]:
    """For benchmarks.report: the default repeats and samples, one row per listener and path."""
    return figures_of(measure(kind, postgres_url, workdir, csv_path, prefixes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_benchmark_arguments(parser)
    parser.add_argument("--repeats", type=int, default=REPEATS, help="How many times each figure is taken.")
    parser.add_argument("--samples", type=int, default=SAMPLES, help="Requests per figure and repeat.")
    parser.add_argument("--out", type=Path, help="Also write the tables to this markdown file.")
    args = parser.parse_args()
    kinds = chosen_databases(parser, args)
    before = cpu_pressure()
    print(f"/proc/pressure/cpu before: {before}", file=sys.stderr, flush=True)
    series: list[Series] = []
    with generated_export(args.prospects, generate_csv) as (workdir, csv_path, prefixes):
        for kind in kinds:
            series += measure(kind, args.postgres_url, workdir, csv_path, prefixes, repeats=args.repeats,
                              samples=args.samples)
    report = (f"{args.prospects:,} prospects, {args.repeats} repeats of {args.samples} requests\n\n"
              f"{repeat_table(series)}\n\n{markdown_table(figures_of(series))}\n\n"
              f"/proc/pressure/cpu before: {before}\n/proc/pressure/cpu after:  {cpu_pressure()}")
    print(report)
    if args.out:
        args.out.write_text(report + "\n")


if __name__ == "__main__":
    main()

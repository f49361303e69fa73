"""Speed of the Slack listeners (issue 3) on a 1,000,000-prospect campaign, SQLite and PostgreSQL.

Requests are signed exactly as Slack signs them and go through the app's own dispatch; the Web API is a local
fake on loopback. Each figure stands beside Bolt's own no-op dispatch of a signed slash command, measured in the
same run:

- type-ahead options (external select over the campaign's prospects): time to the options response;
- `/prospect TEXT`, opening a profile: from the request to the fake Web API receiving views.open / views.push
  (the acknowledgement itself comes first, within a millisecond or two);
- saving do not contact: the view submission's response, which is sent after the change is committed.

Usage: python -m benchmarks.slack_bench [--prospects N] [--databases sqlite,postgresql] [--postgres-url URL]
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from benchmarks.common import BENCH_SECRET_KEY, Figure, benchmark_main, imported_database, median, percentile
from benchmarks.storage_bench import generate_csv
from bot.app import create_app
from bot.settings import Settings
from storage.search import search_prospects
from tests.fake_slack import TEAM_ID, FakeSlack

SIGNING_SECRET = "benchmark-signing-secret"
SAMPLES = 300


class Dispatcher:
    def __init__(self, app: App) -> None:
        self.app = app
        self.verifier = SignatureVerifier(SIGNING_SECRET)

    def send(self, body: str, content_type: str = "application/x-www-form-urlencoded"):  # type: ignore[no-untyped-def]
        timestamp = str(int(time.time()))
        headers = {"content-type": [content_type], "x-slack-request-timestamp": [timestamp],
                   "x-slack-signature": [self.verifier.generate_signature(timestamp=timestamp, body=body)]}
        response = self.app.dispatch(BoltRequest(body=body, headers=headers))
        assert response.status == 200, (response.status, response.body)
        return response

    def command(self, text: str):  # type: ignore[no-untyped-def]
        return self.send(urlencode({"team_id": TEAM_ID, "user_id": "U0BENCH", "command": "/prospect", "text": text,
                                    "channel_id": "C0", "api_app_id": "A0", "trigger_id": f"t{time.time_ns()}",
                                    "response_url": "http://127.0.0.1:9/unused"}))

    def interaction(self, payload: dict) -> object:  # type: ignore[type-arg]
        return self.send(urlencode({"payload": json.dumps(payload)}))


def noop_app(api_url: str) -> App:
    """Bolt with the same options as ours and a listener that only acknowledges: the floor."""
    app = App(signing_secret=SIGNING_SECRET, client=WebClient(token="xoxb-noop", base_url=api_url),
              token_verification_enabled=False, process_before_response=True)
    app.command("/prospect")(lambda ack: ack())
    return app


def arrival_after(fake: FakeSlack, method: str, count_before: int, started: float, timeout: float = 10) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        calls = [call for call in fake.calls if call.method == method]
        if len(calls) > count_before:
            return calls[count_before].at - started
        time.sleep(0.0005)
    raise RuntimeError(f"{method} never arrived")


def run(kind: str, prospects: int, postgres_url: str, workdir: Path, csv_path: Path, prefixes: list[str]) -> list[Figure]:
    database, campaign_id = imported_database(kind, workdir, postgres_url, "slack", csv_path)
    fake = FakeSlack().start()
    settings = Settings(database_url=database.url.render_as_string(hide_password=False), secret_key=BENCH_SECRET_KEY,
                        slack_bot_token="xoxb-bench", slack_signing_secret=SIGNING_SECRET, slack_api_url=fake.api_url)
    app = Dispatcher(create_app(settings, database))
    floor = Dispatcher(noop_app(fake.api_url))
    rng = random.Random(5)

    print(f"[{kind}] measuring …", file=sys.stderr, flush=True)
    noop = []
    for _ in range(SAMPLES):
        start = time.perf_counter()
        floor.command("x")
        noop.append((time.perf_counter() - start) * 1000)
    floor_ms = median(noop)

    find_view = {"id": "V1", "hash": "h", "type": "modal", "callback_id": "find",
                 "private_metadata": json.dumps({"c": campaign_id, "q": ""}), "blocks": []}
    options = []
    for prefix in (prefixes * 2)[:SAMPLES]:
        payload = {"type": "block_suggestion", "team": {"id": TEAM_ID}, "user": {"id": "U0BENCH"},
                   "action_id": "find.prospect", "block_id": "find_prospect", "value": prefix, "view": find_view,
                   "api_app_id": "A0"}
        start = time.perf_counter()
        app.interaction(payload)
        options.append((time.perf_counter() - start) * 1000)

    searches = []
    for prefix in (prefixes * 2)[:SAMPLES]:
        before = len(fake.calls_to("views.open"))
        start = time.monotonic()
        app.command(prefix)
        searches.append(arrival_after(fake, "views.open", before, start) * 1000)

    with database.snapshot() as session:
        sample_ids = [item.id for item in search_prospects(session, "", campaign_id=campaign_id, limit=100).items]
    opens = []
    for n in range(SAMPLES):
        prospect_id = sample_ids[n % len(sample_ids)]
        payload = {"type": "block_actions", "team": {"id": TEAM_ID}, "user": {"id": "U0BENCH"}, "api_app_id": "A0",
                   "trigger_id": f"t{n}", "view": find_view, "container": {"type": "view", "view_id": "V1"},
                   "actions": [{"type": "button", "action_id": "find.view", "block_id": "b",
                                "value": json.dumps({"p": prospect_id, "c": campaign_id})}]}
        before = len(fake.calls_to("views.push"))
        start = time.monotonic()
        app.interaction(payload)
        opens.append(arrival_after(fake, "views.push", before, start) * 1000)

    saves = []
    with database.snapshot() as session:
        targets = [item.id for item in search_prospects(session, "", campaign_id=campaign_id, offset=200,
                                                            limit=100).items]
        targets += [item.id for item in search_prospects(session, "", campaign_id=campaign_id, offset=300,
                                                             limit=100).items]
        targets += [item.id for item in search_prospects(session, "", campaign_id=campaign_id, offset=400,
                                                             limit=100).items]
    for prospect_id in rng.sample(targets, min(SAMPLES, len(targets))):
        view = {"id": "V2", "hash": "h", "type": "modal", "callback_id": "edit", "previous_view_id": None,
                "private_metadata": json.dumps({"p": prospect_id, "v": 1, "c": campaign_id}),
                "state": {"values": {"dnc_reason": {"reason": {"type": "radio_buttons",
                                                               "selected_option": {"value": "no-interest"}}}}}}
        start = time.perf_counter()
        response = app.interaction({"type": "view_submission", "team": {"id": TEAM_ID}, "user": {"id": "U0BENCH"},
                                    "api_app_id": "A0", "trigger_id": "t", "view": view})
        saves.append((time.perf_counter() - start) * 1000)
        assert "Saved." in response.body, response.body[:300]
    time.sleep(1)  # let the confirmations (lazy listeners) finish before the database goes away
    fake.stop()
    database.dispose()

    def figure(name: str, samples: list[float], target_ms: float) -> Figure:
        p99 = percentile(samples, 0.99)
        return Figure(kind, name, median(samples), p99, "ms", "Bolt no-op dispatch", floor_ms,
                      f"p99 ≤ {target_ms:g} ms", p99 <= target_ms)

    return [
        figure(f"type-ahead options, {prospects:,}-prospect campaign", options, 5),
        figure("/prospect TEXT → views.open", searches, 20),
        figure("open a profile → views.push", opens, 20),
        figure("save do not contact → response", saves, 20),
    ]


def main() -> None:
    benchmark_main(__doc__ or "", run, generate_csv)


if __name__ == "__main__":
    main()

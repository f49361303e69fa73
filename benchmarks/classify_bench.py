"""Speed of reading inbound mail (issue 13): storage.mail_reading.read_mail followed by
storage.reply_intent.classify_reply, over the labelled corpus in tests/data/replies repeated to --messages messages,
on one core.

Beside it, in the same run and interleaved with it so both see the same noise, the floor: what any reader of these
messages must do — email.message_from_bytes and decoding the first text part. The ratio says how many times the
floor the whole reading costs. Each figure is the median of --repeats runs, with their min and max; the machine is
shared, so /proc/pressure/cpu is printed before and after.

Usage: python -m benchmarks.classify_bench [--messages N] [--repeats R]
"""

from __future__ import annotations

import argparse
import email
import os
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import median
from storage.mail_reading import read_mail
from storage.reply_intent import classify_reply
from tests.data.replies.corpus import load_corpus

TARGET = 2_000  # messages/s for typical replies, read and classified


def read_and_classify(raws: list[bytes]) -> None:
    for raw in raws:
        mail = read_mail(raw)
        if mail.kind == "reply":
            classify_reply(mail.new_text, mail.subject)


def parse_and_decode(raws: list[bytes]) -> None:
    """The floor: parse the message and decode its first text part, nothing more."""
    for raw in raws:
        message = email.message_from_bytes(raw)
        for part in message.walk():
            if part.get_content_maintype() == "text":
                payload = part.get_payload(decode=True)
                if isinstance(payload, bytes):
                    try:
                        payload.decode(part.get_content_charset() or "utf-8", "replace")
                    except LookupError:  # a charset Python does not know (the corpus has one)
                        payload.decode("utf-8", "replace")
                break


def rates(work: Callable[[list[bytes]], None], raws: list[bytes]) -> float:
    started = time.perf_counter()
    work(raws)
    return len(raws) / (time.perf_counter() - started)


def pressure() -> str:
    path = Path("/proc/pressure/cpu")
    return path.read_text().strip() if path.exists() else "(no /proc/pressure/cpu on this system)"


def pin_to_one_core() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return f"pinned to core {core}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    samples = load_corpus()
    sets = {
        "all corpus messages": [sample.raw for sample in samples],
        "typical replies (person's replies only)": [sample.raw for sample in samples if sample.kind == "reply"],
    }
    print(f"corpus: {len(samples)} messages; {pin_to_one_core()}; {args.repeats} repeats of {args.messages:,} messages")
    print(f"/proc/pressure/cpu before:\n{pressure()}\n")
    rows = []
    for name, raws in sets.items():
        batch = (raws * (args.messages // len(raws) + 1))[: args.messages]
        read_and_classify(batch[:500])  # warm caches (charset lookups, the fold table) outside the timing
        figure: list[float] = []
        floor: list[float] = []
        for _ in range(args.repeats):
            figure.append(rates(read_and_classify, batch))
            floor.append(rates(parse_and_decode, batch))
        rows.append((name, len(batch), figure, floor))
    print("| figure | messages | median msg/s | min | max | floor: parse + decode text (median msg/s) | ratio | target |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for name, count, figure, floor in rows:
        typical = name.startswith("typical")
        target = (f"≥ {TARGET:,} msg/s: {'yes' if median(figure) >= TARGET else 'NO'}") if typical else "—"
        print(f"| read_mail + classify_reply, {name} | {count:,} | {median(figure):,.0f} | {min(figure):,.0f} | "
              f"{max(figure):,.0f} | {median(floor):,.0f} | {median(floor) / median(figure):.2f}× | {target} |")
    print(f"\n/proc/pressure/cpu after:\n{pressure()}")


if __name__ == "__main__":
    main()

"""One report of every speed figure: runs each benchmark on SQLite and PostgreSQL over one generated data set and
writes a single markdown file, each figure beside its floor measured in the same run, with the ratio.

Usage: python -m benchmarks.report [--prospects N] [--databases sqlite,postgresql] [--postgres-url URL]
                                   [--out benchmarks/REPORT.md] [--only storage,slack,optout,bulk,classify,inbox]
PostgreSQL comes from --postgres-url or BENCH_DATABASE_URL; its public schema is dropped and rebuilt.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import time
from importlib import import_module
from pathlib import Path

import sqlalchemy

from benchmarks.common import (
    Figure,
    add_benchmark_arguments,
    chosen_databases,
    cpu_pressure,
    generated_export,
    markdown_table,
)
from benchmarks.storage_bench import generate_csv

# (module, what it measures): in the order of the issues that set the targets.
SECTIONS = {
    "storage": ("benchmarks.storage_bench", "The shared database (issue 2): import, search, do not contact, sender reads"),
    "slack": ("benchmarks.slack_bench", "The Slack flow (issue 3): listener latencies"),
    "optout": ("benchmarks.optout_bench", "Opt-outs from the email itself (issue 4): one-click unsubscribe, notification delay"),
    "bulk": ("benchmarks.bulk_bench", "Bulk unsubscribes (issue 5): approval and preview"),
}
# Benchmarks of inbound mail (issue 13) that print their own tables: run as they are run by hand, their output kept
# whole. (module, what it measures, arguments; "{postgres}" is --postgres-url's value.)
PRINTED = {
    "classify": ("benchmarks.classify_bench", "Reading replies (issue 13): classification throughput, one core",
                 ["--repeats", "5"]),
    "inbox": ("benchmarks.inbox_bench", "Replies (issue 13): reply to notification, IDLE and polling",
              ["--repeats", "20", "--postgres-url", "{postgres}"]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_benchmark_arguments(parser)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/REPORT.md"))
    parser.add_argument("--only", default=",".join([*SECTIONS, *PRINTED]), help="Which benchmarks, comma-separated.")
    args = parser.parse_args()
    kinds = chosen_databases(parser, args)
    wanted = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(wanted) - set(SECTIONS) - set(PRINTED)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}; "
                     f"choose from {', '.join([*SECTIONS, *PRINTED])}")

    started = time.monotonic()
    server = postgres_server(args.postgres_url) if "postgresql" in kinds else ""
    sections: list[tuple[str, list[Figure] | str]] = []
    pressures: list[tuple[str, str, str]] = []  # (benchmark, /proc/pressure/cpu before, after)
    with generated_export(args.prospects, generate_csv) as (workdir, csv_path, prefixes):
        for name in wanted:
            before = cpu_pressure()
            if name in PRINTED:
                module, title, arguments = PRINTED[name]
                print(f"== {name}", file=sys.stderr, flush=True)
                command = [sys.executable, "-m", module,
                           *[argument.format(postgres=args.postgres_url or "") for argument in arguments]]
                result = subprocess.run(command, capture_output=True, text=True, check=False)
                if result.returncode != 0:
                    raise SystemExit(f"{module} failed:\n{result.stderr[-3000:]}")
                sections.append((title, result.stdout.strip()))
            else:
                module, title = SECTIONS[name]
                run = import_module(module).run
                figures: list[Figure] = []
                for kind in kinds:
                    print(f"== {name} on {kind}", file=sys.stderr, flush=True)
                    figures += run(kind, args.prospects, args.postgres_url, workdir, csv_path, prefixes)
                sections.append((title, figures))
            pressures.append((name, before, cpu_pressure()))
            # Written after each benchmark, so a long run that is interrupted still leaves what it measured.
            args.out.write_text(render(sections, pressures, args, kinds, time.monotonic() - started, server))
    print(args.out.read_text())


def postgres_server(url: str) -> str:
    """Which PostgreSQL the figures come from, and the settings that move them most."""
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            version = connection.exec_driver_sql("SHOW server_version").scalar()
            settings = {name: connection.exec_driver_sql(f"SHOW {name}").scalar()
                        for name in ("shared_buffers", "max_wal_size", "fsync", "synchronous_commit")}
    finally:
        engine.dispose()
    return f"PostgreSQL {version} ({', '.join(f'{name} {value}' for name, value in settings.items())})"


def render(sections: list[tuple[str, list[Figure] | str]], pressures: list[tuple[str, str, str]],
           args: argparse.Namespace, kinds: list[str], elapsed: float, server: str = "") -> str:
    figures = [figure for _, found in sections if not isinstance(found, str) for figure in found]
    # Figures without a target (the freeze of a bulk request, saves back to back…) are neither met nor missed.
    targeted = [f for f in figures if f.meets_target is not None]
    missed = [f for f in targeted if f.meets_target is False]
    lines = [
        "# prospectbot speed report",
        "",
        f"Generated {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC by `python -m benchmarks.report "
        f"--prospects {args.prospects}` in {elapsed / 60:.0f} min, on {platform.node() or 'this machine'}: "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}, "
        f"databases {', '.join(kinds)}" + (f"; {server}" if server else "") + ".",
        "",
        "Each figure stands beside a floor measured in the same run on the same machine — the raw database or "
        "framework operation the feature can not beat — and the ratio between them, so that a noisy shared machine "
        "moves both. Medians unless the figure says p99.",
        "",
        f"**{len(targeted) - len(missed)} of the {len(targeted)} figures with a target meet it**"
        + (": not met — " + "; ".join(f"{f.name} on {f.database}"
                                      + (" (its floor does not reach it either)" if f.floor_reaches_target is False
                                         else "") for f in missed) + "." if missed else "."),
        "",
    ]
    lines += ["How loaded the machine was (`/proc/pressure/cpu`: the share of time some task waited for a "
              "CPU, averaged over the last 10 s, 60 s and 300 s), before and after each benchmark:", "",
              "| benchmark | before | after |", "|---|---|---|"]
    lines += [f"| {name} | {before} | {after} |" for name, before, after in pressures]
    lines.append("")
    for title, found in sections:
        lines += [f"## {title}", "", found if isinstance(found, str) else markdown_table(found), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()

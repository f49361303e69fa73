"""Helpers shared by the benchmark scripts: timing, percentiles, tables, fresh databases."""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from storage.audit import Actor
from storage.campaigns import find_campaign
from storage.db import Database
from storage.importing import import_prospects
from storage.prospect_csv import ProspectCsv

BENCH_SECRET_KEY = b"benchmark-secret-key-0123456789-abcdefgh"


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class Figure:
    database: str
    name: str
    median: float
    p99: float
    unit: str
    floor_name: str
    floor_median: float
    target: str
    meets_target: bool | None  # None: no target for this database

    @property
    def ratio(self) -> float:
        return self.median / self.floor_median if self.floor_median else float("nan")


MET = {True: "yes", False: "NO", None: "—"}


def markdown_table(figures: list[Figure]) -> str:
    lines = [
        "| database | figure | median | p99 | floor (same run) | floor median | ratio | target | met |",
        "|---|---|---:|---:|---|---:|---:|---|---|",
    ]
    for f in figures:
        has_floor = not math.isnan(f.floor_median)
        floor = f"{f.floor_median:,.3f} {f.unit}" if has_floor else "—"
        ratio = f"{f.ratio:,.2f}×" if has_floor else "—"
        lines.append(
            f"| {f.database} | {f.name} | {f.median:,.3f} {f.unit} | {f.p99:,.3f} {f.unit} | {f.floor_name} | "
            f"{floor} | {ratio} | {f.target} | {MET[f.meets_target]} |"
        )
    return "\n".join(lines)


def fresh_database(kind: str, workdir: Path, postgres_url: str, name: str) -> Database:
    """An empty, migrated database: a new SQLite file, or the PostgreSQL schema dropped and rebuilt."""
    if kind == "sqlite":
        path = workdir / f"{name}.db"
        for leftover in workdir.glob(f"{name}.db*"):
            leftover.unlink()
        database = Database(f"sqlite:///{path}")
    else:
        database = Database(postgres_url)
        with database.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    database.prepare(secret_key=BENCH_SECRET_KEY, auto_migrate=True)
    return database


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def add_benchmark_arguments(parser: argparse.ArgumentParser) -> None:
    """How big, on which databases: the options every benchmark command shares."""
    parser.add_argument("--prospects", type=int, default=1_000_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_DATABASE_URL", ""))


def chosen_databases(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    kinds = [kind.strip() for kind in args.databases.split(",") if kind.strip()]
    if "postgresql" in kinds and not args.postgres_url:
        parser.error("PostgreSQL needs --postgres-url or BENCH_DATABASE_URL (eval \"$(bash .ci/start-postgres DIR)\")")
    return kinds


def benchmark_main(doc: str, run: Callable[..., list[Figure]], generate: Callable[[Path, int], list[str]]) -> None:
    """The command line every benchmark script shares: which databases, how many prospects, where to write."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_benchmark_arguments(parser)
    parser.add_argument("--out", type=Path, help="Also write the table to this markdown file.")
    args = parser.parse_args()
    kinds = chosen_databases(parser, args)
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="prospectbot-bench-") as tmp:
        workdir = Path(tmp)
        csv_path = workdir / "prospects.csv"
        print(f"generating {args.prospects:,} rows …", file=sys.stderr, flush=True)
        prefixes = generate(csv_path, args.prospects)
        for kind in kinds:
            figures += run(kind, args.prospects, args.postgres_url, workdir, csv_path, prefixes)
    table = markdown_table(figures)
    print(table)
    if args.out:
        args.out.write_text(table + "\n")


def imported_database(kind: str, workdir: Path, postgres_url: str, name: str, csv_path: Path) -> tuple[Database, int]:
    """A fresh database with the CSV imported into "Big campaign", the way `prospectbot import` does it; returns the
    database and the campaign's id."""
    database = fresh_database(kind, workdir, postgres_url, name)
    print(f"[{kind}] importing {csv_path.name} …", file=sys.stderr, flush=True)
    with csv_path.open("rb") as stream:
        import_prospects(database.transaction, ProspectCsv(stream), campaign_name="Big campaign",
                         actor=Actor("cli:benchmark", "cli"), secret_key=BENCH_SECRET_KEY, source_label="bench")
    with database.snapshot() as session:
        return database, find_campaign(session, "Big campaign").id

"""Helpers shared by the benchmark scripts: timing, percentiles, tables, fresh databases."""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import ColumnElement, delete, text
from sqlalchemy.orm import Session

from storage.audit import Actor
from storage.campaigns import find_campaign
from storage.db import Database
from storage.importing import import_prospects
from storage.models import DoNotContact
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
    # A second, independent floor where one exists: the same rows loaded by another program's bulk path (the
    # sqlite3 shell's .import, PostgreSQL's COPY), so that a slow first floor shows.
    floor2_name: str = ""
    floor2_median: float = float("nan")
    # For a target not met: whether the floor doing the same work under the same rules reaches it. False proves
    # the target can not be met on this machine (issue 14: "the honest floor in the same run that proves it").
    floor_reaches_target: bool | None = None
    # Where the time goes (benchmarks.profiles, the floor's parts), printed under the table.
    profile: str = ""

    @property
    def ratio(self) -> float:
        return self.ratio_to(self.floor_median)

    @property
    def ratio2(self) -> float:
        return self.ratio_to(self.floor2_median)

    def ratio_to(self, floor: float) -> float:
        """How many times the floor's cost the figure's is: ≥ 1× when the floor is right, whichever way the unit
        runs (a rate, rows/s, is a cost the other way up). Below 1× the floor is wrong: something beat it."""
        if not floor or math.isnan(floor):
            return float("nan")
        return floor / self.median if self.unit.endswith("/s") else self.median / floor


MET = {True: "yes", False: "NO", None: "—"}


def markdown_table(figures: list[Figure]) -> str:
    """One row per figure; the second floor's columns only when a figure in the table has one."""
    second = any(f.floor2_name for f in figures)
    lines = [
        "| database | figure | median | p99 | floor (same run) | floor median | ratio | "
        + ("second floor (same run) | its median | ratio | " if second else "") + "target | met |",
        "|---|---|---:|---:|---|---:|---:|" + ("---|---:|---:|" if second else "") + "---|---|",
    ]
    for f in figures:
        floors = _floor_cells(f, f.floor_name, f.floor_median, f.ratio)
        if second:
            floors += _floor_cells(f, f.floor2_name or "—", f.floor2_median, f.ratio2)
        lines.append(
            f"| {f.database} | {f.name} | {f.median:,.3f} {f.unit} | {f.p99:,.3f} {f.unit} | {' | '.join(floors)} | "
            f"{f.target} | {met_cell(f)} |"
        )
    profiled = [f"- {f.database}, {f.name}: {f.profile}" for f in figures if f.profile]
    if profiled:
        lines += ["", "Where the time goes:", "", *profiled]
    return "\n".join(lines)


def met_cell(figure: Figure) -> str:
    if figure.meets_target is False and figure.floor_reaches_target is False:
        return "NO: its floor does not reach it either"
    return MET[figure.meets_target]


def _floor_cells(figure: Figure, name: str, median: float, ratio: float) -> list[str]:
    if math.isnan(median):
        return [name, "—", "—"]
    return [name, f"{median:,.3f} {figure.unit}", f"{ratio:,.2f}×"]


def cpu_pressure() -> str:
    """The machine's CPU pressure (Linux PSI): how long runnable tasks waited for a core, over 10, 60 and 300 s.
    The machine is shared; this says how busy it was."""
    path = Path("/proc/pressure/cpu")
    try:
        return " / ".join(path.read_text().split("\n")[:2]).strip(" /")
    except OSError:
        return "(no /proc/pressure/cpu on this system)"


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


def settle_writes() -> None:
    """Has the kernel write out what the set-up left in the page cache before writes are timed: a million-row load
    leaves hundreds of megabytes waiting, and the first fsync of the database file that follows waits for all of
    them. On SQLite that is the first checkpoint: committing the 100,000-prospect do not contact that ran it took
    0.51-0.54 s on a just-copied database, 0.17 s after a sync. A database that has been in use for a while has
    nothing of its load left waiting."""
    os.sync()


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


@contextmanager
def generated_export(prospects: int, generate: Callable[[Path, int], list[str]]
                     ) -> Iterator[tuple[Path, Path, list[str]]]:
    """A temporary working directory holding an export of `prospects` rows made by `generate` (storage_bench's
    generate_csv): (the directory, the CSV, search prefixes drawn from it). Removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="prospectbot-bench-") as tmp:
        workdir = Path(tmp)
        csv_path = workdir / "prospects.csv"
        print(f"generating {prospects:,} rows …", file=sys.stderr, flush=True)
        yield workdir, csv_path, generate(csv_path, prospects)


def benchmark_main(doc: str, run: Callable[..., list[Figure]], generate: Callable[[Path, int], list[str]], *,
                   own_options: Callable[[argparse.ArgumentParser], None] | None = None,
                   into: argparse.Namespace | None = None) -> None:
    """The command line every benchmark script shares: which databases, how many prospects, where to write; and
    a script's `own_options`, parsed with them into `into`."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_benchmark_arguments(parser)
    parser.add_argument("--out", type=Path, help="Also write the table to this markdown file.")
    if own_options is not None:
        own_options(parser)
    args = parser.parse_args(namespace=into)
    kinds = chosen_databases(parser, args)
    figures: list[Figure] = []
    before = cpu_pressure()
    print(f"/proc/pressure/cpu before: {before}", file=sys.stderr, flush=True)
    with generated_export(args.prospects, generate) as (workdir, csv_path, prefixes):
        for kind in kinds:
            figures += run(kind, args.prospects, args.postgres_url, workdir, csv_path, prefixes)
    table = markdown_table(figures)
    load = f"/proc/pressure/cpu before: {before}\n/proc/pressure/cpu after:  {cpu_pressure()}"
    print(table)
    print(f"\n{load}")
    if args.out:
        args.out.write_text(table + "\n")


def settled(database: Database) -> None:
    """PostgreSQL: the tables vacuumed and analyzed, as autovacuum leaves them within a minute of a load. A floor
    measured right after its own million-row load, while autovacuum works through it, is a floor slowed down: the
    raw do not contact once took 1.87 s that way, where the feature took 1.83 s on a database long settled."""
    if not database.is_sqlite:
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))


def in_turn(names: list[str], repeat: int) -> list[str]:
    """The order to measure `names` in on repeat number `repeat`: each goes first in turn, so that whatever the order
    favours (a warm cache, a machine slowing down), each gets it as often."""
    start = repeat % len(names)
    return names[start:] + names[:start]


def unmark(database: Database, which: Callable[[Session], ColumnElement[bool]]) -> None:
    """Off the clock, after each timed bulk do not contact or its floor: deletes the do-not-contact rows `which`
    chooses (a condition on DoNotContact, made for the session), so that the next one writes the same rows into tables of
    the same size (their audit rows stay: the log is append-only, and appending to it costs the same each time),
    and settles the database as the first one found it: on SQLite the write-ahead log copied into the file and
    emptied, on PostgreSQL the dead rows vacuumed.

    Each marking of 100,000 random prospects dirties more pages of do_not_contact the bigger it is: when each repeat
    added its own 100,000, every approval and floor was slower than the one before (0.60, 0.96, 1.16 s), and the
    floor, always second, was measured on bigger tables than its approval. And the commit that takes SQLite's log
    past its checkpoint threshold (storage.sqlite_connections) pays 0.2-0.3 s for copying all of it, whichever it
    is: that put the approval at 0.98× its floor (2026-12-01 17:14)."""
    with database.transaction() as session:
        session.execute(delete(DoNotContact).where(which(session)))
    settle_tables(database)


def settle_tables(database: Database) -> None:
    if database.is_sqlite:
        database.checkpoint()
        return
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM do_not_contact"))


def imported_database(kind: str, workdir: Path, postgres_url: str, name: str, csv_path: Path) -> tuple[Database, int]:
    """A fresh database with the CSV imported into "Big campaign", the way `prospectbot import` does it; returns the
    database and the campaign's id. On PostgreSQL the tables are then vacuumed and analyzed, as autovacuum does on
    its own within a minute of a load: otherwise it does so during the measurement, on one of the machine's two
    cores, and the figures are of a database busy with a million-row load's aftermath."""
    database = fresh_database(kind, workdir, postgres_url, name)
    print(f"[{kind}] importing {csv_path.name} …", file=sys.stderr, flush=True)
    with csv_path.open("rb") as stream:
        import_prospects(database.transaction, ProspectCsv(stream), campaign_name="Big campaign",
                         actor=Actor("cli:benchmark", "cli"), secret_key=BENCH_SECRET_KEY, source_label="bench")
    settled(database)
    with database.snapshot() as session:
        return database, find_campaign(session, "Big campaign").id

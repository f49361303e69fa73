"""Speed of the shared database (issue 2), on SQLite and PostgreSQL, each figure beside a floor measured in
the same run:

- import of a 1,000,000-row CSV through `prospectbot import` (rows/s, peak memory) vs a raw insert of the same rows
  into `prospects` in one transaction, and beside it the `sqlite3` shell's `.import` / PostgreSQL's COPY of them;
- prefix search in a 1,000,000-prospect campaign through `search_prospects` vs the raw indexed SQL query, and the
  type-ahead ("a", "jo", a surname, the start of an address) in campaigns of 1,000, 10,000 and every member vs a
  raw read of the same rows by primary key;
- marking 100,000 prospects do not contact in one operation vs a raw INSERT … SELECT of 100,000 rows and of their
  100,000 audit rows in one transaction, and beside it on PostgreSQL COPY of them, all on the same database,
  in turn;
- reading all of `sendable_recipients` for the 1,000,000-member campaign vs a raw read of its memberships;
- importing 100,000 new people into that populated database while a colleague saves do not contact every 100 ms:
  the import's pace, and each save's time beside the same save with no import running. On SQLite, beside the raw
  insert in one transaction, the floor for the same work under the same rule: the raw insert in transactions of
  one second, the longest a save may wait (floors.floor_insert_paced).

A figure that misses its target says whether its floor for the same work reaches it: where it does not, the target
can not be met on this machine.

How each floor was checked to be the fastest honest way: benchmarks/floors.py.

Usage: python -m benchmarks.storage_bench [--prospects N] [--databases sqlite,postgresql] [--postgres-url URL]
                                         [--extra-prospects N] [--search-only] [--keep-database DIR]
PostgreSQL comes from --postgres-url or BENCH_DATABASE_URL; its public schema is dropped and rebuilt.
--extra-prospects N then adds N prospects in no campaign and searches again (2,000,000 beside the 1,000,000
imported: the searches at 3,000,000, and how far the type-ahead in the small campaigns moved; not in CI);
--search-only builds the database as usual and measures the searches alone; --keep-database DIR (with it) keeps
the SQLite files (both sizes) in DIR and PostgreSQL's smaller one as NAME_N beside the URL's NAME, and searches a
database kept for the same sizes again without building it.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import random
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, func, insert, select, text

from benchmarks import common
from benchmarks.bulk_loaders import bulk_load, bulk_loader_name
from benchmarks.common import (
    BENCH_SECRET_KEY,
    Figure,
    benchmark_main,
    fresh_database,
    in_turn,
    median,
    percentile,
    settle_tables,
    settle_writes,
    settled,
    unmark,
)
from benchmarks.floors import (
    SAVE_WAIT_LIMIT_S,
    audit_rows_sql,
    do_not_contact_audit,
    floor_insert_for_ids,
    floor_insert_paced,
    floor_insert_rows,
    loaded_do_not_contact,
    memberships_sql,
    stored_time,
)
from benchmarks.profiles import profile_module
from storage.audit import Actor
from storage.campaigns import find_campaign, get_or_create_campaign
from storage.db import Database
from storage.do_not_contact import mark_do_not_contact, mark_prospect_do_not_contact
from storage.fast_insert import among
from storage.keys import KEY_CEILING, address_identity, search_key
from storage.models import Activity, Campaign, DoNotContact, Import, Membership, Prospect, utcnow
from storage.prospects import new_prospect_row
from storage.search import search_prospects
from storage.sending import iter_sendable
from storage.sqlite_connections import SQLITE_CACHE_KIB

FIRST = ("Ana Ben Chloé Daniel Elena Farid Gabriel Hannah Hugo Inès Isaac Jade James Julia Karim Laura Léa Liam "
         "Lucas Maria Mateo Maya Mia Nathan Noah Nora Olivia Omar Paul Priya Rafael Rosa Sam Sara Sofia Tom Victor "
         "Wei Zoé").split()
LAST = ("Adams Bernard Brown Chen Costa Dubois Durand García Girard Haddad Jones Kim Lambert Laurent Li Martin "
        "Mercier Moreau Müller Nguyen Patel Petit Roux Schmidt Silva Smith Taylor Thomas Wagner Wilson Zhang").split()
WORDS = ("acme blue cobalt data elm fjord granite helios indigo juniper kestrel lumen marlin north orbit pixel "
         "quartz red saffron tidal umbra vertex willow xenon yellow zephyr").split()
SUFFIX = ("Labs", "Cloud", "Studio", "Analytics", "Retail", "Health", "Media", "Systems", "Group", "Partners")

SEARCH_QUERIES = 1_000
DNC_BATCH = 100_000
REPEATS = 3


def generate_csv(path: Path, rows: int, seed: int = 1, start: int = 0) -> list[str]:
    """A 7-column export of `rows` distinct people (numbered from `start`: files with ranges apart share nobody);
    returns a sample of search prefixes drawn from it."""
    rng = random.Random(seed)
    prefixes: list[str] = []
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Email", "First Name", "Last Name", "Company", "Job Title", "Phone", "LinkedIn URL"])
        for n in range(start, start + rows):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            company = f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()} {rng.choice(SUFFIX)}"
            domain = company.lower().replace(" ", "") + ".com"
            email = f"{search_key(first)}.{search_key(last)}.{n}@{domain}"
            writer.writerow([email, first, last, company, "Head of Sales", f"+33 6 {n % 100:02} {n % 97:02}", ""])
            if n % max(1, rows // (SEARCH_QUERIES * 2)) == 0:
                field = rng.choice((first, last, company, email))
                prefixes.append(field[: rng.randint(2, 5)])
    rng.shuffle(prefixes)
    return prefixes[:SEARCH_QUERIES]


# Runs a module or a script in a child Python and reports the child's own peak resident memory (VmHWM). The
# rusage of a child is no use here: Linux carries the forking parent's peak over into it.
PEAK_MEMORY_WRAPPER = """
import atexit, runpy, sys
def report():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            sys.stderr.write(f"PEAK_KIB {line.split()[1]}\\n")
atexit.register(report)
if sys.argv[1] == "-m":
    sys.argv = sys.argv[2:]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
else:
    code, sys.argv = sys.argv[1], sys.argv[1:]
    exec(compile(code, "<benchmark>", "exec"), {"__name__": "__main__"})
"""
# An import past its first rows prepares them in a second process (storage.prepared_elsewhere): its memory is the
# two processes' together. Their proportional set sizes (Pss: a page the two share counted once between them) are
# summed every SAMPLE_S while it runs; the figure is the larger of that peak and the first process's own VmHWM,
# which sampling can not miss.
SAMPLE_S = 0.1


def run_measured(python_args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Runs `python PYTHON_ARGS`; returns (seconds, the peak resident memory in MB of it and any process it
    started, stdout)."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", PEAK_MEMORY_WRAPPER, *python_args], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    outputs: list[str] = []
    ended: list[float] = []

    def read() -> None:
        outputs.extend(process.communicate())
        ended.append(time.perf_counter())

    # The clock stops when the process has ended, as its reader sees it, not when the sampling loop next wakes:
    # that would add up to SAMPLE_S to every run (a sixth of an empty file's import).
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    tree_peak_kib = 0
    while process.poll() is None:
        tree_peak_kib = max(tree_peak_kib, sum(map(proportional_kib, process_tree(process.pid))))
        time.sleep(SAMPLE_S)
    reader.join()
    elapsed = ended[0] - start
    stdout, stderr = outputs
    peaks = [line.split()[1] for line in stderr.splitlines() if line.startswith("PEAK_KIB ")]
    if process.returncode != 0 or not peaks:
        raise RuntimeError(f"{' '.join(python_args)} failed: {stderr.strip()[-2000:]}")
    return elapsed, max(int(peaks[-1]), tree_peak_kib) / 1024, stdout


def process_tree(pid: int) -> list[int]:
    """`pid` and every process below it, as far as they are still running."""
    found = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as children:
                for child in children.read().split():
                    found += process_tree(int(child))
    except OSError:
        pass
    return found


def proportional_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def raw_connection(database: Database):  # type: ignore[no-untyped-def]
    return database.engine.raw_connection()


def prospect_tuples(path: Path, database: Database) -> tuple[list[str], list[tuple]]:
    """The CSV's rows as finished `prospects` rows in the database's own form (SQLite: timestamps as the text
    SQLAlchemy stores), prepared before the clock starts."""
    now = utcnow()
    stamp = stored_time(database, now)
    rows = []
    for email, first, last, company, title, phone, linkedin in read_csv_rows(path):
        row = new_prospect_row({"email": email, "first_name": first, "last_name": last, "company": company,
                                "title": title, "phone": phone, "linkedin_url": linkedin},
                               address_identity(BENCH_SECRET_KEY, email), source="floor", now=now)
        row["created_at"] = row["updated_at"] = stamp
        rows.append(row)
    columns = list(rows[0])
    return columns, [tuple(row[c] for c in columns) for row in rows]


def floor_memberships(database: Database) -> str:
    """The statement a floor runs after loading prospects: a new campaign (made now, off the clock) gets every
    prospect loaded, as an import puts the people it creates in its campaign."""
    with database.snapshot() as session:
        after_id = session.scalar(select(func.coalesce(func.max(Prospect.id), 0))) or 0
    return floor_campaign_memberships(database)(after_id)


def floor_campaign_memberships(database: Database) -> Callable[[int], str]:
    """The statement that puts the prospects loaded after a given id in a new campaign, by a new import run (both
    made now, off the clock), for that id."""
    actor = Actor("cli:benchmark", "cli")
    with database.transaction() as session:
        campaign_id = get_or_create_campaign(session, f"Floor {utcnow():%H%M%S%f}", actor).id
        run = Import(campaign_id=campaign_id, actor=actor.who, source_name="floor", started_at=utcnow(), counts={})
        session.add(run)
        session.flush()
        import_id = run.id
    added_at = utcnow()
    return lambda after_id: memberships_sql(database, campaign_id, import_id, after_id, added_at)


def read_csv_rows(path: Path) -> list[tuple]:
    with path.open(encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        return [tuple(row) for row in reader]


def add_other_campaigns_and_activity(database: Database, big_id: int, prospect_ids: list[int], seed: int = 2) -> None:
    """99 more campaigns of 10,000 members each, and email activity, so the data looks lived in."""
    rng = random.Random(seed)
    actor = Actor("cli:benchmark", "cli")
    now = utcnow()
    with database.transaction() as session:
        campaign_ids = [get_or_create_campaign(session, f"Campaign {n:03}", actor).id for n in range(2, 101)]
    for campaign_id in campaign_ids:
        members = rng.sample(prospect_ids, min(10_000, len(prospect_ids)))
        with database.transaction() as session:
            session.execute(insert(Membership), [
                {"campaign_id": campaign_id, "prospect_id": pid, "status": "active", "added_at": now} for pid in members])
    for start in range(0, len(prospect_ids), 50_000):
        batch = []
        for pid in prospect_ids[start : start + 50_000]:
            if rng.random() < 0.6:
                batch.append({"campaign_id": big_id, "prospect_id": pid, "kind": "sent", "occurred_at": now})
                if rng.random() < 0.4:
                    batch.append({"campaign_id": big_id, "prospect_id": pid, "kind": "opened", "occurred_at": now})
        with database.transaction() as session:
            session.execute(insert(Activity), batch)
    with database.engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def bench_search(database: Database, big_id: int, prefixes: list[str]) -> tuple[list[float], list[float]]:
    through_storage = []
    for prefix in prefixes:
        start = time.perf_counter()
        with database.snapshot() as session:
            search_prospects(session, prefix, campaign_id=big_id, limit=10)
        through_storage.append(time.perf_counter() - start)
    connection = raw_connection(database)
    raw = []
    try:
        cursor = connection.cursor()
        mark = "?" if database.is_sqlite else "%s"
        # One of the campaign's key ranges, as the search reads four of them (storage.search).
        sql = (f"SELECT prospect_id, name_key FROM memberships WHERE campaign_id = {mark} AND name_key >= {mark} "
               f"AND name_key < {mark} ORDER BY name_key, prospect_id LIMIT 11")
        for prefix in prefixes:
            key = prefix.lower()
            start = time.perf_counter()
            cursor.execute(sql, (big_id, key, key + KEY_CEILING))
            cursor.fetchall()
            connection.commit()
            raw.append(time.perf_counter() - start)
    finally:
        connection.close()
    return through_storage, raw


# Type-ahead in campaigns of every size, in a database grown around them (issue 14): a letter, two, a surname, the
# start of an address, as the type-ahead sends them (handlers.find.listeners.TYPE_AHEAD_SIZE results).
TYPE_AHEAD = ("a", "jo", "martin", "ana.martin")
TYPE_AHEAD_SIZE = 20
TYPE_AHEAD_ROUNDS = 50
SEARCH_CAMPAIGN_SIZES = (1_000, 10_000)
# How the insert floors write (floors.floor_insert_rows), named in the report.
RAW_PATH = {"sqlite": "", "postgresql": " (COPY of prepared rows to a staging table, INSERT … ON CONFLICT DO NOTHING "
                                         "RETURNING, 50,000 at a time)"}
OPTIONS = argparse.Namespace(extra_prospects=0, search_only=False, keep_database=None)


def add_extra_prospects(database: Database, first: int, count: int, seed: int = 5) -> None:
    """`count` more prospects in no campaign, numbered from `first` (distinct addresses), written straight into the
    table 250,000 to a transaction (floors.floor_insert_rows)."""
    rng, now = random.Random(seed), utcnow()
    for start in range(first, first + count, 250_000):
        rows = []
        for n in range(start, min(start + 250_000, first + count)):
            given, last = rng.choice(FIRST), rng.choice(LAST)
            company = f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()} {rng.choice(SUFFIX)}"
            email = f"{search_key(given)}.{search_key(last)}.{n}@{company.lower().replace(' ', '')}.com"
            row = new_prospect_row({"email": email, "first_name": given, "last_name": last, "company": company},
                                   address_identity(BENCH_SECRET_KEY, email), source="extra", now=now)
            row["created_at"] = row["updated_at"] = stored_time(database, now)
            rows.append(row)
        floor_insert_rows(database, "prospects", list(rows[0]), [tuple(row.values()) for row in rows])


def add_search_campaigns(database: Database, seed: int = 4) -> dict[int, int]:
    """Campaigns of SEARCH_CAMPAIGN_SIZES members drawn from every prospect, the extra ones too: {members: id}."""
    rng, actor, now, ids = random.Random(seed), Actor("cli:benchmark", "cli"), utcnow(), prospect_ids_of(database)
    campaigns = {}
    for size in (size for size in SEARCH_CAMPAIGN_SIZES if size < len(ids)):
        with database.transaction() as session:
            campaigns[size] = get_or_create_campaign(session, f"Search {size}", actor).id
            session.execute(insert(Membership), [{"campaign_id": campaigns[size], "prospect_id": pid,
                                                  "status": "active", "added_at": now} for pid in rng.sample(ids, size)])
    return campaigns


def bench_type_ahead(database: Database, campaign_id: int) -> tuple[list[float], list[float]]:
    """Milliseconds of TYPE_AHEAD_ROUNDS rounds of TYPE_AHEAD through search_prospects, after one round unrecorded
    (a type-ahead's first keystroke warms the cache), and of the floor after each: the page's rows by primary key."""
    through_storage, raw = [], []
    connection = raw_connection(database)
    try:
        cursor, mark = connection.cursor(), "?" if database.is_sqlite else "%s"
        for round_ in range(TYPE_AHEAD_ROUNDS + 1):
            for query in TYPE_AHEAD:
                start = time.perf_counter()
                with database.snapshot() as session:
                    page = search_prospects(session, query, campaign_id=campaign_id, limit=TYPE_AHEAD_SIZE)
                middle = time.perf_counter()
                ids = [item.id for item in page.items] or [0]
                cursor.execute("SELECT id, email, first_name, last_name, company, title FROM prospects WHERE id IN "
                               f"({', '.join([mark] * len(ids))})", ids)
                cursor.fetchall()
                connection.commit()
                if round_:
                    through_storage.append((middle - start) * 1000)
                    raw.append((time.perf_counter() - middle) * 1000)
    finally:
        connection.close()
    return through_storage, raw


def search_figures(kind: str, database: Database, big_id: int, prospects: int, prefixes: list[str]) -> list[Figure]:
    """Prefix search in the campaign of every imported prospect and the type-ahead in it and in the search
    campaigns (added first); then, with OPTIONS.extra_prospects, the same once the database has grown around them
    (VACUUM ANALYZE after, as autovacuum would), and how far the type-ahead moved between the two sizes."""
    campaigns = {**add_search_campaigns(database), prospects: big_id}
    analyze(database)
    figures = measure_searches(kind, database, campaigns, prospects, prefixes)
    if OPTIONS.extra_prospects:
        if OPTIONS.keep_database:
            keep_a_copy(database, prospects)
        print(f"[{kind}] adding {OPTIONS.extra_prospects:,} prospects …", file=sys.stderr, flush=True)
        add_extra_prospects(database, prospects, OPTIONS.extra_prospects)
        analyze(database)
        grown = measure_searches(kind, database, campaigns, prospects + OPTIONS.extra_prospects, prefixes)
        figures += grown + flatness(kind, figures, grown, prospects + OPTIONS.extra_prospects, prospects)
    return figures


def keep_a_copy(database: Database, prospects: int) -> None:
    """The database as it is, kept for --extra-prospects 0: DIR/search-N-N.db, or the PostgreSQL database NAME_N
    beside NAME (copied from it as a template, its connections closed first)."""
    url = database.engine.url
    if database.is_sqlite:
        with sqlite3.connect(str(url.database)) as source, sqlite3.connect(
                Path(OPTIONS.keep_database) / f"search-{prospects}-{prospects}.db") as copy:
            source.backup(copy)
        return
    database.engine.dispose()
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}_{prospects}"'))
        conn.execute(text(f'CREATE DATABASE "{url.database}_{prospects}" TEMPLATE "{url.database}"'))
    admin.dispose()


def analyze(database: Database) -> None:
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE" if database.is_sqlite else "VACUUM ANALYZE prospects, memberships"))


def measure_searches(kind: str, database: Database, campaigns: dict[int, int], total: int,
                     prefixes: list[str]) -> list[Figure]:
    """The prefix search in the biggest campaign, then the type-ahead in each campaign ({members: id})."""
    print(f"[{kind}] searching, {total:,} prospects …", file=sys.stderr, flush=True)
    storage_searches, raw_searches = bench_search(database, campaigns[max(campaigns)], prefixes)
    ms, raw_ms = [s * 1000 for s in storage_searches], [s * 1000 for s in raw_searches]
    figures = [Figure(kind, f"prefix search in {max(campaigns):,}-prospect campaign, {total:,} prospects (ms)",
                      median(ms), percentile(ms, 0.99), "ms", "raw read of the campaign's name range", median(raw_ms),
                      "p99 ≤ 5 ms", percentile(ms, 0.99) <= 5)]
    for members, campaign_id in sorted(campaigns.items()):
        ms, raw_ms = bench_type_ahead(database, campaign_id)
        by_query = " / ".join(f"{q} {median(ms[n::len(TYPE_AHEAD)]):.2f}" for n, q in enumerate(TYPE_AHEAD))
        print(f"[{kind}] type-ahead, {members:,} members, medians: {by_query} ms", file=sys.stderr, flush=True)
        figures.append(Figure(kind, f"type-ahead in a {members:,}-member campaign, {total:,} prospects (ms)",
                              median(ms), percentile(ms, 0.99), "ms", "same rows read by primary key", median(raw_ms),
                              "p99 ≤ 5 ms", percentile(ms, 0.99) <= 5))
    return figures


def flatness(kind: str, before: list[Figure], after: list[Figure], total: int, prospects: int) -> list[Figure]:
    """The search campaigns' type-ahead after the database grew, beside the same before: p99 within 1.5×."""
    figures = []
    for then, now in zip(before, after, strict=True):
        if now.name.startswith("type-ahead") and now.name.split("-member")[0] in {
                f"type-ahead in a {size:,}" for size in SEARCH_CAMPAIGN_SIZES}:
            figures.append(Figure(kind, now.name.replace(f", {total:,} prospects (ms)", f": {total:,} vs {prospects:,}"
                                                         " prospects (ms)"), now.median, now.p99, "ms",
                                  f"same at {prospects:,} (p99 {then.p99:,.3f} ms)", then.median,
                                  "p99 ≤ 1.5× the smaller database's", now.p99 <= 1.5 * then.p99))
    return figures


def run_search(kind: str, prospects: int, postgres_url: str, workdir: Path, csv_path: Path,
               prefixes: list[str]) -> list[Figure]:
    """--search-only: the database run() builds (the import, 99 campaigns and activity), then search_figures.
    --keep-database DIR builds the SQLite file in DIR and keeps it; a database kept from an earlier run for the
    same sizes (that file, or the PostgreSQL database at the URL) is searched again as it is, without rebuilding."""
    kept = kept_search_database(kind, prospects, postgres_url) if OPTIONS.keep_database else None
    if kept:
        database, campaigns = kept
        figures = measure_searches(kind, database, campaigns, prospects + OPTIONS.extra_prospects, prefixes)
    else:
        database, big_id = common.imported_database(kind, OPTIONS.keep_database or workdir, postgres_url,
                                                    search_database_name(prospects), csv_path)
        add_other_campaigns_and_activity(database, big_id, prospect_ids_of(database))
        figures = search_figures(kind, database, big_id, prospects, prefixes)
    database.dispose()
    return figures


def search_database_name(prospects: int) -> str:
    return f"search-{prospects}-{prospects + OPTIONS.extra_prospects}"


def kept_search_database(kind: str, prospects: int, postgres_url: str) -> tuple[Database, dict[int, int]] | None:
    """The database an earlier --search-only run built for these sizes, and its campaigns ({members: id})."""
    path = Path(OPTIONS.keep_database) / f"{search_database_name(prospects)}.db"
    if kind == "sqlite" and not path.exists():
        return None
    database = Database(f"sqlite:///{path}" if kind == "sqlite" else postgres_url)
    database.prepare(secret_key=BENCH_SECRET_KEY, auto_migrate=True)
    names = {"Big campaign": prospects, **{f"Search {size}": size for size in SEARCH_CAMPAIGN_SIZES if size < prospects}}
    with database.snapshot() as session:
        count = session.scalar(select(func.count()).select_from(Prospect))
        found = session.execute(select(Campaign.name, Campaign.id).where(Campaign.name.in_(list(names)))).all()
        campaigns = {names[name]: campaign_id for name, campaign_id in found}
    if count != prospects + OPTIONS.extra_prospects or len(campaigns) != len(names):
        database.dispose()
        return None
    print(f"[{kind}] searching the database kept at {database.description} …", file=sys.stderr, flush=True)
    return database, campaigns


def bench_do_not_contact(database: Database, prospect_ids: list[int], workdir: Path) -> dict[str, list[float]]:
    """Do not contact on DNC_BATCH prospects through storage (`mark_do_not_contact`, its commit included), and its
    floors (floor_do_not_contact: raw INSERT … SELECT, and COPY on PostgreSQL), REPEATS times each on the same
    database: each repeat draws its batch, each measure marks that same batch in turn, going first in turn, and
    what it wrote to do_not_contact is deleted off the clock before the next (common.unmark). Until 2026-12-02 the
    floors ran on a database of their own, just loaded, without the other campaigns and the activity: SQLite's
    feature came out at 0.99× it (0.74 s against 0.75 s), a floor measured on other work."""
    rng = random.Random(3)
    batch_size = min(DNC_BATCH, len(prospect_ids) // REPEATS)
    pool = rng.sample(prospect_ids, batch_size * REPEATS)
    actor = Actor("cli:benchmark", "cli")

    def through_storage(batch: list[int]) -> float:
        start = time.perf_counter()
        with database.transaction() as session:
            result = mark_do_not_contact(session, batch, reason="no-interest", actor=actor)
        elapsed = time.perf_counter() - start
        assert len(result.marked) == len(batch), (len(result.marked), len(batch))
        return elapsed

    measures: dict[str, Callable[[list[int]], float]] = {
        "storage": through_storage,
        "floor": lambda batch: floor_do_not_contact(database, batch, workdir),
    }
    # No second floor for do not contact on SQLite: the shell's .import of the finished rows took 0.98× the feature
    # itself once the feature stopped reading back what it inserted (2026-12-01 16:42), so it is no floor, as for
    # the approval (bulk_bench). PostgreSQL's COPY stays beside it.
    if not database.is_sqlite:
        measures["load"] = lambda batch: floor_do_not_contact(database, batch, workdir, bulk_loader=True)
    seconds: dict[str, list[float]] = {name: [] for name in measures}
    settle_tables(database)
    for n in range(REPEATS):
        batch = pool[n * batch_size : (n + 1) * batch_size]
        for name in in_turn(list(measures), n):
            seconds[name].append(measures[name](batch))
            unmark(database, lambda session, ids=batch: among(session, DoNotContact.prospect_id, ids))
    return seconds


def floor_do_not_contact(database: Database, batch: list[int], workdir: Path, bulk_loader: bool = False) -> float:
    """The do-not-contact rows of one batch of prospects (sorted, which any program may do), in one transaction
    with each prospect's audit row, as the feature writes them: one INSERT … SELECT over the ids per table
    (floors.py says how that was chosen), or with `bulk_loader` the sqlite3 shell's .import / COPY of the finished
    rows and an INSERT … SELECT of their audit rows from them."""
    batch = sorted(batch)
    # Each batch its own moment, which its audit rows are found by.
    stamp = stored_time(database, utcnow())
    values = {"reason": "no-interest", "note": "", "actor": "cli:benchmark", "channel": "cli", "created_at": stamp}
    audit = do_not_contact_audit("no-interest", "cli:benchmark", "cli", stamp)
    if bulk_loader:
        return bulk_load(database, "do_not_contact", ["prospect_id", *values],
                         [(pid, *values.values()) for pid in batch], workdir,
                         then=[audit_rows_sql(database, audit, loaded_do_not_contact(database, "no-interest", stamp))])
    return floor_insert_for_ids(database, "do_not_contact", "prospect_id", batch, values, audited=audit)


# The read floors (a raw read of the view below, the raw indexed query in bench_search) are one statement each: a
# statement is its own snapshot, and no transaction around it makes a read any faster. The view's floor reads what
# the sender must: every column, the view's filters (do not contact, bounces, inactive members), in the same order,
# by the fastest raw path measured, each row counted and dropped as it comes (a deque of length 1): on SQLite the DB-API
# cursor's own iteration; on PostgreSQL psycopg's stream() in chunks of 1,000, the server sending while the client
# reads (2026-12-02, 1,000,000 rows: 1.45-1.69 s, against 2.1-2.4 s fetching the whole result at once and 2.5-2.8 s
# through a server-side cursor, which the sender uses). Until 2026-12-02 it read three columns of the join without
# the filters: less work than the sender's (0.72-1.03 s against 1.76-2.54 s for the view's rows, SQLite).
READ_SENDABLE = """
import sys, time
from storage.db import Database
from storage.sqlite_connections import SQLITE_CACHE_KIB
from storage.sending import iter_sendable
database = Database(sys.argv[1]); campaign_id = int(sys.argv[2])
start = time.perf_counter()
with database.snapshot(streaming=True) as session:
    count = sum(1 for _ in iter_sendable(session, campaign_id))
print(count, time.perf_counter() - start)
"""

READ_FLOOR = """
import collections, sys, time
from storage.db import Database
from storage.sqlite_connections import SQLITE_CACHE_KIB
database = Database(sys.argv[1]); campaign_id = int(sys.argv[2])
connection = database.engine.raw_connection()
start = time.perf_counter()
if database.is_sqlite:
    rows = connection.cursor().execute(
        "SELECT * FROM sendable_recipients WHERE campaign_id = ? ORDER BY prospect_id", (campaign_id,))
else:
    rows = connection.driver_connection.cursor().stream(
        "SELECT * FROM sendable_recipients WHERE campaign_id = %s ORDER BY prospect_id", (campaign_id,), size=1000)
counted = enumerate(rows, 1)
last = collections.deque(counted, maxlen=1)
print(last[0][0] if last else 0, time.perf_counter() - start)
"""


# The sender's read and its floor now differ by less than the machine's noise on SQLite (the named tuples built per
# row, about 0.3 s of 2.4): with three repeats each, the floor's median once came out above the feature's (0.88×).
READ_REPEATS = 5


def bench_read_sendable(database: Database, campaign_id: int, env: dict[str, str]) -> tuple[list[float], list[float], float]:
    url = database.url.render_as_string(hide_password=False)
    through_storage, raw, memory = [], [], []
    for _ in range(READ_REPEATS):
        _, rss, out = run_measured([READ_SENDABLE, url, str(campaign_id)], env)
        through_storage.append(float(out.split()[1]))
        memory.append(rss)
        _, _, out = run_measured([READ_FLOOR, url, str(campaign_id)], env)
        raw.append(float(out.split()[1]))
    return through_storage, raw, max(memory)


def run(kind: str, prospects: int, postgres_url: str, workdir: Path, csv_path: Path, prefixes: list[str]) -> list[Figure]:
    figures: list[Figure] = []
    env = {**os.environ, "SECRET_KEY": BENCH_SECRET_KEY.decode(), "PYTHONPATH": str(Path.cwd())}

    # Floors, each into an empty database of its own: the same rows into `prospects` in one transaction
    # (floors.py); and again through another program's bulk path.
    database = fresh_database(kind, workdir, postgres_url, "floor")
    columns, rows = prospect_tuples(csv_path, database)
    print(f"[{kind}] floors: raw insert …", file=sys.stderr, flush=True)
    floor_phases: dict[str, float] = {}
    floor_seconds = floor_insert_rows(database, "prospects", columns, rows, then=[floor_memberships(database)],
                                      phases=floor_phases)
    database.dispose()
    bulk_name = bulk_loader_name(database)
    database = fresh_database(kind, workdir, postgres_url, "floor-bulk")
    print(f"[{kind}] floors: {bulk_name} …", file=sys.stderr, flush=True)
    load_seconds = bulk_load(database, "prospects", columns, rows, workdir, then=[floor_memberships(database)])
    del rows
    database.dispose()
    # Where an import's time goes: the same import, run once more into an empty database of its own, profiled.
    database = fresh_database(kind, workdir, postgres_url, "profile")
    print(f"[{kind}] profiling the import …", file=sys.stderr, flush=True)
    import_profile = profile_module(["bot.cli", "import", str(csv_path), "--campaign", "Big campaign"],
                                    {**env, "DATABASE_URL": database.url.render_as_string(hide_password=False)})
    database.dispose()
    for leftover in workdir.glob("profile.db*"):
        leftover.unlink()
    # The import is timed next: the kernel writes out the floors' loads first (common.settle_writes).
    settle_writes()

    database = fresh_database(kind, workdir, postgres_url, "bench")
    url = database.url.render_as_string(hide_password=False)
    print(f"[{kind}] importing {prospects:,} rows …", file=sys.stderr, flush=True)
    seconds, peak_mb, _ = run_measured(
        ["-m", "bot.cli", "import", str(csv_path), "--campaign", "Big campaign"],
        {**env, "DATABASE_URL": url},
    )
    import_target = 50_000 if database.is_sqlite else 30_000  # issue 14, item 2
    # The second floor, COPY straight into the table on PostgreSQL, can not skip an address a concurrent import
    # created, which the import must (the first, through a staging table, does): it is not the same work, and does
    # not decide whether the target can be met. SQLite's shell does skip
    # a row its unique index refuses, and goes on: whichever of its two floors is faster decides (2026-12-01, 19:01
    # UTC: the raw insert reached 49,700 rows/s, the shell 57,700, and the report said no floor reached 50,000).
    fastest = min(floor_seconds, load_seconds) if database.is_sqlite and not math.isnan(load_seconds) else floor_seconds
    deciding_floor = prospects / fastest
    figures.append(Figure(kind, f"import {prospects:,}-row CSV (rows/s)", prospects / seconds, prospects / seconds,
                          "rows/s", f"raw insert{RAW_PATH[kind]}, memberships included, one transaction",
                          prospects / floor_seconds,
                          f"≥ {import_target:,} rows/s", prospects / seconds >= import_target, bulk_name,
                          prospects / load_seconds,
                          floor_reaches_target=deciding_floor >= import_target,
                          profile=f"{floor_parts(floor_phases)}; the import, {import_profile}"))
    figures.append(Figure(kind, "import peak memory (MB)", peak_mb, peak_mb, "MB", "—", float("nan"), "≤ 300 MB",
                          peak_mb <= 300))

    with database.snapshot() as session:
        big_id = find_campaign(session, "Big campaign").id
        prospect_ids = list(session.scalars(select(Prospect.id)))
    print(f"[{kind}] adding 99 campaigns and activity …", file=sys.stderr, flush=True)
    add_other_campaigns_and_activity(database, big_id, prospect_ids)

    # Read on a settled database (common.settled), as the sender reads one that has lived with its rows: the first
    # read after the million-row load and the activity, while autovacuum worked through them, once took 13.7 s
    # where the other two took 3.9-4.0 (PostgreSQL, 2026-12-02 06:50).
    settled(database)
    print(f"[{kind}] reading sendable_recipients …", file=sys.stderr, flush=True)
    storage_reads, raw_reads, read_mb = bench_read_sendable(database, big_id, env)
    figures.append(Figure(kind, f"read all sendable_recipients, {prospects:,} members (s)", median(storage_reads),
                          max(storage_reads), "s", "raw read of the view, same order",
                          median(raw_reads), "≤ 5 s", max(storage_reads) <= 5))
    # Flat memory: reading a campaign a hundred times smaller peaks at nearly the same size; SQLite's page cache
    # (storage.sqlite_connections.SQLITE_CACHE_KIB) fills up on the large one, and stops there.
    with database.snapshot() as session:
        small_id = find_campaign(session, "Campaign 002").id
    _, small_mb, _ = run_measured([READ_SENDABLE, database.url.render_as_string(hide_password=False),
                                   str(small_id)], env)
    figures.append(Figure(kind, f"read sendable peak memory, {prospects:,} members (MB)", read_mb, read_mb, "MB",
                          "same, a 10,000-member campaign", small_mb, "flat: ≤ small + page cache",
                          read_mb <= small_mb + SQLITE_CACHE_KIB / 1024 + 16))

    figures += search_figures(kind, database, big_id, prospects, prefixes)

    dnc_batch = min(DNC_BATCH, len(prospect_ids) // REPEATS)  # as bench_do_not_contact takes it
    print(f"[{kind}] marking {dnc_batch:,} do not contact ×{REPEATS}, and its floors …", file=sys.stderr, flush=True)
    settle_writes()
    # Do not contact is measured on a settled database (common.settled), feature and floors alike.
    settled(database)
    marks = bench_do_not_contact(database, prospect_ids, workdir)
    dnc_target = 1.0 if database.is_sqlite else 2.0  # issue 14, item 5
    figures.append(Figure(kind, f"do not contact, {dnc_batch:,} prospects in one operation (s)",
                          median(marks["storage"]), max(marks["storage"]), "s",
                          "raw INSERT … SELECT, audit rows included, one transaction", median(marks["floor"]),
                          f"≤ {dnc_target:g} s", max(marks["storage"]) <= dnc_target,
                          bulk_name if "load" in marks else "", median(marks.get("load", [float("nan")]))))
    figures.extend(bench_live_import(database, prospect_ids, small_id, workdir, env))
    database.dispose()
    return figures


LIVE_IMPORT_ROWS = 100_000
SAVE_EVERY_S = 0.1
READ_EVERY_S = 0.5


def bench_live_import(database: Database, prospect_ids: list[int], small_id: int, workdir: Path,
                      env: dict[str, str]) -> list[Figure]:
    """`prospectbot import` of LIVE_IMPORT_ROWS new people into the populated database while a colleague saves
    do not contact on one prospect every SAVE_EVERY_S, through the function Slack's save calls, and the sender
    reads a campaign's recipients (campaign `small_id`) every READ_EVERY_S, each on connections of its own (as `serve`
    and the sender would): the import's pace, and how long each save and each read took — their floors, the same
    with no import running."""
    kind = database.url.get_backend_name()
    path = workdir / "live-import.csv"
    generate_csv(path, LIVE_IMPORT_ROWS, seed=3, start=len(prospect_ids) * 10)
    rng = random.Random(4)
    saver = Database(database.url.render_as_string(hide_password=False))
    actor = Actor("bench:colleague", "slack")

    def save() -> float:
        start = time.perf_counter()
        with saver.transaction() as session:
            mark_prospect_do_not_contact(session, rng.choice(prospect_ids), reason="no-interest", actor=actor)
        return time.perf_counter() - start

    def read() -> float:
        start = time.perf_counter()
        with saver.snapshot(streaming=True) as session:
            for _ in iter_sendable(session, small_id):
                pass
        return time.perf_counter() - start

    quiet = [save() for _ in range(30)]
    quiet_reads = [read() for _ in range(5)]
    saves: list[float] = []
    reads: list[float] = []
    importing = threading.Event()

    def keep_saving() -> None:
        while importing.is_set():
            saves.append(save())
            time.sleep(SAVE_EVERY_S)

    def keep_reading() -> None:
        while importing.is_set():
            reads.append(read())
            time.sleep(READ_EVERY_S)

    print(f"[{kind}] importing {LIVE_IMPORT_ROWS:,} new rows while saves go on …", file=sys.stderr, flush=True)
    importing.set()
    colleagues = [threading.Thread(target=keep_saving), threading.Thread(target=keep_reading)]
    for colleague in colleagues:
        colleague.start()
    try:
        seconds, peak_mb, _ = run_measured(
            ["-m", "bot.cli", "import", str(path), "--campaign", "Live campaign"],
            {**env, "DATABASE_URL": database.url.render_as_string(hide_password=False)},
        )
    finally:
        importing.clear()
        for colleague in colleagues:
            colleague.join()
        saver.dispose()
    path.unlink()
    # On SQLite, the floor for the same work under the same rule: other new people's finished rows and memberships
    # inserted raw in transactions that each last as long as a save may wait (floors.floor_insert_paced). Measured
    # first, into 1,100,000 prospects, as the import ended; the one-transaction floor then writes into 1,200,000.
    paced_seconds, slowest_paced = float("nan"), float("nan")
    if database.is_sqlite:
        generate_csv(path, LIVE_IMPORT_ROWS, seed=6, start=len(prospect_ids) * 30)
        columns, rows = prospect_tuples(path, database)
        path.unlink()
        print(f"[{kind}] floor: {LIVE_IMPORT_ROWS:,} new rows inserted raw, transactions of "
              f"{SAVE_WAIT_LIMIT_S:g} s …", file=sys.stderr, flush=True)
        paced_seconds, slowest_paced = floor_insert_paced(database, "prospects", columns, rows,
                                                          memberships=floor_campaign_memberships(database))
    # The floor: as many other new people's finished rows, and their memberships, inserted raw into the same
    # populated database (every index kept, as the import keeps them there) in one transaction, nothing else running.
    generate_csv(path, LIVE_IMPORT_ROWS, seed=5, start=len(prospect_ids) * 20)
    columns, rows = prospect_tuples(path, database)
    path.unlink()
    print(f"[{kind}] floor: {LIVE_IMPORT_ROWS:,} new rows inserted raw …", file=sys.stderr, flush=True)
    floor_phases: dict[str, float] = {}
    floor_seconds = floor_insert_rows(database, "prospects", columns, rows, then=[floor_memberships(database)],
                                      phases=floor_phases)
    # Where its time goes: as many other new people imported again, nothing else running, profiled.
    url = database.url.render_as_string(hide_password=False)
    generate_csv(path, LIVE_IMPORT_ROWS, seed=7, start=len(prospect_ids) * 40)
    print(f"[{kind}] profiling an import of {LIVE_IMPORT_ROWS:,} new rows …", file=sys.stderr, flush=True)
    import_profile = profile_module(["bot.cli", "import", str(path), "--campaign", "Profiled campaign"],
                                    {**env, "DATABASE_URL": url})
    # What any import costs beside its rows: the command's start (Python, its modules, the database's connection
    # and schema check) and its run's records, timed on a file of no rows.
    path.write_text("Email,First Name\n", encoding="utf-8")
    start_seconds = median([run_measured(["-m", "bot.cli", "import", str(path), "--campaign", f"Empty file {n}"],
                                         {**env, "DATABASE_URL": url})[0] for n in range(REPEATS)])
    path.unlink()
    size = f"{len(prospect_ids):,}"
    ms, quiet_ms = [s * 1000 for s in saves], [s * 1000 for s in quiet]
    # PostgreSQL locks rows, so its one transaction keeps no save waiting: the floor decides there, with the
    # command's own start beside it, which no import of any size avoids.
    with_start = LIVE_IMPORT_ROWS / (floor_seconds + start_seconds)
    deciding_floor = LIVE_IMPORT_ROWS / paced_seconds if database.is_sqlite else with_start
    return [
        Figure(kind, f"import {LIVE_IMPORT_ROWS:,} new rows into {size} prospects, saves going on (rows/s)",
               LIVE_IMPORT_ROWS / seconds, LIVE_IMPORT_ROWS / seconds, "rows/s",
               f"raw insert{RAW_PATH[kind]} of as many rows and memberships, one transaction, nothing else running",
               LIVE_IMPORT_ROWS / floor_seconds, "≥ 20,000 rows/s", LIVE_IMPORT_ROWS / seconds >= 20_000,
               f"the same raw, transactions of {SAVE_WAIT_LIMIT_S:g} s (a save's limit; slowest "
               f"{slowest_paced:.2f} s)" if database.is_sqlite else
               f"the same raw, and the command's own start and finish (an empty file's import: {start_seconds:.2f} s)",
               LIVE_IMPORT_ROWS / paced_seconds if database.is_sqlite else with_start,
               floor_reaches_target=deciding_floor >= 20_000,
               profile=f"{floor_parts(floor_phases)}; an import of an empty file, the command's start and finish, "
                       f"{start_seconds:.2f} s; the import, nothing else running, {import_profile}"),
        Figure(kind, f"a save during that import, {len(saves)} saves (ms; p99 column: slowest)", median(ms), max(ms),
               "ms", "the same save, no import running", median(quiet_ms), "slowest ≤ 1,000 ms", max(ms) <= 1000),
        Figure(kind, f"the sender reading a campaign's recipients during that import, {len(reads)} reads (s; p99 "
               "column: slowest)", median(reads), max(reads), "s", "the same read, no import running",
               median(quiet_reads), "keeps working", bool(reads)),
        Figure(kind, "that import's peak memory (MB)", peak_mb, peak_mb, "MB", "—", float("nan"), "≤ 300 MB",
               peak_mb <= 300),
    ]


def floor_parts(phases: dict[str, float]) -> str:
    """The parts of an insert floor's time (floors.floor_insert_rows' phases), as a phrase."""
    parts = {"rows": "the rows", "then": "their memberships", "indexes": "the deferred indexes",
             "commit": "committing"}
    return "the floor spent " + ", ".join(f"{seconds:.1f} s on {parts[phase]}" for phase, seconds in phases.items()
                                          if seconds >= 0.05)


def prospect_ids_of(database: Database) -> list[int]:
    with database.engine.connect() as conn:
        return [row[0] for row in conn.exec_driver_sql("SELECT id FROM prospects").all()]


def storage_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--extra-prospects", type=int, default=0, metavar="N",
                        help="Then grow the database by N prospects and search again (the 3,000,000 case).")
    parser.add_argument("--search-only", action="store_true", help="Measure the searches alone.")
    parser.add_argument("--keep-database", type=Path, metavar="DIR",
                        help="With --search-only: keep the database built in DIR, and reuse it next time.")


def run_chosen(kind: str, prospects: int, postgres_url: str, workdir: Path, csv_path: Path,
               prefixes: list[str]) -> list[Figure]:
    return (run_search if OPTIONS.search_only else run)(kind, prospects, postgres_url, workdir, csv_path, prefixes)


def main() -> None:
    benchmark_main(__doc__ or "", run_chosen, generate_csv, own_options=storage_options, into=OPTIONS)


if __name__ == "__main__":
    main()

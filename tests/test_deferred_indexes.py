"""An import into an empty `prospects` builds its secondary indexes (and memberships' search indexes) once at the
end; an import into a populated one keeps them all along; however an import ends, even killed, every index is back
by the next start."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select

from storage.audit import Actor
from storage.deferred_indexes import DEFERRABLE
from storage.importing import import_prospects
from storage.models import Membership, Prospect
from storage.prospect_csv import ProspectCsv
from storage.search import search_prospects
from storage.sqlite_connections import SQLITE_CACHE_KIB
from tests.support import TEST_SECRET_KEY

IMPORTER = Actor("cli:ops", "cli")
ALL_DEFERRABLE = {str(index.name) for index in DEFERRABLE}
REPO = Path(__file__).resolve().parents[1]


def csv_text(count: int, start: int = 0) -> str:
    lines = ["email,first_name,last_name,company"]
    lines += [f"person{n}@example{n % 7}.com,Ana{n},Silva{n},Acme {n % 3}" for n in range(start, start + count)]
    return "\n".join(lines) + "\n"


def indexes(database) -> set[str]:
    with database.engine.connect() as connection:
        inspector = inspect(connection)
        return {str(index["name"]) for table in ("prospects", "memberships") for index in inspector.get_indexes(table)}


def run_import(database, text: str, **kwargs):
    return import_prospects(database.transaction, ProspectCsv(io.BytesIO(text.encode()), name="leads.csv"),
                            campaign_name="Q4", actor=IMPORTER, secret_key=TEST_SECRET_KEY,
                            source_label="import:leads.csv", **kwargs)


def test_the_deferrable_indexes_are_every_secondary_index_but_the_unique_address_key_and_the_member_search_keys():
    expected = {"ix_prospects_company_key", "ix_prospects_email_domain", "ix_prospects_fingerprint",
                "ix_prospects_last_name_key", "ix_prospects_legacy_fingerprint", "ix_prospects_name_key",
                "ix_memberships_name_key", "ix_memberships_last_name_key", "ix_memberships_company_key",
                "ix_memberships_email_key"}
    assert expected == ALL_DEFERRABLE


def test_into_an_empty_table_the_indexes_are_built_after_the_load(database):
    seen_during = []
    report = run_import(database, csv_text(250), chunk_size=100, on_progress=lambda _: seen_during.append(indexes(database)))
    assert report.counts["new"] == 250
    assert len(seen_during) == 3 and all(ALL_DEFERRABLE.isdisjoint(seen) for seen in seen_during)
    assert indexes(database) >= ALL_DEFERRABLE
    expected = sorted(f"person{n}@example{n % 7}.com" for n in (12, *range(120, 130)))
    with database.snapshot() as session:
        campaign_id = session.scalar(select(Membership.campaign_id).limit(1))
        for in_campaign in (None, campaign_id):
            page = search_prospects(session, "silva12", campaign_id=in_campaign, limit=20)
            assert sorted(p.email for p in page.items) == expected


def test_the_connection_that_built_the_indexes_goes_back_to_the_pool_as_it_was(database):
    if not database.is_sqlite:
        pytest.skip("SQLite's sort settings are a connection's own")
    run_import(database, csv_text(50))
    assert indexes(database) >= ALL_DEFERRABLE
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA cache_size").scalar_one() == -SQLITE_CACHE_KIB
        assert connection.exec_driver_sql("PRAGMA threads").scalar_one() == 0


def test_into_a_populated_table_every_index_stays_in_place(database):
    run_import(database, csv_text(10))
    seen_during = []
    report = run_import(database, csv_text(250, start=10), chunk_size=100,
                        on_progress=lambda _: seen_during.append(indexes(database)))
    assert report.counts["new"] == 250
    assert seen_during and all(seen >= ALL_DEFERRABLE for seen in seen_during)


def test_an_import_that_fails_midway_still_builds_the_indexes_and_keeps_what_it_committed(database):
    def stop_after_first_chunk(_bytes_read):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_import(database, csv_text(250), chunk_size=100, on_progress=stop_after_first_chunk)
    assert indexes(database) >= ALL_DEFERRABLE
    with database.snapshot() as session:
        assert session.scalar(select(func.count()).select_from(Prospect)) == 100
    report = run_import(database, csv_text(250))
    assert (report.counts["new"], report.counts["already_in_campaign"]) == (150, 100)


def test_an_import_killed_outright_leaves_indexes_that_the_next_start_builds(database, database_url, tmp_path):
    """`prospectbot import` killed with SIGKILL while it loads an empty table: the rows it committed stay, reads
    still answer right, the next command of any kind builds the indexes, and the import runs again to the end."""
    path = tmp_path / "big.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "first_name", "last_name"])
        writer.writerows([f"lead{n}@kill{n % 50}.example", f"Léa{n}", "Martin"] for n in range(120_000))
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET_KEY.decode(),
           "PROSPECTBOT_ACTOR": "ops", "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "bot.cli"]
    importing = subprocess.Popen([*command, "import", str(path), "--campaign", "Q4"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while committed(database) == 0 and importing.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        importing.send_signal(signal.SIGKILL)
    finally:
        importing.wait(timeout=30)
    loaded = committed(database)
    assert 0 < loaded < 120_000, "the import was not caught in the middle of its load"
    assert ALL_DEFERRABLE.isdisjoint(indexes(database))
    with database.snapshot() as session:
        assert search_prospects(session, "lead7@").items  # slower, not wrong

    found = subprocess.run([*command, "find", "lead7@kill7.example"], env=env, capture_output=True, text=True)
    assert found.returncode == 0, found.stderr
    assert "Traceback" not in found.stdout + found.stderr
    assert indexes(database) >= ALL_DEFERRABLE

    again = subprocess.run([*command, "import", str(path), "--campaign", "Q4"], env=env, capture_output=True,
                           text=True)
    assert again.returncode == 0, again.stderr
    with database.snapshot() as session:
        assert session.scalar(select(func.count()).select_from(Prospect)) == 120_000
        assert session.scalar(select(func.count()).select_from(Membership)) == 120_000


def committed(database) -> int:
    with database.snapshot() as session:
        return session.scalar(select(func.count()).select_from(Prospect)) or 0


def test_on_postgresql_a_reader_of_the_table_keeps_the_indexes_in_place_and_the_import_goes_on(database):
    """Dropping an index waits for every transaction that has read the table, and holds up everyone behind it
    meanwhile: the import waits 1 s at most, then loads with the indexes in place."""
    if database.is_sqlite:
        pytest.skip("SQLite readers do not hold off a schema change (WAL)")
    with database.engine.connect() as reader:
        reader.exec_driver_sql("SELECT count(*) FROM prospects").all()  # its lock lasts until the transaction ends
        seen_during = []
        report = run_import(database, csv_text(50), chunk_size=20,
                            on_progress=lambda _: seen_during.append(indexes(database)))
        reader.rollback()
    assert report.counts["new"] == 50
    assert len(seen_during) == 3 and all(seen >= ALL_DEFERRABLE for seen in seen_during)
    with database.snapshot() as session:
        assert len(search_prospects(session, "silva", limit=100).items) == 50

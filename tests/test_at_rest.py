"""The embedded database on disk (issue #12): its files are the owner's alone, and a deleted prospect's details
are gone from the bytes of the database and its write-ahead log, not only from every query.

The raw-file checks read the files while `prospectbot serve` still has them open, as an attacker with a copy of
them would: SQLite removes the log when the last process closes the database, which would hide what it held."""

from __future__ import annotations

import logging
import sqlite3
import stat
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from storage import db as db_module
from storage.audit import Actor
from storage.db import Database, sqlite_files
from storage.deletion import delete_prospect
from storage.do_not_contact import mark_do_not_contact
from storage.models import Prospect
from tests import factories
from tests.fake_slack import MANAGER
from tests.slack_driver import SIGNING_SECRET, SlackDriver
from tests.support import empty_database_url
from tests.test_serve import environment, free_port, prospectbot
from tests.test_slack_edit import open_edit

PERMISSIVE_UMASK = 0o022
# A person whose every detail is unlike anything else in the database, so that finding a byte of it means them.
ADDRESS = "jane.zabriskie@erase-me.example"
LAST_NAME = "Zabriskie"
COMPANY = "Quaidmore Labs"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def traces(database: Path, *needles: str) -> dict[str, list[str]]:
    """Which of `needles` each file of the database holds, in any case, as UTF-8 bytes."""
    found = {}
    for path in sqlite_files(database)[:3]:
        if path.exists():
            data = path.read_bytes().lower()
            hits = [needle for needle in needles if needle.lower().encode() in data]
            if hits:
                found[path.name] = hits
    return found


def serve(directory: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], int]:
    """`prospectbot serve` started under a permissive umask, once it answers health checks; and its port."""
    port = free_port()
    process = subprocess.Popen([prospectbot(), "serve", "--port", str(port)], cwd=directory, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, umask=PERMISSIVE_UMASK)
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                assert response.status == 200
                return process, port
        except OSError as error:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise AssertionError(process.communicate()[1]) from error
            time.sleep(0.1)


def stop(process: subprocess.Popen[str]) -> str:
    process.terminate()
    return process.communicate(timeout=10)[1]


def slack_environment(database_url: str, fake_slack) -> dict[str, str]:
    return environment(database_url, SLACK_BOT_TOKEN="xoxb-test-token", SLACK_SIGNING_SECRET=SIGNING_SECRET,
                       SLACK_API_URL=fake_slack.api_url)


# -- private at rest ---------------------------------------------------------------------------------------------


def test_a_first_command_makes_the_database_its_directory_and_its_key_owner_only(tmp_path):
    env = {**environment("sqlite:///data/prospectbot.db"), "SECRET_KEY": ""}
    result = subprocess.run([prospectbot(), "campaigns"], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=60, umask=PERMISSIVE_UMASK)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert mode(tmp_path / "data") == 0o700
    assert mode(tmp_path / "data" / "prospectbot.db") == 0o600
    assert mode(tmp_path / "data" / "prospectbot.db.key") == 0o600


def test_serve_keeps_the_database_its_log_and_key_owner_only(tmp_path, fake_slack):
    env = {**slack_environment("sqlite:///prospectbot.db", fake_slack), "SECRET_KEY": ""}
    process, _ = serve(tmp_path, env)
    try:
        files = sqlite_files(tmp_path / "prospectbot.db")
        assert [path.name for path in files if path.exists()] == [
            "prospectbot.db", "prospectbot.db-wal", "prospectbot.db-shm", "prospectbot.db.key"]
        assert {path.name: oct(mode(path)) for path in files} == {path.name: "0o600" for path in files}
    finally:
        stop(process)


def test_a_database_other_users_can_read_is_made_owner_only_at_start_and_says_so(tmp_path):
    env = {**environment("sqlite:///prospectbot.db"), "SECRET_KEY": ""}
    assert subprocess.run([prospectbot(), "campaigns"], cwd=tmp_path, env=env, timeout=60).returncode == 0
    files = sqlite_files(tmp_path / "prospectbot.db")
    # As an earlier release left them, with a process (this one) keeping the log and its index open.
    reader = sqlite3.connect(files[0])
    reader.execute("SELECT count(*) FROM prospects").fetchone()
    for path, loose in zip(files, (0o644, 0o644, 0o666, 0o640), strict=True):
        path.chmod(loose)
    result = subprocess.run([prospectbot(), "campaigns"], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0
    assert result.stderr == ("Made owner-only (600) what other users of this machine could read: prospectbot.db "
                             "(was 644), prospectbot.db-wal (was 644), prospectbot.db-shm (was 666), "
                             "prospectbot.db.key (was 640).\n")
    assert [mode(path) for path in files] == [0o600] * 4
    reader.close()
    again = subprocess.run([prospectbot(), "campaigns"], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=60)
    assert again.returncode == 0 and again.stderr == ""


def test_files_it_may_not_change_are_named_with_the_command_their_owner_can_run(tmp_path, monkeypatch, caplog):
    path = tmp_path / "shared dir" / "prospectbot.db"
    Database(f"sqlite:///{path}").dispose()
    path.chmod(0o644)

    def not_the_owner(target: object, _mode: int) -> None:
        raise PermissionError(1, "Operation not permitted", str(target))

    monkeypatch.setattr(db_module.os, "chmod", not_the_owner)
    with caplog.at_level(logging.WARNING, logger="storage.db"):
        Database(f"sqlite:///{path}").dispose()
    [line] = caplog.messages
    assert line == (f"Other users of this machine can read {path} (mode 644), and prospectbot can not change that as "
                    f"it is not the owner: run `chmod 600 '{path}'` as the owner.")
    assert mode(path) == 0o644


# -- what "deleted" leaves on disk -------------------------------------------------------------------------------


@pytest.fixture
def served(request, tmp_path, fake_slack) -> Iterator[dict]:
    """`serve` on an embedded database holding Jane, to be deleted, and Kim, who stays."""
    database_url = empty_database_url("sqlite", request, tmp_path)
    path = Path(database_url.removeprefix("sqlite:///"))
    database = Database(database_url)
    with database.transaction() as session:
        campaign = factories.campaign(session, "Q4 Outreach")
        jane = factories.prospect(session, ADDRESS, campaign, first_name="Jane", last_name=LAST_NAME,
                                  company=COMPANY, title="CEO")
        factories.prospect(session, "kim.keeps@stays.example", campaign, first_name="Kim", last_name="Keeps")
        mark_do_not_contact(session, [jane], reason="other", note=f"{LAST_NAME} asked on the phone",
                            actor=Actor("cli:ops", "cli"), notify=False)
    process, port = serve(tmp_path, slack_environment(database_url, fake_slack))
    try:
        yield {"url": database_url, "path": path, "database": database, "campaign": campaign, "id": jane,
               "port": port, "directory": tmp_path}
    finally:
        stop(process)
        database.dispose()


def assert_only_the_survivor_is_left(path: Path) -> None:
    assert traces(path, ADDRESS, LAST_NAME, COMPANY) == {}
    # The files are read whole: the prospect who stays is still found in them.
    assert traces(path, "kim.keeps@stays.example") != {}


def test_a_delete_through_slack_leaves_no_byte_of_the_person_in_the_files_while_serve_runs(served, fake_slack):
    assert traces(served["path"], ADDRESS, LAST_NAME, COMPANY) != {}
    slack = SlackDriver(f"http://127.0.0.1:{served['port']}", fake_slack)
    _, edit = open_edit(slack, fake_slack, {"campaign": served["campaign"], "id": served["id"]}, user=MANAGER)
    slack.click(edit, "edit.delete", user=MANAGER)
    fake_slack.wait_for("views.update", 3)
    with served["database"].snapshot() as session:
        assert session.get(Prospect, served["id"]) is None
    assert_only_the_survivor_is_left(served["path"])


def test_a_delete_through_the_command_line_leaves_no_byte_of_the_person_in_the_files_while_serve_runs(served):
    assert traces(served["path"], ADDRESS, LAST_NAME, COMPANY) != {}
    result = subprocess.run([prospectbot(), "delete", ADDRESS, "--yes"], cwd=served["directory"],
                            env=environment(served["url"]), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith(f"Deleted {ADDRESS}."), result.stderr
    assert result.stderr == ""
    assert_only_the_survivor_is_left(served["path"])


def test_many_deletes_leave_no_byte_behind_without_vacuum(request, tmp_path, secret_key, cli_actor):
    """Secure delete zeroes what a delete frees, whole pages on the freelist included, so no VACUUM is needed."""
    database = Database(empty_database_url("sqlite", request, tmp_path))
    with database.transaction() as session:
        campaign = factories.campaign(session, "Q4 Outreach")
        ids = [factories.prospect(session, f"person{i:04d}@erase-me.example", campaign, first_name="Pat",
                                  last_name=f"Gonesby{i:04d}", company=f"Company {i:04d} " + "x" * 200)
               for i in range(600)]
        mark_do_not_contact(session, ids[::3], reason="no-interest", actor=cli_actor)
    gone = range(100, 400)
    for i in gone:
        with database.transaction() as session:
            delete_prospect(session, ids[i], actor=cli_actor, block_reimport=i % 2 == 0)
    database.after_erasure()
    path = database.path
    assert path is not None
    with database.snapshot() as session:
        assert session.execute(text("PRAGMA freelist_count")).scalar_one() > 0
    assert traces(path, *(f"person{i:04d}@" for i in gone), *(f"Gonesby{i:04d}" for i in gone)) == {}
    assert set(traces(path, "person0099@", "Gonesby0400")["prospectbot.db"]) == {"person0099@", "Gonesby0400"}
    database.dispose()


def test_a_reader_from_before_the_delete_holds_the_erasure_off_until_it_ends(request, tmp_path, secret_key,
                                                                               cli_actor, monkeypatch, caplog):
    """A checkpoint can not copy past a snapshot still being read (the sender streams a campaign inside one):
    after_erasure waits briefly, then retries in the background until that reader is done."""
    monkeypatch.setattr(db_module, "ERASURE_RETRY_SECONDS", 0.05)
    database = Database(empty_database_url("sqlite", request, tmp_path))
    path = database.path
    assert path is not None
    with database.transaction() as session:
        jane = factories.prospect(session, ADDRESS, factories.campaign(session, "Q4"), last_name=LAST_NAME)
    sender = sqlite3.connect(path, isolation_level=None)
    sender.execute("BEGIN")
    assert sender.execute("SELECT count(*) FROM prospects").fetchone() == (1,)
    with database.transaction() as session:
        delete_prospect(session, jane, actor=cli_actor, block_reimport=False)
    with caplog.at_level(logging.INFO, logger="storage.db"):
        started = time.monotonic()
        database.after_erasure()
        assert time.monotonic() - started < 2
        assert "until a reader that started before the delete finishes" in caplog.text
        assert "prospectbot.db-wal" in traces(path, ADDRESS)
        time.sleep(0.3)
        assert traces(path, ADDRESS) != {}  # still held off
        sender.execute("COMMIT")
        deadline = time.monotonic() + 5
        while traces(path, ADDRESS) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert traces(path, ADDRESS) == {}
        assert "The write-ahead log holds no deleted prospect's details any more." in caplog.text
    sender.close()
    database.dispose()


def test_closing_with_the_erasure_still_held_off_names_the_command_that_finishes_it(request, tmp_path, secret_key,
                                                                                  cli_actor, caplog):
    database = Database(empty_database_url("sqlite", request, tmp_path))
    path = database.path
    assert path is not None
    with database.transaction() as session:
        jane = factories.prospect(session, ADDRESS, factories.campaign(session, "Q4"))
    sender = sqlite3.connect(path, isolation_level=None)
    sender.execute("BEGIN")
    sender.execute("SELECT count(*) FROM prospects").fetchone()
    with database.transaction() as session:
        delete_prospect(session, jane, actor=cli_actor, block_reimport=False)
    with caplog.at_level(logging.WARNING, logger="storage.db"):
        database.after_erasure()
        database.dispose()
    assert caplog.messages[-1] == (
        f"A deleted prospect's details may stay in {path}-wal until the next delete or until every process using it "
        f"stops; to clear them once nothing reads it, run `sqlite3 {path} \"PRAGMA wal_checkpoint(TRUNCATE)\"`.")
    sender.execute("COMMIT")
    sender.close()
    # The last connection to close checkpoints the log and removes it.
    assert traces(path, ADDRESS) == {} and not Path(f"{path}-wal").exists()


def test_the_sqlite_connections_zero_deleted_content_whatever_the_build_default(request, tmp_path):
    database = Database(empty_database_url("sqlite", request, tmp_path))
    with database.snapshot() as session:
        assert session.execute(text("PRAGMA secure_delete")).scalar_one() == 1
        assert session.execute(text("PRAGMA journal_size_limit")).scalar_one() == 0
    database.dispose()

"""storage.prepared_elsewhere: past the first rows, an import's chunks are read and prepared in a second process
while the importing one writes; whatever happens to that process, the import hears of it and nothing is left
running."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.models import Membership, Prospect
from storage.prepared_elsewhere import PreparedChunks, PreparingStopped
from tests.support import TEST_SECRET_KEY

REPO = Path(__file__).resolve().parents[1]


def tagged(rows: list[int]) -> tuple[int, list[int]]:
    """A chunk as the process that prepared it made it."""
    return os.getpid(), rows


def chunks_of(count: int, size: int = 10, in_process_rows: int = 25, prepare=tagged, bytes_read=lambda: 0):
    return PreparedChunks(iter(range(count)), prepare, lambda: size, bytes_read, in_process_rows=in_process_rows)


def slow_in_the_second_process(seconds: float):
    """A `prepare` that takes `seconds` for each chunk the second process prepares, and none for those prepared
    here."""
    parent = os.getpid()

    def slowly(rows: list[int]) -> tuple[int, list[int]]:
        if os.getpid() != parent:
            time.sleep(seconds)
        return tagged(rows)

    return slowly


def gone(pid: int) -> bool:
    """Whether the process `pid` ends within 5 s (a zombie, ended but not reaped yet by whoever adopted it, counts
    as ended)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.01)
    return False


def test_every_row_arrives_once_in_order_and_past_the_first_rows_from_another_process():
    prepared = list(chunks_of(95))
    assert [row for chunk in prepared for row in chunk.chunk[1]] == list(range(95))
    assert [chunk.rows for chunk in prepared] == [10] * 9 + [5]
    pids = [chunk.chunk[0] for chunk in prepared]
    assert pids[:3] == [os.getpid()] * 3  # 30 rows: the first 25 and the rest of their chunk
    assert len(set(pids[3:])) == 1 and pids[3] != os.getpid()
    assert gone(pids[3])


def test_a_small_file_is_prepared_in_this_process_alone():
    prepared = list(chunks_of(25, in_process_rows=25))
    assert {chunk.chunk[0] for chunk in prepared} == {os.getpid()}
    assert sum(chunk.rows for chunk in prepared) == 25


def test_each_chunk_takes_the_size_asked_when_it_is_requested():
    sizes = iter([5, 5, 20, 3, 7, 7, 7, 7, 7, 7, 7, 7])
    size = 5

    def next_size() -> int:
        nonlocal size
        size = next(sizes)
        return size

    prepared = PreparedChunks(iter(range(60)), tagged, next_size, lambda: 0, in_process_rows=10)
    assert [chunk.rows for chunk in prepared] == [5, 5, 20, 3, 7, 7, 7, 6]


def test_ready_says_whether_the_next_chunk_can_be_taken_without_waiting_for_it():
    slow = 0.3
    parent = os.getpid()
    chunks = chunks_of(50, in_process_rows=20, prepare=slow_in_the_second_process(slow))
    try:
        for _ in range(2):  # prepared here, when taken: nothing is ever ready in advance
            assert not chunks.ready()
            assert next(chunks).chunk[0] == parent
        first_elsewhere = next(chunks)  # the second process starts, and the importer waits for its first chunk
        assert first_elsewhere.chunk[0] != parent
        assert not chunks.ready()  # the next one is being prepared
        deadline = time.monotonic() + 10
        while not chunks.ready() and time.monotonic() < deadline:
            time.sleep(0.01)
        taking = time.monotonic()
        assert next(chunks).chunk[1] == list(range(30, 40))
        assert time.monotonic() - taking < slow / 2  # it was here already
    finally:
        chunks.close()
    assert not chunks.ready()


def test_ready_within_a_time_waits_that_long_at_most_for_the_next_chunk():
    slow = 0.3
    parent = os.getpid()
    chunks = chunks_of(200, in_process_rows=10, prepare=slow_in_the_second_process(slow))
    try:
        next(chunks)
        assert next(chunks).chunk[0] != parent  # the second process has started
        asking = time.monotonic()
        assert not chunks.ready(within=slow / 10)  # the next one takes `slow` to prepare
        assert time.monotonic() - asking >= slow / 10
        assert chunks.ready(within=10)
        assert time.monotonic() - asking < 5  # it said so when the chunk arrived, not at the end of the time
    finally:
        chunks.close()


def test_the_second_process_prepares_the_chunk_after_the_next_while_the_next_waits_to_be_taken():
    """The importer is not kept waiting by a chunk that took longer to prepare than the last one to write: two
    are asked for ahead of the one in use (CHUNKS_AHEAD)."""
    slow = 0.3
    chunks = chunks_of(200, in_process_rows=10, prepare=slow_in_the_second_process(slow))
    try:
        next(chunks)
        assert next(chunks).chunk[1] == list(range(10, 20))  # from the second process
        time.sleep(3 * slow)  # the importer writes for a while
        for expected in (range(20, 30), range(30, 40)):
            taking = time.monotonic()
            assert next(chunks).chunk[1] == list(expected)
            assert time.monotonic() - taking < slow / 2  # both were prepared while the importer wrote
    finally:
        chunks.close()


def test_the_bytes_read_are_counted_where_the_rows_were_read():
    read = 0

    def counting(rows: list[int]) -> tuple[int, list[int]]:
        nonlocal read
        read += 100 * len(rows)
        return tagged(rows)

    prepared = list(chunks_of(60, prepare=counting, bytes_read=lambda: read))
    assert [chunk.bytes_read for chunk in prepared] == [100 * n for n in range(10, 61, 10)]


def test_an_error_in_the_second_process_is_raised_in_the_importing_one():
    def failing(rows: list[int]) -> tuple[int, list[int]]:
        if 47 in rows:
            raise OSError("the file went away")
        return tagged(rows)

    received = []
    with pytest.raises(OSError, match="the file went away"):
        for chunk in chunks_of(100, prepare=failing):
            received.extend(chunk.chunk[1])
    assert received == list(range(40))


def test_an_error_that_can_not_cross_over_arrives_as_its_text():
    class Odd(Exception):
        def __init__(self, code: int, detail: str) -> None:  # pickling calls Odd(*args): one argument short
            super().__init__(f"{code}: {detail}")

    def failing(rows: list[int]) -> tuple[int, list[int]]:
        if 60 in rows:
            raise Odd(7, "unexpected")
        return tagged(rows)

    with pytest.raises(RuntimeError, match="Odd: 7: unexpected"):
        list(chunks_of(100, prepare=failing))


def test_a_second_process_killed_meanwhile_stops_the_import_with_a_clear_error():
    def dying(rows: list[int]) -> tuple[int, list[int]]:
        if 55 in rows:
            os.kill(os.getpid(), signal.SIGKILL)
        return tagged(rows)

    with pytest.raises(PreparingStopped, match="stopped before the end of the file"):
        list(chunks_of(100, prepare=dying))


def test_stopping_early_stops_the_second_process():
    prepared = chunks_of(10_000)
    pids = [next(prepared).chunk[0] for _ in range(5)]
    prepared.close()
    assert pids[-1] != os.getpid() and gone(pids[-1])


def preparers_of(pid: int) -> list[int]:
    """The running forks of `pid` (its own command line, so no other program it might run): a fork that has ended
    stays listed, a zombie, until it is reaped, and killing it changes nothing (CI once caught one there: the import
    then finished as if nothing had happened)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children, open(f"/proc/{pid}/cmdline", "rb") as command:
            candidates, parent_command = [int(child) for child in children.read().split()], command.read()
    except OSError:
        return []
    found = []
    for child in candidates:
        try:
            with open(f"/proc/{child}/cmdline", "rb") as command, open(f"/proc/{child}/stat") as stat:
                same, state = command.read() == parent_command, stat.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if same and state != "Z":
            found.append(child)
    return found


def test_prospectbot_import_says_in_one_sentence_that_its_second_process_was_killed(database, database_url, tmp_path):
    """The second process killed while `prospectbot import` runs: the import stops with a sentence, not a
    traceback; what it committed stays, and running it again finishes the file."""
    rows = 120_000  # past the first 20,000 rows a second process prepares the rest: seconds to catch it in
    path = tmp_path / "leads.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "first_name"])
        writer.writerows([f"lead{n}@example.com", f"Ana{n}"] for n in range(rows))
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET_KEY.decode(),
           "PROSPECTBOT_ACTOR": "ops", "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "bot.cli", "import", str(path), "--campaign", "Q4"]
    importing = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = []
    try:
        deadline = time.monotonic() + 60
        while not killed and importing.poll() is None and time.monotonic() < deadline:
            for child in preparers_of(importing.pid):
                os.kill(child, signal.SIGKILL)
                killed.append(child)
            time.sleep(0.005)
        _, stderr = importing.communicate(timeout=60)
    finally:
        if importing.poll() is None:
            importing.kill()
    assert killed, "the import ended before its second process could be caught"
    assert importing.returncode == 1
    assert "stopped before the end of the file" in stderr and "run the same import again" in stderr
    assert "Traceback" not in stderr
    with database.snapshot() as session:
        assert 0 < session.scalar(select(func.count()).select_from(Prospect)) < rows

    again = subprocess.run(command, env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    with database.snapshot() as session:
        assert session.scalar(select(func.count()).select_from(Membership)) == rows


def test_the_second_process_ends_when_the_importing_one_is_killed_outright(database, database_url, tmp_path):
    """`prospectbot import` killed (SIGKILL, no clean-up of its own): the process preparing its chunks does not
    wait for ever for it to take the next ones, and nothing of the import is left running."""
    path = tmp_path / "leads.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "first_name"])
        writer.writerows([f"lead{n}@example.com", f"Ana{n}"] for n in range(200_000))
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET_KEY.decode(),
           "PROSPECTBOT_ACTOR": "ops", "PYTHONPATH": str(REPO)}
    importing = subprocess.Popen([sys.executable, "-m", "bot.cli", "import", str(path), "--campaign", "Q4"],
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    preparers: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while not preparers and importing.poll() is None and time.monotonic() < deadline:
            preparers = preparers_of(importing.pid)
            time.sleep(0.005)
        assert preparers, "the import ended before its second process could be caught"
        time.sleep(0.3)  # the second process has chunks ready that nobody will take
        importing.kill()
        importing.wait(timeout=60)
        assert all(gone(pid) for pid in preparers), "the second process outlived the import"
    finally:
        if importing.poll() is None:
            importing.kill()
        for pid in preparers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

"""An import's chunks read and prepared in a second process while the first one writes.

Reading the CSV and preparing its rows (storage.import_chunks) is about a third of an import's time, and depends
on the file alone. In a thread it would not overlap the writes: SQLite writes in-process, handing the interpreter
back and forth with every row, and on PostgreSQL psycopg's own work holds it too. A forked process has an
interpreter of its own, so on a machine with two cores the reading and preparing cost the import only the time
to receive each chunk.

Each chunk is received, and unpickled, by a thread of the importing process as soon as the second process has it
ready, while the importer writes the last one: the importer then takes it without waiting for its bytes to cross
over (1,000,000 rows on PostgreSQL, profiled: 1.6 s of unpickling, which the writes waited for). The thread holds
at most the CHUNKS_AHEAD chunks asked for, while the second process prepares the next: one chunk more in memory
than one process preparing and holding the next.

The second process is started only for a file longer than IN_PROCESS_ROWS rows, once those have been prepared: a
small file never pays for it. It is a fork of the importing process, so it needs no arguments and starts in
milliseconds; it touches no database connection and leaves without running the parent's exit handlers
(multiprocessing ends a forked child with os._exit). The importing process must not be running other threads,
which a fork would copy in the middle of whatever they hold: `prospectbot import` is the only caller (the
receiving thread starts after the fork, and so does the import's checkpoint thread: storage.wal_checkpoints).
Where fork does not exist, or the process can not be started, everything is prepared in-process as before.
"""

from __future__ import annotations

import collections
import gc
import logging
import multiprocessing
import pickle
import queue
import threading
from collections.abc import Callable, Generator, Iterator
from itertools import islice
from multiprocessing.connection import Connection
from typing import Any, Generic, NamedTuple, TypeVar

from storage.errors import ProspectbotError

log = logging.getLogger(__name__)

T = TypeVar("T")
# Rows prepared in the importing process before a second one is started for the rest.
IN_PROCESS_ROWS = 20_000
# Chunks asked for ahead of the one in use: with one, the second process waits, idle, while the importer takes the
# chunk it has just prepared, and the importer waits whenever one chunk took longer to prepare than the last to
# write (1,000,000 rows into SQLite: 2.6 s of waiting; with two, 0.9 s, for one more chunk held).
CHUNKS_AHEAD = 2

_END = "end"
_ERROR = "error"


class Prepared(NamedTuple, Generic[T]):
    chunk: T
    rows: int  # how many rows of the file it was made from
    bytes_read: int  # of the file, once they were read


class PreparingStopped(ProspectbotError):
    """The second process ended without handing over the rest of the file (it was killed)."""


class PreparedChunks(Generic[T]):
    """Each chunk of `rows` (`sizes()` rows, asked anew for each chunk) as `prepare` makes it, with the number of
    rows it was made from and the bytes of the file read by then (`bytes_read()`). Past `in_process_rows`, the
    chunks come from a second process, which prepares the next ones (CHUNKS_AHEAD) while this one is used: the size
    of each is asked when the one before it is handed over, and of the first ones before the first. An error in
    the second process is raised here; closing early stops it."""

    def __init__(self, rows: Iterator[Any], prepare: Callable[[list[Any]], T], sizes: Callable[[], int],
                 bytes_read: Callable[[], int], *, in_process_rows: int = IN_PROCESS_ROWS) -> None:
        self._receiver: _Receiver | None = None
        self._forked = False
        self._chunks = self._generate(rows, prepare, sizes, bytes_read, in_process_rows)

    def __iter__(self) -> PreparedChunks[T]:
        return self

    def __next__(self) -> Prepared[T]:
        return next(self._chunks)

    def ready(self, within: float = 0.0) -> bool:
        """Whether the next chunk (or the news that there is none) is here, or arrives `within` seconds: taking it
        will not wait for the second process, nor prepare anything in this one."""
        return self._receiver is not None and self._receiver.ready(within)

    @property
    def forked(self) -> bool:
        """Whether the second process has been started: this one will fork no more, and may start threads."""
        return self._forked

    def close(self) -> None:
        self._chunks.close()

    def _generate(self, rows: Iterator[Any], prepare: Callable[[list[Any]], T], sizes: Callable[[], int],
                  bytes_read: Callable[[], int], in_process_rows: int) -> Generator[Prepared[T], None, None]:
        prepared = 0
        while prepared < in_process_rows:
            chunk_rows = list(islice(rows, sizes()))
            if not chunk_rows:
                return
            prepared += len(chunk_rows)
            yield Prepared(prepare(chunk_rows), len(chunk_rows), bytes_read())
        worker = _start(rows, prepare, bytes_read)
        if worker is None:
            while chunk_rows := list(islice(rows, sizes())):
                yield Prepared(prepare(chunk_rows), len(chunk_rows), bytes_read())
            return
        process, connection = worker
        self._forked = True
        self._receiver = receiver = _Receiver(connection)
        try:
            for _ in range(CHUNKS_AHEAD):
                receiver.ask(sizes())
            while True:
                message = receiver.take()
                if message[0] == _END:
                    return
                if message[0] == _ERROR:
                    raise message[1]
                receiver.ask(sizes())
                yield message[1]
        finally:
            self._receiver = None
            receiver.stop()
            # Stopped early, a chunk may be on its way: the second process is ended rather than waited for, and
            # the thread receiving it hears that it has gone.
            if receiver.waiting():
                process.terminate()
            receiver.join()
            connection.close()
            process.join(timeout=1)
            if process.is_alive():
                process.terminate()
                process.join()


class _Receiver:
    """Asks the second process for each chunk, and receives it, in a thread of its own: each chunk asked for by
    `ask`, in turn, and handed over by `take` in the same order (or the news of the end or of an error)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._asked: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self._received: collections.deque[tuple[Any, ...]] = collections.deque()
        self._outstanding = 0
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="import-receiver", daemon=True)
        self._thread.start()

    def ask(self, size: int) -> None:
        with self._changed:
            self._outstanding += 1
        self._asked.put(size)

    def take(self) -> tuple[Any, ...]:
        with self._changed:
            self._changed.wait_for(lambda: self._received)
            return self._received.popleft()

    def ready(self, within: float = 0.0) -> bool:
        with self._changed:
            return bool(self._received) or (within > 0 and bool(self._changed.wait_for(lambda: self._received, within)))

    def waiting(self) -> bool:
        """Whether a chunk asked for has not arrived yet, and may still."""
        with self._changed:
            return self._outstanding > 0

    def stop(self) -> None:
        self._asked.put(None)

    def join(self) -> None:
        self._thread.join()

    def _run(self) -> None:
        while (size := self._asked.get()) is not None:
            try:
                self._connection.send(size)
            except OSError:  # the second process has gone: receiving says so
                pass
            try:
                message = _receive(self._connection)
            except BaseException as error:  # noqa: BLE001 - raised in the importing thread, which takes it
                message = (_ERROR, error)
            last = message[0] != "chunk"
            with self._changed:
                # After the end or an error nothing more comes, whatever else was asked.
                self._outstanding = 0 if last else self._outstanding - 1
                self._received.append(message)
                self._changed.notify_all()
            if last:
                return


def _start(rows: Iterator[Any], prepare: Callable[[list[Any]], T],
           bytes_read: Callable[[], int]) -> tuple[Any, Connection] | None:
    try:
        context = multiprocessing.get_context("fork")
    except ValueError:
        return None
    ours, theirs = context.Pipe()
    process = context.Process(target=_serve, args=(theirs, rows, prepare, bytes_read, ours), name="import-preparer",
                              daemon=True)
    try:
        process.start()
    except OSError as error:
        log.warning("preparing the import in this process: a second one could not be started (%s)", error)
        ours.close()
        theirs.close()
        return None
    theirs.close()  # the child's end: once the child is gone, receiving here fails instead of waiting for ever
    return process, ours


def _receive(connection: Connection) -> tuple[Any, ...]:
    try:
        return connection.recv()
    except (EOFError, OSError):
        raise PreparingStopped("The process preparing the file's rows stopped before the end of the file (was it "
                               "killed?). What was imported so far is kept: run the same import again to finish it."
                               ) from None


def _serve(connection: Connection, rows: Iterator[Any], prepare: Callable[[list[Any]], T],
           bytes_read: Callable[[], int], importers_end: Connection) -> None:
    """The second process: a chunk of as many rows as asked, each time it is asked, until the file ends or the
    importing process stops asking."""
    # The fork holds the importer's end too: closed here, so that once the importer is gone (killed outright)
    # sending fails and receiving ends, instead of waiting for ever on a pipe no one else reads.
    importers_end.close()
    # Its chunks are acyclic and short-lived: the cycle collector would only rescan them (storage.importing).
    gc.disable()
    try:
        while True:
            try:
                size = connection.recv()
            except (EOFError, OSError):
                return
            chunk_rows = list(islice(rows, size))
            if not chunk_rows:
                connection.send((_END,))
                return
            connection.send(("chunk", Prepared(prepare(chunk_rows), len(chunk_rows), bytes_read())))
    except BaseException as error:  # noqa: BLE001 - handed to the importing process, which raises it
        try:
            connection.send((_ERROR, _picklable(error)))
        except (EOFError, OSError):
            pass
    finally:
        connection.close()


def _picklable(error: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:  # noqa: BLE001 - any error that does not survive the pipe is sent as its text
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error

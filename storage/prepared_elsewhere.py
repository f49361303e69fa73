"""An import's chunks read and prepared in a second process while the first one writes.

Reading the CSV and preparing its rows (storage.import_chunks) is about a third of an import's time, and depends
on the file alone. In a thread it would not overlap the writes: SQLite writes in-process, handing the interpreter
back and forth with every row, and on PostgreSQL psycopg's own work holds it too. A forked process has an
interpreter of its own, so on a machine with two cores the reading and preparing cost the import only the time
to receive each chunk.

Each chunk is received, and unpickled, by a thread of the importing process as soon as the second process has it
ready, while the importer writes the last one: the importer then takes it without waiting for its bytes to cross
over (1,000,000 rows on PostgreSQL, profiled: 1.6 s of unpickling, which the writes waited for). The thread holds
at most the one chunk asked for, which the second process would hold otherwise: memory stays where it was.

The second process is started only for a file longer than IN_PROCESS_ROWS rows, once those have been prepared: a
small file never pays for it. It is a fork of the importing process, so it needs no arguments and starts in
milliseconds; it touches no database connection and leaves without running the parent's exit handlers
(multiprocessing ends a forked child with os._exit). The importing process must not be running other threads,
which a fork would copy in the middle of whatever they hold: `prospectbot import` is the only caller (the
receiving thread starts after the fork). Where fork does not exist, or the process can not be started, everything
is prepared in-process as before.
"""

from __future__ import annotations

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
    chunks come from a second process, which prepares the next one while this one is used: its size is then asked
    when the last one is handed over. An error in the second process is raised here; closing early stops it."""

    def __init__(self, rows: Iterator[Any], prepare: Callable[[list[Any]], T], sizes: Callable[[], int],
                 bytes_read: Callable[[], int], *, in_process_rows: int = IN_PROCESS_ROWS) -> None:
        self._receiver: _Receiver | None = None
        self._chunks = self._generate(rows, prepare, sizes, bytes_read, in_process_rows)

    def __iter__(self) -> PreparedChunks[T]:
        return self

    def __next__(self) -> Prepared[T]:
        return next(self._chunks)

    def ready(self) -> bool:
        """Whether the next chunk (or the news that there is none) is here already: taking it will not wait for the
        second process, nor prepare anything in this one."""
        return self._receiver is not None and self._receiver.ready()

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
        self._receiver = receiver = _Receiver(connection)
        try:
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
    """Asks the second process for each chunk, and receives it, in a thread of its own: one chunk at a time, each
    asked for by `ask` and handed over by `take` (or the news of the end or of an error)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._asked: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self._received: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._outstanding = threading.Event()
        self._thread = threading.Thread(target=self._run, name="import-receiver", daemon=True)
        self._thread.start()

    def ask(self, size: int) -> None:
        self._outstanding.set()
        self._asked.put(size)

    def take(self) -> tuple[Any, ...]:
        return self._received.get()

    def ready(self) -> bool:
        return not self._received.empty()

    def waiting(self) -> bool:
        """Whether a chunk asked for has not arrived yet."""
        return self._outstanding.is_set()

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
            self._outstanding.clear()
            self._received.put(message)
            if message[0] != "chunk":
                return



def _start(rows: Iterator[Any], prepare: Callable[[list[Any]], T],
           bytes_read: Callable[[], int]) -> tuple[Any, Connection] | None:
    try:
        context = multiprocessing.get_context("fork")
    except ValueError:
        return None
    ours, theirs = context.Pipe()
    process = context.Process(target=_serve, args=(theirs, rows, prepare, bytes_read), name="import-preparer",
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
           bytes_read: Callable[[], int]) -> None:
    """The second process: a chunk of as many rows as asked, each time it is asked, until the file ends or the
    importing process stops asking."""
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

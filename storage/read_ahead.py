"""Producing the next item while the current one is consumed, in a thread of its own.

An import's client waits while PostgreSQL writes a chunk; meanwhile it can read and prepare the next chunk of the
file. Python runs one thread at a time, but a thread waiting on the server does not hold the interpreter, so the
two overlap. Not for SQLite: it writes in-process, and hands the interpreter back and forth with every row.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar, cast

T = TypeVar("T")
# Checked by a producer waiting to hand over an item, so that a consumer that stopped early is not waited for.
POLL_S = 0.1

_END = object()


@contextmanager
def read_ahead(items: Iterator[T]) -> Iterator[Iterator[T]]:
    """`items`, produced by a thread of their own one item ahead of their consumer. Worth it where the consumer
    mostly waits without holding the GIL (on a database server); an error in the producer is raised in the
    consumer, and leaving the block early stops the producer."""
    handoff: queue.Queue[tuple[object, BaseException | None]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item: object, error: BaseException | None = None) -> bool:
        while not stop.is_set():
            try:
                handoff.put((item, error), timeout=POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_END)
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, which raises it
            put(_END, error)

    def consume() -> Iterator[T]:
        while True:
            item, error = handoff.get()
            if error is not None:
                raise error
            if item is _END:
                return
            yield cast(T, item)

    producer = threading.Thread(target=produce, name="read-ahead", daemon=True)
    producer.start()
    try:
        yield consume()
    finally:
        stop.set()
        producer.join()

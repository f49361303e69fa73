"""storage.read_ahead: the next item is produced in a thread while the current one is consumed."""

from __future__ import annotations

import threading

import pytest

from storage.read_ahead import read_ahead


def test_every_item_arrives_once_in_order():
    with read_ahead(iter(range(1000))) as items:
        assert list(items) == list(range(1000))


def test_nothing_to_produce_is_an_empty_sequence():
    with read_ahead(iter(())) as items:
        assert list(items) == []


def test_the_producers_error_is_raised_in_the_consumer_after_the_items_before_it():
    def produce():
        yield "first"
        yield "second"
        raise OSError("the file went away")

    received = []
    with pytest.raises(OSError, match="the file went away"), read_ahead(produce()) as items:
        received.extend(items)
    assert received == ["first", "second"]


def test_the_producer_runs_at_most_one_item_ahead_and_stops_when_the_consumer_leaves():
    produced = []

    def produce():
        for n in range(1_000):
            produced.append(n)
            yield n

    with read_ahead(produce()) as items:
        assert next(items) == 0
        # The consumer holds item 0; the producer may have handed over item 1 and be holding item 2, no more.
        threading.Event().wait(0.3)
        assert len(produced) <= 3
    assert len(produced) <= 3
    assert not any(thread.name == "read-ahead" for thread in threading.enumerate())


def test_an_error_in_the_consumer_stops_the_producer_and_is_raised_as_it_was():
    with pytest.raises(KeyError), read_ahead(iter(range(10**9))) as items:
        for n in items:
            if n == 5:
                raise KeyError(n)
    assert not any(thread.name == "read-ahead" for thread in threading.enumerate())

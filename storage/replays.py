"""Requests already answered, so that the same request arriving again is answered the same way and applied once.

A request is known by a key its sender can not vary (the web layer uses a hash of its signature); the first
arrival claims the key in a transaction of its own, before anything is applied, so a second arrival at any
instance finds it. Kept for a replay window only: `forget_older_than` sweeps the rest.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session

from storage.fast_insert import insert_ignoring_duplicates
from storage.models import SlackRequestRecord, utcnow


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    content_type: str
    body: str


def claim(session: Session, key: str) -> bool:
    """True for the first arrival of `key`; False when it arrived before, here or at another instance. Commit
    before applying the request, so that the claim is visible to every other arrival."""
    claimed = insert_ignoring_duplicates(session, SlackRequestRecord,
                                         [{"key": key, "received_at": utcnow(), "content_type": "", "body": ""}],
                                         SlackRequestRecord.key)
    return bool(claimed)


def record_answer(session: Session, key: str, answer: StoredAnswer) -> None:
    session.execute(update(SlackRequestRecord).where(SlackRequestRecord.key == key).values(
        completed_at=utcnow(), status=answer.status, content_type=answer.content_type, body=answer.body))


def stored_answer(session: Session, key: str) -> StoredAnswer | None:
    """How the first arrival of `key` was answered; None while it is still being answered (or never was: its
    process died first)."""
    row = session.execute(
        select(SlackRequestRecord.status, SlackRequestRecord.content_type, SlackRequestRecord.body)
        .where(SlackRequestRecord.key == key, SlackRequestRecord.completed_at.is_not(None))
    ).first()
    if row is None or row.status is None:
        return None
    return StoredAnswer(row.status, row.content_type, row.body)


def forget_answers(session: Session) -> None:
    """Empties the stored answers, keeping the keys: an answer may show a person (a saved profile) who is being
    deleted. A replay still changes nothing; it is acknowledged without the view it once got."""
    session.execute(update(SlackRequestRecord).where(SlackRequestRecord.body != "")
                    .values(body="", content_type="text/plain;charset=utf-8"))


def forget_older_than(session: Session, cutoff: dt.datetime) -> int:
    """Deletes the records of requests received before `cutoff`; returns how many."""
    result = session.execute(delete(SlackRequestRecord).where(SlackRequestRecord.received_at < cutoff))
    return cast(CursorResult[Any], result).rowcount

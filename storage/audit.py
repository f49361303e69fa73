"""Who acted, and the append-only audit log every change writes in its own transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from storage.models import CHANNELS, AuditEntry, utcnow


@dataclass(frozen=True)
class Actor:
    """Who acted and through which channel: "slack:U0123" via slack, "cli:alice" via cli, ..."""

    who: str
    channel: str

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}")


def record_audit(
    session: Session,
    actor: Actor,
    action: str,
    *,
    prospect_id: int | None = None,
    campaign_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    session.execute(
        insert(AuditEntry),
        [
            {
                "actor": actor.who,
                "channel": actor.channel,
                "action": action,
                "prospect_id": prospect_id,
                "campaign_id": campaign_id,
                "before": before,
                "after": after,
                "occurred_at": utcnow(),
            }
        ],
    )

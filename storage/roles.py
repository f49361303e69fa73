"""Roles given from the command line. Slack user groups give roles too; combining both is the Slack side's job
(handlers/access.py). Storage only keeps what an operator granted, with its audit row."""

from __future__ import annotations

import re

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.audit import Actor, record_audit
from storage.errors import InvalidInput
from storage.models import ROLES, RoleGrant, utcnow

USER_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")


def slack_user_id(raw: str) -> str:
    text = raw.strip().removeprefix("<@").removesuffix(">").split("|")[0].upper()
    if not USER_ID.match(text):
        raise InvalidInput(f'"{raw.strip()}" is not a Slack user id: use the member id (U…), found in the person\'s '
                           "Slack profile under ⋮ → Copy member ID.")
    return text


def grant_role(session: Session, user_id: str, role: str, *, actor: Actor) -> str | None:
    """Gives `role` to the user, replacing any role granted before; returns that previous role."""
    if role not in ROLES:
        raise InvalidInput(f'Unknown role "{role}": choose manager or member.')
    user_id = slack_user_id(user_id)
    grant = session.get(RoleGrant, user_id)
    previous = grant.role if grant else None
    if grant is None:
        session.add(RoleGrant(user_id=user_id, role=role, granted_by=actor.who, granted_at=utcnow()))
    else:
        grant.role, grant.granted_by, grant.granted_at = role, actor.who, utcnow()
    if previous != role:
        record_audit(session, actor, "role.grant", before={"user": user_id, "role": previous},
                     after={"user": user_id, "role": role})
    session.flush()
    return previous


def revoke_role(session: Session, user_id: str, *, actor: Actor) -> str | None:
    """Removes the granted role; returns it, or None when there was none. Roles from Slack groups stay."""
    user_id = slack_user_id(user_id)
    grant = session.get(RoleGrant, user_id)
    if grant is None:
        return None
    previous = grant.role
    session.execute(delete(RoleGrant).where(RoleGrant.user_id == user_id))
    record_audit(session, actor, "role.revoke", before={"user": user_id, "role": previous},
                 after={"user": user_id, "role": None})
    return previous


def granted_role(session: Session, user_id: str) -> str | None:
    return session.scalar(select(RoleGrant.role).where(RoleGrant.user_id == user_id))


def list_grants(session: Session) -> list[RoleGrant]:
    return list(session.scalars(select(RoleGrant).order_by(RoleGrant.role, RoleGrant.user_id)))

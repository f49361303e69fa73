"""What every listener needs from the rest of the program, handed over once by the app factory."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from handlers.access import RoleDirectory
from storage.db import Database


@dataclass(frozen=True)
class Services:
    database: Database
    secret_key: bytes
    roles: RoleDirectory
    # Where bulk requests wait for a manager; empty: only in managers' App Home.
    approvals_channel: str = ""
    request_ttl: dt.timedelta = dt.timedelta(days=7)
    members_can_delete: bool = False

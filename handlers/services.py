"""What every listener needs from the rest of the program, handed over once by the app factory: a global
middleware puts it in each request's context, where listeners read it with `services_of(context)`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_bolt import BoltContext

from storage.db import Database

if TYPE_CHECKING:
    from handlers.access import RoleDirectory

CONTEXT_KEY = "services"


@dataclass(frozen=True)
class Services:
    database: Database
    secret_key: bytes
    roles: RoleDirectory
    # Where bulk requests wait for a manager; empty: only in managers' App Home.
    approvals_channel: str = ""
    request_ttl: dt.timedelta = dt.timedelta(days=7)
    members_can_delete: bool = False

    def __deepcopy__(self, memo: dict[int, Any]) -> Services:
        # Bolt deep-copies a request's context for its lazy listeners. These are the process's shared resources
        # (a connection pool, a cache): a lazy listener must use the same ones, not copies.
        return self


def provide(services: Services) -> Callable[..., Any]:
    """The global middleware that gives every listener the services."""

    def middleware(context: BoltContext, next: Callable[[], Any]) -> Any:  # noqa: A002 - Bolt's name
        context[CONTEXT_KEY] = services
        return next()

    return middleware


def services_of(context: BoltContext) -> Services:
    services: Services = context[CONTEXT_KEY]
    return services

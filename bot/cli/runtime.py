"""What every command shares: settings and the database, opened on first use, and who the command line acts as."""

from __future__ import annotations

import getpass
import os

import click

from bot.settings import Settings, load_settings
from storage.audit import Actor
from storage.db import Database


class Runtime:
    """Settings and the database, opened on first use so that `--help` needs neither."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._database: Database | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    def database(self, *, prepare: bool = True) -> Database:
        if self._database is None:
            self._database = Database(self.settings.database_url)
            if prepare:
                self._database.prepare(
                    secret_key=self.settings.secret_key, auto_migrate=self.settings.is_embedded_database
                )
        return self._database

    def close(self) -> None:
        if self._database is not None:
            self._database.dispose()


pass_runtime = click.make_pass_decorator(Runtime)


def cli_actor() -> Actor:
    try:
        user = getpass.getuser()
    except Exception:  # no login name in some containers
        user = "unknown"
    return Actor(f"cli:{os.environ.get('PROSPECTBOT_ACTOR') or user}", "cli")

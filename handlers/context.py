"""What every listener needs from the rest of the program, handed over once by the app factory."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database


@dataclass(frozen=True)
class Services:
    database: Database
    secret_key: bytes

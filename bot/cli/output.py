"""How commands print: a table for people, JSON Lines for scripts (`--json`), and counted nouns."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, is_dataclass
from typing import Any, TypeVar

import click
from sqlalchemy import inspect
from sqlalchemy.orm import InstanceState

Record = TypeVar("Record")
CUT = 40  # a table's cells are cut to this many characters, except in the columns a command prints whole

json_option = click.option("--json", "as_json", is_flag=True, help="One JSON object per line, for scripts.")


def print_list(records: Sequence[Record], *, as_json: bool, headers: list[str],
               cells: Callable[[Record], list[str | int]], empty: str, whole: Collection[str] = (),
               footer: str = "") -> None:
    """Every listing command's output. With `as_json`, one JSON object per record and nothing else (nothing at
    all for no records); otherwise `empty` for no records, or a table and then `footer`."""
    if as_json:
        for record in records:
            print_json(record)
        return
    if not records:
        click.echo(empty)
        return
    print_table(headers, [cells(record) for record in records], whole=whole)
    if footer:
        click.echo(footer)


def print_json(record: Any) -> None:
    """One JSON object on one line: a dataclass by its fields (nested ones too), a row of the database by its
    columns, or a dict; dates in ISO 8601."""
    click.echo(json.dumps(_fields(record), default=_iso_8601))


def _fields(record: Any) -> dict[str, Any]:
    if is_dataclass(record) and not isinstance(record, type):
        return asdict(record)
    state = inspect(record, raiseerr=False)
    if isinstance(state, InstanceState):
        return {column.key: getattr(record, column.key) for column in state.mapper.column_attrs}
    return dict(record)


def _iso_8601(value: object) -> str:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def print_table(headers: list[str], rows: Sequence[Sequence[str | int]], *, whole: Collection[str] = ()) -> None:
    """Columns of text cut at 40 characters, except the columns named in `whole`; numbers right-aligned."""
    texts = [[f"{cell:,}" if isinstance(cell, int) else cell for cell in row] for row in rows]
    numeric = [all(isinstance(row[i], int) for row in rows) for i in range(len(headers))]
    widths = []
    for i, header in enumerate(headers):
        width = max(len(cell) for cell in [header, *(row[i] for row in texts)])
        widths.append(width if header in whole else min(CUT, width))
    for row in [headers, *texts]:
        cells = []
        for cell, width, header, number in zip(row, widths, headers, numeric, strict=True):
            shown = cell if header in whole else cell[:CUT]
            cells.append(shown.rjust(width) if number else shown.ljust(width))
        click.echo("  ".join(cells).rstrip())


def count(n: int, noun: str) -> str:
    """`count(3, "prospect")` is "3 prospects"."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"

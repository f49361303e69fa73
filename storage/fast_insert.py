"""Fast multi-row writes for imports and bulk changes, which write hundreds of thousands of rows.

The ORM's per-row bookkeeping costs more than the database's own work at that scale, so these go to the driver
with values already in the database's form. On PostgreSQL one statement takes each column as an array
(INSERT ... SELECT FROM unnest(...)): one round trip per chunk, which can also return the new ids. SQLite runs
in-process, where a plain executemany is fastest.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    DateTime,
    Integer,
    Table,
    Text,
    any_,
    bindparam,
    func,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.types import TypeEngine

from storage.models import Base

Rows = Sequence[dict[str, Any]]
# Ids per statement in bulk changes: each chunk travels as one array parameter (see `among`), so this bounds a
# statement's memory, not the driver's parameter count.
CHUNK = 10_000
# From this many rows PostgreSQL inserts go through COPY (see _insert_through_copy).
COPY_FROM = 1_000


def chunked(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def insert_skipping_conflicts(session: Session, model: type) -> Any:
    """The database's own INSERT for `model`, which can say ON CONFLICT DO NOTHING (`.on_conflict_do_nothing()`)."""
    return (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert(model)


def insert_ignoring_duplicates(session: Session, model: type, rows: list[dict[str, Any]], *returning: Any) -> list[Any]:
    """INSERT ... ON CONFLICT DO NOTHING: a row a concurrent writer already added is skipped, not an error."""
    if not rows:
        return []
    statement = insert_skipping_conflicts(session, model).on_conflict_do_nothing()
    if returning:
        return list(session.execute(statement.returning(*returning), rows))
    session.execute(statement, rows)
    return []


def bulk_insert(
    session: Session, model: type[Base], rows: Rows, *, ignore_duplicates: bool = False, returning: Sequence[str] = ()
) -> list[tuple[Any, ...]]:
    """Inserts `rows` (dicts with the same keys) into `model`'s table. `returning` is honoured on PostgreSQL only:
    SQLite's executemany returns nothing, and its callers find the new rows another way (they hold the write
    lock)."""
    if not rows:
        return []
    table = table_of(model)
    connection = session.connection()
    dialect = connection.dialect
    columns = list(rows[0])
    types = {name: table.c[name].type for name in columns}
    if dialect.name == "postgresql" and len(rows) >= COPY_FROM:
        column_values = [_pg_column(column_type, [row[name] for row in rows]) for name, column_type in types.items()]
        return _insert_through_copy(connection, table, columns, partial(_write_rows, zip(*column_values, strict=True)),
                                    {}, ignore_duplicates=ignore_duplicates, returning=returning)
    if dialect.name == "postgresql":
        # %b: binary parameters, which psycopg sends without escaping every element of every array.
        arrays = ", ".join(f"%({name})b::{_pg_array_type(types[name])}" for name in columns)
        statement = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM unnest({arrays})"
            + (" ON CONFLICT DO NOTHING" if ignore_duplicates else "")
            + (f" RETURNING {', '.join(returning)}" if returning else "")
        )
        params = {name: _pg_column(types[name], [row[name] for row in rows]) for name in columns}
        result = connection.exec_driver_sql(statement, params)
        return [tuple(row) for row in result] if returning else []
    statement = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        + (" ON CONFLICT DO NOTHING" if ignore_duplicates else "")
    )
    column_values = []
    for name in columns:
        values = [row[name] for row in rows]
        convert = _bind_converter(types[name], dialect)
        column_values.append(values if convert is None else list(map(convert, values)))
    connection.exec_driver_sql(statement, list(zip(*column_values, strict=True)))
    return []


def bulk_insert_values(session: Session, model: type[Base], columns: Sequence[str], rows: Sequence[tuple[Any, ...]],
                       constants: dict[str, Any], *, ignore_duplicates: bool = False,
                       returning: Sequence[str] = ()) -> list[tuple[Any, ...]]:
    """bulk_insert of `rows` given as tuples of `columns`' values (text, numbers or None: values every driver
    takes as they are), each row also taking `constants` ({column: value}), which are sent once, not per row."""
    if not rows:
        return []
    table = table_of(model)
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        if len(rows) < COPY_FROM:
            return bulk_insert(session, model, [{**dict(zip(columns, row, strict=True)), **constants} for row in rows],
                               ignore_duplicates=ignore_duplicates, returning=returning)
        return _insert_through_copy(connection, table, columns, partial(_write_rows, rows), constants,
                                    ignore_duplicates=ignore_duplicates, returning=returning)
    # SQLite: the constants are written into the statement, as the column's type renders them.
    fixed = [str(literal(value, table.c[name].type).compile(dialect=connection.dialect,
                                                             compile_kwargs={"literal_binds": True}))
             for name, value in constants.items()]
    marks = ", ".join(["?"] * len(columns) + fixed)
    statement = (f"INSERT INTO {table.name} ({', '.join([*columns, *constants])}) VALUES ({marks})"
                 + (" ON CONFLICT DO NOTHING" if ignore_duplicates else ""))
    connection.exec_driver_sql(statement, list(rows))
    return []


# COPY's text format (PostgreSQL's documentation of COPY, "Text Format"): a backslash, tab, newline or carriage
# return in a value is written as its backslash escape, NULL as \N, the values of a row joined by tabs.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text_row(values: Sequence[str | None]) -> bytes:
    """One row of text values (or None) in PostgreSQL COPY's text format, in UTF-8 (takes_copy_rows)."""
    return ("\t".join("\\N" if value is None else value.translate(_COPY_ESCAPES) for value in values)
            + "\n").encode()


def takes_copy_rows(session: Session) -> bool:
    """Whether the session's database is PostgreSQL, spoken to in UTF-8: then it takes copy_text_row's rows."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    driver_connection = session.connection().connection.dbapi_connection
    return getattr(getattr(driver_connection, "info", None), "encoding", None) == "utf-8"


def insert_copy_rows(session: Session, model: type[Base], columns: Sequence[str], rows: Sequence[bytes],
                     constants: dict[str, Any], *, ignore_duplicates: bool = False,
                     returning: Sequence[str] = ()) -> list[tuple[Any, ...]]:
    """bulk_insert_values on PostgreSQL for rows made by copy_text_row: they are sent as they are. Made where an
    import's rows are prepared, in another process (storage.prepared_elsewhere), they cost the importing one
    nothing; formatting 1,000,000 rows there, psycopg took 2.6 s of the importer's time (profiled, 2026-12-02)."""
    if not rows:
        return []
    return _insert_through_copy(session.connection(), table_of(model), columns,
                                lambda copy: copy.write(b"".join(rows)), constants,
                                ignore_duplicates=ignore_duplicates, returning=returning)


def _write_rows(rows: Iterable[tuple[Any, ...]], copy: Any) -> None:
    for row in rows:
        copy.write_row(row)


def _insert_through_copy(connection: Connection, table: Table, columns: Sequence[str], write: Callable[[Any], None],
                         constants: dict[str, Any], *, ignore_duplicates: bool,
                         returning: Sequence[str]) -> list[tuple[Any, ...]]:
    """PostgreSQL: the rows `write` gives psycopg's COPY (tuples of `columns`' values, in the driver's form, or
    rows already in COPY's format) into a temporary table dropped at commit, then INSERT … SELECT from it with
    the `constants`, which can skip conflicts and return ids as a plain INSERT does. psycopg formats COPY rows in
    C; the arrays of `unnest` it builds element by element in Python, which cost the client about as much as the
    server's work."""
    names = ", ".join(columns)
    stage = f"stage_{table.name}"
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(f"CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {names} FROM {table.name} WITH NO DATA")
    with cursor.copy(f"COPY {stage} ({names}) FROM STDIN") as copy:
        write(copy)
    fixed = "".join(f", %({name})s" for name in constants)
    cursor.execute(
        f"INSERT INTO {table.name} ({', '.join([*columns, *constants])}) SELECT {names}{fixed} FROM {stage}"
        + (" ON CONFLICT DO NOTHING" if ignore_duplicates else "")
        + (f" RETURNING {', '.join(returning)}" if returning else ""),
        constants or None,
    )
    found = [tuple(row) for row in cursor.fetchall()] if returning else []
    cursor.execute(f"DROP TABLE {stage}")
    return found


def _bind_converter(column_type: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """The column type's own conversion to the driver's form, remembering the last value: a chunk's rows
    share their timestamps, so each is converted once."""
    process = column_type._cached_bind_processor(dialect)  # noqa: SLF001 - the type's public behaviour, cached
    if process is None:
        return None
    last: list[Any] = [object(), None]

    def convert(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, process(value)
        return last[1]

    return convert


def _pg_array_type(column_type: TypeEngine[Any]) -> str:
    if isinstance(column_type, Integer):
        return "bigint[]"
    if isinstance(column_type, JSON):
        return "json[]"
    if isinstance(column_type, DateTime) or isinstance(getattr(column_type, "impl", None), DateTime):
        return "timestamptz[]"
    return "text[]"


def _pg_column(column_type: TypeEngine[Any], values: list[Any]) -> list[Any]:
    if isinstance(column_type, JSON):
        return [None if value is None else json.dumps(value) for value in values]
    return values


def table_of(model: type[Base]) -> Table:
    # Declarative models map to Tables; the typing stubs only promise a FromClause.
    return cast(Table, model.__table__)


def id_values(session: Session, ids: Sequence[int]) -> ColumnElement[Any]:
    """`ids` as the one column of a table the database makes from a single parameter (unnest of an array on
    PostgreSQL, json_each of a JSON array on SQLite), to select rows from."""
    if session.get_bind().dialect.name == "postgresql":
        return func.unnest(_pg_array(ids, integers=True)).column_valued("id")
    return _json_each(ids)


def _json_each(values: Sequence[Any]) -> ColumnElement[Any]:
    """SQLite: `values` as the one column of the table json_each makes from them, sent as one JSON array."""
    return func.json_each(bindparam(None, json.dumps(list(values)), type_=Text)).table_valued("value").c.value


def is_foreign_key_violation(error: IntegrityError) -> bool:
    """Whether a write failed because a row it refers to does not exist (any more)."""
    original = error.orig
    return (getattr(original, "sqlstate", None) == "23503"  # PostgreSQL's foreign_key_violation
            or getattr(original, "sqlite_errorname", None) == "SQLITE_CONSTRAINT_FOREIGNKEY")


def is_key_violation(error: IntegrityError) -> bool:
    """Whether a write failed because a row with the same key (primary or unique) is there already."""
    original = error.orig
    return (getattr(original, "sqlstate", None) == "23505"  # PostgreSQL's unique_violation
            or getattr(original, "sqlite_errorname", None) in ("SQLITE_CONSTRAINT_PRIMARYKEY",
                                                                "SQLITE_CONSTRAINT_UNIQUE"))


def among(session: Session, column: ColumnElement[Any] | InstrumentedAttribute[Any],
          values: Sequence[Any]) -> ColumnElement[bool]:
    """`column IN values` as one bound array instead of one parameter per value: thousands of values cost the
    driver and the compiler nothing extra."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(_pg_array(values, integers=isinstance(column.type, Integer)))
    return column.in_(select(_json_each(values)))


# PostgreSQL arrays of ids or keys travel as one text parameter that the server splits (string_to_array): the
# client joins them in one C call, and the server parses the pieces faster than a binary array's. psycopg builds an
# array parameter element by element in Python, in binary or as a literal: 10,000 looked up among 1,000,000 rows
# took 44-46 ms (keys) and 27-28 ms (ids) as a binary array, 34-35 and 23 ms joined (2026-12-02; a million-row
# import looks up about 30,000 keys and ids in each of its hundred chunks). Keys are joined by the ASCII unit
# separator, which no address, fingerprint or search key holds; a list it would make ambiguous goes as an array.
ID_SEPARATOR, KEY_SEPARATOR = ",", "\x1f"


def joined_ids(ids: Sequence[int]) -> str:
    """Ids as the one text string_to_array(text, ID_SEPARATOR) splits; ints only: a string here is refused."""
    return ID_SEPARATOR.join(map(int.__repr__, ids))


def _pg_array(values: Sequence[Any], *, integers: bool) -> ColumnElement[Any]:
    """`values` as a PostgreSQL array made by the server from one text parameter."""
    if integers:
        return func.string_to_array(bindparam(None, joined_ids(values), type_=Text), ID_SEPARATOR,
                                    type_=ARRAY(Text)).cast(ARRAY(BigInteger))
    joined = KEY_SEPARATOR.join(values)
    if joined.count(KEY_SEPARATOR) != len(values) - 1 or list(values) == [""]:
        return bindparam(None, list(values), type_=ARRAY(Text))
    return func.string_to_array(bindparam(None, joined, type_=Text), KEY_SEPARATOR, type_=ARRAY(Text))

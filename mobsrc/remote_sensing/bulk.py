"""Bulk writes for the remote-sensing hot path: binary COPY on the session's own connection
(inside its transaction), ids taken from a sequence in one round trip."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import orjson
from psycopg.types.json import Jsonb
from sqlalchemy import text
from sqlalchemy.orm import Session


def take_ids(session: Session, sequence: str, count: int) -> list[int]:
    """`count` fresh values of `sequence` (never reused, even if the transaction rolls back)."""
    if count == 0:
        return []
    return list(session.scalars(text(f"SELECT nextval('{sequence}') FROM generate_series(1, :n)"), {"n": count}))


def copy_rows(session: Session, table: str, columns: Sequence[str], types: Sequence[str],
              rows: Iterable[Sequence]) -> None:
    """Binary COPY of `rows` into `table` in the session's transaction. JSON values (dict/list)
    go to columns typed 'jsonb'."""
    raw = session.connection().connection.driver_connection
    json_columns = [i for i, name in enumerate(types) if name == "jsonb"]
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types(list(types))
        for row in rows:
            if json_columns:
                row = list(row)
                for i in json_columns:
                    row[i] = Jsonb(row[i], dumps=orjson.dumps)
            copy.write_row(row)

"""Cursor (keyset) pagination with a stable order: the cursor carries the last row's sort key,
so pages never skip or repeat rows when new ones arrive, and deep pages cost what page 1 costs."""
from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, tuple_
from sqlalchemy.orm import Session

from mobsrc.core.errors import invalid

MAX_LIMIT = 500


@dataclass(frozen=True)
class Page:
    items: list
    next_cursor: str | None
    limit: int


def _encode(values: Sequence[Any]) -> str:
    tagged = [["t", v.isoformat()] if isinstance(v, datetime) else ["v", v] for v in values]
    return base64.urlsafe_b64encode(json.dumps(tagged).encode()).decode().rstrip("=")


def _decode(cursor: str, width: int) -> list:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        values = [datetime.fromisoformat(v) if tag == "t" else v for tag, v in raw]
    except (ValueError, TypeError) as exc:
        raise invalid("cursor", "not a cursor returned by this list; start again without it") from exc
    if len(values) != width:
        raise invalid("cursor", "not a cursor returned by this list; start again without it")
    return values


def paginate(session: Session, stmt: Select, order_by: Sequence, cursor: str | None,
             limit: int, descending: bool = True) -> Page:
    """`order_by` columns must form a unique key (end with the primary key)."""
    limit = max(1, min(limit, MAX_LIMIT))
    if cursor:
        key = tuple_(*order_by)
        after = _decode(cursor, len(order_by))
        stmt = stmt.where(key < tuple_(*after) if descending else key > tuple_(*after))
    ordering = [c.desc() if descending else c.asc() for c in order_by]
    rows = session.scalars(stmt.order_by(*ordering).limit(limit + 1)).all()
    if len(rows) <= limit:
        return Page(list(rows), None, limit)
    last = rows[limit - 1]
    return Page(list(rows[:limit]), _encode([getattr(last, c.key) for c in order_by]), limit)

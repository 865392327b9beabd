"""The audit log: who changed what, when, with the values before and after.

Every ORM write to a model marked `__audited__ = True` is logged automatically by a flush hook,
in the same transaction, so no service can forget it. Writes that bypass the ORM (bulk COPY of
telemetry) log their batch row, which is an ORM object. Reads that the law requires us to log
(police lookups of a plate) call `record_access`.
"""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime, Index, LargeBinary, String, event, func, insert, inspect
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column

from mobsrc.core.auth.principals import SYSTEM, Principal
from mobsrc.core.db import Base, id_column

PRINCIPAL_KEY = "principal"
ACTION_KEY = "audit_action"


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: Mapped[int] = id_column()
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
    user_id: Mapped[int | None] = mapped_column(BigInteger, index=True)  # 0 = the system
    key_id: Mapped[int | None] = mapped_column(BigInteger)
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(80))      # e.g. "machines.insert", "machine.transfer"
    entity: Mapped[str] = mapped_column(String(60))      # table name
    entity_id: Mapped[str | None] = mapped_column(String(60))
    before: Mapped[dict | None] = mapped_column(JSONB)
    after: Mapped[dict | None] = mapped_column(JSONB)


def act_as(session: Session, principal: Principal, action: str | None = None) -> Session:
    """Mark the session's work as done by `principal` (and optionally name the action)."""
    session.info[PRINCIPAL_KEY] = principal
    if action:
        session.info[ACTION_KEY] = action
    return session


def name_action(session: Session, action: str) -> None:
    session.info[ACTION_KEY] = action


def record_access(session: Session, principal: Principal, action: str, entity: str,
                  entity_id: str | None = None, details: dict | None = None) -> None:
    """Log a read that must be traceable (who looked up which plate, when)."""
    session.execute(insert(AuditEntry).values(_actor(principal) | dict(
        action=action, entity=entity, entity_id=entity_id, before=None, after=details)))


def _actor(principal: Principal | None) -> dict:
    p = principal or SYSTEM
    return dict(user_id=p.user_id, key_id=p.key_id, role=p.role.value)


def _jsonable(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if value is None or isinstance(value, (str, int, float, bool, list, dict)):
        return value
    return str(value)  # geometry elements and other opaque values


def _columns(obj) -> list:
    """Scalar columns worth keeping: file contents and other blobs are left out."""
    return [attr for attr in inspect(obj).mapper.column_attrs
            if not isinstance(attr.columns[0].type, LargeBinary)]


def _snapshot(obj) -> dict:
    return {a.key: _jsonable(getattr(obj, a.key)) for a in _columns(obj)}


def _changes(obj) -> tuple[dict, dict]:
    state = inspect(obj)
    before, after = {}, {}
    for attr in _columns(obj):
        history = state.attrs[attr.key].history
        if history.has_changes():
            before[attr.key] = _jsonable(history.deleted[0] if history.deleted else None)
            after[attr.key] = _jsonable(history.added[0] if history.added else None)
    return before, after


def _entry(session: Session, obj, verb: str, before, after) -> dict:
    table = obj.__tablename__
    ident = inspect(obj).mapper.primary_key_from_instance(obj)  # set by now, even for inserts
    action = session.info.get(ACTION_KEY) or f"{table}.{verb}"
    return _actor(session.info.get(PRINCIPAL_KEY)) | dict(
        action=action, entity=table, entity_id=",".join(map(str, ident)),
        before=before, after=after)


def _pending_changes(session: Session) -> list[tuple]:
    """Collected before the flush, when attribute history is still there."""
    out = []
    for obj in session.dirty:
        if getattr(obj, "__audited__", False) and session.is_modified(obj, include_collections=False):
            out.append((obj, "update", *_changes(obj)))
    for obj in session.deleted:
        if getattr(obj, "__audited__", False):
            out.append((obj, "delete", _snapshot(obj), None))
    return out


@event.listens_for(Session, "before_flush")
def _collect(session: Session, flush_context, instances) -> None:
    session.info.setdefault("_audit_pending", []).extend(_pending_changes(session))
    session.info["_audit_new"] = [o for o in session.new if getattr(o, "__audited__", False)]


@event.listens_for(Session, "after_flush")
def _write(session: Session, flush_context) -> None:
    rows = [_entry(session, o, verb, b, a) for o, verb, b, a in session.info.pop("_audit_pending", [])]
    rows += [_entry(session, o, "insert", None, _snapshot(o)) for o in session.info.pop("_audit_new", [])]
    if rows:
        session.connection().execute(insert(AuditEntry), rows)

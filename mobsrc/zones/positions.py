"""Machine positions: batch ingestion, last known positions, partitions, reconciler (reading
them: tracks.py).

Ingestion answers every item (accepted with flags, duplicate, rejected with a reason code) and
makes the batch durable before the answer: batch row, binary COPY of the accepted fixes into
the day-partitioned table and the rejected items with their raw records, all in the request's
transaction; the geofence job is enqueued after the commit, and the batch row's `processed`
flag lets the reconciler find batches whose job never ran to the end.

Per-record work is numpy or plain tuples; the only per-record objects are the screening
module's frozen PositionFix values (zones/fixes.py decides duplicates, future and stale fixes,
(0, 0), outside China and implausible jumps).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec
import numpy as np
import psycopg
from sqlalchemy import BigInteger, bindparam, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from mobsrc.core import clock
from mobsrc.core.auth.principals import Principal, Role
from mobsrc.core.errors import invalid
from mobsrc.core.geo.crs import Crs, to_wgs84
from mobsrc.core.jobs import PendingJob, enqueue_after_commit, job_id_for
from mobsrc.core.partitions import ensure_day_partitions, local_day, maintain_day_partitions
from mobsrc.registry import coding
from mobsrc.registry import service as registry
from mobsrc.zones import batches
from mobsrc.zones.batches import IngestReason, ItemStatus, MalformedItem, PositionItem
from mobsrc.zones.config import ZoneConfig
from mobsrc.zones.fixes import (
    GEOFENCE_EXCLUDING_FLAGS,
    Accepted,
    FixFlag,
    PositionFix,
    RejectReason,
    screen_fixes,
)
from mobsrc.zones.models import MachineLastPosition, PositionBatch, PositionReject

JOB = "zones.evaluate_positions"
TABLE = "machine_positions"
FLAG_BITS = {FixFlag.LATE: 1, FixFlag.POOR_ACCURACY: 2, FixFlag.IMPLAUSIBLE_JUMP: 4, FixFlag.POSITION_NOT_CURRENT: 8}
GEOFENCE_EXCLUDING_MASK = sum(FLAG_BITS[f] for f in GEOFENCE_EXCLUDING_FLAGS)
# A batch younger than this is left to its own after-commit enqueue (saves Redis round trips).
RECONCILE_GRACE = timedelta(seconds=10)
COPY_COLUMNS = ("machine_id", "fix_time", "batch_id", "lon", "lat", "source_crs", "hdop", "accuracy_m", "satellites",
                "speed_kmh", "heading", "engine_on", "engine_rpm", "position_valid", "flags")
COPY_TYPES = ["int8", "timestamptz", "int8", "float8", "float8", "text", "float4", "float4", "int2", "float4",
              "float4", "bool", "float4", "bool", "int2"]


@dataclass(frozen=True)
class ItemAnswer:
    index: int
    status: ItemStatus
    reason: str | None = None
    detail: str | None = None
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class BatchResult:
    batch: PositionBatch
    results: list[ItemAnswer]

    def __getattr__(self, name):
        return getattr(self.batch, name)

    @property
    def batch_id(self) -> int:
        return self.batch.id


@dataclass
class _Pending:
    """An item on its way through ingestion."""

    index: int
    item: PositionItem
    machine: object  # registry.machine_facts row
    fix: PositionFix | None = None
    flags: frozenset = frozenset()


class _Answers:
    def __init__(self, count: int):
        self.items: list[ItemAnswer | None] = [None] * count
        self.rejects: list[dict] = []

    def reject(self, index: int, reason: str, detail: str = "", raw: bytes = b"null", machine_id=None,
               fix_time=None) -> None:
        self.items[index] = ItemAnswer(index, ItemStatus.REJECTED, str(reason), detail or None)
        self.rejects.append(dict(item_index=index, reason=str(reason), detail=detail[:300], machine_id=machine_id,
                                 fix_time=fix_time, raw=msgspec.json.decode(raw)))

    def reject_pending(self, pending: _Pending, reason: str, detail: str = "") -> None:
        self.reject(pending.index, reason, detail, batches.encode_item(pending.item), pending.machine.id,
                    pending.fix.fix_time if pending.fix else None)

    def count(self, status: ItemStatus) -> int:
        return sum(1 for a in self.items if a is not None and a.status is status)


# --- ingestion -----------------------------------------------------------------------------------

def ingest_positions(session: Session, principal: Principal, body: bytes, config: ZoneConfig) -> BatchResult:
    """Screen, store and answer one batch; enqueue its geofence job after the commit."""
    try:
        items = batches.decode_batch(body, config.max_batch)
    except batches.BatchError as error:
        raise invalid(error.field, error.reason, "malformed") from None
    now = clock.now()
    answers = _Answers(len(items))
    pending = _identify(session, principal, items, answers)
    _to_wgs84_fixes(pending)
    pending = _without_stored(session, pending, answers)
    accepted = _screen(session, pending, answers, now, config)
    batch = _open_batch(session, principal, len(items), accepted, answers, now)
    accepted = _store_positions(session, batch, accepted, answers)
    if answers.rejects:
        session.execute(insert(PositionReject), [dict(r, batch_id=batch.id) for r in answers.rejects])
    _update_last_positions(session, batch.id, accepted)
    if accepted:
        enqueue_after_commit(session, JOB, batch.id)
    return BatchResult(batch, answers.items)


def _sender_scope(principal: Principal) -> int | None:
    """The enterprise whose machines the sender may report; None = every machine (platform)."""
    if principal.role is Role.FLEET_OPERATOR:
        return principal.enterprise_id
    return principal.enterprise_id if principal.role is Role.TERMINAL else None


def _identify(session: Session, principal: Principal, items, answers: _Answers) -> list[_Pending]:
    scope = _sender_scope(principal)
    wanted = [i for i in items if isinstance(i, PositionItem)]
    rows = registry.machine_facts(session, codes={i.machine_code for i in wanted if i.machine_code},
                                  terminal_ids={i.terminal_id for i in wanted if i.terminal_id})
    by_code, by_terminal = {r.code: r for r in rows}, {r.terminal_id: r for r in rows if r.terminal_id}
    pending = []
    for index, item in enumerate(items):
        if isinstance(item, MalformedItem):
            answers.reject(index, IngestReason.MALFORMED, f"{item.field}: {item.detail}", item.raw)
            continue
        machine, reason = _machine_of(item, by_code, by_terminal, scope)
        if reason is not None:
            answers.reject(index, reason, "", batches.encode_item(item))
        else:
            pending.append(_Pending(index, item, machine))
    return pending


def _machine_of(item: PositionItem, by_code: dict, by_terminal: dict, scope: int | None):
    if not item.machine_code and not item.terminal_id:
        return None, IngestReason.NO_MACHINE_IDENTIFIER
    by_c = by_code.get(coding.canonical(item.machine_code)) if item.machine_code else None
    by_t = by_terminal.get(item.terminal_id) if item.terminal_id else None
    if (item.machine_code and by_c is None) or (item.terminal_id and by_t is None):
        return None, IngestReason.UNKNOWN_MACHINE
    if by_c is not None and by_t is not None and by_c.id != by_t.id:
        return None, IngestReason.MACHINE_MISMATCH
    machine = by_c or by_t
    if scope is not None and machine.enterprise_id != scope:
        return None, IngestReason.UNKNOWN_MACHINE  # the same answer as a missing one: nothing leaks
    return machine, None


def _to_wgs84_fixes(pending: list[_Pending]) -> None:
    """Coordinates converted per declared datum, vectorised; one PositionFix per item."""
    lons = np.array([p.item.lon for p in pending], dtype=np.float64)
    lats = np.array([p.item.lat for p in pending], dtype=np.float64)
    crs = np.array([p.item.crs for p in pending])
    for datum in Crs:
        if datum is Crs.WGS84:
            continue
        chosen = crs == datum.value
        if chosen.any():
            lons[chosen], lats[chosen] = to_wgs84(lons[chosen], lats[chosen], datum)
    for p, lon, lat in zip(pending, lons.tolist(), lats.tolist()):
        i = p.item
        p.fix = PositionFix(p.machine.id, i.fix_time_utc, lon, lat, i.hdop, i.accuracy_m, i.position_valid,
                            i.engine_on, i.engine_rpm)


def _without_stored(session: Session, pending: list[_Pending], answers: _Answers) -> list[_Pending]:
    """Items whose (machine, fix time) is already stored: duplicate when at the same place,
    rejected as a conflicting duplicate otherwise (the first one stored wins)."""
    stored = _stored_places(session, [(p.fix.machine_id, p.fix.fix_time) for p in pending])
    fresh = []
    for p in pending:
        place = stored.get((p.fix.machine_id, p.fix.fix_time))
        if place is None:
            fresh.append(p)
        elif place == (p.fix.lon, p.fix.lat):
            answers.items[p.index] = ItemAnswer(p.index, ItemStatus.DUPLICATE)
        else:
            answers.reject_pending(p, RejectReason.CONFLICTING_DUPLICATE, "another position is stored for this time")
    return fresh


def _stored_places(session: Session, keys: list[tuple[int, datetime]]) -> dict:
    if not keys:
        return {}
    times = [t for _, t in keys]
    rows = session.execute(text(
        "SELECT p.machine_id, p.fix_time, p.lon, p.lat FROM machine_positions p "
        "JOIN unnest(CAST(:ids AS bigint[]), CAST(:times AS timestamptz[])) AS k(machine_id, fix_time) "
        "USING (machine_id, fix_time) WHERE p.fix_time BETWEEN :first AND :last"),
        {"ids": [m for m, _ in keys], "times": times, "first": min(times), "last": max(times)})
    return {(m, t): (lon, lat) for m, t, lon, lat in rows}


def _screen(session: Session, pending: list[_Pending], answers: _Answers, now: datetime,
            config: ZoneConfig) -> list[_Pending]:
    references = latest_usable_fixes(session, {p.fix.machine_id for p in pending})
    screening = screen_fixes([p.fix for p in pending], now=now, references=references, policy=config.screening)
    accepted = []
    for p, outcome in zip(pending, screening.outcomes):
        if isinstance(outcome, Accepted):
            p.flags = outcome.flags
            accepted.append(p)
        elif outcome.reason is RejectReason.DUPLICATE:  # repeated within this batch
            answers.items[p.index] = ItemAnswer(p.index, ItemStatus.DUPLICATE)
        else:
            answers.reject_pending(p, outcome.reason)
    return accepted


def latest_usable_fixes(session: Session, machine_ids) -> dict[int, PositionFix]:
    """Each machine's last known (usable) position, as the jump test's reference."""
    if not machine_ids:
        return {}
    rows = session.execute(select(MachineLastPosition.machine_id, MachineLastPosition.fix_time,
                                  MachineLastPosition.lon, MachineLastPosition.lat)
                           .where(MachineLastPosition.machine_id.in_(
                               select(func.unnest(bindparam("ids", list(machine_ids), type_=ARRAY(BigInteger)))))))
    return {m: PositionFix(m, t, lon, lat) for m, t, lon, lat in rows}


def _open_batch(session, principal, count, accepted, answers, now) -> PositionBatch:
    times = [p.fix.fix_time for p in accepted]
    batch = PositionBatch(received_at=now, user_id=principal.user_id, key_id=principal.key_id,
                          role=principal.role.value, enterprise_id=principal.enterprise_id, items=count,
                          accepted=len(accepted), duplicates=answers.count(ItemStatus.DUPLICATE),
                          rejected=len(answers.rejects), first_fix_time=min(times, default=None),
                          last_fix_time=max(times, default=None), processed=not accepted,
                          processed_at=None if accepted else now)
    session.add(batch)
    session.flush()
    return batch


def _store_positions(session: Session, batch: PositionBatch, accepted: list[_Pending], answers: _Answers):
    """COPY the accepted fixes (fast path); a concurrent batch that stored one of them first
    makes the COPY fail, and then they go through INSERT ... ON CONFLICT DO NOTHING instead."""
    if not accepted:
        return []
    ensure_day_partitions(session.connection(), TABLE, {local_day(p.fix.fix_time) for p in accepted})
    rows = [_row(batch.id, p) for p in accepted]
    try:
        with session.begin_nested():
            copy_positions(session, rows)
        inserted = accepted
    except psycopg.errors.UniqueViolation:
        keys = _insert_skipping_stored(session, rows)
        inserted = [p for p in accepted if (p.fix.machine_id, p.fix.fix_time) in keys]
        _answer_lost_races(session, [p for p in accepted if (p.fix.machine_id, p.fix.fix_time) not in keys], answers)
        _recount(session, batch, inserted, answers)
    for p in inserted:
        answers.items[p.index] = ItemAnswer(p.index, ItemStatus.ACCEPTED, flags=tuple(sorted(f.value for f in p.flags)))
    return inserted


def _row(batch_id: int, p: _Pending) -> tuple:
    i, f = p.item, p.fix
    return (f.machine_id, f.fix_time, batch_id, f.lon, f.lat, i.crs, i.hdop, i.accuracy_m, i.satellites, i.speed_kmh,
            i.heading, i.engine_on, i.engine_rpm, i.position_valid, sum(FLAG_BITS[x] for x in p.flags))


def copy_positions(session: Session, rows: Sequence[tuple], table: str = TABLE) -> None:
    """Binary COPY on the session's own connection, inside its transaction."""
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(COPY_COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(COPY_TYPES)
        for row in rows:
            copy.write_row(row)


def _insert_skipping_stored(session: Session, rows: list[tuple]) -> set:
    session.execute(text("CREATE TEMP TABLE IF NOT EXISTS positions_incoming "
                         "(LIKE machine_positions INCLUDING DEFAULTS) ON COMMIT DROP"))
    session.execute(text("TRUNCATE positions_incoming"))
    copy_positions(session, rows, "positions_incoming")
    inserted = session.execute(text("INSERT INTO machine_positions SELECT * FROM positions_incoming "
                                    "ON CONFLICT DO NOTHING RETURNING machine_id, fix_time"))
    return {(m, t) for m, t in inserted}


def _answer_lost_races(session: Session, lost: list[_Pending], answers: _Answers) -> None:
    stored = _stored_places(session, [(p.fix.machine_id, p.fix.fix_time) for p in lost])
    for p in lost:
        if stored.get((p.fix.machine_id, p.fix.fix_time)) == (p.fix.lon, p.fix.lat):
            answers.items[p.index] = ItemAnswer(p.index, ItemStatus.DUPLICATE)
        else:
            answers.reject_pending(p, RejectReason.CONFLICTING_DUPLICATE, "another position is stored for this time")


def _recount(session: Session, batch: PositionBatch, inserted: list[_Pending], answers: _Answers) -> None:
    times = [p.fix.fix_time for p in inserted]
    values = dict(accepted=len(inserted), duplicates=answers.count(ItemStatus.DUPLICATE), rejected=len(answers.rejects),
                  first_fix_time=min(times, default=None), last_fix_time=max(times, default=None))
    if not inserted:
        values.update(processed=True, processed_at=batch.received_at)
    session.execute(update(PositionBatch).where(PositionBatch.id == batch.id).values(**values)
                    .execution_options(synchronize_session="fetch"))


_LAST_COLUMNS = {"machine_id": "bigint", "enterprise_id": "bigint", "machine_code": "text", "fix_time": "timestamptz",
                 "lon": "float8", "lat": "float8", "hdop": "real", "accuracy_m": "real", "speed_kmh": "real",
                 "heading": "real", "engine_on": "boolean", "engine_rpm": "real", "batch_id": "bigint"}


def _update_last_positions(session: Session, batch_id: int, accepted: list[_Pending]) -> None:
    """Each machine's latest usable fix of the batch replaces an older last position (one
    statement; rows travel as one JSON document, cheaper to bind than thirteen arrays)."""
    latest: dict[int, _Pending] = {}
    for p in accepted:
        if not p.flags & GEOFENCE_EXCLUDING_FLAGS:
            best = latest.get(p.fix.machine_id)
            if best is None or p.fix.fix_time > best.fix.fix_time:
                latest[p.fix.machine_id] = p
    if not latest:
        return
    rows = [{"machine_id": p.machine.id, "enterprise_id": p.machine.enterprise_id, "machine_code": p.machine.code,
             "fix_time": p.fix.fix_time, "lon": p.fix.lon, "lat": p.fix.lat, "hdop": p.item.hdop,
             "accuracy_m": p.item.accuracy_m, "speed_kmh": p.item.speed_kmh, "heading": p.item.heading,
             "engine_on": p.item.engine_on, "engine_rpm": p.item.engine_rpm, "batch_id": batch_id}
            for p in latest.values()]
    assignments = ", ".join(f"{c} = excluded.{c}" for c in (*list(_LAST_COLUMNS)[1:], "location"))
    session.execute(text(
        f"INSERT INTO machine_last_positions AS t ({', '.join(_LAST_COLUMNS)}, location) "
        f"SELECT u.*, ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326) FROM {recordset(_LAST_COLUMNS)} "
        f"ORDER BY u.machine_id "  # one lock order for every writer
        f"ON CONFLICT (machine_id) DO UPDATE SET {assignments} WHERE excluded.fix_time > t.fix_time"),
        {"rows": msgspec.json.encode(rows).decode()})


def recordset(columns: dict[str, str], parameter: str = "rows") -> str:
    """SQL reading a JSON array of objects (bound as `parameter`) as rows `u(columns)`."""
    return (f"jsonb_to_recordset(CAST(:{parameter} AS jsonb)) "
            f"AS u({', '.join(f'{name} {kind}' for name, kind in columns.items())})")


# --- background work -----------------------------------------------------------------------------

def pending_batches(session: Session) -> list[PendingJob]:
    """Reconciler: batches accepted but not geofenced. SKIP LOCKED leaves out the ones a live
    worker holds; one it does not hold but RQ still counts as started was the job of a dead
    worker, so the job is marked `orphaned` and queued again."""
    ids = session.scalars(select(PositionBatch.id)
                          .where(PositionBatch.processed.is_(False), PositionBatch.received_at < clock.now()
                                 - RECONCILE_GRACE)
                          .order_by(PositionBatch.id).limit(1000).with_for_update(skip_locked=True))
    return [PendingJob(JOB, (i,), job_id_for(JOB, i), orphaned=True) for i in ids]


def maintain_partitions(session: Session, config: ZoneConfig):
    """Day partitions made ahead, expired ones dropped (the cron job)."""
    return maintain_day_partitions(session.connection(), TABLE, local_day(clock.now()), config.partitions_ahead,
                                   config.retention_days)

"""Geofence evaluation of position batches (the RQ job), silent-visit closing, visit queries.

One job per batch, in one transaction: lock the batch row (a second worker on the same batch
waits, then finds it processed), read its usable fixes, lock its machines (advisory locks in id
order: batches of the same machine never interleave), ask the engine which zone versions hold
each fix, advance each (machine, zone) presence (zones/presence.py), record what happened
(visits; violations through enforcement.service.record_violation, idempotent on
"visit:<id>"), and mark the batch processed. A crash anywhere rolls all of it back, for the
reconciler to redo; a second run of a processed batch does nothing, and the visit state
machine ignores fixes it has already applied, so nothing is ever counted twice.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import msgspec
import numpy as np
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from mobsrc.core import clock
from mobsrc.core.auth.principals import Principal
from mobsrc.core.auth.scope import scoped
from mobsrc.core.pagination import Page, paginate
from mobsrc.enforcement import service as enforcement
from mobsrc.enforcement.register import Evidence, SubjectType, ViolationDraft, ViolationKind
from mobsrc.registry import service as registry
from mobsrc.zones.config import ZoneConfig
from mobsrc.zones.fixes import PositionFix
from mobsrc.zones.models import MachineLastPosition, PositionBatch, ZoneVisit, ZoneVisitState
from mobsrc.zones.positions import GEOFENCE_EXCLUDING_MASK, recordset
from mobsrc.zones.presence import (
    Observation,
    PresenceState,
    ViolationOpened,
    VisitClosed,
    VisitOpened,
    advance_presence,
    close_silent_presence,
)
from mobsrc.zones.visits import VisitState, VisitStatus
from mobsrc.zones.zone_sets import ZoneSet, alert_flags, current_zone_set, rules_machine

SOURCE = "zones"
MACHINE_LOCKS = 0x5A4F_4E45  # "ZONE": advisory lock namespace of per-machine geofence work


@dataclass(frozen=True)
class BatchFixes:
    machine_ids: np.ndarray  # int64
    times: np.ndarray  # datetime64[us], UTC
    lons: np.ndarray
    lats: np.ndarray
    rows: list  # (machine_id, fix_time, lon, lat, hdop, accuracy_m, engine_on, engine_rpm, position_valid)

    def fix(self, i: int) -> PositionFix:
        return PositionFix(*self.rows[i][:4], *self.rows[i][4:6], self.rows[i][8], *self.rows[i][6:8])


def evaluate_batch(session: Session, batch_id: int, config: ZoneConfig) -> bool:
    """Geofence one batch; False when there is nothing (left) to do."""
    batch = session.get(PositionBatch, batch_id, with_for_update=True)
    if batch is None or batch.processed:
        return False
    fixes = _usable_fixes(session, batch)
    if fixes.rows:
        _evaluate(session, fixes, config)
    session.execute(update(PositionBatch).where(PositionBatch.id == batch_id)
                    .values(processed=True, processed_at=clock.now()).execution_options(synchronize_session=False))
    return True


def _usable_fixes(session: Session, batch: PositionBatch) -> BatchFixes:
    rows = session.execute(text(
        "SELECT machine_id, fix_time, lon, lat, hdop, accuracy_m, engine_on, engine_rpm, position_valid "
        "FROM machine_positions WHERE batch_id = :batch AND fix_time BETWEEN :first AND :last "
        "AND flags & :mask = 0 ORDER BY fix_time, machine_id"),
        {"batch": batch.id, "first": batch.first_fix_time, "last": batch.last_fix_time,
         "mask": GEOFENCE_EXCLUDING_MASK}).all()
    times = np.array([r[1].astimezone(clock.UTC).replace(tzinfo=None) for r in rows], dtype="datetime64[us]")
    return BatchFixes(np.array([r[0] for r in rows], np.int64), times, np.array([r[2] for r in rows], np.float64),
                      np.array([r[3] for r in rows], np.float64), rows)


def _evaluate(session: Session, fixes: BatchFixes, config: ZoneConfig) -> None:
    zone_set = current_zone_set(session, config.lookback)
    machine_ids = sorted(set(fixes.machine_ids.tolist()))
    lock_machines(session, machine_ids)
    states = load_states(session, machine_ids)
    hits = _hits(session, zone_set, fixes)
    relevant = set(hits) | {k for k, s in states.items() if s.status == VisitStatus.INSIDE.value or s.run}
    _advance_idle(session, fixes, {k for k in states if k not in relevant})
    if not relevant:
        return
    facts = {r.id: r for r in registry.machine_facts(session, ids={m for m, _ in relevant})}
    points = defaultdict(list)
    for i, machine_id in enumerate(fixes.machine_ids.tolist()):
        points[machine_id].append(i)
    changed = []
    for machine_id, zone_id in sorted(relevant):
        found = hits.get((machine_id, zone_id), {})
        observations = [Observation(fixes.fix(i), found.get(i)) for i in points[machine_id]]
        presence = Presence(session, zone_set, facts[machine_id], zone_id, states.get((machine_id, zone_id)))
        changed.append(presence.advance(observations, config))
    save_states(session, changed)


def lock_machines(session: Session, machine_ids: list[int]) -> None:
    session.execute(text("SELECT pg_advisory_xact_lock(:ns, CAST(m % 2147483647 AS integer)) "
                         "FROM unnest(CAST(:ids AS bigint[])) AS m ORDER BY m"),
                    {"ns": MACHINE_LOCKS, "ids": sorted(machine_ids)})


@dataclass
class StoredState:
    """A zone_visit_states row (read and written in bulk, without ORM objects)."""

    machine_id: int
    zone_id: int
    status: str = VisitStatus.OUTSIDE.value
    last_fix_time: datetime | None = None
    entry_time: datetime | None = None
    run: list = field(default_factory=list)
    run_length: int = 0
    visit_id: int | None = None
    violating: bool = False


STATE_COLUMNS = {"machine_id": "bigint", "zone_id": "bigint", "status": "text", "last_fix_time": "timestamptz",
                 "entry_time": "timestamptz", "run": "jsonb", "run_length": "integer", "visit_id": "bigint",
                 "violating": "boolean"}


def load_states(session: Session, machine_ids: list[int]) -> dict[tuple[int, int], StoredState]:
    rows = session.execute(text(f"SELECT {', '.join(STATE_COLUMNS)} FROM zone_visit_states "
                                "WHERE machine_id IN (SELECT unnest(CAST(:ids AS bigint[])))"), {"ids": machine_ids})
    return {(r[0], r[1]): StoredState(*r) for r in rows}


def save_states(session: Session, states: list[StoredState]) -> None:
    if not states:
        return
    rows = msgspec.json.encode(states).decode()  # msgspec encodes dataclasses and datetimes itself
    assignments = ", ".join(f"{c} = excluded.{c}" for c in list(STATE_COLUMNS)[2:])
    session.execute(text(
        f"INSERT INTO zone_visit_states AS s ({', '.join(STATE_COLUMNS)}) SELECT u.* FROM {recordset(STATE_COLUMNS)} "
        f"ORDER BY u.machine_id, u.zone_id ON CONFLICT (machine_id, zone_id) DO UPDATE SET {assignments}"),
        {"rows": rows})


def _hits(session: Session, zone_set: ZoneSet, fixes: BatchFixes) -> dict[tuple[int, int], dict[int, int]]:
    """{(machine, zone): {fix index: version id in force there then}}."""
    if not zone_set.versions:
        return {}
    found = zone_set.index.locate(fixes.lons, fixes.lats, fixes.times, alert_flags(session, fixes.times))
    hits: dict = defaultdict(dict)
    for point, slot in zip(found.point_index.tolist(), found.zone_index.tolist()):
        version_id = found.zones[slot].zone_id
        hits[(int(fixes.machine_ids[point]), zone_set.versions[version_id].zone_id)][point] = version_id
    return hits


def _advance_idle(session: Session, fixes: BatchFixes, idle: set) -> None:
    """Outside with nothing pending, outside fixes only move `last_fix_time` on (what
    advance_visit would do), in one statement for all of them."""
    if not idle:
        return
    latest: dict[int, datetime] = {}
    for row in fixes.rows:
        latest[row[0]] = max(latest.get(row[0], row[1]), row[1])
    machines = sorted({m for m, _ in idle})
    session.execute(text(
        "UPDATE zone_visit_states s SET last_fix_time = u.t FROM unnest(CAST(:ids AS bigint[]), "
        "CAST(:times AS timestamptz[])) AS u(m, t) WHERE s.machine_id = u.m AND s.status = 'outside' "
        "AND jsonb_array_length(s.run) = 0 AND (s.last_fix_time IS NULL OR s.last_fix_time < u.t)"),
        {"ids": machines, "times": [latest[m] for m in machines]})


class Presence:
    """One (machine, zone) presence: its stored state advanced, and what happened recorded
    (visits, violations). Visits are read only when something happens to them."""

    def __init__(self, session: Session, zone_set: ZoneSet, machine, zone_id: int, stored: StoredState | None):
        self.session, self.zone_set, self.machine, self.zone_id = session, zone_set, machine, zone_id
        self.as_ruled = rules_machine(machine)
        self.stored = stored or StoredState(machine.id, zone_id)
        self.visit_id = self.stored.visit_id
        self._visit: ZoneVisit | None = None

    @property
    def visit(self) -> ZoneVisit:
        if self._visit is None or self._visit.id != self.visit_id:
            self._visit = self.session.get(ZoneVisit, self.visit_id)
        return self._visit

    def advance(self, observations: list[Observation], config: ZoneConfig) -> StoredState:
        state, actions = advance_presence(self._state(), observations, self.as_ruled,
                                          self.zone_set.rules, config.confirmation)
        return self._apply(state, actions)

    def close_if_silent(self, now: datetime, config: ZoneConfig) -> StoredState | None:
        state, actions = close_silent_presence(self._state(), now, config.confirmation)
        return self._apply(state, actions) if actions else None

    def _state(self) -> PresenceState:
        r = self.stored
        visit = VisitState(r.machine_id, r.zone_id, VisitStatus(r.status), r.last_fix_time, r.entry_time,
                           tuple(fix_from_json(r.machine_id, f) for f in r.run), r.run_length)
        return PresenceState(visit, r.violating)

    def _apply(self, state: PresenceState, actions) -> StoredState:
        for action in actions:
            if isinstance(action, VisitOpened):
                self._open_visit(action)
            elif isinstance(action, ViolationOpened):
                self._open_violation(action)
            elif isinstance(action, VisitClosed):
                self._close_visit(action)
        v = state.visit
        inside = v.status is VisitStatus.INSIDE
        return StoredState(self.machine.id, self.zone_id, v.status.value, v.last_fix_time, v.entry_time,
                           [fix_json(f) for f in v.run], v.run_length, self.visit_id if inside else None,
                           state.violating)

    def _open_visit(self, action: VisitOpened) -> None:
        self._visit = ZoneVisit(machine_id=self.machine.id, machine_code=self.machine.code,
                               enterprise_id=self.machine.enterprise_id, zone_id=self.zone_id,
                               zone_version_id=action.version, entry_time=action.entry_time,
                               confirmed_at=action.confirmed_at, machine_barred=action.barred,
                               reasons=[r.value for r in action.decision.reasons],
                               entry_evidence=[fix_json(f) for f in action.evidence])
        self.session.add(self._visit)
        self.session.flush()
        self.visit_id = self._visit.id

    def _open_violation(self, action: ViolationOpened) -> None:
        facts = self.zone_set.versions[action.version]
        evidence = tuple(dict.fromkeys((*action.evidence, action.fix)))
        draft = ViolationDraft(
            kind=ViolationKind.NRMM_IN_NO_USE_ZONE, occurred_at=action.occurred_at, source=SOURCE,
            source_ref=f"visit:{self.visit.id}", subject_type=SubjectType.MACHINE, machine_id=self.machine.id,
            machine_code=self.machine.code, enterprise_id=self.machine.enterprise_id, lon=action.fix.lon,
            lat=action.fix.lat, district_code=facts.district_code, evidence=tuple(_evidence(f) for f in evidence),
            details={"zone_id": facts.zone_id, "zone_name": facts.name, "zone_version": facts.version,
                     "zone_version_id": facts.version_id, "visit_id": self.visit.id,
                     "entry_time": self.visit.entry_time.isoformat(), "observed_at": action.fix.fix_time.isoformat(),
                     "reasons": [r.value for r in action.decision.reasons],
                     "emission_stage": self.machine.emission_stage.value,
                     "prohibited_stages": sorted(s.value for s in facts.rule.prohibited_stages)})
        violation, _ = enforcement.record_violation(self.session, draft)
        self.visit.violation_id, self.visit.violation_started_at = violation.id, action.occurred_at

    def _close_visit(self, action: VisitClosed) -> None:
        visit = self.visit
        visit.exit_time, visit.dwell_seconds = action.exit_time, int(action.dwell.total_seconds())
        visit.ended_by, visit.exit_evidence = action.ended_by.value, [fix_json(f) for f in action.evidence]
        if action.had_violation:
            enforcement.end_violation(self.session, SOURCE, f"visit:{visit.id}", action.exit_time, {
                "exit_time": action.exit_time.isoformat(), "dwell_seconds": visit.dwell_seconds,
                "ended_by": action.ended_by.value, "exit_evidence": [_evidence(f).as_dict() for f in action.evidence]})
        self.session.flush()
        self.visit_id = None


def fix_json(fix: PositionFix) -> dict:
    return {"fix_time": fix.fix_time.isoformat(), "lon": fix.lon, "lat": fix.lat, "hdop": fix.hdop,
            "accuracy_m": fix.accuracy_m, "position_valid": fix.position_valid, "engine_on": fix.engine_on,
            "engine_rpm": fix.engine_rpm}


def fix_from_json(machine_id: int, data: dict) -> PositionFix:
    return PositionFix(machine_id, datetime.fromisoformat(data["fix_time"]), data["lon"], data["lat"], data["hdop"],
                       data["accuracy_m"], data["position_valid"], data["engine_on"], data["engine_rpm"])


def _evidence(fix: PositionFix) -> Evidence:
    engine = "engine on" if fix.engine_on else ("engine off" if fix.engine_on is False else "engine unknown")
    rpm = f", {fix.engine_rpm:g} rpm" if fix.engine_rpm is not None else ""
    return Evidence("position_fix", f"machine_positions/{fix.machine_id}/{fix.fix_time.isoformat()}",
                    note=f"{fix.lon:.6f},{fix.lat:.6f} WGS-84 at {clock.as_local(fix.fix_time).isoformat()}; "
                         f"{engine}{rpm}")


# --- silence -------------------------------------------------------------------------------------

def close_silent_visits(session: Session, config: ZoneConfig) -> int:
    """Visits whose machine has sent nothing usable for `max_silence` end (signal lost)."""
    now = clock.now()
    cutoff = now - config.confirmation.max_silence
    candidates = session.execute(select(ZoneVisitState.machine_id).where(
        ZoneVisitState.status == VisitStatus.INSIDE.value, ZoneVisitState.last_fix_time < cutoff)).scalars().all()
    if not candidates:
        return 0
    machines = sorted(set(candidates))
    lock_machines(session, machines)
    zone_set = current_zone_set(session, config.lookback)
    facts = {r.id: r for r in registry.machine_facts(session, ids=machines)}
    closed = [Presence(session, zone_set, facts[s.machine_id], s.zone_id, s).close_if_silent(now, config)
              for s in load_states(session, machines).values() if s.status == VisitStatus.INSIDE.value]
    closed = [s for s in closed if s is not None]
    save_states(session, closed)
    return len(closed)


# --- queries -------------------------------------------------------------------------------------

def list_visits(session: Session, principal: Principal, filters: dict, cursor: str | None, limit: int) -> Page:
    """Visits, newest entry first; an operator sees its own machines' only."""
    stmt = scoped(select(ZoneVisit), principal, enterprise_col=ZoneVisit.enterprise_id)
    if filters.get("open") is not None:
        stmt = stmt.where(ZoneVisit.exit_time.is_(None) if filters["open"] else ZoneVisit.exit_time.is_not(None))
    if filters.get("violating") is not None:
        stmt = stmt.where(ZoneVisit.violation_id.is_not(None) if filters["violating"]
                          else ZoneVisit.violation_id.is_(None))
    for name in ("zone_id", "machine_id", "enterprise_id"):
        if filters.get(name) is not None:
            stmt = stmt.where(getattr(ZoneVisit, name) == filters[name])
    if filters.get("entered_from") is not None:
        stmt = stmt.where(ZoneVisit.entry_time >= filters["entered_from"])
    if filters.get("entered_to") is not None:
        stmt = stmt.where(ZoneVisit.entry_time < filters["entered_to"])
    return paginate(session, stmt, [ZoneVisit.entry_time, ZoneVisit.id], cursor, limit)


@dataclass(frozen=True)
class Occupant:
    visit: ZoneVisit
    position: MachineLastPosition | None

    def __getattr__(self, name):
        return getattr(self.visit, name)


def machines_inside(session: Session, principal: Principal, zone_id: int | None = None) -> list[Occupant]:
    """Machines inside a zone now (open visits), with their last known position."""
    stmt = scoped(select(ZoneVisit, MachineLastPosition), principal, enterprise_col=ZoneVisit.enterprise_id)
    stmt = stmt.outerjoin(MachineLastPosition, MachineLastPosition.machine_id == ZoneVisit.machine_id)
    stmt = stmt.where(ZoneVisit.exit_time.is_(None))
    if zone_id is not None:
        stmt = stmt.where(ZoneVisit.zone_id == zone_id)
    return [Occupant(v, p) for v, p in session.execute(stmt.order_by(ZoneVisit.zone_id, ZoneVisit.entry_time))]

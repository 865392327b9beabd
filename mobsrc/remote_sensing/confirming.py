"""High-emitter confirmation over stored verdicts (standards-enforcement.md 1.6, 1.9 item 2).

For each plate + colour that exceeded in the readings just judged: take the current PASS/EXCEED
verdicts of that vehicle within one window either side, run the pure `find_confirmations` with
the rule of the limit table in effect at its newest exceedance, and record each confirmation
that is new: a `rs_confirmations` row, an RS_HIGH_EMITTER violation (evidence: the confirming
readings and their files) and the hand-over to the I/M loop (`service.hand_over_high_emitter`).

One exceedance is evidence in one confirmation only: readings already used by a recorded
confirmation of the same pollutant are neutral in the history (neither count nor reset a run),
so a late reading never regroups evidence already charged.

Concurrency: two batches of the same vehicle judged at once would each miss the other's
uncommitted verdicts. The confirmation takes a transaction-scoped advisory lock per vehicle
after its verdicts are written; whichever job locks second sees the first's committed verdicts.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from mobsrc.enforcement import service as enforcement
from mobsrc.enforcement.register import Evidence, SubjectType, ViolationDraft, ViolationKind
from mobsrc.registry.identifiers import PlateColour
from mobsrc.remote_sensing import service
from mobsrc.remote_sensing.confirmation import HighEmitterDecision, JudgedReading, VehicleKey, find_confirmations
from mobsrc.remote_sensing.limits import LimitTable, Pollutant, limit_table_in_effect
from mobsrc.remote_sensing.models import RsConfirmation, RsReading, RsVerdict
from mobsrc.remote_sensing.verdicts import Outcome

SOURCE = "remote_sensing"
PlateKey = tuple[str, str]  # (plate, colour value)


def confirm_high_emitters(session: Session, exceedances: dict[PlateKey, list[datetime]],
                          tables: list[LimitTable]) -> int:
    """Record the new confirmations of the vehicles that just exceeded (`exceedances`: the
    times of their new exceedances); returns how many were recorded."""
    if not exceedances or not tables:
        return 0
    for key in sorted(exceedances):
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(key)})
    return sum(_confirm_vehicle(session, key, exceedances[key], tables) for key in sorted(exceedances))


def _lock_key(key: PlateKey) -> int:
    digest = hashlib.sha256(f"rs-confirm|{key[0]}|{key[1]}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _confirm_vehicle(session: Session, key: PlateKey, exceeded_at: list[datetime],
                     tables: list[LimitTable]) -> int:
    table = limit_table_in_effect(tables, max(exceeded_at)) or tables[0]
    window = table.confirmation.window
    history = _history(session, key, min(exceeded_at) - window, max(exceeded_at) + window)
    used = _used_readings(session, key)
    vehicle = VehicleKey(key[0], PlateColour(key[1]))
    readings = [_neutralised(row, vehicle, used) for row in history]
    decisions = find_confirmations(vehicle, readings, table.confirmation)
    by_id = {row.reading_id: row for row in history}
    for decision in decisions:
        _record(session, key, decision, [by_id[int(i)] for i in decision.reading_ids], table)
    return len(decisions)


def _history(session: Session, key: PlateKey, start: datetime, end: datetime) -> list:
    stmt = select(RsVerdict.reading_id, RsVerdict.measured_at, RsVerdict.outcome, RsVerdict.exceeded,
                  RsVerdict.passed, RsVerdict.vehicle_id, RsVerdict.enterprise_id).where(
        RsVerdict.superseded_at.is_(None), RsVerdict.outcome.in_([Outcome.PASS, Outcome.EXCEED]),
        RsVerdict.plate == key[0], RsVerdict.plate_colour == key[1],
        RsVerdict.measured_at.between(start, end))
    return session.execute(stmt).all()


def _used_readings(session: Session, key: PlateKey) -> dict[str, set[int]]:
    """Reading ids already evidence of a recorded confirmation, per pollutant."""
    stmt = select(RsConfirmation.pollutant, RsConfirmation.reading_ids).where(
        RsConfirmation.plate == key[0], RsConfirmation.plate_colour == key[1])
    used: dict[str, set[int]] = defaultdict(set)
    for pollutant, ids in session.execute(stmt):
        used[pollutant].update(ids)
    return used


def _neutralised(row, vehicle: VehicleKey, used: dict[str, set[int]]) -> JudgedReading:
    """The reading for confirmation, with exceedances already charged taken out."""
    exceeded = frozenset(Pollutant(p) for p in row.exceeded if row.reading_id not in used[p])
    passed = frozenset(Pollutant(p) for p in row.passed)
    outcome = Outcome.EXCEED if exceeded else Outcome.PASS
    return JudgedReading(str(row.reading_id), row.measured_at, vehicle.plate, vehicle.colour, outcome,
                         exceeded, passed)


def _record(session: Session, key: PlateKey, decision: HighEmitterDecision, rows: list, table: LimitTable) -> None:
    newest = rows[-1]
    rule = table.confirmation
    confirmation = RsConfirmation(
        plate=key[0], plate_colour=PlateColour(key[1]), vehicle_id=newest.vehicle_id,
        enterprise_id=newest.enterprise_id, pollutant=decision.pollutant.value,
        reading_ids=[row.reading_id for row in rows], first_measured_at=rows[0].measured_at,
        last_measured_at=newest.measured_at, window_start=decision.window_start, limit_version=table.version,
        rule={"min_exceedances": rule.min_exceedances, "window_days": rule.window_days,
              "require_consecutive": rule.require_consecutive, "source": rule.source, "tag": rule.tag.value})
    session.add(confirmation)
    session.flush()
    violation, _ = enforcement.record_violation(session, _draft(session, confirmation, rows))
    confirmation.violation_id = violation.id
    service.hand_over_high_emitter(session, confirmation)


def _draft(session: Session, confirmation: RsConfirmation, rows: list) -> ViolationDraft:
    readings = session.execute(select(RsReading.id, RsReading.evidence).where(
        RsReading.id.in_(confirmation.reading_ids),
        RsReading.measured_at.between(confirmation.first_measured_at, confirmation.last_measured_at))).all()
    files = {row.id: row.evidence for row in readings}
    evidence = [item for row in rows for item in _files(row.reading_id, files.get(row.reading_id, []))]
    return ViolationDraft(
        kind=ViolationKind.RS_HIGH_EMITTER, occurred_at=confirmation.last_measured_at, source=SOURCE,
        source_ref=f"rs_confirmation:{confirmation.id}", subject_type=SubjectType.VEHICLE,
        vehicle_id=confirmation.vehicle_id, plate=confirmation.plate,
        plate_colour=confirmation.plate_colour.value, enterprise_id=confirmation.enterprise_id,
        evidence=tuple(evidence),
        details={"pollutant": confirmation.pollutant, "reading_ids": confirmation.reading_ids,
                 "window_start": confirmation.window_start.isoformat(), "limit_version": confirmation.limit_version,
                 "rule": confirmation.rule, "confirmation_id": confirmation.id})


def _files(reading_id: int, files: list) -> list[Evidence]:
    return [Evidence("rs_reading", str(reading_id)),
            *(Evidence(f["type"], f["id"], f.get("sha256"), f.get("role")) for f in files)]

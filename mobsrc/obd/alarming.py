"""Judging what came in: the alarm job over accepted batches, offline terminals, and alarms
left open becoming violations.

The job takes unprocessed batches (FOR UPDATE SKIP LOCKED, so workers share them), evaluates
every rule (alarms.RULES, settings from obd_rule_settings) over each of their vehicles'
latest window, opens and closes alarms (alarms.advance_alarms), and marks the batches
processed - all in one transaction.  A worker that dies mid-way leaves everything as it was,
and the reconciler queues the job again; a rerun judges the same windows again and an open
alarm is never opened twice (the partial unique index obd_alarms(vehicle_id, kind) WHERE
open says so), so nothing is counted twice.

The window of a vehicle ends at its latest collection time and spans the longest sustain
period of the enabled rules plus a margin: re-sent data inside it counts; re-sent data older
than the window is stored and readable but does not reopen past alarms.  A terminal's removal
reports (0x06) of the last REMOVAL_LOOKBACK, by arrival, come with the window: a removed
terminal sends no engine data to end a window at.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import column, select, table, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mobsrc.core import clock
from mobsrc.enforcement import service as enforcement
from mobsrc.enforcement.register import Evidence, SubjectType, ViolationDraft, ViolationKind
from mobsrc.obd import escalation, service
from mobsrc.obd.alarm_model import AlarmDecision, AlarmKind, OpenAlarm, RemovalReport, VehicleWindow
from mobsrc.obd.alarms import RULES, RULES_BY_ID, advance_alarms, evaluate_rules
from mobsrc.obd.models import Alarm, AlarmStatus, ObdBatch
from mobsrc.obd.rows import ENGINE_COLUMNS, obd_record_of, stream_record_of

log = logging.getLogger(__name__)
WINDOW_MARGIN_S = 300            # beyond the longest sustain period, so a run is seen whole
CALIBRATION_LOOKBACK = timedelta(days=30)   # how far back the last known CAL ID / CVN is sought
REMOVAL_LOOKBACK = timedelta(hours=24)      # removal reports a window sees (they repeat every 60 s)
VEHICLES_PER_QUERY = 200
MAX_WINDOW_RECORDS = 900         # evidence kept per alarm (15 min at 1 Hz)

_vehicles = table("vehicles", column("id"), column("vin"), column("enterprise_id"), column("plate"),
                  column("plate_colour"))


class RulesInForce:
    """The rule settings in force for one evaluation."""

    def __init__(self, session: Session):
        self.by_rule = service.rule_settings_in_force(session)
        self.enabled = [r for r in RULES if self.by_rule[r.id][1]]
        self.disabled = {r.kind for r in RULES if not self.by_rule[r.id][1]}
        self.params = {rule_id: values[2] for rule_id, values in self.by_rule.items()}
        sustain = [self.params[r.id].get("sustain_s", 0.0) for r in self.enabled]
        self.window = timedelta(seconds=max(sustain, default=0.0) + WINDOW_MARGIN_S)

    def version(self, rule_id: str) -> int:
        return self.by_rule[rule_id][0]


# --- the batch job --------------------------------------------------------------------------------
def evaluate_next_batches(session: Session, limit: int) -> int:
    """Judge the vehicles of up to `limit` unprocessed batches and mark them processed.
    Returns how many batches were taken (0: nothing left)."""
    rows = session.execute(select(ObdBatch.id, ObdBatch.vehicle_ids).where(ObdBatch.processed_at.is_(None))
                           .order_by(ObdBatch.id).limit(limit).with_for_update(skip_locked=True)).all()
    if not rows:
        return 0
    vehicle_ids = sorted({v for _, ids in rows for v in ids})
    now = clock.now()
    evaluate_vehicles(session, vehicle_ids, now)
    session.execute(update(ObdBatch).where(ObdBatch.id.in_([r.id for r in rows])).values(processed_at=now)
                    .execution_options(synchronize_session=False))
    return len(rows)


def evaluate_vehicles(session: Session, vehicle_ids: list[int], now: datetime) -> None:
    settings = RulesInForce(session)
    for start in range(0, len(vehicle_ids), VEHICLES_PER_QUERY):
        chunk = vehicle_ids[start:start + VEHICLES_PER_QUERY]
        windows = load_windows(session, chunk, now, settings.window)
        opened = _open_alarms(session, chunk)
        for vehicle_id in chunk:
            window = windows.get(vehicle_id)
            if window is not None:
                judge_window(session, window, opened.get(vehicle_id, {}), settings, now)
        session.execute(text("UPDATE obd_vehicle_states SET evaluated_at = :now WHERE vehicle_id = ANY(:ids)"),
                        {"now": now, "ids": chunk})


def judge_window(session: Session, window: _Window, open_alarms: dict[AlarmKind, Alarm],
                 settings: RulesInForce, now: datetime) -> None:
    decisions = evaluate_rules(window.view, settings.params, settings.enabled)
    for kind in settings.disabled & open_alarms.keys():
        decisions[(window.view.vin, kind)] = None          # a switched-off rule closes its alarms
    current = [_as_open(alarm) for alarm in open_alarms.values()]
    to_open, to_close = advance_alarms(current, decisions, now)
    for alarm in to_open:
        open_alarm(session, window, decisions[alarm.key], settings, now)
    for closure in to_close:
        close_alarm(session, open_alarms[closure.alarm.kind], now)


def _as_open(alarm: Alarm) -> OpenAlarm:
    return OpenAlarm(alarm.vin, alarm.kind, alarm.rule_id, alarm.opened_at, alarm.first_at, alarm.last_at,
                     alarm.evidence)


def _open_alarms(session: Session, vehicle_ids: list[int]) -> dict[int, dict[AlarmKind, Alarm]]:
    out: dict[int, dict[AlarmKind, Alarm]] = defaultdict(dict)
    for alarm in session.scalars(select(Alarm).where(Alarm.vehicle_id.in_(vehicle_ids),
                                                     Alarm.status == AlarmStatus.OPEN)):
        out[alarm.vehicle_id][alarm.kind] = alarm
    return out


def open_alarm(session: Session, window: _Window, decision: AlarmDecision, settings: RulesInForce,
               now: datetime) -> Alarm | None:
    """Open an alarm with its evidence; None if another worker opened it a moment ago."""
    alarm = Alarm(vehicle_id=window.vehicle_id, vin=window.view.vin, enterprise_id=window.enterprise_id,
                  kind=decision.kind, rule_id=decision.rule_id, rule_version=settings.version(decision.rule_id),
                  status=AlarmStatus.OPEN, opened_at=now, first_at=decision.first_at, last_at=decision.last_at,
                  evidence=_jsonable(dict(decision.evidence)), window=evidence_records(window.view, decision),
                  params=dict(settings.params[decision.rule_id]))
    try:
        with session.begin_nested():
            session.add(alarm)
            session.flush()
    except IntegrityError:
        return None
    service.hand_over_alarm(session, alarm)
    log.info("alarm %s opened: vehicle %s %s", alarm.id, alarm.vehicle_id, alarm.kind.value)
    return alarm


def close_alarm(session: Session, alarm: Alarm, now: datetime) -> None:
    alarm.status = AlarmStatus.CLOSED
    alarm.closed_at = now
    if alarm.violation_id is not None:
        enforcement.end_violation(session, "obd", violation_ref(alarm), now, {"alarm_closed_at": now.isoformat()})
    session.flush()


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


# --- windows ----------------------------------------------------------------------------------------
class _Window:
    __slots__ = ("vehicle_id", "enterprise_id", "view")

    def __init__(self, vehicle_id: int, enterprise_id: int | None, view: VehicleWindow):
        self.vehicle_id, self.enterprise_id, self.view = vehicle_id, enterprise_id, view


_STREAM_SELECT = ", ".join(["r.vehicle_id", "r.collected_at", "r.info_type", "r.kind", "r.serial",
                            *(f"r.{c}" for c in ENGINE_COLUMNS), "r.longitude", "r.latitude",
                            "r.position_valid"])
_INFO_FIELDS = ("kind", "serial", "protocol", "mil_on", "dtc_count", "dtcs", "cal_id", "cvn", "cvn_hex",
                "obd_vin", "obd_vin_check_ok", "support_map", "readiness_map", "iupr")
_INFO_SELECT = ", ".join(["i.vehicle_id", "i.collected_at", *(f"i.{c}" for c in _INFO_FIELDS)])


def load_windows(session: Session, vehicle_ids: list[int], now: datetime, span: timedelta) -> dict[int, _Window]:
    """Each vehicle's window: engine samples and OBD snapshots of the `span` before its latest
    collection time, its last frame time and the CAL ID / CVN known before the window."""
    heads = session.execute(text(
        "SELECT v.id, v.vin, v.enterprise_id, s.last_seen_at, COALESCE(s.last_collected_at, s.last_obd_at)"
        " FROM vehicles v LEFT JOIN obd_vehicle_states s ON s.vehicle_id = v.id WHERE v.id = ANY(:ids)"),
        {"ids": vehicle_ids}).all()
    ends = {vid: end or now for vid, _, _, _, end in heads}
    if not ends:
        return {}
    ids, bounds = list(ends), dict(lo=min(ends.values()) - span, hi=max(ends.values()))
    params = dict(ids=ids, ends=[ends[v] for v in ids], span=span, **bounds)
    streams, infos = defaultdict(list), defaultdict(list)
    vins = {vid: vin for vid, vin, *_ in heads}
    for row in session.execute(text(
            f"SELECT {_STREAM_SELECT} FROM unnest(CAST(:ids AS bigint[]), CAST(:ends AS timestamptz[])) AS w(vid, wend)"
            " JOIN obd_stream_records r ON r.vehicle_id = w.vid AND r.collected_at > w.wend - :span"
            " AND r.collected_at <= w.wend WHERE r.collected_at > :lo AND r.collected_at <= :hi"
            " ORDER BY r.vehicle_id, r.collected_at"), params):
        vid, at, info_type, kind, serial, *rest = row
        engine, (lon, lat, valid) = rest[:len(ENGINE_COLUMNS)], rest[len(ENGINE_COLUMNS):]
        streams[vid].append(stream_record_of(vins[vid], at, info_type, kind, serial, engine, lon, lat, valid))
    for row in session.execute(text(
            f"SELECT {_INFO_SELECT} FROM unnest(CAST(:ids AS bigint[]), CAST(:ends AS timestamptz[])) AS w(vid, wend)"
            " JOIN obd_info_records i ON i.vehicle_id = w.vid AND i.collected_at > w.wend - :span"
            " AND i.collected_at <= w.wend WHERE i.collected_at > :lo AND i.collected_at <= :hi"
            " ORDER BY i.vehicle_id, i.collected_at"), params):
        infos[row[0]].append(obd_record_of(vins[row[0]], row[1], *row[2:]))
    known = _known_calibrations(session, params)
    removals = _removal_reports(session, ids, now)
    return {vid: _Window(vid, owner, VehicleWindow(
                vin, now, tuple(streams[vid]), tuple(infos[vid]), seen, *known.get(vid, (None, None)),
                removals=tuple(removals[vid])))
            for vid, vin, owner, seen, _ in heads}


def _removal_reports(session: Session, vehicle_ids: list[int], now: datetime) -> dict[int, list[RemovalReport]]:
    out: dict[int, list[RemovalReport]] = defaultdict(list)
    for vid, at, lon, lat, fix_valid in session.execute(text(
            "SELECT vehicle_id, reported_at, longitude, latitude, position_valid FROM obd_removal_reports"
            " WHERE vehicle_id = ANY(:ids) AND received_at > :since ORDER BY vehicle_id, reported_at"),
            {"ids": vehicle_ids, "since": now - REMOVAL_LOOKBACK}):
        out[vid].append(RemovalReport(at, lon, lat, fix_valid))
    return out


def _known_calibrations(session: Session, params: dict) -> dict[int, tuple[str, str]]:
    rows = session.execute(text(
        "SELECT w.vid, k.cal_id, k.cvn_hex FROM unnest(CAST(:ids AS bigint[]), CAST(:ends AS timestamptz[])) AS w(vid, wend) CROSS JOIN LATERAL"
        " (SELECT cal_id, cvn_hex FROM obd_info_records i WHERE i.vehicle_id = w.vid"
        "  AND i.collected_at <= w.wend - :span AND i.collected_at > :lo - :lookback"
        "  ORDER BY i.collected_at DESC LIMIT 1) k"), params | {"lookback": CALIBRATION_LOOKBACK})
    return {vid: (cal_id, cvn_hex) for vid, cal_id, cvn_hex in rows}


def evidence_records(window: VehicleWindow, decision: AlarmDecision) -> list[dict]:
    """The records of the decision's span, compact, at most MAX_WINDOW_RECORDS (evenly thinned)."""
    first, last = decision.first_at, decision.last_at
    obd_kinds = {AlarmKind.MIL_ON, AlarmKind.VIN_MISMATCH, AlarmKind.CALIBRATION_CHANGED}
    if decision.kind is AlarmKind.TERMINAL_REMOVED:
        picked = [{"t": r.at.isoformat(), "removal": True, "longitude": r.longitude, "latitude": r.latitude,
                   "position_valid": r.position_valid} for r in window.removals if first <= r.at <= last]
    elif decision.kind in obd_kinds:
        picked = [{"t": r.collected_at.isoformat(), "mil_on": r.mil_on, "dtc_codes": list(r.dtc_codes),
                   "cal_id": r.cal_id, "cvn_hex": r.cvn_hex, "obd_vin": r.obd_vin}
                  for r in window.obd if first <= r.collected_at <= last]
    else:
        picked = [{"t": r.collected_at.isoformat(), **r.values, "longitude": r.longitude, "latitude": r.latitude}
                  for r in window.streams if first <= r.collected_at <= last]
    step = max(1, -(-len(picked) // MAX_WINDOW_RECORDS))
    return picked[::step]


# --- offline terminals -----------------------------------------------------------------------------
def detect_offline_terminals(session: Session, now: datetime | None = None) -> tuple[int, int]:
    """Open an offline alarm for each vehicle silent longer than the rule's period; close those
    whose terminal is back. Returns (opened, closed)."""
    now = now or clock.now()
    settings = RulesInForce(session)
    rule = RULES_BY_ID["terminal_offline"]
    if rule not in settings.enabled:
        return 0, 0
    after = timedelta(seconds=settings.params[rule.id]["offline_after_s"])
    silent = session.execute(text(
        "SELECT s.vehicle_id, v.vin, v.enterprise_id, s.last_seen_at FROM obd_vehicle_states s"
        " JOIN vehicles v ON v.id = s.vehicle_id WHERE s.last_seen_at < :cut AND NOT EXISTS"
        " (SELECT 1 FROM obd_alarms a WHERE a.vehicle_id = s.vehicle_id AND a.status = 'open'"
        "  AND a.kind = 'terminal_offline') ORDER BY s.vehicle_id"), {"cut": now - after}).all()
    opened = 0
    for vid, vin, owner, seen in silent:
        window = _Window(vid, owner, VehicleWindow(vin, now, last_seen_at=seen))
        decision = rule.judge(window.view, settings.params[rule.id])
        if isinstance(decision, AlarmDecision) and open_alarm(session, window, decision, settings, now):
            opened += 1
    back = session.scalars(select(Alarm).where(Alarm.status == AlarmStatus.OPEN,
                                               Alarm.kind == AlarmKind.TERMINAL_OFFLINE).where(text(
        "EXISTS (SELECT 1 FROM obd_vehicle_states s WHERE s.vehicle_id = obd_alarms.vehicle_id"
        " AND s.last_seen_at >= :cut)")).params(cut=now - after)).all()
    for alarm in back:
        close_alarm(session, alarm, now)
    return opened, len(back)


# --- open too long: a violation --------------------------------------------------------------------
def violation_ref(alarm: Alarm) -> str:
    return f"obd_alarm:{alarm.id}"


def escalate_open_alarms(session: Session, now: datetime | None = None) -> int:
    """Record an OBD_ALARM_UNRESOLVED violation for each alarm open longer than its rule's
    `violation_after_h` (idempotent: the register keys it by the alarm)."""
    now = now or clock.now()
    hours = {rule_id: values[3] for rule_id, values in service.rule_settings_in_force(session).items()}
    alarms = session.scalars(select(Alarm).where(Alarm.status == AlarmStatus.OPEN, Alarm.violation_id.is_(None))
                             .order_by(Alarm.id)).all()
    count = 0
    for alarm in alarms:
        after = hours.get(alarm.rule_id)
        if escalation.is_due(alarm.opened_at, now, after):
            violation, _ = enforcement.record_violation(session, _violation_draft(session, alarm, after))
            alarm.violation_id = violation.id
            count += 1
    session.flush()
    return count


def _violation_draft(session: Session, alarm: Alarm, after_h: float) -> ViolationDraft:
    vehicle = session.execute(select(_vehicles).where(_vehicles.c.id == alarm.vehicle_id)).one()
    last = session.execute(text("SELECT last_record FROM obd_vehicle_states WHERE vehicle_id = :v"),
                           {"v": alarm.vehicle_id}).scalar() or {}
    has_fix = last.get("longitude") is not None and last.get("latitude") is not None
    return ViolationDraft(
        kind=ViolationKind.OBD_ALARM_UNRESOLVED, occurred_at=alarm.opened_at + timedelta(hours=after_h),
        source="obd", source_ref=violation_ref(alarm), subject_type=SubjectType.VEHICLE,
        vehicle_id=alarm.vehicle_id, plate=vehicle.plate, plate_colour=str(vehicle.plate_colour), vin=alarm.vin,
        enterprise_id=vehicle.enterprise_id, lon=last.get("longitude") if has_fix else None,
        lat=last.get("latitude") if has_fix else None,
        evidence=(Evidence("obd_alarm", str(alarm.id), note=alarm.kind.value),),
        details={"alarm_kind": alarm.kind.value, "rule_version": alarm.rule_version,
                 "opened_at": alarm.opened_at.isoformat(), "violation_after_h": after_h,
                 "finding": alarm.evidence})


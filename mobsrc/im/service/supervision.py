"""Supervision of inspection stations: the pure fraud detectors (im/fraud) run over the stored
inspections of a window, and each sign becomes a flag for the bureau, naming its evidence.

Idempotent: one open flag per (kind, station); a later run refreshes it and adds new evidence.
Once the bureau has reviewed a flag (confirmed or dismissed), the same evidence never opens a
flag again; evidence not yet reviewed does.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import column, distinct, func, select, table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mobsrc.core import audit, clock
from mobsrc.core.auth.principals import SYSTEM, Principal
from mobsrc.core.db import Database
from mobsrc.core.errors import IllegalTransition, NotInScope, invalid
from mobsrc.core.pagination import Page, paginate
from mobsrc.im import inspection as pure
from mobsrc.im.fraud import (
    FraudConfig,
    FraudSign,
    find_pass_rate_outliers,
    find_quick_retest_passes,
    find_reused_curves,
    find_short_tests,
    find_values_at_limits,
)
from mobsrc.im.models import FlagStatus, FraudFlag, Inspection, InspectionCurve
from mobsrc.im.service.configuration import load_config
from mobsrc.im.service.inspections import pure_inspection

_stations = table("stations", column("id"), column("code"))


@dataclass(frozen=True)
class Run:
    inspections: int
    signs: int
    opened: int
    refreshed: int


def load_inspections(session: Session, start: datetime, end: datetime, *, with_curves: bool = True,
                     station_id: int | None = None, ids=None) -> list[pure.Inspection]:
    """The stored inspections that started in [start, end), as the pure detectors take them:
    all of them, one station's, or the given ids; with or without their curves."""
    curve_columns = (InspectionCurve.period_s, InspectionCurve.channels) if with_curves else ()
    stmt = (select(Inspection, _stations.c.code, *curve_columns)
            .join(_stations, _stations.c.id == Inspection.station_id)
            .where(Inspection.started_at >= start, Inspection.started_at < end))
    if with_curves:
        stmt = stmt.outerjoin(InspectionCurve, InspectionCurve.inspection_id == Inspection.id)
    if station_id is not None:
        stmt = stmt.where(Inspection.station_id == station_id)
    if ids is not None:
        stmt = stmt.where(Inspection.id.in_(ids))
    result = []
    for row, code, *curve_values in session.execute(stmt.order_by(Inspection.id).execution_options(yield_per=2000)):
        period_s, channels = curve_values if curve_values else (None, None)
        record = {c: getattr(row, c) for c in ("report_number", "vin", "plate", "kind", "method", "overall",
                                                "started_at", "ended_at", "inspector", "items", "obd",
                                                "appearance_passed", "vehicle_class", "repair_order")}
        curve = {"period_s": period_s, "channels": channels} if channels else None
        result.append(pure_inspection(code, record, row.limit_tier, curve))
    return result


def detect_signs(session: Session, start: datetime, end: datetime, fraud: FraudConfig) -> tuple[int, list[FraudSign]]:
    """Every detector over the window. The curves (the bulk of the data) are never all in memory:
    near-identical curves are compared within a station and method anyway, so they are loaded
    one station at a time; identical curves across stations are found by their stored exact
    fingerprint first, and only those tests are loaded together."""
    tests = load_inspections(session, start, end, with_curves=False)
    signs = (find_short_tests(tests, fraud.short_tests) + find_values_at_limits(tests, fraud.at_limit)
             + find_pass_rate_outliers(tests, fraud.pass_rate) + find_quick_retest_passes(tests, fraud.quick_retest))
    for station_id in sorted({s for s, in session.execute(_window(select(Inspection.station_id), start, end))}):
        signs += find_reused_curves(load_inspections(session, start, end, station_id=station_id), fraud.curves)
    shared = _shared_digests(session, start, end)
    if shared:
        ids = session.scalars(_window(select(InspectionCurve.inspection_id), start, end, curves=True)
                              .where(InspectionCurve.digest.in_(shared)))
        signs += find_reused_curves(load_inspections(session, start, end, ids=list(ids)), fraud.curves)
    return len(tests), _merged(signs)


def _window(stmt, start: datetime, end: datetime, curves: bool = False):
    if curves:
        stmt = stmt.join(Inspection, Inspection.id == InspectionCurve.inspection_id)
    return stmt.where(Inspection.started_at >= start, Inspection.started_at < end).distinct()


def _shared_digests(session: Session, start: datetime, end: datetime) -> list[str]:
    """Exact curve fingerprints seen on different vehicles at different stations."""
    stmt = (select(InspectionCurve.digest).join(Inspection, Inspection.id == InspectionCurve.inspection_id)
            .where(Inspection.started_at >= start, Inspection.started_at < end, InspectionCurve.digest.isnot(None))
            .group_by(InspectionCurve.digest)
            .having(func.count(distinct(Inspection.station_id)) > 1, func.count(distinct(Inspection.vin)) > 1))
    return list(session.scalars(stmt))


def _merged(signs: list[FraudSign]) -> list[FraudSign]:
    """One sign per (kind, station): a station in a cross-station cluster and in one of its own."""
    grouped: dict[tuple, list[FraudSign]] = {}
    for sign in signs:
        grouped.setdefault((sign.kind, sign.station_code), []).append(sign)
    merged = []
    for (kind, station), group in grouped.items():
        evidence = tuple(dict.fromkeys(e for s in group for e in s.evidence))
        explanation = "; ".join(dict.fromkeys(s.explanation for s in group))
        merged.append(FraudSign(kind, station, evidence, max(s.score for s in group), explanation))
    return merged


def detect_and_flag(session: Session, now: datetime | None = None) -> Run:
    now = now or clock.now()
    config = load_config(session)
    start = now - timedelta(days=config.fraud_window_days)
    count, signs = detect_signs(session, start, now, config.fraud)
    codes = dict(session.execute(select(_stations.c.code, _stations.c.id)).all())
    opened = refreshed = 0
    for sign in signs:
        outcome = _store_sign(session, sign, codes.get(sign.station_code), start, now)
        opened += outcome == "opened"
        refreshed += outcome == "refreshed"
    return Run(count, len(signs), opened, refreshed)


def evidence_keys(sign: FraudSign) -> list[str]:
    """What a sign rests on: its reports, or the labels of its aggregate evidence."""
    keys = set(sign.report_numbers) or {item.label for item in sign.evidence}
    return sorted(keys)


def _evidence(sign: FraudSign) -> list[dict]:
    return [{"label": e.label, "report_numbers": list(e.report_numbers), "values": dict(e.values)}
            for e in sign.evidence]


def _store_sign(session: Session, sign: FraudSign, station_id, start: datetime, now: datetime) -> str:
    keys = evidence_keys(sign)
    flag = session.scalar(select(FraudFlag).where(FraudFlag.kind == sign.kind,
                                                  FraudFlag.station_code == sign.station_code,
                                                  FraudFlag.status == FlagStatus.OPEN).with_for_update())
    if flag is not None:
        _refresh(flag, sign, keys, now)
        return "refreshed"
    reviewed = set()
    for old in session.scalars(select(FraudFlag.evidence_keys).where(
            FraudFlag.kind == sign.kind, FraudFlag.station_code == sign.station_code)):
        reviewed |= set(old)
    if set(keys) <= reviewed:
        return "reviewed"
    try:
        with session.begin_nested():
            session.add(FraudFlag(kind=sign.kind, station_id=station_id, station_code=sign.station_code,
                                  status=FlagStatus.OPEN, score=sign.score, explanation=sign.explanation,
                                  evidence=_evidence(sign), evidence_keys=keys, window_from=start, window_to=now,
                                  first_detected_at=now, last_detected_at=now))
            session.flush()
    except IntegrityError:  # a parallel run opened it a moment ago
        return "refreshed"
    return "opened"


def _refresh(flag: FraudFlag, sign: FraudSign, keys: list[str], now: datetime) -> None:
    """Keep the evidence already shown to the bureau; add what is new; aggregates are replaced."""
    linked = [e for e in flag.evidence if e["report_numbers"]]
    seen = {(e["label"], tuple(e["report_numbers"])) for e in linked}
    new = _evidence(sign)
    linked += [e for e in new if e["report_numbers"] and (e["label"], tuple(e["report_numbers"])) not in seen]
    aggregates = [e for e in new if not e["report_numbers"]]
    flag.evidence = aggregates + linked
    flag.evidence_keys = sorted(set(flag.evidence_keys) | set(keys))
    flag.score, flag.explanation = sign.score, sign.explanation
    flag.window_to = flag.last_detected_at = now


def list_flags(session: Session, filters: dict, cursor: str | None, limit: int) -> Page:
    stmt = select(FraudFlag)
    for name in ("kind", "status", "station_code"):
        if filters.get(name) is not None:
            stmt = stmt.where(getattr(FraudFlag, name) == filters[name])
    return paginate(session, stmt, [FraudFlag.last_detected_at, FraudFlag.id], cursor, limit)


def get_flag(session: Session, flag_id: int) -> FraudFlag:
    flag = session.get(FraudFlag, flag_id)
    if flag is None:
        raise NotInScope("No such flag.")
    return flag


def review_flag(session: Session, principal: Principal, flag_id: int, data: dict) -> FraudFlag:
    flag = get_flag(session, flag_id)
    status = FlagStatus(data["status"])
    if status is FlagStatus.OPEN:
        raise invalid("status", "a review confirms or dismisses the flag")
    if flag.status is not FlagStatus.OPEN:
        raise IllegalTransition(f"Flag {flag.id} was already {flag.status.value}.", allowed_statuses=[])
    flag.status, flag.review_note = status, data.get("note", "")
    flag.reviewed_at, flag.reviewed_by = clock.now(), principal.user_id
    session.flush()
    return flag


def run_detection(database: Database) -> Run:
    """One supervision run in its own transaction (the job and the CLI)."""
    with database.session_scope() as session:
        audit.act_as(session, SYSTEM, "im.fraud_flags")
        return detect_and_flag(session)

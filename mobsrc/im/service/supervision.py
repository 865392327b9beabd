"""Supervision of inspection stations: the pure fraud detectors (im/fraud) run over the stored
inspections of a window, and each sign becomes a flag for the bureau, naming its evidence.

Idempotent: one open flag per (kind, station); a later run refreshes it and adds new evidence.
Once the bureau has reviewed a flag (confirmed or dismissed), the same evidence never opens a
flag again; evidence not yet reviewed does.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import column, select, table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mobsrc.core import audit, clock
from mobsrc.core.auth.principals import SYSTEM, Principal
from mobsrc.core.db import Database
from mobsrc.core.errors import IllegalTransition, NotInScope, invalid
from mobsrc.core.pagination import Page, paginate
from mobsrc.im import inspection as pure
from mobsrc.im.fraud import FraudSign, detect_fraud_signs
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


def load_inspections(session: Session, start: datetime, end: datetime) -> list[pure.Inspection]:
    """The stored inspections that started in [start, end), as the pure detectors take them."""
    rows = session.execute(
        select(Inspection, _stations.c.code, InspectionCurve.period_s, InspectionCurve.channels)
        .join(_stations, _stations.c.id == Inspection.station_id)
        .outerjoin(InspectionCurve, InspectionCurve.inspection_id == Inspection.id)
        .where(Inspection.started_at >= start, Inspection.started_at < end)
        .order_by(Inspection.id).execution_options(yield_per=2000))
    result = []
    for row, code, period_s, channels in rows:
        record = {c: getattr(row, c) for c in ("report_number", "vin", "plate", "kind", "method", "overall",
                                                "started_at", "ended_at", "inspector", "items", "obd",
                                                "appearance_passed", "vehicle_class", "repair_order")}
        curve = {"period_s": period_s, "channels": channels} if channels else None
        result.append(pure_inspection(code, record, row.limit_tier, curve))
    return result


def detect_and_flag(session: Session, now: datetime | None = None) -> Run:
    now = now or clock.now()
    config = load_config(session)
    start = now - timedelta(days=config.fraud_window_days)
    tests = load_inspections(session, start, now)
    signs = detect_fraud_signs(tests, config.fraud)
    codes = dict(session.execute(select(_stations.c.code, _stations.c.id)).all())
    opened = refreshed = 0
    for sign in signs:
        outcome = _store_sign(session, sign, codes.get(sign.station_code), start, now)
        opened += outcome == "opened"
        refreshed += outcome == "refreshed"
    return Run(len(tests), len(signs), opened, refreshed)


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

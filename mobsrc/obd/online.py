"""Daily online rates: computed per vehicle by a scheduled job from the stored samples (the
database counts the slots, obd/online_rate.py defines what they mean), read per vehicle and as
a fleet figure."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import column, or_, select, table, text
from sqlalchemy.orm import Session

from mobsrc.core import clock
from mobsrc.core.auth.principals import Principal
from mobsrc.core.auth.scope import scoped
from mobsrc.core.pagination import Page, paginate
from mobsrc.obd.models import OnlineDay, VehicleState
from mobsrc.obd.online_rate import DEFAULT_SLOT_S, fleet_online_rate, online_day
from mobsrc.obd.partition_plan import day_bounds, local_day

_vehicles = table("vehicles", column("id"), column("enterprise_id"), column("obd_terminal_id"))

_SLOTS = text(
    "SELECT vehicle_id, count(DISTINCT slot), min(slot), max(slot), min(collected_at), max(collected_at)"
    " FROM (SELECT vehicle_id, collected_at,"
    "       floor(extract(epoch FROM collected_at - :start) / :slot)::int AS slot"
    "       FROM obd_stream_records WHERE collected_at >= :start AND collected_at < :end) s"
    " GROUP BY vehicle_id")

_UPSERT = text(
    "INSERT INTO obd_online_days (vehicle_id, day, slot_s, slots_with_data, span_slots, slots_in_day, rate,"
    " coverage, first_at, last_at, computed_at) VALUES (:vehicle_id, :day, :slot_s, :slots_with_data,"
    " :span_slots, :slots_in_day, :rate, :coverage, :first_at, :last_at, :computed_at)"
    " ON CONFLICT (vehicle_id, day) DO UPDATE SET slot_s = EXCLUDED.slot_s,"
    " slots_with_data = EXCLUDED.slots_with_data, span_slots = EXCLUDED.span_slots,"
    " slots_in_day = EXCLUDED.slots_in_day, rate = EXCLUDED.rate, coverage = EXCLUDED.coverage,"
    " first_at = EXCLUDED.first_at, last_at = EXCLUDED.last_at, computed_at = EXCLUDED.computed_at")


def compute_online_day(session: Session, day: date, slot_s: int = DEFAULT_SLOT_S) -> int:
    """(Re)compute every vehicle's online rate for one local day; returns how many vehicles."""
    start, end = day_bounds(day)
    now = clock.now()
    rows = []
    for vehicle_id, filled, first, last, first_at, last_at in session.execute(
            _SLOTS, {"start": start, "end": end, "slot": slot_s}):
        result = online_day(day, filled, first, last, (first_at, last_at), slot_s=slot_s)
        rows.append(dict(vehicle_id=vehicle_id, day=day, slot_s=slot_s, slots_with_data=result.slots_with_data,
                         span_slots=result.span_slots, slots_in_day=result.slots_in_day, rate=result.rate,
                         coverage=result.coverage, first_at=first_at, last_at=last_at, computed_at=now))
    if rows:
        session.execute(_UPSERT, rows)
    return len(rows)


def compute_recent_online_days(session: Session) -> dict[str, int]:
    """The scheduled job: yesterday (final, re-sent data included) and today so far."""
    today = local_day(clock.now())
    return {str(day): compute_online_day(session, day) for day in (today - timedelta(days=1), today)}


def _scoped_vehicles(principal: Principal, enterprise_id: int | None):
    stmt = scoped(select(_vehicles.c.id), principal, enterprise_col=_vehicles.c.enterprise_id)
    if enterprise_id is not None:
        stmt = stmt.where(_vehicles.c.enterprise_id == enterprise_id)
    return stmt


def list_online_days(session: Session, principal: Principal, args: dict) -> Page:
    visible = _scoped_vehicles(principal, args.get("enterprise_id"))
    stmt = select(OnlineDay).where(OnlineDay.day == args["day"], OnlineDay.vehicle_id.in_(visible.scalar_subquery()))
    if args.get("vehicle_id") is not None:
        stmt = stmt.where(OnlineDay.vehicle_id == args["vehicle_id"])
    return paginate(session, stmt, [OnlineDay.vehicle_id], args.get("cursor"), args["limit"], descending=False)


def fleet_online(session: Session, principal: Principal, args: dict) -> dict:
    """Monitored vehicles (an OBD terminal registered, or data received once) and how many of
    them sent data on the day."""
    visible = _scoped_vehicles(principal, args.get("enterprise_id")).where(or_(
        _vehicles.c.obd_terminal_id.is_not(None),
        _vehicles.c.id.in_(select(VehicleState.vehicle_id))))
    monitored = list(session.scalars(visible))
    days = session.execute(select(OnlineDay.vehicle_id, OnlineDay.rate).where(
        OnlineDay.day == args["day"], OnlineDay.vehicle_id.in_(monitored))).all() if monitored else []
    rates = [rate for _, rate in days]
    return {"day": args["day"], "enterprise_id": args.get("enterprise_id"), "monitored": len(monitored),
            "online": len(days), "fleet_online_rate": fleet_online_rate([v for v, _ in days], monitored),
            "mean_rate": sum(rates) / len(rates) if rates else None}


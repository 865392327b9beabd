"""OBD use cases for the API, the jobs and the CLI.

The feature's service layer is split by concern: obd/ingest.py takes telemetry in (HTTP and
gateway), obd/alarming.py judges it (alarm jobs, offline terminals, escalation, online rates),
and this module holds what readers and administrators call, the partition maintenance, the
reconciler's finder and the I/M hand-over.
"""
from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from mobsrc.core import clock
from mobsrc.core.audit import record_access
from mobsrc.core.auth.principals import Principal, Role
from mobsrc.core.auth.scope import ensure_visible, scoped
from mobsrc.core.errors import DomainError, NotFound, invalid
from mobsrc.core.jobs import PendingJob
from mobsrc.core.pagination import Page, paginate
from mobsrc.im import service as im
from mobsrc.obd import escalation, partition_plan, storage
from mobsrc.obd.alarms import RULES, RULES_BY_ID, AlarmRule
from mobsrc.obd.models import (
    Alarm,
    AlarmStatus,
    HandoverStatus,
    InfoRecord,
    ObdBatch,
    RuleSetting,
    StreamRecord,
    TerminalProfile,
    VehicleState,
)
from mobsrc.obd.settings import ObdSettings
from mobsrc.registry import service as registry

EVALUATE_JOB = "obd.evaluate_pending_batches"
log = logging.getLogger(__name__)


# --- the I/M hand-over ------------------------------------------------------------------------------
def hand_over_alarm(session: Session, alarm: Alarm) -> None:
    """Hand an alarm to the I/M loop: a case for the vehicle with the alarm as evidence,
    idempotent on the alarm (a vehicle with an active case gets the alarm added to it). Kinds
    that are not emission faults (terminal offline) stay with OBD. When the I/M service cannot
    take it, the alarm stays pending hand-over and the reason is logged."""
    if not escalation.is_handed_over(alarm.kind):
        return
    alarm.handover_requested_at = clock.now()
    try:
        with session.begin_nested():
            case, _ = im.open_case(session, im.TriggerKind.OBD_ALARM, im.Subject(vin=alarm.vin, vehicle_id=alarm.vehicle_id),
                                   [f"obd_alarm:{alarm.id}"], at=alarm.opened_at, source="obd",
                                   source_ref=f"obd_alarm:{alarm.id}",
                                   details={"alarm_kind": alarm.kind.value, "rule_id": alarm.rule_id})
    except DomainError as exc:
        log.warning("alarm %s not handed over to I/M yet: %s", alarm.id, exc.detail)
        alarm.handover_status = HandoverStatus.PENDING
        return
    alarm.handover_status = HandoverStatus.HANDED_OVER
    alarm.handover_ref = f"im_case:{case.id}"


def retry_pending_handovers(session: Session) -> int:
    """Hand over alarms the I/M service could not take before; returns how many went."""
    pending = list(session.scalars(select(Alarm).where(Alarm.handover_status == HandoverStatus.PENDING)
                                   .order_by(Alarm.id).limit(500)))
    for alarm in pending:
        hand_over_alarm(session, alarm)
    return sum(a.handover_status is HandoverStatus.HANDED_OVER for a in pending)


# --- reading records and state ------------------------------------------------------------------------
def visible_vehicle(session: Session, principal: Principal, vehicle_id: int):
    """The registry's vehicle if the principal may see it (404 otherwise, registry rules)."""
    return registry.get_vehicle(session, principal, vehicle_id)


def _trace(session: Session, principal: Principal, action: str, vehicle_id: int, details: dict) -> None:
    """Police lookups of a vehicle's telemetry are logged (core/audit.py: traceable reads)."""
    if principal.role is Role.POLICE:
        record_access(session, principal, action, "vehicles", str(vehicle_id), details)


def _time_page(session: Session, principal: Principal, vehicle_id: int, model, order_by, args: dict,
               action: str) -> Page:
    visible_vehicle(session, principal, vehicle_id)
    start, end = args["collected_from"], args["collected_to"]
    _trace(session, principal, action, vehicle_id, {"from": start.isoformat(), "to": end.isoformat()})
    stmt = select(model).where(model.vehicle_id == vehicle_id, model.collected_at >= start,
                               model.collected_at < end)
    return paginate(session, stmt, order_by, args.get("cursor"), args["limit"],
                    descending=args.get("order") == "desc")


def vehicle_records(session: Session, principal: Principal, vehicle_id: int, args: dict) -> Page:
    """A vehicle's data-stream records in [from, to), by collection time, paged."""
    return _time_page(session, principal, vehicle_id, StreamRecord,
                      [StreamRecord.collected_at, StreamRecord.info_type], args, "obd.records.read")


def vehicle_obd_info(session: Session, principal: Principal, vehicle_id: int, args: dict) -> Page:
    return _time_page(session, principal, vehicle_id, InfoRecord, [InfoRecord.collected_at], args,
                      "obd.obd_info.read")


def vehicle_state(session: Session, principal: Principal, vehicle_id: int) -> dict:
    """The latest state: last sample and OBD snapshot, online or not, open alarms."""
    vehicle = visible_vehicle(session, principal, vehicle_id)
    _trace(session, principal, "obd.state.read", vehicle_id, {})
    state = session.get(VehicleState, vehicle_id)
    profile = session.get(TerminalProfile, vehicle_id)
    open_kinds = session.scalars(select(Alarm.kind).where(Alarm.vehicle_id == vehicle_id,
                                                          Alarm.status == AlarmStatus.OPEN).order_by(Alarm.kind))
    offline_after = timedelta(seconds=effective_thresholds(session, "terminal_offline")[1]["offline_after_s"])
    seen = state.last_seen_at if state else None
    return {
        "vehicle_id": vehicle.id, "vin": vehicle.vin, "plate": vehicle.plate,
        "online": seen is not None and clock.now() - seen <= offline_after,
        "last_seen_at": seen,
        "last_collected_at": state.last_collected_at if state else None,
        "last_record": state.last_record if state else None,
        "last_obd_at": state.last_obd_at if state else None,
        "last_obd": state.last_obd if state else None,
        "layout": profile.layout if profile else None,
        "last_login_at": profile.last_login_at if profile else None,
        "open_alarms": [k.value for k in open_kinds],
    }


# --- alarms -----------------------------------------------------------------------------------------
def list_alarms(session: Session, principal: Principal, filters: dict) -> Page:
    stmt = scoped(select(Alarm), principal, enterprise_col=Alarm.enterprise_id)
    for name in ("vehicle_id", "kind", "status", "enterprise_id"):
        if filters.get(name) is not None:
            stmt = stmt.where(getattr(Alarm, name) == filters[name])
    if filters.get("opened_from") is not None:
        stmt = stmt.where(Alarm.opened_at >= filters["opened_from"])
    if filters.get("opened_to") is not None:
        stmt = stmt.where(Alarm.opened_at < filters["opened_to"])
    return paginate(session, stmt, [Alarm.opened_at, Alarm.id], filters.get("cursor"), filters["limit"])


def get_alarm(session: Session, principal: Principal, alarm_id: int) -> Alarm:
    alarm = session.get(Alarm, alarm_id)
    return ensure_visible(principal, alarm, "alarm", enterprise_id=alarm.enterprise_id if alarm else None)


# --- rule settings -----------------------------------------------------------------------------------
def _rule(rule_id: str) -> AlarmRule:
    rule = RULES_BY_ID.get(rule_id)
    if rule is None:
        raise NotFound(f"No alarm rule {rule_id!r}; see GET /api/v1/obd/rules.")
    return rule


def _current_settings(session: Session) -> dict[str, RuleSetting]:
    latest = (select(RuleSetting.rule_id, func.max(RuleSetting.version).label("version"))
              .group_by(RuleSetting.rule_id).subquery())
    rows = session.scalars(select(RuleSetting).join(latest, (RuleSetting.rule_id == latest.c.rule_id)
                                                    & (RuleSetting.version == latest.c.version)))
    return {row.rule_id: row for row in rows}


def effective_thresholds(session: Session, rule_id: str) -> tuple[int, dict[str, float]]:
    """(settings version, thresholds) in force for one rule (version 0: the code's defaults)."""
    setting = _current_settings(session).get(rule_id)
    rule = _rule(rule_id)
    return (0, rule.defaults) if setting is None else (setting.version, rule.params(setting.thresholds))


def rule_views(session: Session) -> list[dict]:
    current = _current_settings(session)
    return [_rule_view(rule, current.get(rule.id)) for rule in RULES]


def rule_view(session: Session, rule_id: str) -> dict:
    return _rule_view(_rule(rule_id), _current_settings(session).get(rule_id))


def _rule_view(rule: AlarmRule, setting: RuleSetting | None) -> dict:
    values = rule.params(setting.thresholds if setting else None)
    return {
        "id": rule.id, "kind": rule.kind.value, "description": rule.description,
        "version": setting.version if setting else 0,
        "enabled": setting.enabled if setting else True,
        "violation_after_h": setting.violation_after_h if setting else escalation.VIOLATION_AFTER_H.get(rule.id),
        "thresholds": [{"name": t.name, "default": t.default, "value": values[t.name], "unit": t.unit,
                        "source": t.source} for t in rule.thresholds],
        "note": setting.note if setting else "built-in defaults",
        "created_by": setting.created_by if setting else None,
        "created_at": setting.created_at if setting else None,
    }


def update_rule(session: Session, principal: Principal, rule_id: str, changes: dict) -> dict:
    """A new settings version: the current one with `changes` applied.  Never edits a version."""
    rule = _rule(rule_id)
    current = _current_settings(session).get(rule_id)
    thresholds = dict(rule.params(current.thresholds if current else None))
    for name, value in changes.get("thresholds", {}).items():
        if name not in thresholds:
            raise invalid(f"thresholds.{name}", f"rule {rule_id} has no threshold {name!r}; "
                                                f"it has {', '.join(sorted(thresholds))}")
        if not math.isfinite(value):
            raise invalid(f"thresholds.{name}", "must be a finite number")
        thresholds[name] = float(value)
    setting = RuleSetting(
        rule_id=rule_id, version=(current.version if current else 0) + 1, thresholds=thresholds,
        enabled=changes.get("enabled", current.enabled if current else True),
        violation_after_h=changes["violation_after_h"] if "violation_after_h" in changes else (
            current.violation_after_h if current else escalation.VIOLATION_AFTER_H.get(rule_id)),
        note=changes.get("note", ""), created_by=principal.user_id)
    session.add(setting)
    session.flush()
    return _rule_view(rule, setting)


def rule_versions(session: Session, rule_id: str) -> list[dict]:
    rule = _rule(rule_id)
    rows = session.scalars(select(RuleSetting).where(RuleSetting.rule_id == rule_id)
                           .order_by(RuleSetting.version.desc()))
    return [_rule_view(rule, row) for row in rows]


def rule_settings_in_force(session: Session) -> dict[str, tuple[int, bool, dict, float | None]]:
    """rule id -> (version, enabled, thresholds, violation_after_h) for every rule."""
    current = _current_settings(session)
    out = {}
    for rule in RULES:
        setting = current.get(rule.id)
        if setting is None:
            out[rule.id] = (0, True, rule.defaults, escalation.VIOLATION_AFTER_H.get(rule.id))
        else:
            out[rule.id] = (setting.version, setting.enabled, rule.params(setting.thresholds),
                            setting.violation_after_h)
    return out


# --- maintenance and reconciliation --------------------------------------------------------------------
def maintain_partitions(session: Session, settings: ObdSettings, now: datetime | None = None) -> dict:
    """Make the day partitions every accepted record may need (and a few days ahead); drop
    those older than the retention period, with the batches of that age."""
    now = now or clock.now()
    needed = partition_plan.days_needed(now, settings.max_age_days, settings.partitions_ahead_days)
    created = storage.ensure_partitions(session, needed)
    first_kept = partition_plan.local_day(now) - timedelta(days=settings.retention_days)
    dropped = [name for table in partition_plan.PARTITIONED_TABLES
               for name in storage.drop_partitions_before(session, table, first_kept)]
    cutoff = partition_plan.day_bounds(partition_plan.local_day(now) - timedelta(days=settings.retention_days))[0]
    deleted = session.execute(text("DELETE FROM obd_batches WHERE processed_at IS NOT NULL AND received_at < :c"),
                              {"c": cutoff}).rowcount
    return {"created": created, "dropped": dropped, "batches_deleted": deleted}


def pending_batches(session: Session) -> list[PendingJob]:
    """Reconciler: accepted batches whose alarm evaluation has not run (Redis was down, a
    worker died).  One job takes them all, so one pending job is enough."""
    waiting = session.scalar(select(ObdBatch.id).where(ObdBatch.processed_at.is_(None)).limit(1))
    if waiting is None:
        return []
    # A new id each minute: a job left "started" by a killed worker cannot block the next one
    # (runs may overlap safely: batches are taken FOR UPDATE SKIP LOCKED).
    minute = int(clock.now().timestamp()) // 60
    return [PendingJob(EVALUATE_JOB, (), f"obd-evaluate-reconciled-{minute}")]

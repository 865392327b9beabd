"""The zones as the geofence engine sees them, cached per process, and the planning question
"may machine X work at point P at time T?".

Every zone version is indexed for the time it was in force: from its `recorded_at` until the
next version's (intersected with its own effective dates), so a late fix is judged by the
version in force when it was taken, and a violation names that version. Versions whose time
ended before the re-send window (`lookback`) are left out. A zone's first version starts at
its `recorded_at`: entering a zone with a back-dated `effective_from` does not make positions
received before that moment violations (no retroactive enforcement from data entry).

The index is rebuilt only when the zone versions change: the cache key is the count of
zone_versions and the newest version's id and random token, one small query per job
(architecture.md: the engine is a per-process cache keyed by the zones' version; nothing is
shared between processes). Versions are never deleted, so any change adds a newer row.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import numpy as np
import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mobsrc.core import clock
from mobsrc.core.auth.principals import Principal
from mobsrc.core.auth.scope import ensure_visible
from mobsrc.core.errors import invalid
from mobsrc.core.partitions import local_day
from mobsrc.registry import service as registry
from mobsrc.registry.emissions import Fuel
from mobsrc.registry.lifecycle import MachineStatus
from mobsrc.zones import rules
from mobsrc.zones.engine import ZoneIndex, ZoneRecord
from mobsrc.zones.models import ZoneStatus, ZoneVersion
from mobsrc.zones.schedule import DailyWindow
from mobsrc.zones.service import alert_days_between


@dataclass(frozen=True)
class VersionFacts:
    version_id: int
    zone_id: int
    version: int
    name: str
    district_code: str | None
    valid_from: datetime  # this version's time as the zone's content
    valid_until: datetime | None
    rule: rules.ZoneRule
    record: ZoneRecord  # as indexed (zone_id = version_id)


@dataclass(frozen=True, eq=False)
class ZoneSet:
    key: tuple
    index: ZoneIndex
    versions: Mapping[int, VersionFacts]
    rules: Mapping[int, rules.ZoneRule]  # by version id


_CACHE: dict[str, ZoneSet] = {}


def current_zone_set(session: Session, lookback: timedelta) -> ZoneSet:
    """The engine over the zone versions in force since `lookback` ago, rebuilt on change."""
    key = (*_zone_set_key(session), lookback)
    cached = _CACHE.get("zones")
    if cached is not None and cached.key == key:
        return cached
    built = build_zone_set(session, key, clock.now() - lookback)
    _CACHE["zones"] = built
    return built


def _zone_set_key(session: Session) -> tuple:
    count = session.scalar(select(func.count()).select_from(ZoneVersion))
    newest = session.execute(select(ZoneVersion.id, ZoneVersion.token).order_by(ZoneVersion.id.desc()).limit(1))
    return count, *(newest.one_or_none() or (None, None))


def build_zone_set(session: Session, key: tuple, since: datetime) -> ZoneSet:
    next_recorded = func.lead(ZoneVersion.recorded_at).over(partition_by=ZoneVersion.zone_id,
                                                            order_by=ZoneVersion.version)
    timeline = select(ZoneVersion.id.label("version_id"), next_recorded.label("valid_until")).subquery()
    rows = session.execute(
        select(ZoneVersion, func.ST_AsBinary(ZoneVersion.geometry), timeline.c.valid_until)
        .join(timeline, timeline.c.version_id == ZoneVersion.id)
        .where(ZoneVersion.status == ZoneStatus.ACTIVE)
        .where((timeline.c.valid_until.is_(None)) | (timeline.c.valid_until > since))
        .order_by(ZoneVersion.id)).all()
    geometries = shapely.from_wkb([bytes(wkb) for _, wkb, _ in rows]) if rows else []
    versions = {}
    for (version, _, valid_until), geometry in zip(rows, geometries):
        facts = _facts(version, geometry, valid_until)
        if facts is not None:
            versions[facts.version_id] = facts
    index = ZoneIndex.build([f.record for f in versions.values()], version=repr(key))
    return ZoneSet(key, index, versions, {v: facts.rule for v, facts in versions.items()})


def zone_rule(version: ZoneVersion) -> rules.ZoneRule:
    return rules.ZoneRule(
        prohibited_stages=frozenset(rules.EmissionStage(s) for s in version.prohibited_stages),
        exempt_machine_types=frozenset(version.exempt_machine_types),
        prohibit_unknown_stage=version.prohibit_unknown_stage, prohibit_unregistered=version.prohibit_unregistered,
        unknown_engine_state_is_working=version.unknown_engine_state_is_working,
        effective_from=version.effective_from, effective_until=version.effective_until)


def daily_windows(stored: list[dict]) -> tuple[DailyWindow, ...]:
    return tuple(DailyWindow(time.fromisoformat(w["start"]), time.fromisoformat(w["end"])) for w in stored)


def _facts(version: ZoneVersion, geometry, valid_until: datetime | None) -> VersionFacts | None:
    start = max(version.recorded_at, version.effective_from or version.recorded_at)
    ends = [t for t in (valid_until, version.effective_until) if t is not None]
    end = min(ends) if ends else None
    if end is not None and start >= end:
        return None  # never in force: replaced before its effective date
    record = ZoneRecord(version.id, version.version, geometry, start, end, daily_windows(version.daily_windows),
                        version.alert_days_only)
    return VersionFacts(version.id, version.zone_id, version.version, version.name, version.district_code,
                        version.recorded_at, valid_until, zone_rule(version), record)


# --- machines as the rules see them --------------------------------------------------------------

def rules_machine(facts) -> rules.Machine:
    """A registry machine row (registry.service.machine_facts) as zones/rules.py's Machine:
    electric machinery is new-energy whatever stage it was registered with; a deregistered
    machine no longer holds a valid environmental code."""
    stage = (rules.EmissionStage.NEW_ENERGY if facts.fuel is Fuel.ELECTRIC
             else rules.EmissionStage(facts.emission_stage.value))
    return rules.Machine(facts.id, facts.machine_type.value, stage, facts.manufactured_on,
                         registered=facts.status is not MachineStatus.DEREGISTERED)


def visible_machine(session: Session, principal: Principal, machine_id: int | None = None,
                    code: str | None = None):
    rows = registry.machine_facts(session, ids=[machine_id] if machine_id else (), codes=[code] if code else ())
    facts = rows[0] if len(rows) == 1 else None
    return ensure_visible(principal, facts, "machine", enterprise_id=facts.enterprise_id if facts else None)


# --- may this machine work here? -----------------------------------------------------------------

@dataclass(frozen=True)
class ZoneAnswer:
    zone_id: int
    zone_version: int
    name: str
    district_code: str | None
    in_force: bool
    prohibited: bool
    reasons: tuple[str, ...]
    effective_from: datetime | None
    effective_until: datetime | None
    daily_windows: tuple[DailyWindow, ...]
    alert_days_only: bool


@dataclass(frozen=True)
class WorkCheck:
    allowed: bool
    machine_id: int
    machine_code: str
    lon: float
    lat: float
    at: datetime
    alert_day: bool
    zones: tuple[ZoneAnswer, ...]  # every zone version covering the point then, in force or not

    @property
    def denied_by(self) -> list[int]:
        return [z.zone_id for z in self.zones if z.prohibited]


def check_work(session: Session, principal: Principal, machine, lon: float, lat: float, at: datetime,
               lookback: timedelta) -> WorkCheck:
    """May `machine` (a visible registry row) work, engine running, at WGS-84 (lon, lat) at `at`?"""
    if at < clock.now() - lookback:
        raise invalid("at", f"checks are answered from {lookback.days} days ago onwards")
    zone_set = current_zone_set(session, lookback)
    alert = local_day(at) in alert_days_between(session, local_day(at), local_day(at))
    permission = rules.may_work(rules_machine(machine), lon, lat, at, zone_set.index, zone_set.rules, alert)
    decided = dict(permission.decisions)
    answers = [_answer(facts, decided.get(facts.version_id)) for facts in _covering(zone_set, lon, lat, at)]
    return WorkCheck(permission.allowed, machine.id, machine.code, lon, lat, at, alert, tuple(answers))


def _covering(zone_set: ZoneSet, lon: float, lat: float, at: datetime) -> list[VersionFacts]:
    """Versions that were the zone's content at `at` and whose area covers the point."""
    current = [f for f in zone_set.versions.values()
               if f.valid_from <= at and (f.valid_until is None or at < f.valid_until)]
    if not current:
        return []
    covers = shapely.intersects_xy(np.array([f.record.geometry for f in current], dtype=object), lon, lat)
    return [f for f, hit in zip(current, covers) if hit]


def _answer(facts: VersionFacts, decision: rules.Decision | None) -> ZoneAnswer:
    reasons = tuple(r.value for r in decision.reasons) if decision else ("zone_not_in_force_then",)
    record = facts.record
    return ZoneAnswer(facts.zone_id, facts.version, facts.name, facts.district_code, decision is not None,
                      bool(decision and decision.prohibited), reasons, record.effective_from,
                      record.effective_until, record.daily_windows, record.alert_days_only)


def alert_flags(session: Session, times: np.ndarray) -> np.ndarray:
    """Per fix (datetime64[us] UTC): is its local day an alert day?"""
    if not len(times):
        return np.zeros(0, bool)
    first, last = (local_day(_to_datetime(t)) for t in (times.min(), times.max()))
    alert_days = alert_days_between(session, first, last)
    if not alert_days:
        return np.zeros(len(times), bool)
    local = (times + np.timedelta64(8, "h")).astype("datetime64[D]")  # Asia/Shanghai has no DST
    return np.isin(local, np.array(sorted(alert_days), dtype="datetime64[D]"))


def _to_datetime(value: np.datetime64) -> datetime:
    return datetime.fromtimestamp(value.astype("datetime64[us]").astype(np.int64) / 1e6, clock.UTC)

"""Is this machine prohibited in this no-use zone now?

No national definition of "high-emission NRMM" exists; cities define it per zone (telemetry
3.2 [SECONDARY]), so a zone's rule is data: prohibited emission stages, exempt machine types,
whether unknown-stage or unregistered machinery counts as prohibited, and its period. Presence
is prohibited only while the engine works (enforcement 6.1: alert when a non-eligible machine
is in a zone "with engine running"); alerts are leads, not proof.

`judge_presence` judges one fix of a machine inside an active zone; `may_work` answers a
planning question (may this machine work at this point at that time?) over all zones there.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from mobsrc.zones.engine import ZoneIndex
from mobsrc.zones.fixes import PositionFix


class RuleError(ValueError):
    """Malformed rule input (naive time, zone without a rule)."""


class EmissionStage(StrEnum):
    PRE_CHINA_1 = "pre_china_1"
    CHINA_1 = "china_1"
    CHINA_2 = "china_2"
    CHINA_3 = "china_3"
    CHINA_4 = "china_4"
    NEW_ENERGY = "new_energy"  # battery-electric etc.: no exhaust stage
    UNKNOWN = "unknown"


COMBUSTION_STAGES = (EmissionStage.PRE_CHINA_1, EmissionStage.CHINA_1, EmissionStage.CHINA_2,
                     EmissionStage.CHINA_3, EmissionStage.CHINA_4)  # ascending

# "High-emission" = below GB 20891-2014 Stage III: Anshun, Guizhou's nearest precedent
# (enforcement 3.5 [SECONDARY]). Guiyang's own definition is UNCONFIRMED (telemetry 6.2).
DEFAULT_PROHIBITED_STAGES = frozenset({EmissionStage.PRE_CHINA_1, EmissionStage.CHINA_1, EmissionStage.CHINA_2})

# Latest stage a machine produced before each date can have (no type approvals yet for the
# next stage). Used only when the stage is unknown, and only to prove a prohibition.
PRODUCTION_STAGE_CEILINGS = (
    # GB 20891-2007 effective 2007-10-01 [CONFIRMED metadata]; Stage I start = that date [UNCONFIRMED]
    (date(2007, 10, 1), EmissionStage.PRE_CHINA_1),
    # "Stage I and below = produced before 2009-10-01" (Xinzhou, Datong notices) [SECONDARY]
    (date(2009, 10, 1), EmissionStage.CHINA_1),
    # Stage III new types from 2014-10-01 (GB 20891-2014) [CONFIRMED]
    (date(2014, 10, 1), EmissionStage.CHINA_2),
)


class PresenceReason(StrEnum):
    RULE_NOT_IN_FORCE = "rule_not_in_force"
    EXEMPT_MACHINE_TYPE = "exempt_machine_type"
    ENGINE_OFF = "engine_off"
    ENGINE_STATE_UNKNOWN = "engine_state_unknown"
    STAGE_PROHIBITED = "stage_prohibited"
    STAGE_PERMITTED = "stage_permitted"
    STAGE_INFERRED_FROM_PRODUCTION_DATE = "stage_inferred_from_production_date"
    STAGE_UNKNOWN = "stage_unknown"
    UNREGISTERED = "unregistered"


@dataclass(frozen=True)
class Machine:
    machine_id: Hashable
    machine_type: str  # registry type code, e.g. "excavator"
    emission_stage: EmissionStage = EmissionStage.UNKNOWN
    production_date: date | None = None
    registered: bool = True  # holds the city's environmental code (enforcement 6.5)


@dataclass(frozen=True)
class ZoneRule:
    prohibited_stages: frozenset[EmissionStage] = DEFAULT_PROHIBITED_STAGES
    exempt_machine_types: frozenset[str] = frozenset()  # e.g. emergency rescue equipment
    # Unknown stage counts as prohibited: unregistered/undocumented machinery is what the zone
    # notices target (Anshun covers machinery "without an environmental number"). UNCONFIRMED.
    prohibit_unknown_stage: bool = True
    prohibit_unregistered: bool = False  # some cities ban it (enforcement 6.1); UNCONFIRMED
    # No engine data (position-only terminal) counts as working, else such machines could
    # never be flagged; the reason ENGINE_STATE_UNKNOWN is recorded. UNCONFIRMED.
    unknown_engine_state_is_working: bool = True
    effective_from: datetime | None = None  # inclusive
    effective_until: datetime | None = None  # exclusive


@dataclass(frozen=True)
class Decision:
    prohibited: bool
    reasons: tuple[PresenceReason, ...]


@dataclass(frozen=True)
class WorkPermission:
    allowed: bool
    decisions: tuple[tuple[Hashable, Decision], ...]  # (zone_id, decision) per active zone there
    denied_by: tuple[Hashable, ...]


def judge_presence(machine: Machine, rule: ZoneRule, at: datetime, fix: PositionFix | None = None) -> Decision:
    """Decision for a machine observed inside an active zone at `at` (fix: engine data)."""
    if (skip := _rule_skip(machine, rule, at)) is not None:
        return Decision(False, (skip,))
    engine = engine_reason(fix, rule)
    if engine is PresenceReason.ENGINE_OFF or (
            engine is PresenceReason.ENGINE_STATE_UNKNOWN and not rule.unknown_engine_state_is_working):
        return Decision(False, (engine,))
    prohibited, reasons = eligibility(machine, rule)
    return Decision(prohibited, (engine, *reasons) if engine else reasons)


def may_work(machine: Machine, lon: float, lat: float, at: datetime, index: ZoneIndex,
             rules: Mapping[Hashable, ZoneRule], alert_day: bool = False) -> WorkPermission:
    """May `machine` work (engine running) at WGS-84 (lon, lat) at `at`?"""
    hits = index.locate([lon], [lat], at, alert_day)
    decisions = []
    for zone in hits.zones_at(0):
        if zone.zone_id not in rules:
            raise RuleError(f"zone {zone.zone_id!r} has no rule")
        rule = rules[zone.zone_id]
        skip = _rule_skip(machine, rule, at)
        decisions.append((zone.zone_id, Decision(False, (skip,)) if skip else Decision(*eligibility(machine, rule))))
    denied = tuple(zone_id for zone_id, decision in decisions if decision.prohibited)
    return WorkPermission(not denied, tuple(decisions), denied)


def eligibility(machine: Machine, rule: ZoneRule) -> tuple[bool, tuple[PresenceReason, ...]]:
    """Is the machine itself barred by the rule (stage, registration), engine aside?"""
    prohibited, reasons = _stage_verdict(machine, rule)
    if not machine.registered and rule.prohibit_unregistered:
        prohibited, reasons = True, reasons + (PresenceReason.UNREGISTERED,)
    return prohibited, reasons


def engine_reason(fix: PositionFix | None, rule: ZoneRule) -> PresenceReason | None:
    """ENGINE_OFF, ENGINE_STATE_UNKNOWN, or None when the engine works (on, or rpm > 0)."""
    rpm = None if fix is None else fix.engine_rpm
    on = None if fix is None else fix.engine_on
    if (rpm is not None and rpm > 0) or on is True:
        return None
    if on is False or rpm is not None:
        return PresenceReason.ENGINE_OFF
    return PresenceReason.ENGINE_STATE_UNKNOWN


def stage_ceiling(production_date: date | None) -> EmissionStage | None:
    """Latest stage a machine produced on that date can have, if the date settles it."""
    if production_date is None:
        return None
    return next((stage for cutoff, stage in PRODUCTION_STAGE_CEILINGS if production_date < cutoff), None)


def _rule_skip(machine: Machine, rule: ZoneRule, at: datetime) -> PresenceReason | None:
    if at.tzinfo is None:
        raise RuleError("at must be timezone-aware")
    if (rule.effective_from is not None and at < rule.effective_from) or (
            rule.effective_until is not None and at >= rule.effective_until):
        return PresenceReason.RULE_NOT_IN_FORCE
    if machine.machine_type in rule.exempt_machine_types:
        return PresenceReason.EXEMPT_MACHINE_TYPE
    return None


def _stage_verdict(machine: Machine, rule: ZoneRule) -> tuple[bool, tuple[PresenceReason, ...]]:
    stage = machine.emission_stage
    if stage is not EmissionStage.UNKNOWN:
        prohibited = stage in rule.prohibited_stages
        return prohibited, (PresenceReason.STAGE_PROHIBITED if prohibited else PresenceReason.STAGE_PERMITTED,)
    ceiling = stage_ceiling(machine.production_date)
    if ceiling is not None:
        possible = COMBUSTION_STAGES[:COMBUSTION_STAGES.index(ceiling) + 1]
        if all(s in rule.prohibited_stages for s in possible):
            return True, (PresenceReason.STAGE_INFERRED_FROM_PRODUCTION_DATE, PresenceReason.STAGE_PROHIBITED)
    return rule.prohibit_unknown_stage, (PresenceReason.STAGE_UNKNOWN,)

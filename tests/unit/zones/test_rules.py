"""Zone rules: who is prohibited in a no-use zone, and when."""

from datetime import UTC, date, datetime

import pytest

from mobsrc.zones.engine import ZoneIndex, ZoneRecord
from mobsrc.zones.fixes import PositionFix
from mobsrc.zones.rules import (
    Decision,
    EmissionStage,
    Machine,
    PresenceReason,
    RuleError,
    ZoneRule,
    judge_presence,
    may_work,
    stage_ceiling,
)
from tests.unit.zones import shapes

AT = datetime(2025, 3, 1, 4, 0, tzinfo=UTC)
R = PresenceReason
S = EmissionStage
RULE = ZoneRule()  # prohibits pre-Stage I, I and II (Anshun definition, enforcement 3.5)
EXEMPT_RESCUE = ZoneRule(exempt_machine_types=frozenset({"emergency_rescue"}))


def working(**engine):
    return PositionFix("M1", AT, 106.61, 26.51, **(engine or {"engine_on": True}))


def machine(stage=S.UNKNOWN, kind="excavator", **extra):
    return Machine("M1", kind, stage, **extra)


PRESENCE_TABLE = [
    pytest.param(machine(S.CHINA_4), RULE, working(), Decision(False, (R.STAGE_PERMITTED,)), id="china-iv-permitted"),
    pytest.param(machine(S.CHINA_3), RULE, working(), Decision(False, (R.STAGE_PERMITTED,)), id="china-iii-permitted"),
    pytest.param(machine(S.CHINA_2), RULE, working(), Decision(True, (R.STAGE_PROHIBITED,)), id="china-ii-prohibited"),
    pytest.param(machine(S.CHINA_1), RULE, working(), Decision(True, (R.STAGE_PROHIBITED,)), id="china-i-prohibited"),
    pytest.param(machine(S.PRE_CHINA_1), RULE, working(), Decision(True, (R.STAGE_PROHIBITED,)), id="pre-i-prohibited"),
    pytest.param(machine(S.NEW_ENERGY), RULE, working(), Decision(False, (R.STAGE_PERMITTED,)), id="new-energy"),
    pytest.param(machine(S.CHINA_1, "emergency_rescue"), EXEMPT_RESCUE, working(),
                 Decision(False, (R.EXEMPT_MACHINE_TYPE,)), id="exempt-type"),
    pytest.param(machine(S.CHINA_1), RULE, working(engine_on=False), Decision(False, (R.ENGINE_OFF,)),
                 id="engine-off"),
    pytest.param(machine(S.CHINA_1), RULE, working(engine_rpm=0.0), Decision(False, (R.ENGINE_OFF,)),
                 id="rpm-zero-is-off"),
    pytest.param(machine(S.CHINA_1), RULE, working(engine_on=False, engine_rpm=800.0),
                 Decision(True, (R.STAGE_PROHIBITED,)), id="rpm-overrides-off-flag"),
    pytest.param(machine(S.CHINA_1), RULE, working(engine_rpm=1200.0), Decision(True, (R.STAGE_PROHIBITED,)),
                 id="rpm-positive-is-working"),
    pytest.param(machine(S.CHINA_1), RULE, PositionFix("M1", AT, 106.61, 26.51),
                 Decision(True, (R.ENGINE_STATE_UNKNOWN, R.STAGE_PROHIBITED)), id="engine-unknown-presumed-working"),
    pytest.param(machine(S.CHINA_1), ZoneRule(unknown_engine_state_is_working=False), None,
                 Decision(False, (R.ENGINE_STATE_UNKNOWN,)), id="engine-unknown-not-working-by-rule"),
    pytest.param(machine(), RULE, working(), Decision(True, (R.STAGE_UNKNOWN,)), id="unknown-stage-prohibited"),
    pytest.param(machine(), ZoneRule(prohibit_unknown_stage=False), working(),
                 Decision(False, (R.STAGE_UNKNOWN,)), id="unknown-stage-tolerated-by-rule"),
    pytest.param(machine(production_date=date(2008, 5, 1)), ZoneRule(prohibit_unknown_stage=False), working(),
                 Decision(True, (R.STAGE_INFERRED_FROM_PRODUCTION_DATE, R.STAGE_PROHIBITED)),
                 id="built-before-2009-10-01-is-stage-i-or-below"),
    pytest.param(machine(production_date=date(2015, 5, 1)), ZoneRule(prohibit_unknown_stage=False), working(),
                 Decision(False, (R.STAGE_UNKNOWN,)), id="built-2015-could-be-stage-iii"),
    pytest.param(machine(S.CHINA_4, registered=False), ZoneRule(prohibit_unregistered=True), working(),
                 Decision(True, (R.STAGE_PERMITTED, R.UNREGISTERED)), id="unregistered-banned-by-rule"),
    pytest.param(machine(S.CHINA_4, registered=False), RULE, working(), Decision(False, (R.STAGE_PERMITTED,)),
                 id="unregistered-tolerated-by-default"),
    pytest.param(machine(S.CHINA_1), ZoneRule(effective_from=datetime(2025, 4, 1, tzinfo=UTC)), working(),
                 Decision(False, (R.RULE_NOT_IN_FORCE,)), id="rule-not-yet-in-force"),
    pytest.param(machine(S.CHINA_1), ZoneRule(effective_until=AT), working(),
                 Decision(False, (R.RULE_NOT_IN_FORCE,)), id="rule-expired-at-until"),
    pytest.param(machine(S.CHINA_3), ZoneRule(prohibited_stages=frozenset({S.PRE_CHINA_1, S.CHINA_1, S.CHINA_2,
                                                                           S.CHINA_3})),
                 working(), Decision(True, (R.STAGE_PROHIBITED,)), id="stricter-zone-bans-stage-iii"),
]


@pytest.mark.parametrize(("subject", "rule", "position_fix", "expected"), PRESENCE_TABLE)
def test_presence_decision(subject, rule, position_fix, expected):
    assert judge_presence(subject, rule, AT, position_fix) == expected


@pytest.mark.parametrize(("produced", "ceiling"), [
    (date(2007, 9, 30), S.PRE_CHINA_1), (date(2007, 10, 1), S.CHINA_1), (date(2009, 9, 30), S.CHINA_1),
    (date(2009, 10, 1), S.CHINA_2), (date(2014, 9, 30), S.CHINA_2), (date(2014, 10, 1), None), (None, None),
])
def test_stage_ceiling_by_production_date(produced, ceiling):
    assert stage_ceiling(produced) is ceiling


def test_naive_time_is_malformed():
    with pytest.raises(RuleError):
        judge_presence(machine(S.CHINA_1), RULE, datetime(2025, 3, 1, 12), working())


# ---------------------------------------------------------------- may_work


@pytest.fixture(scope="module")
def index():
    return ZoneIndex.build([ZoneRecord("core", 1, shapes.SQUARE_WITH_HOLE),
                            ZoneRecord("strict", 1, shapes.OVERLAPPING_SQUARE),
                            ZoneRecord("future", 1, shapes.CONCAVE, effective_from=datetime(2026, 1, 1, tzinfo=UTC))])


RULES = {"core": RULE, "strict": ZoneRule(prohibited_stages=frozenset({S.PRE_CHINA_1, S.CHINA_1, S.CHINA_2, S.CHINA_3})),
         "future": RULE}


@pytest.mark.parametrize(("subject", "point", "allowed", "denied_by"), [
    pytest.param(machine(S.CHINA_3), (106.61, 26.51), True, (), id="stage-iii-in-core"),
    pytest.param(machine(S.CHINA_3), (106.69, 26.59), False, ("strict",), id="stage-iii-in-core-and-strict"),
    pytest.param(machine(S.CHINA_2), (106.69, 26.59), False, ("core", "strict"), id="stage-ii-in-both"),
    pytest.param(machine(S.CHINA_1), shapes.POINT_IN_HOLE, True, (), id="in-the-hole"),
    pytest.param(machine(S.CHINA_1), (106.41, 26.41), True, (), id="zone-not-yet-effective"),
    pytest.param(machine(S.CHINA_4), (106.69, 26.59), True, (), id="stage-iv-anywhere"),
])
def test_may_work_over_all_zones_at_the_point(index, subject, point, allowed, denied_by):
    permission = may_work(subject, *point, AT, index, RULES)
    assert (permission.allowed, permission.denied_by) == (allowed, denied_by)


def test_may_work_ignores_engine_state_and_reports_each_zone(index):
    permission = may_work(machine(S.CHINA_2), 106.69, 26.59, AT, index, RULES)
    assert permission.decisions == (("core", Decision(True, (R.STAGE_PROHIBITED,))),
                                    ("strict", Decision(True, (R.STAGE_PROHIBITED,))))


def test_may_work_needs_a_rule_for_every_zone(index):
    with pytest.raises(RuleError):
        may_work(machine(S.CHINA_2), 106.61, 26.51, AT, index, {"strict": RULE})

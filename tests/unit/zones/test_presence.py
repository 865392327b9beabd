"""Presence of a machine in a zone: a confirmed visit of a barred, working machine opens one
violation and leaving closes it; permitted machines, parked machines and jitter open nothing;
replaying fixes changes nothing."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from mobsrc.zones.fixes import PositionFix
from mobsrc.zones.presence import (
    Observation,
    PresenceError,
    PresenceState,
    advance_presence,
    close_silent_presence,
)
from mobsrc.zones.rules import EmissionStage, Machine, PresenceReason, ZoneRule
from mobsrc.zones.visits import ConfirmationRule, EndReason, VisitState, VisitStatus

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
OLD_EXCAVATOR = Machine("M1", "excavator", EmissionStage.CHINA_2)
NEW_LOADER = Machine("M1", "loader", EmissionStage.CHINA_4)
RULES = {"Z1v1": ZoneRule(), "Z1v2": ZoneRule(exempt_machine_types=frozenset({"excavator"}))}
START = PresenceState(VisitState("M1", "Z1"))


def track(pattern: str, period: int = 60, start: int = 0, engine: str | None = None, version="Z1v1"):
    """'i' inside, 'o' outside; engine: per fix '1' on, '0' off, '?' unknown (default on)."""
    engine = engine or "1" * len(pattern)
    states = {"1": (True, 1500.0), "0": (False, 0.0), "?": (None, None)}
    return [Observation(PositionFix("M1", T0 + timedelta(seconds=start + k * period), 106.7, 26.58,
                                    engine_on=states[e][0], engine_rpm=states[e][1]),
                        version if c == "i" else None)
            for k, (c, e) in enumerate(zip(pattern, engine))]


def kinds(actions):
    return [type(a).__name__ for a in actions]


def test_entry_dwell_exit_of_a_barred_working_machine_opens_and_closes_one_violation():
    state, actions = advance_presence(START, track("ooo" + "i" * 12 + "ooo"), OLD_EXCAVATOR, RULES)
    assert kinds(actions) == ["VisitOpened", "ViolationOpened", "VisitClosed"]
    opened, violation, closed = actions
    assert opened.entry_time == violation.occurred_at == T0 + timedelta(minutes=3)
    assert opened.confirmed_at == T0 + timedelta(minutes=5) and opened.barred
    assert PresenceReason.STAGE_PROHIBITED in violation.decision.reasons
    assert closed.exit_time == T0 + timedelta(minutes=15) and closed.dwell == timedelta(minutes=12)
    assert closed.had_violation and closed.ended_by is EndReason.LEFT_ZONE
    assert state.visit.status is VisitStatus.OUTSIDE and not state.violating


def test_a_china_iv_machine_on_the_same_track_visits_but_opens_nothing():
    _, actions = advance_presence(START, track("ooo" + "i" * 12 + "ooo"), NEW_LOADER, RULES)
    assert kinds(actions) == ["VisitOpened", "VisitClosed"]
    assert not actions[0].barred and actions[0].decision.reasons == (PresenceReason.STAGE_PERMITTED,)
    assert not actions[1].had_violation


@pytest.mark.parametrize("pattern", ["ioioioioioioioio", "iioiioiioiioiio", "oiiooiioiiooii"])
def test_jitter_along_the_boundary_opens_nothing(pattern):
    state, actions = advance_presence(START, track(pattern, period=30), OLD_EXCAVATOR, RULES)
    assert actions == () and state.visit.status is VisitStatus.OUTSIDE


def test_a_parked_machine_opens_nothing_until_its_engine_starts():
    observations = track("i" * 8, engine="00000111")
    _, actions = advance_presence(START, observations, OLD_EXCAVATOR, RULES)
    assert kinds(actions) == ["VisitOpened", "ViolationOpened"]
    assert actions[0].decision.reasons == (PresenceReason.ENGINE_OFF,) and actions[0].barred
    assert actions[1].occurred_at == T0 + timedelta(minutes=5)  # the first fix with the engine on
    assert actions[1].evidence == (observations[5].fix,)


def test_a_machine_parked_throughout_opens_no_violation():
    _, actions = advance_presence(START, track("i" * 10 + "ooo", engine="0" * 13), OLD_EXCAVATOR, RULES)
    assert kinds(actions) == ["VisitOpened", "VisitClosed"] and not actions[1].had_violation


def test_unknown_engine_state_counts_as_working_by_default_and_not_when_the_rule_says_so():
    _, actions = advance_presence(START, track("iiii", engine="????"), OLD_EXCAVATOR, RULES)
    assert kinds(actions) == ["VisitOpened", "ViolationOpened"]
    lenient = {"Z1v1": replace(RULES["Z1v1"], unknown_engine_state_is_working=False)}
    _, actions = advance_presence(START, track("iiii", engine="????"), OLD_EXCAVATOR, lenient)
    assert kinds(actions) == ["VisitOpened"]


def test_the_rule_of_the_version_in_force_decides():
    _, actions = advance_presence(START, track("iiii", version="Z1v2"), OLD_EXCAVATOR, RULES)
    assert kinds(actions) == ["VisitOpened"]
    assert actions[0].decision.reasons == (PresenceReason.EXEMPT_MACHINE_TYPE,) and not actions[0].barred


def test_unknown_stage_is_inferred_from_an_old_production_date():
    machine = Machine("M1", "roller", EmissionStage.UNKNOWN, production_date=date(2008, 5, 1))
    rule = {"Z1v1": ZoneRule(prohibit_unknown_stage=False)}
    _, actions = advance_presence(START, track("iiii"), machine, rule)
    assert PresenceReason.STAGE_INFERRED_FROM_PRODUCTION_DATE in actions[1].decision.reasons


def test_replaying_the_same_fixes_changes_nothing():
    observations = track("ooo" + "i" * 6)
    state, first = advance_presence(START, observations, OLD_EXCAVATOR, RULES)
    again, second = advance_presence(state, observations, OLD_EXCAVATOR, RULES)
    assert kinds(first) == ["VisitOpened", "ViolationOpened"] and second == () and again == state


def test_a_batch_split_anywhere_gives_the_same_actions():
    observations = track("oo" + "i" * 7 + "oooo", engine="1111000111111")
    whole = advance_presence(START, observations, OLD_EXCAVATOR, RULES)
    for cut in range(len(observations)):
        state, head = advance_presence(START, observations[:cut], OLD_EXCAVATOR, RULES)
        state, tail = advance_presence(state, list(reversed(observations[cut:])), OLD_EXCAVATOR, RULES)
        assert (state, head + tail) == whole


def test_a_violation_stays_open_while_the_engine_stops_and_closes_with_the_visit():
    _, actions = advance_presence(START, track("iiiiiiiooo", engine="1110000000"), OLD_EXCAVATOR, RULES)
    assert kinds(actions) == ["VisitOpened", "ViolationOpened", "VisitClosed"] and actions[2].had_violation


def test_a_second_visit_opens_a_second_violation():
    _, actions = advance_presence(START, track("iiiooo" + "iiiooo"), OLD_EXCAVATOR, RULES)
    assert kinds(actions) == ["VisitOpened", "ViolationOpened", "VisitClosed"] * 2


def test_silence_closes_the_visit_and_its_violation():
    state, _ = advance_presence(START, track("iiii"), OLD_EXCAVATOR, RULES)
    last = T0 + timedelta(minutes=3)
    assert close_silent_presence(state, last + timedelta(minutes=30)) == (state, ())
    closed, actions = close_silent_presence(state, last + timedelta(minutes=31))
    assert kinds(actions) == ["VisitClosed"] and actions[0].ended_by is EndReason.SIGNAL_LOST
    assert actions[0].had_violation and actions[0].exit_time == last and not closed.violating


def test_an_observation_naming_a_version_without_a_rule_is_refused():
    with pytest.raises(PresenceError):
        advance_presence(START, track("i", version="nope"), OLD_EXCAVATOR, RULES)


def test_inaccurate_fixes_are_neither_counted_nor_judged():
    bad = [Observation(replace(o.fix, hdop=9.0), o.version) for o in track("iiiiii")]
    state, actions = advance_presence(START, bad, OLD_EXCAVATOR, RULES, ConfirmationRule())
    assert actions == () and state == START

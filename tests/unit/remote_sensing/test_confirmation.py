"""High-emitter confirmation (doc 1.6): same pollutant, same plate + colour, 2 within 183 days."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mobsrc.registry.identifiers import PlateColour
from mobsrc.remote_sensing.confirmation import (
    NOT_CONFIRMED,
    ConfirmationInputError,
    JudgedReading,
    VehicleKey,
    confirm_high_emitter,
    find_confirmations,
)
from mobsrc.remote_sensing.judgement import judge_reading
from mobsrc.remote_sensing.limits import DEFAULT_LIMITS, Fuel, Pollutant
from mobsrc.remote_sensing.verdicts import Outcome

from .factories import make_reading

RULE = DEFAULT_LIMITS.confirmation
NON_CONSECUTIVE = replace(RULE, require_consecutive=False)
VEHICLE = VehicleKey("贵A12345", PlateColour.YELLOW)
T0 = datetime(2025, 1, 10, 3, 0, tzinfo=UTC)
OPACITY, NO = Pollutant.OPACITY, Pollutant.NO


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def exceeds(reading_id, days, *pollutants, plate="贵A12345", colour=PlateColour.YELLOW, passed=()):
    return JudgedReading(
        reading_id, at(days), plate, colour, Outcome.EXCEED,
        frozenset(pollutants or (OPACITY,)), frozenset(passed),
    )


def passes(reading_id, days, *pollutants):
    return JudgedReading(
        reading_id, at(days), VEHICLE.plate, VEHICLE.colour, Outcome.PASS,
        frozenset(), frozenset(pollutants or (OPACITY, NO)),
    )


def unjudged(reading_id, days, outcome):
    return JudgedReading(reading_id, at(days), VEHICLE.plate, VEHICLE.colour, outcome)


def confirmed_ids(history, rule=RULE):
    return confirm_high_emitter(VEHICLE, history, rule).reading_ids


# --- the window --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("second_after", "confirmed"),
    [
        (timedelta(minutes=5), True),
        (timedelta(days=1), True),
        (timedelta(days=182, hours=23), True),
        (timedelta(days=183), True),
        (timedelta(days=183, seconds=1), False),
        (timedelta(days=365), False),
    ],
)
def test_two_exceedances_confirm_only_within_183_days(second_after, confirmed):
    first = exceeds("r1", 0)
    second = replace(exceeds("r2", 0), measured_at=T0 + second_after)
    decision = confirm_high_emitter(VEHICLE, [first, second], RULE)
    assert decision.confirmed is confirmed


def test_window_slides_to_the_latest_exceedances():
    decision = confirm_high_emitter(VEHICLE, [exceeds("r1", 0), exceeds("r2", 200), exceeds("r3", 250)], RULE)
    assert decision.reading_ids == ("r2", "r3")
    assert (decision.window_start, decision.window_end) == (at(250) - timedelta(days=183), at(250))
    assert decision.pollutant == OPACITY


def test_single_exceedance_does_not_confirm():
    assert confirm_high_emitter(VEHICLE, [exceeds("r1", 0)], RULE) == NOT_CONFIRMED


def test_min_exceedances_is_configurable():
    history = [exceeds("r1", 0), exceeds("r2", 10)]
    three = replace(RULE, min_exceedances=3)
    assert not confirm_high_emitter(VEHICLE, history, three).confirmed
    assert confirmed_ids(history + [exceeds("r3", 20)], three) == ("r1", "r2", "r3")


# --- consecutive or not --------------------------------------------------------------------

def test_intervening_pass_of_same_pollutant_resets_consecutive_count():
    history = [exceeds("r1", 0), passes("r2", 5, OPACITY), exceeds("r3", 10)]
    assert confirmed_ids(history) == ()


def test_intervening_pass_does_not_reset_in_non_consecutive_mode():
    history = [exceeds("r1", 0), passes("r2", 5, OPACITY), exceeds("r3", 10)]
    assert confirmed_ids(history, NON_CONSECUTIVE) == ("r1", "r3")


def test_pass_of_another_pollutant_does_not_reset_the_run():
    history = [exceeds("r1", 0), passes("r2", 5, NO), exceeds("r3", 10)]
    assert confirmed_ids(history) == ("r1", "r3")


def test_reading_that_exceeds_one_pollutant_and_passes_another_resets_only_the_other():
    history = [
        exceeds("r1", 0, NO),
        exceeds("r2", 5, OPACITY, passed=(NO,)),
        exceeds("r3", 10, NO),
        exceeds("r4", 15, OPACITY),
    ]
    decisions = find_confirmations(VEHICLE, history, RULE)
    assert [(d.pollutant, d.reading_ids) for d in decisions] == [(OPACITY, ("r2", "r4"))]


def test_different_pollutants_are_not_combined():
    assert confirmed_ids([exceeds("r1", 0, OPACITY), exceeds("r2", 1, NO)]) == ()


# --- what never counts -------------------------------------------------------------------------

@pytest.mark.parametrize("outcome", [Outcome.INVALID, Outcome.NOT_JUDGED])
def test_invalid_and_not_judged_readings_neither_count_nor_reset(outcome):
    assert confirmed_ids([exceeds("r1", 0), unjudged("r2", 1, outcome)]) == ()
    history = [exceeds("r1", 0), unjudged("r2", 1, outcome), exceeds("r3", 2)]
    assert confirmed_ids(history) == ("r1", "r3")


@pytest.mark.parametrize(
    "other",
    [
        {"colour": PlateColour.BLUE},
        {"plate": "贵A12346"},
        {"plate": None},
        {"colour": None},
    ],
)
def test_readings_of_another_plate_or_colour_are_not_combined(other):
    assert confirmed_ids([exceeds("r1", 0), exceeds("r2", 1, **other)]) == ()


def test_same_reading_given_twice_counts_once():
    assert confirmed_ids([exceeds("r1", 0), exceeds("r1", 0)]) == ()


def test_one_reading_id_with_two_contents_is_malformed():
    with pytest.raises(ConfirmationInputError):
        find_confirmations(VEHICLE, [exceeds("r1", 0), exceeds("r1", 1)], RULE)


# --- repeated confirmations, ties, idempotence ----------------------------------------------

def test_run_starts_afresh_after_a_confirmation():
    history = [exceeds(f"r{i}", i) for i in range(1, 6)]
    decisions = find_confirmations(VEHICLE, history, RULE)
    assert [d.reading_ids for d in decisions] == [("r1", "r2"), ("r3", "r4")]
    assert confirmed_ids(history) == ("r3", "r4")


def test_ties_on_identical_timestamps_are_ordered_by_reading_id():
    pass_first = [exceeds("r1", 0), passes("r2a", 1, OPACITY), exceeds("r2b", 1)]
    exceed_first = [exceeds("r1", 0), exceeds("r2a", 1), passes("r2b", 1, OPACITY)]
    assert confirmed_ids(pass_first) == ()
    assert confirmed_ids(exceed_first) == ("r1", "r2a")


def test_simultaneous_confirmations_are_ordered_by_pollutant():
    history = [exceeds("r1", 0, OPACITY, NO), exceeds("r2", 1, OPACITY, NO)]
    decisions = find_confirmations(VEHICLE, history, RULE)
    assert [d.pollutant for d in decisions] == [OPACITY, NO]
    assert confirm_high_emitter(VEHICLE, history, RULE).pollutant == NO


DAYS = st.integers(min_value=0, max_value=600)
ENTRY = st.tuples(DAYS, st.sampled_from(["exceed_opacity", "exceed_no", "pass", "invalid"]))


def build_history(entries):
    makers = {
        "exceed_opacity": lambda rid, day: exceeds(rid, day, OPACITY),
        "exceed_no": lambda rid, day: exceeds(rid, day, NO),
        "pass": lambda rid, day: passes(rid, day, OPACITY),
        "invalid": lambda rid, day: unjudged(rid, day, Outcome.INVALID),
    }
    return [makers[kind](f"r{index:03d}", day) for index, (day, kind) in enumerate(entries)]


@given(st.lists(ENTRY, max_size=30), st.randoms(use_true_random=False), st.booleans())
def test_decision_does_not_depend_on_input_order(entries, random, consecutive):
    rule = replace(RULE, require_consecutive=consecutive)
    history = build_history(entries)
    shuffled = random.sample(history, len(history))
    assert find_confirmations(VEHICLE, shuffled, rule) == find_confirmations(VEHICLE, history, rule)


@given(st.lists(ENTRY, max_size=30))
def test_removing_invalid_readings_changes_nothing(entries):
    history = build_history(entries)
    valid_only = [reading for reading in history if reading.outcome != Outcome.INVALID]
    assert find_confirmations(VEHICLE, valid_only, RULE) == find_confirmations(VEHICLE, history, RULE)


@given(st.lists(ENTRY, max_size=30))
def test_every_confirmation_is_same_pollutant_exceedances_within_the_window(entries):
    for decision in find_confirmations(VEHICLE, build_history(entries), NON_CONSECUTIVE):
        times = [reading.measured_at for reading in decision.readings]
        assert len(decision.readings) == RULE.min_exceedances
        assert times == sorted(times) and times[-1] - times[0] <= RULE.window
        assert all(decision.pollutant in reading.exceeded for reading in decision.readings)


# --- inputs -------------------------------------------------------------------------------

def test_judged_reading_is_built_from_a_verdict():
    readings = [make_reading(measured_at=at(day), opacity_pct=45.0, no_ppm=100.0) for day in (0, 30)]
    history = [
        JudgedReading.from_verdict(f"r{i}", reading, judge_reading(reading, Fuel.DIESEL, DEFAULT_LIMITS, True))
        for i, reading in enumerate(readings)
    ]
    assert history[0].passed == {Pollutant.RINGELMANN, NO}
    assert confirm_high_emitter(VEHICLE, history, RULE).reading_ids == ("r0", "r1")


@pytest.mark.parametrize(
    ("outcome", "exceeded", "passed"),
    [
        (Outcome.EXCEED, frozenset(), frozenset()),
        (Outcome.PASS, frozenset({OPACITY}), frozenset()),
        (Outcome.INVALID, frozenset({OPACITY}), frozenset()),
        (Outcome.INVALID, frozenset(), frozenset({OPACITY})),
        (Outcome.EXCEED, frozenset({OPACITY}), frozenset({OPACITY})),
    ],
)
def test_contradictory_judged_reading_is_malformed(outcome, exceeded, passed):
    with pytest.raises(ConfirmationInputError):
        JudgedReading("r1", T0, VEHICLE.plate, VEHICLE.colour, outcome, exceeded, passed)


def test_naive_timestamp_is_malformed():
    with pytest.raises(ConfirmationInputError):
        JudgedReading("r1", datetime(2025, 1, 1), VEHICLE.plate, VEHICLE.colour, Outcome.PASS)


def test_vehicle_key_needs_a_plate():
    with pytest.raises(ConfirmationInputError):
        VehicleKey(" ", PlateColour.YELLOW)

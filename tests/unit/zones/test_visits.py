"""Visit confirmation: jitter never flips, real entries and exits do, replays change nothing."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mobsrc.zones.engine import ZoneIndex, ZoneRecord
from mobsrc.zones.fixes import PositionFix
from mobsrc.zones.visits import (
    ConfirmationRule,
    EndReason,
    VisitConfirmed,
    VisitEnded,
    VisitError,
    VisitState,
    VisitStatus,
    advance_visit,
    advance_visit_many,
    end_visit_on_silence,
)
from tests.unit.zones import shapes

T0 = datetime(2025, 3, 1, 1, 0, tzinfo=UTC)
START = VisitState("M1", "Z1")


def fix(second, lon=106.65, lat=26.51, **extra):
    return PositionFix("M1", T0 + timedelta(seconds=second), lon, lat, **extra)


def observations(pattern, period=60, start=0):
    """'o' outside, 'i' inside, one fix per `period` seconds."""
    return [(fix(start + k * period), c == "i") for k, c in enumerate(pattern)]


def run(pattern, period=60, rule=ConfirmationRule(), state=START):
    return advance_visit_many(state, observations(pattern, period), rule)


# ---------------------------------------------------------------- confirmation rule


@pytest.mark.parametrize(("pattern", "period", "status", "event_types"), [
    pytest.param("ooooo", 60, VisitStatus.OUTSIDE, [], id="always-outside"),
    pytest.param("ii", 60, VisitStatus.OUTSIDE, [], id="two-inside-fixes-too-few"),
    pytest.param("iii", 60, VisitStatus.INSIDE, [VisitConfirmed], id="three-fixes-over-120-s"),
    pytest.param("iii", 59, VisitStatus.OUTSIDE, [], id="three-fixes-over-118-s-too-short"),
    pytest.param("iiiiiiiiiiiii", 10, VisitStatus.INSIDE, [VisitConfirmed], id="13-fixes-at-10-s"),
    pytest.param("iiiiiiiiiiii", 10, VisitStatus.OUTSIDE, [], id="12-fixes-at-10-s-span-110-s"),
    pytest.param("iioiioiioiio", 60, VisitStatus.OUTSIDE, [], id="jitter-runs-of-two"),
    pytest.param("ioioioioioio", 5, VisitStatus.OUTSIDE, [], id="jitter-alternating"),
    pytest.param("iiiiooiiiiiooi", 60, VisitStatus.INSIDE, [VisitConfirmed], id="inside-with-jitter-out"),
    pytest.param("iiiooo", 60, VisitStatus.OUTSIDE, [VisitConfirmed, VisitEnded], id="enter-then-leave"),
])
def test_confirmation_table(pattern, period, status, event_types):
    state, events = run(pattern, period)
    assert state.status is status
    assert [type(e) for e in events] == event_types


def test_entry_dwell_exit_reports_first_fix_of_each_confirming_run():
    state, events = run("oooooiiiiiiiiiiooooo")
    confirmed, ended = events
    assert confirmed.entry_time == T0 + timedelta(seconds=300)
    assert confirmed.confirmed_at == T0 + timedelta(seconds=420)
    assert [f.fix_time for f in confirmed.evidence] == [T0 + timedelta(seconds=s) for s in (300, 360, 420)]
    assert ended.exit_time == T0 + timedelta(seconds=900)
    assert ended.dwell == timedelta(seconds=600)
    assert ended.ended_by is EndReason.LEFT_ZONE
    assert state == VisitState("M1", "Z1", VisitStatus.OUTSIDE, T0 + timedelta(seconds=1140))


def test_gap_longer_than_max_gap_restarts_the_run():
    obs = [(fix(0), True), (fix(60), True), (fix(60 + 301), True), (fix(60 + 361), True)]
    state, events = advance_visit_many(START, obs)
    assert events == () and state.run_length == 2


def test_poor_accuracy_fix_neither_extends_nor_breaks_a_run():
    obs = [(fix(0), True), (fix(60), True), (fix(90, hdop=9.0), False), (fix(120), True)]
    state, events = advance_visit_many(START, obs)
    assert [type(e) for e in events] == [VisitConfirmed]
    obs = [(fix(0), True), (fix(60, hdop=9.0), True), (fix(120), True)]
    assert advance_visit_many(START, obs)[1] == ()


def test_evidence_keeps_the_first_and_latest_fixes_only():
    rule = ConfirmationRule(max_evidence=4)
    state, (confirmed,) = run("i" * 25, period=5, rule=rule)
    assert [f.fix_time for f in confirmed.evidence] == [T0 + timedelta(seconds=s) for s in (0, 110, 115, 120)]


def test_custom_rule_is_honoured():
    rule = ConfirmationRule(min_fixes=2, min_span=timedelta(seconds=30))
    assert [type(e) for e in run("ii", period=30, rule=rule)[1]] == [VisitConfirmed]


# ---------------------------------------------------------------- ordering and idempotence


def test_reprocessing_the_same_fixes_changes_nothing():
    obs = observations("oooiiiiioooo")
    state, events = advance_visit_many(START, obs)
    again, more = advance_visit_many(state, obs)
    assert again == state and more == ()


def test_processing_in_two_batches_equals_one_batch():
    obs = observations("ooiiiiiiooooiiioiiii")
    whole = advance_visit_many(START, obs)
    first_state, first_events = advance_visit_many(START, obs[:9])
    second_state, second_events = advance_visit_many(first_state, obs[5:])  # overlapping replay
    assert (second_state, first_events + second_events) == whole


def test_out_of_order_batch_is_processed_in_fix_time_order():
    obs = observations("oooiiiiioooo")
    shuffled = [obs[k] for k in np.random.default_rng(1).permutation(len(obs))]
    assert advance_visit_many(START, shuffled) == advance_visit_many(START, obs)


def test_fix_older_than_the_last_processed_fix_is_ignored():
    state, _ = run("iii")
    late = fix(30)  # between earlier fixes, arriving after them
    assert advance_visit(state, late, False) == (state, ())


def test_fix_of_another_machine_is_malformed():
    with pytest.raises(VisitError):
        advance_visit(START, PositionFix("M2", T0, 106.65, 26.51), True)


_patterns = st.lists(st.tuples(st.integers(1, 200), st.booleans()), min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(_patterns, st.integers(0, 60))
def test_property_any_batch_split_gives_the_same_history(steps, split):
    seconds = np.cumsum([gap for gap, _ in steps])
    obs = [(fix(int(s)), inside) for s, (_, inside) in zip(seconds, steps)]
    whole = advance_visit_many(START, obs)
    head_state, head_events = advance_visit_many(START, obs[:split])
    tail_state, tail_events = advance_visit_many(head_state, obs)
    assert (tail_state, head_events + tail_events) == whole


@settings(max_examples=200, deadline=None)
@given(_patterns)
def test_property_every_flip_is_backed_by_a_confirming_run(steps):
    seconds = np.cumsum([gap for gap, _ in steps])
    obs = [(fix(int(s)), inside) for s, (_, inside) in zip(seconds, steps)]
    _, events = advance_visit_many(START, obs)
    for event in events:
        times = [f.fix_time for f in event.evidence]
        assert len(times) >= 3 and times[-1] - times[0] >= timedelta(seconds=120)
        assert max(b - a for a, b in zip(times, times[1:])) <= timedelta(minutes=5)
    assert all(isinstance(e, VisitConfirmed) == (k % 2 == 0) for k, e in enumerate(events))


# ---------------------------------------------------------------- silence


def test_silent_machine_inside_gets_its_visit_closed_at_the_last_fix():
    state, _ = run("iiii")
    closed, (ended,) = end_visit_on_silence(state, T0 + timedelta(seconds=180 + 1801))
    assert ended.ended_by is EndReason.SIGNAL_LOST
    assert ended.exit_time == T0 + timedelta(seconds=180)
    assert closed.status is VisitStatus.OUTSIDE


def test_short_silence_keeps_the_visit_open():
    state, _ = run("iiii")
    assert end_visit_on_silence(state, T0 + timedelta(seconds=180 + 1800)) == (state, ())


# ---------------------------------------------------------------- with the engine on real geometry


@pytest.fixture(scope="module")
def square_index():
    return ZoneIndex.build([ZoneRecord("Z1", 1, shapes.SQUARE_WITH_HOLE)])


def located_track(index, lons, lats, period):
    fixes = [fix(k * period, lon, lat) for k, (lon, lat) in enumerate(zip(lons, lats))]
    times = np.array([f.fix_time.replace(tzinfo=None) for f in fixes], dtype="datetime64[us]")
    inside = np.zeros(len(fixes), bool)
    inside[index.locate(lons, lats, times).point_index] = True
    return list(zip(fixes, inside.tolist()))


def test_jitter_track_along_the_east_edge_opens_no_visit(square_index):
    # 30 minutes at 10 s along lon 106.70 with +-5 m east-west scatter, at most two in a row inside.
    n = 180
    offsets = np.tile([-5e-5, -3e-5, 4e-5, 5e-5, -2e-5, 3e-5], n // 6)
    lats = np.linspace(26.52, 26.58, n)
    track = located_track(square_index, 106.70 + offsets, lats, period=10)
    assert 0 < sum(inside for _, inside in track) < n  # it really straddles the boundary
    state, events = advance_visit_many(START, track)
    assert events == () and state.status is VisitStatus.OUTSIDE


def test_real_entry_dwell_exit_track_opens_and_closes_exactly_one_visit(square_index):
    # Drive west to east through the square's southern strip: 2 km outside, 9 km inside, out.
    lons = np.linspace(106.58, 106.72, 141)
    lats = np.full_like(lons, 26.51)
    track = located_track(square_index, lons, lats, period=30)
    state, events = advance_visit_many(START, track)
    confirmed, ended = events
    first_inside = next(f for f, inside in track if inside)
    assert confirmed.entry_time == first_inside.fix_time
    assert ended.exit_time == next(f for f, inside in track if f.fix_time > confirmed.entry_time and not inside).fix_time
    assert state.status is VisitStatus.OUTSIDE

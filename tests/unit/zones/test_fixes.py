"""Screening of position fixes: every fix answered, rejections and flags per the table."""

from datetime import UTC, datetime, timedelta

import pytest

from mobsrc.zones.fixes import (
    Accepted,
    AccuracyLimits,
    FixError,
    FixFlag,
    PositionFix,
    Rejected,
    RejectReason,
    ScreeningPolicy,
    is_plausible_move,
    screen_fixes,
)

NOW = datetime(2025, 3, 1, 4, 0, tzinfo=UTC)
GUIYANG = (106.7135, 26.5783)


def fix(seconds_before_now=0.0, lon=GUIYANG[0], lat=GUIYANG[1], machine="M1", **extra):
    return PositionFix(machine, NOW - timedelta(seconds=seconds_before_now), lon, lat, **extra)


def screen(*fixes, **kwargs):
    return screen_fixes(list(fixes), now=NOW, **kwargs).outcomes


REJECTIONS = [
    pytest.param(fix(lon=float("nan")), RejectReason.INVALID_COORDINATE, id="nan"),
    pytest.param(fix(lon=181.0), RejectReason.INVALID_COORDINATE, id="lon-beyond-180"),
    pytest.param(fix(lat=-91.0), RejectReason.INVALID_COORDINATE, id="lat-beyond-90"),
    pytest.param(fix(lon=0.0, lat=0.0), RejectReason.ZERO_POSITION, id="zero-zero"),
    pytest.param(fix(lon=2.35, lat=48.85), RejectReason.OUT_OF_CHINA, id="paris"),
    pytest.param(fix(lon=-106.7135), RejectReason.OUT_OF_CHINA, id="western-hemisphere-sign-lost"),
    pytest.param(fix(-5 * 60 - 1), RejectReason.FUTURE_FIX, id="future-beyond-5-min"),
    pytest.param(fix(7 * 86_400 + 1), RejectReason.TOO_OLD, id="older-than-7-days"),
]


@pytest.mark.parametrize(("position_fix", "reason"), REJECTIONS)
def test_fix_is_rejected_with_its_reason(position_fix, reason):
    assert screen(position_fix) == (Rejected(position_fix, reason),)


@pytest.mark.parametrize("position_fix", [
    pytest.param(fix(-5 * 60), id="future-within-tolerance"),
    pytest.param(fix(7 * 86_400), id="exactly-7-days-old"),
    pytest.param(fix(lon=72.004, lat=30.0), id="west-edge-of-china-rectangle"),
])
def test_fix_at_the_limits_is_accepted(position_fix):
    [outcome] = screen(position_fix)
    assert isinstance(outcome, Accepted)


def test_taiwan_fix_is_rejected_only_with_the_strict_china_check():
    taipei = fix(lon=121.56, lat=25.03)
    assert isinstance(screen(taipei)[0], Accepted)
    strict = ScreeningPolicy(strict_china_check=True)
    assert screen(taipei, policy=strict)[0].reason is RejectReason.OUT_OF_CHINA


FLAGS = [
    pytest.param(fix(position_valid=False), {FixFlag.POSITION_NOT_CURRENT}, False, id="position-not-current"),
    pytest.param(fix(hdop=5.1), {FixFlag.POOR_ACCURACY}, False, id="hdop-above-5"),
    pytest.param(fix(hdop=5.0), set(), True, id="hdop-5-accepted"),
    pytest.param(fix(accuracy_m=31.0), {FixFlag.POOR_ACCURACY}, False, id="accuracy-above-30-m"),
    pytest.param(fix(hdop=float("nan")), {FixFlag.POOR_ACCURACY}, False, id="hdop-nan"),
    pytest.param(fix(hdop=None, accuracy_m=None), set(), True, id="accuracy-unknown-accepted"),
    pytest.param(fix(11 * 60), {FixFlag.LATE}, True, id="late-resend-still-used"),
]


@pytest.mark.parametrize(("position_fix", "flags", "usable"), FLAGS)
def test_accepted_fix_flags_and_geofence_use(position_fix, flags, usable):
    [outcome] = screen(position_fix)
    assert outcome == Accepted(position_fix, frozenset(flags))
    assert outcome.usable_for_geofence is usable


def test_identical_fix_twice_in_a_batch_is_a_duplicate():
    first, again = fix(10), fix(10)
    assert [type(o) for o in screen(first, again)] == [Accepted, Rejected]
    assert screen(first, again)[1].reason is RejectReason.DUPLICATE


def test_same_time_other_place_is_a_conflicting_duplicate_and_first_wins():
    first, other = fix(10), fix(10, lon=GUIYANG[0] + 0.001)
    outcomes = screen(first, other)
    assert outcomes == (Accepted(first), Rejected(other, RejectReason.CONFLICTING_DUPLICATE))


def test_fix_equal_to_the_stored_reference_is_a_duplicate():
    stored = fix(30)
    assert screen(fix(30), references={"M1": stored})[0].reason is RejectReason.DUPLICATE


def test_same_time_for_two_machines_is_not_a_duplicate():
    assert all(isinstance(o, Accepted) for o in screen(fix(10, machine="M1"), fix(10, machine="M2")))


def test_jump_faster_than_150_kmh_is_flagged_and_excluded_from_geofencing():
    reference = fix(60)
    far = fix(0, lat=GUIYANG[1] + 0.05)  # ~5.6 km in 60 s = 333 km/h
    [outcome] = screen(far, references={"M1": reference})
    assert outcome.flags == {FixFlag.IMPLAUSIBLE_JUMP} and not outcome.usable_for_geofence


def test_move_at_truck_speed_is_plausible():
    reference = fix(60)
    hauled = fix(0, lat=GUIYANG[1] + 0.015)  # ~1.67 km in 60 s = 100 km/h
    assert screen(hauled, references={"M1": reference})[0].flags == frozenset()


def test_gnss_scatter_within_the_noise_allowance_is_not_a_jump():
    reference = fix(1)
    scattered = fix(0, lat=GUIYANG[1] + 0.0004)  # ~44 m in 1 s
    assert screen(scattered, references={"M1": reference})[0].flags == frozenset()


def test_single_outlier_does_not_move_the_reference():
    reference = fix(120)
    outlier, back_home = fix(60, lat=GUIYANG[1] + 0.5), fix(0, lat=GUIYANG[1] + 0.0001)
    result = screen_fixes([outlier, back_home], now=NOW, references={"M1": reference})
    assert [o.flags for o in result.outcomes] == [{FixFlag.IMPLAUSIBLE_JUMP}, frozenset()]
    assert result.references["M1"] == back_home


def test_two_consistent_fixes_after_a_jump_re_anchor_the_machine():
    reference = fix(3600 * 3)
    moved = GUIYANG[1] + 5.0  # 555 km away: not reachable at 150 km/h in 3 h
    first, second = fix(60, lat=moved), fix(0, lat=moved + 0.0002)
    result = screen_fixes([first, second], now=NOW, references={"M1": reference})
    assert [o.flags for o in result.outcomes] == [{FixFlag.IMPLAUSIBLE_JUMP}, frozenset()]
    assert result.references["M1"] == second


def test_batch_is_screened_in_time_order_whatever_the_arrival_order():
    start, middle, end = fix(120), fix(60, lat=GUIYANG[1] + 0.001), fix(0, lat=GUIYANG[1] + 0.002)
    result = screen_fixes([end, start, middle], now=NOW)
    assert all(o.flags == frozenset() for o in result.outcomes)
    assert [o.fix for o in result.outcomes] == [end, start, middle]
    assert result.references["M1"] == end


def test_late_fix_does_not_move_the_reference_back_in_time():
    newest = fix(0)
    result = screen_fixes([fix(3600, lat=GUIYANG[1] + 0.001)], now=NOW, references={"M1": newest})
    assert result.references["M1"] == newest


def test_poor_accuracy_fix_neither_tests_nor_moves_the_reference():
    reference = fix(60)
    poor = fix(30, lat=GUIYANG[1] + 1.0, hdop=20.0)
    result = screen_fixes([poor], now=NOW, references={"M1": reference})
    assert result.outcomes[0].flags == {FixFlag.POOR_ACCURACY}
    assert result.references["M1"] == reference


def test_every_fix_gets_exactly_one_outcome_in_input_order():
    batch = [fix(30), fix(lon=0.0, lat=0.0), fix(30), fix(20, machine="M2"), fix(-3600)]
    outcomes = screen(*batch)
    assert [o.fix for o in outcomes] == batch
    assert [type(o).__name__ for o in outcomes] == ["Accepted", "Rejected", "Rejected", "Accepted", "Rejected"]


def test_custom_limits_are_honoured():
    policy = ScreeningPolicy(accuracy=AccuracyLimits(max_hdop=2.0), max_speed_kmh=30.0, jump_noise_m=0.0)
    reference = fix(60)
    assert screen(fix(0, hdop=2.5), policy=policy)[0].flags == {FixFlag.POOR_ACCURACY}
    assert not is_plausible_move(reference, fix(0, lat=GUIYANG[1] + 0.006), policy)  # ~667 m/min = 40 km/h


def test_naive_fix_time_is_malformed():
    with pytest.raises(FixError):
        PositionFix("M1", datetime(2025, 3, 1, 12), *GUIYANG)


def test_naive_now_is_malformed():
    with pytest.raises(FixError):
        screen_fixes([fix()], now=datetime(2025, 3, 1, 12))

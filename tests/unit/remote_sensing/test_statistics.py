"""Per-station, per-day statistics with Asia/Shanghai day boundaries (doc 1.7, 6.4)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from mobsrc.remote_sensing.statistics import StationDay, local_day, summarise_station_days
from mobsrc.remote_sensing.verdicts import Outcome

UTC = UTC


@pytest.mark.parametrize(
    ("measured_at", "day"),
    [
        (datetime(2025, 1, 1, 15, 59, 59, tzinfo=UTC), date(2025, 1, 1)),
        (datetime(2025, 1, 1, 16, 0, 0, tzinfo=UTC), date(2025, 1, 2)),
        (datetime(2024, 12, 31, 16, 0, 0, tzinfo=UTC), date(2025, 1, 1)),
        (datetime(2025, 1, 2, 0, 0, tzinfo=ZoneInfo("Asia/Shanghai")), date(2025, 1, 2)),
        (datetime(2025, 1, 1, 23, 30, tzinfo=timezone(timedelta(hours=-5))), date(2025, 1, 2)),
    ],
)
def test_day_is_the_asia_shanghai_calendar_day(measured_at, day):
    assert local_day(measured_at) == day


def test_readings_either_side_of_local_midnight_fall_on_different_days():
    rows = [
        ("S1", datetime(2025, 1, 1, 15, 59, 59, tzinfo=UTC), Outcome.EXCEED, True),
        ("S1", datetime(2025, 1, 1, 16, 0, 0, tzinfo=UTC), Outcome.PASS, True),
    ]
    days = summarise_station_days(rows)
    assert [(d.day, d.exceeded) for d in days] == [(date(2025, 1, 1), 1), (date(2025, 1, 2), 0)]


def test_rates_exclude_invalid_and_not_judged_readings_from_exceedance_denominator():
    when = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)
    rows = [
        ("S1", when, Outcome.PASS, True),
        ("S1", when, Outcome.PASS, True),
        ("S1", when, Outcome.EXCEED, True),
        ("S1", when, Outcome.NOT_JUDGED, False),
        ("S1", when, Outcome.INVALID, True),
    ]
    (day,) = summarise_station_days(rows)
    assert (day.readings, day.valid, day.judged, day.exceeded, day.matched) == (5, 4, 3, 1, 4)
    assert (day.valid_rate, day.exceedance_rate, day.matched_rate) == (0.8, 1 / 3, 0.8)


def test_day_with_only_invalid_readings_has_no_exceedance_rate():
    rows = [("S1", datetime(2025, 3, 1, tzinfo=UTC), Outcome.INVALID, False)]
    (day,) = summarise_station_days(rows)
    assert (day.valid_rate, day.exceedance_rate, day.matched_rate) == (0.0, None, 0.0)


def test_results_are_per_station_and_ordered_by_station_then_day():
    rows = [
        ("S2", datetime(2025, 3, 2, tzinfo=UTC), "pass", True),
        ("S1", datetime(2025, 3, 2, tzinfo=UTC), "exceed", True),
        ("S1", datetime(2025, 3, 1, tzinfo=UTC), "invalid", False),
    ]
    days = summarise_station_days(rows)
    assert [(d.station, d.day) for d in days] == [
        ("S1", date(2025, 3, 1)), ("S1", date(2025, 3, 2)), ("S2", date(2025, 3, 2)),
    ]


def test_no_rows_give_no_days_and_empty_day_has_no_rates():
    assert summarise_station_days([]) == ()
    empty = StationDay("S1", date(2025, 3, 1), 0, 0, 0, 0, 0)
    assert (empty.valid_rate, empty.exceedance_rate, empty.matched_rate) == (None, None, None)


def test_naive_timestamp_is_refused():
    with pytest.raises(ValueError):
        summarise_station_days([("S1", datetime(2025, 3, 1), Outcome.PASS, True)])


def test_unknown_outcome_is_refused():
    with pytest.raises(ValueError):
        summarise_station_days([("S1", datetime(2025, 3, 1, tzinfo=UTC), "maybe", True)])


def test_pending_readings_count_as_readings_but_not_in_the_rates():
    when = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)
    rows = [("S1", when, Outcome.PASS, True, False), ("S1", when, Outcome.EXCEED, False, True),
            ("S1", when, None, False, False), ("S1", when, None, False, False)]
    (day,) = summarise_station_days(rows)
    assert (day.readings, day.pending, day.assessed, day.black_smoke) == (4, 2, 2, 1)
    assert (day.valid_rate, day.exceedance_rate, day.matched_rate) == (1.0, 0.5, 0.5)

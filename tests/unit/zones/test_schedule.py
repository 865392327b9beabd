"""When zones are in force: effective dates, Asia/Shanghai daily windows, alert days."""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from mobsrc.zones.engine import ZoneIndex, ZoneRecord
from mobsrc.zones.schedule import (
    DailyWindow,
    ScheduleError,
    ScheduleTable,
    epoch_us,
    epoch_us_array,
    is_zone_active,
)
from tests.unit.zones import shapes

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAYTIME = DailyWindow(time(7, 0), time(19, 0))
OVERNIGHT = DailyWindow(time(22, 0), time(6, 0))


@dataclass(frozen=True)
class Zone:
    effective_from: datetime | None = None
    effective_until: datetime | None = None
    daily_windows: tuple = ()
    alert_days_only: bool = False


def local(day, hour, minute=0, second=0):
    return datetime(2025, 3, day, hour, minute, second, tzinfo=SHANGHAI)


# (zone, local instant, alert day, expected)
ACTIVITY_TABLE = [
    pytest.param(Zone(), local(1, 12), False, True, id="no-schedule-always"),
    pytest.param(Zone(effective_from=local(2, 0)), local(1, 23, 59, 59), False, False, id="before-effective-from"),
    pytest.param(Zone(effective_from=local(2, 0)), local(2, 0), False, True, id="at-effective-from-inclusive"),
    pytest.param(Zone(effective_until=local(2, 0)), local(1, 23, 59, 59), False, True, id="before-until"),
    pytest.param(Zone(effective_until=local(2, 0)), local(2, 0), False, False, id="at-until-exclusive"),
    pytest.param(Zone(daily_windows=(DAYTIME,)), local(1, 6, 59, 59), False, False, id="day-window-before-start"),
    pytest.param(Zone(daily_windows=(DAYTIME,)), local(1, 7), False, True, id="day-window-start-inclusive"),
    pytest.param(Zone(daily_windows=(DAYTIME,)), local(1, 18, 59, 59), False, True, id="day-window-last-second"),
    pytest.param(Zone(daily_windows=(DAYTIME,)), local(1, 19), False, False, id="day-window-end-exclusive"),
    pytest.param(Zone(daily_windows=(OVERNIGHT,)), local(1, 23), False, True, id="overnight-before-midnight"),
    pytest.param(Zone(daily_windows=(OVERNIGHT,)), local(2, 0), False, True, id="overnight-at-midnight"),
    pytest.param(Zone(daily_windows=(OVERNIGHT,)), local(2, 5, 59), False, True, id="overnight-after-midnight"),
    pytest.param(Zone(daily_windows=(OVERNIGHT,)), local(2, 6), False, False, id="overnight-end-exclusive"),
    pytest.param(Zone(daily_windows=(OVERNIGHT,)), local(2, 12), False, False, id="overnight-noon"),
    pytest.param(Zone(daily_windows=(OVERNIGHT,)), local(2, 21, 59), False, False, id="overnight-before-start"),
    pytest.param(Zone(daily_windows=(DAYTIME, OVERNIGHT)), local(1, 20), False, False, id="two-windows-gap"),
    pytest.param(Zone(daily_windows=(DAYTIME, OVERNIGHT)), local(1, 3), False, True, id="two-windows-second"),
    pytest.param(Zone(alert_days_only=True), local(1, 12), False, False, id="alert-zone-normal-day"),
    pytest.param(Zone(alert_days_only=True), local(1, 12), True, True, id="alert-zone-alert-day"),
    pytest.param(Zone(daily_windows=(DAYTIME,)), datetime(2025, 3, 1, 23, 30, tzinfo=UTC), False, True,
                 id="utc-2330-is-0730-in-guiyang"),
    pytest.param(Zone(daily_windows=(DAYTIME,)), datetime(2025, 3, 1, 12, 0, tzinfo=UTC), False, False,
                 id="utc-noon-is-2000-in-guiyang"),
]


@pytest.mark.parametrize(("zone", "at", "alert_day", "expected"), ACTIVITY_TABLE)
def test_zone_activity_rules(zone, at, alert_day, expected):
    assert is_zone_active(zone, at, alert_day) is expected


@pytest.mark.parametrize(("zone", "at", "alert_day", "expected"), ACTIVITY_TABLE)
def test_vectorised_activity_equals_scalar_activity(zone, at, alert_day, expected):
    table = ScheduleTable([zone])
    t_us = np.array([epoch_us(at)], np.int64)
    assert bool(table.active_pairs(np.array([0]), t_us, alert_day)[0]) is expected


def test_random_instants_vectorised_equals_scalar():
    zones = [Zone(daily_windows=(DAYTIME,)), Zone(daily_windows=(OVERNIGHT, DailyWindow(time(12), time(13)))),
             Zone(effective_from=local(3, 8), effective_until=local(9, 17)), Zone(alert_days_only=True)]
    table = ScheduleTable(zones)
    rng = np.random.default_rng(4)
    base = epoch_us(local(1, 0))
    t_us = base + rng.integers(0, 14 * 86_400, 2_000) * 1_000_000
    alert = rng.uniform(size=2_000) < 0.5
    for zone_index, zone in enumerate(zones):
        got = table.active_pairs(np.full(len(t_us), zone_index), t_us, alert)
        want = [is_zone_active(zone, datetime.fromtimestamp(t / 1e6, UTC), a) for t, a in zip(t_us, alert)]
        assert got.tolist() == want


def test_local_time_of_day_follows_dst_where_the_zone_has_it():
    # Asia/Shanghai has no DST since 1991; a zone that has it exercises the per-fix fallback.
    table = ScheduleTable([Zone()], tz=ZoneInfo("Europe/Berlin"))
    winter, summer = datetime(2025, 1, 15, 11, tzinfo=UTC), datetime(2025, 7, 15, 11, tzinfo=UTC)
    t_us = np.array([epoch_us(winter), epoch_us(summer)])
    assert (table.local_time_of_day_us(t_us) // 3_600_000_000).tolist() == [12, 13]


@pytest.mark.parametrize(("start", "end"), [(time(7), time(7)), (time(7, tzinfo=UTC), time(19))])
def test_malformed_daily_windows_are_refused(start, end):
    with pytest.raises(ScheduleError):
        DailyWindow(start, end)


def test_naive_instants_are_refused():
    with pytest.raises(ScheduleError):
        is_zone_active(Zone(), datetime(2025, 3, 1, 12))


def test_epoch_conversions_agree():
    at = datetime(2025, 3, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=8)))
    as_array = epoch_us_array(np.array(["2025-03-01T04:30:15.123456"], dtype="datetime64[us]"))
    assert as_array.tolist() == [epoch_us(at)] == epoch_us_array([at]).tolist()


# ---------------------------------------------------------------- through the engine


@pytest.fixture(scope="module")
def scheduled_index():
    return ZoneIndex.build([
        ZoneRecord("daytime", 1, shapes.SQUARE_WITH_HOLE, daily_windows=(DAYTIME,)),
        ZoneRecord("overnight", 1, shapes.OVERLAPPING_SQUARE, daily_windows=(OVERNIGHT,)),
        ZoneRecord("from-march-2", 1, shapes.TWO_PARTS, effective_from=local(2, 0)),
        ZoneRecord("alert-only", 1, shapes.CONCAVE, alert_days_only=True),
    ])


IN_DAYTIME_AND_OVERNIGHT = (106.69, 26.59)
IN_TWO_PARTS = shapes.POINT_IN_FIRST_PART
IN_CONCAVE = (106.41, 26.41)


@pytest.mark.parametrize(("at", "alert_day", "expected"), [
    (local(1, 12), False, [["daytime"], [], []]),
    (local(1, 23), False, [["overnight"], [], []]),
    (local(2, 5), False, [["overnight"], ["from-march-2"], []]),
    (local(2, 6, 30), True, [[], ["from-march-2"], ["alert-only"]]),
    (local(2, 7), True, [["daytime"], ["from-march-2"], ["alert-only"]]),
])
def test_locate_returns_only_zones_in_force(scheduled_index, at, alert_day, expected):
    points = np.array([IN_DAYTIME_AND_OVERNIGHT, IN_TWO_PARTS, IN_CONCAVE]).T
    assert scheduled_index.locate(*points, at, alert_day).zone_ids_per_point() == expected


def test_per_fix_times_and_alert_flags_are_applied_per_fix(scheduled_index):
    points = np.array([IN_DAYTIME_AND_OVERNIGHT, IN_DAYTIME_AND_OVERNIGHT, IN_TWO_PARTS, IN_TWO_PARTS,
                       IN_CONCAVE, IN_CONCAVE]).T
    times = [local(1, 12), local(1, 23), local(1, 23), local(2, 1), local(1, 12), local(1, 12)]
    alerts = np.array([False, False, False, False, False, True])
    assert scheduled_index.locate(*points, times, alerts).zone_ids_per_point() == [
        ["daytime"], ["overnight"], [], ["from-march-2"], [], ["alert-only"]]


def test_batch_results_equal_one_fix_at_a_time(scheduled_index):
    rng = np.random.default_rng(9)
    n = 3_000
    xs, ys = rng.uniform(106.38, 106.9, n), rng.uniform(26.38, 26.65, n)
    t_us = epoch_us(local(1, 0)) + rng.integers(0, 2 * 86_400, n) * 1_000_000
    alerts = rng.uniform(size=n) < 0.3
    batch = scheduled_index.locate(xs, ys, t_us.astype("datetime64[us]"), alerts).zone_ids_per_point()
    one_by_one = [scheduled_index.locate([x], [y], datetime.fromtimestamp(t / 1e6, UTC), bool(a))
                  .zone_ids_per_point()[0] for x, y, t, a in zip(xs, ys, t_us, alerts)]
    assert batch == one_by_one


def test_active_zones_at_an_instant(scheduled_index):
    assert [z.zone_id for z in scheduled_index.active_zones(local(2, 5))] == ["overnight", "from-march-2"]

"""Daily online rate per vehicle (online_rate.py; definition UNCONFIRMED, parametrised)."""
from datetime import date, timedelta

import pytest

from mobsrc.obd.online_rate import daily_online_rates, fleet_online_rate

from .frames import utc

LOCAL_8AM = utc(2024, 3, 15, 0, 0, 0)          # 08:00 Asia/Shanghai


def every(seconds, start, end):
    t, out = start, []
    while t < end:
        out.append(t)
        t += timedelta(seconds=seconds)
    return out


def test_terminal_sending_every_10_s_for_two_hours_is_fully_online():
    (day,) = daily_online_rates(every(10, LOCAL_8AM, LOCAL_8AM + timedelta(hours=2))).values()
    assert (day.day, day.slots_with_data, day.span_slots, day.slots_in_day) == (
        date(2024, 3, 15), 120, 120, 1440)
    assert day.rate == 1.0 and day.coverage == pytest.approx(120 / 1440)


def test_half_hour_silence_inside_operation_lowers_the_rate():
    times = every(10, LOCAL_8AM, LOCAL_8AM + timedelta(hours=1)) + every(
        10, LOCAL_8AM + timedelta(minutes=90), LOCAL_8AM + timedelta(hours=2))
    (day,) = daily_online_rates(times).values()
    assert day.rate == 90 / 120


def test_days_are_cut_at_shanghai_midnight_and_duplicates_count_once():
    times = [utc(2024, 3, 15, 15, 59, 30), utc(2024, 3, 15, 15, 59, 30), utc(2024, 3, 15, 16, 0, 30)]
    days = daily_online_rates(times)
    assert list(days) == [date(2024, 3, 15), date(2024, 3, 16)]
    assert [d.slots_with_data for d in days.values()] == [1, 1]


def test_slot_length_is_a_parameter():
    times = every(120, LOCAL_8AM, LOCAL_8AM + timedelta(hours=1))
    assert daily_online_rates(times)[date(2024, 3, 15)].rate == pytest.approx(30 / 59)
    assert daily_online_rates(times, slot_s=300)[date(2024, 3, 15)].rate == 1.0


def test_fleet_online_rate():
    assert fleet_online_rate(["A", "B", "X"], ["A", "B", "C", "D"]) == 0.5
    assert fleet_online_rate(["A"], []) is None

"""A Reading refuses values no real pass can have; odd but possible values are judged instead."""

from __future__ import annotations

import math
from datetime import datetime

import pytest

from mobsrc.remote_sensing.readings import MalformedReading

from .factories import make_reading


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"measured_at": datetime(2025, 3, 1, 10, 0)}, "measured_at"),
        ({"lane": 0}, "lane"),
        ({"plate": "  "}, "plate"),
        ({"speed_kmh": None}, "speed_kmh"),
        ({"speed_kmh": -1.0}, "speed_kmh"),
        ({"accel_ms2": math.nan}, "accel_ms2"),
        ({"opacity_pct": 100.5}, "opacity_pct"),
        ({"opacity_pct": -0.1}, "opacity_pct"),
        ({"ringelmann_grade": 6.0}, "ringelmann_grade"),
        ({"no_ppm": -5.0}, "no_ppm"),
        ({"co_pct": math.inf}, "co_pct"),
        ({"rh_pct": 101.0}, "rh_pct"),
        ({"wind_ms": -0.5}, "wind_ms"),
        ({"k_m1": "1.2"}, "k_m1"),
        ({"hc_ppm": True}, "hc_ppm"),
    ],
)
def test_physically_impossible_reading_is_malformed(overrides, field):
    with pytest.raises(MalformedReading) as raised:
        make_reading(**overrides)
    assert raised.value.field == field


def test_unread_plate_and_absent_optional_quantities_are_accepted():
    reading = make_reading(plate=None, plate_colour=None, opacity_pct=None, wind_ms=None, rain=None)
    assert reading.plate is None

"""Jiménez-Palacios VSP with its units (doc 1.5; coefficients UNCONFIRMED for Chinese methods)."""

from __future__ import annotations

import math

import pytest

from mobsrc.remote_sensing.vsp import VspSource, resolve_vsp, vehicle_specific_power


@pytest.mark.parametrize(
    ("speed_kmh", "accel_ms2", "slope_deg", "expected_kw_t"),
    [
        (0.0, 0.0, 0.0, 0.0),
        (0.0, 2.0, 5.0, 0.0),
        # 36 km/h = 10 m/s: 10 * (1.1 * 1 + 0.132) + 0.000302 * 1000
        (36.0, 1.0, 0.0, 12.622),
        # + 10 * 9.81 * sin(2 deg)
        (36.0, 1.0, 2.0, 12.622 + 98.1 * math.sin(math.radians(2.0))),
        (36.0, 1.0, -2.0, 12.622 - 98.1 * math.sin(math.radians(2.0))),
        # 72 km/h = 20 m/s, braking: 20 * (1.1 * -1 + 0.132) + 0.000302 * 8000
        (72.0, -1.0, 0.0, -16.944),
    ],
)
def test_vsp_follows_jimenez_palacios_in_si_units(speed_kmh, accel_ms2, slope_deg, expected_kw_t):
    assert vehicle_specific_power(speed_kmh, accel_ms2, slope_deg) == pytest.approx(expected_kw_t)


@pytest.mark.parametrize(
    ("reported", "slope_deg", "source"),
    [(7.5, 2.0, VspSource.REPORTED), (None, 2.0, VspSource.COMPUTED), (None, None, VspSource.COMPUTED_FLAT)],
)
def test_reported_vsp_wins_and_computed_vsp_says_how(reported, slope_deg, source):
    value, used = resolve_vsp(reported, 36.0, 1.0, slope_deg)
    assert used == source
    assert value == (7.5 if reported else vehicle_specific_power(36.0, 1.0, slope_deg or 0.0))

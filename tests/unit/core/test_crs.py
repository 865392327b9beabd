"""Datum transforms against standards-telemetry.md 5.6 and round-trip properties."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mobsrc.core.geo import crs
from mobsrc.core.geo.crs import Crs, CrsError
from mobsrc.core.geo.distance import haversine_m

# 5.6, eviltransform go/transform_test.go [CONFIRMED]: (WGS lon, lat) -> (GCJ lon, lat).
EVILTRANSFORM_VECTORS = [
    pytest.param((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597), id="shanghai"),
    pytest.param((113.912316, 22.543847), (113.9171764808363, 22.540796131694766), id="shenzhen"),
    pytest.param((116.377817, 39.911954), (116.38404722455657, 39.91334545536069), id="beijing"),
]

# 5.6 Guiyang table (6 decimals as printed): WGS, GCJ, BD, shift in metres.
GUIYANG_TABLE = [
    pytest.param((106.713478, 26.578343), (106.717250, 26.574821), (106.723785, 26.580703), 542,
                 id="central-guiyang"),
    pytest.param((106.622453, 26.601450), (106.626005, 26.597775), (106.632566, 26.603467), 540,
                 id="guanshanhu"),
    pytest.param((106.470714, 26.556079), (106.474475, 26.552667), (106.481012, 26.558598), 533,
                 id="qingzhen"),
]

OUTSIDE_CHINA = [
    pytest.param((2.3522, 48.8566), id="paris"),
    pytest.param((139.6917, 35.6895), id="tokyo-east-of-rectangle"),
    pytest.param((151.2093, -33.8688), id="sydney"),
    pytest.param((72.0, 30.0), id="just-west-of-rectangle"),
]


def _metres(a, b):
    return haversine_m(a[0], a[1], b[0], b[1])


@pytest.mark.parametrize(("wgs", "gcj"), EVILTRANSFORM_VECTORS)
def test_wgs84_to_gcj02_reproduces_published_vectors(wgs, gcj):
    assert crs.wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=1e-12)


@pytest.mark.parametrize(("wgs", "gcj"), EVILTRANSFORM_VECTORS)
def test_gcj02_to_wgs84_inverts_published_vectors_within_half_a_metre(wgs, gcj):
    assert _metres(crs.gcj02_to_wgs84(*gcj), wgs) < 0.5


@pytest.mark.parametrize(("wgs", "gcj"), EVILTRANSFORM_VECTORS)
def test_vectorised_forward_equals_scalar_forward(wgs, gcj):
    lons, lats = crs.wgs84_to_gcj02_arrays([wgs[0]], [wgs[1]])
    assert (lons[0], lats[0]) == crs.wgs84_to_gcj02(*wgs)


@pytest.mark.parametrize(("wgs", "gcj", "bd", "shift_m"), GUIYANG_TABLE)
def test_guiyang_table_wgs84_to_gcj02(wgs, gcj, bd, shift_m):
    assert crs.wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=1e-6)


@pytest.mark.parametrize(("wgs", "gcj", "bd", "shift_m"), GUIYANG_TABLE)
def test_guiyang_table_wgs84_to_bd09(wgs, gcj, bd, shift_m):
    assert crs.wgs84_to_bd09(*wgs) == pytest.approx(bd, abs=1e-6)


@pytest.mark.parametrize(("wgs", "gcj", "bd", "shift_m"), GUIYANG_TABLE)
def test_guiyang_datum_shift_is_about_540_metres(wgs, gcj, bd, shift_m):
    assert round(_metres(wgs, crs.wgs84_to_gcj02(*wgs))) == shift_m


@pytest.mark.parametrize(("wgs", "gcj", "bd", "shift_m"), GUIYANG_TABLE)
def test_guiyang_bd09_back_to_wgs84_lands_on_the_table_point(wgs, gcj, bd, shift_m):
    # The table is rounded to 6 decimals (~0.1 m), so allow 0.2 m.
    assert _metres(crs.bd09_to_wgs84(*bd), wgs) < 0.2


@pytest.mark.parametrize("point", OUTSIDE_CHINA)
@pytest.mark.parametrize("transform", [crs.wgs84_to_gcj02, crs.gcj02_to_wgs84])
def test_points_outside_china_rectangle_are_not_shifted(point, transform):
    assert transform(*point) == point


def test_vectorised_transform_leaves_outside_points_and_nan_unchanged():
    lons = np.array([2.3522, np.nan, 106.7])
    lats = np.array([48.8566, 26.5, np.nan])
    out_lons, out_lats = crs.to_wgs84(lons, lats, Crs.GCJ02)
    assert out_lons[0] == 2.3522 and out_lats[0] == 48.8566
    assert math.isnan(out_lons[1]) and math.isnan(out_lats[2])


@pytest.mark.parametrize(("lon", "lat", "expected"), [
    (106.7, 26.6, True),   # Guiyang
    (72.004, 0.8293, True),  # the rectangle's corner is inside
    (72.0039, 30.0, False),
    (137.8348, 40.0, False),
    (100.0, 55.8272, False),
])
def test_is_in_china_uses_the_documented_rectangle(lon, lat, expected):
    assert crs.is_in_china(lon, lat) is expected
    assert bool(crs.is_in_china_arrays(np.array([lon]), np.array([lat]))[0]) is expected


@pytest.mark.parametrize(("lon", "lat", "expected"), [
    (106.7, 26.6, True),     # Guiyang
    (121.47, 31.23, True),   # Shanghai
    (121.56, 25.03, False),  # Taipei: inside the rectangle, excluded by the strict check
    (105.85, 21.03, False),  # Hanoi
    (106.9, 47.9, False),    # Ulaanbaatar
])
def test_strict_china_check_excludes_neighbours_inside_the_rectangle(lon, lat, expected):
    assert crs.is_in_china_strict(lon, lat) is expected


def test_random_scan_gcj02_inverse_error_below_half_a_metre():
    rng = np.random.default_rng(20240501)
    lons, lats = rng.uniform(73.0, 135.0, 50_000), rng.uniform(18.0, 53.0, 50_000)
    back = crs.gcj02_to_wgs84_arrays(*crs.wgs84_to_gcj02_arrays(lons, lats))
    assert haversine_m(lons, lats, *back).max() < 0.5


def test_random_scan_scalar_inverse_error_below_half_a_metre():
    rng = np.random.default_rng(7)
    worst = 0.0
    for lon, lat in zip(rng.uniform(73.0, 135.0, 2_000), rng.uniform(18.0, 53.0, 2_000)):
        worst = max(worst, _metres(crs.gcj02_to_wgs84(*crs.wgs84_to_gcj02(lon, lat)), (lon, lat)))
    assert worst < 0.5


def test_one_step_inverse_would_not_meet_the_half_metre_bound():
    # Guards the test above: the one-step approximation of 5.4 errs by metres, the exact one not.
    lon, lat = 121.5272106, 31.1774276
    g_lon, g_lat = crs.wgs84_to_gcj02(lon, lat)
    d_lon, d_lat = crs._gcj_offset(g_lon, g_lat, math)
    assert _metres((g_lon - d_lon, g_lat - d_lat), (lon, lat)) > 0.5


@pytest.mark.parametrize(("source", "target"), [
    (Crs.WGS84, Crs.GCJ02), (Crs.GCJ02, Crs.BD09), (Crs.WGS84, Crs.BD09),
    (Crs.BD09, Crs.WGS84), (Crs.GCJ02, Crs.WGS84), (Crs.BD09, Crs.GCJ02),
])
def test_round_trip_between_any_two_datums_is_below_a_millimetre(source, target):
    rng = np.random.default_rng(3)
    lons, lats = rng.uniform(106.1, 107.3, 5_000), rng.uniform(26.1, 27.4, 5_000)
    there = crs.transform_arrays(lons, lats, source, target)
    back = crs.transform_arrays(*there, target, source)
    assert haversine_m(lons, lats, *back).max() < 1e-3


def test_bd09_scalar_and_vectorised_agree():
    lons, lats = crs.gcj02_to_bd09_arrays([106.71725], [26.574821])
    assert (lons[0], lats[0]) == pytest.approx(crs.gcj02_to_bd09(106.71725, 26.574821), abs=1e-12)


def test_to_wgs84_of_wgs84_is_identity():
    lons, lats = crs.to_wgs84([106.7], [26.6], "wgs84")
    assert (lons[0], lats[0]) == (106.7, 26.6)


def test_unknown_datum_is_malformed_input():
    with pytest.raises(CrsError):
        crs.to_wgs84([106.7], [26.6], "cgcs1954")


def test_mismatched_array_shapes_are_malformed_input():
    with pytest.raises(CrsError):
        crs.wgs84_to_gcj02_arrays([106.7, 106.8], [26.6])


def test_haversine_one_degree_of_latitude_is_about_111_km():
    assert haversine_m(106.0, 26.0, 106.0, 27.0) == pytest.approx(111_195, rel=1e-3)


@given(st.floats(-180, 180), st.floats(-90, 90), st.floats(-180, 180), st.floats(-90, 90))
def test_haversine_on_plain_floats_equals_the_numpy_form(lon1, lat1, lon2, lat2):
    plain = haversine_m(lon1, lat1, lon2, lat2)
    vectorised = haversine_m(np.array([lon1]), np.array([lat1]), np.array([lon2]), np.array([lat2]))[0]
    assert plain == pytest.approx(vectorised, rel=1e-9, abs=1e-6)

"""Chinese map datums: WGS-84 <-> GCJ-02 <-> BD-09.

Formulas from standards-telemetry.md 5.3-5.5 (the public reverse-engineered algorithm;
constants [CONFIRMED — eviltransform, coordTransform_py, identical]). Every function comes in
two forms: a scalar one taking and returning floats (``wgs84_to_gcj02``), and a vectorised one
taking and returning numpy arrays of longitudes and latitudes (``wgs84_to_gcj02_arrays``). Both
evaluate the same formula, written once against the ``math``/``numpy`` namespace.

Points outside the doc's China rectangle are not shifted (5.3). Inverse transforms are exact
inverses of the forward formulas, found by fixed-point iteration (5.4): the GCJ-02 -> WGS-84
inverse converges to < 1e-9 degrees (~0.1 mm) in 2-4 steps. The published closed-form BD-09 ->
GCJ-02 formula (5.5) is the starting point of the same refinement, so BD-09 round trips are
exact to ~0.1 mm instead of the formula's ~0.2 m.
"""

from __future__ import annotations

import math
from enum import StrEnum
from types import ModuleType

import numpy as np

# Krasovsky 1940 ellipsoid as used by GCJ-02 (5.3) [CONFIRMED].
KRASOVSKY_A = 6378245.0
KRASOVSKY_EE = 0.00669342162296594323
# Baidu's x_pi (5.5) [CONFIRMED — wandergis/coordTransform_py].
BD_X_PI = math.pi * 3000.0 / 180.0

# The doc's "outside China" rectangle (5.3) [CONFIRMED]; it includes neighbours and sea.
CHINA_RECTANGLE = (72.004, 0.8293, 137.8347, 55.8271)  # min_lon, min_lat, max_lon, max_lat

# Stricter check: six inclusion rectangles minus six exclusion rectangles (Taiwan, northern
# Vietnam, Mongolia/Russia corners). [SECONDARY — cnblogs "Aimeast" 2012 region table,
# reproduced unchanged by many public GCJ-02 implementations.] Some copies add a seventh
# exclusion for Hong Kong (113.837108-114.408397 E, 22.167709-22.44151 N); not used here.
CHINA_REGIONS = (
    (79.446200, 42.889900, 96.330000, 49.220400),
    (109.687200, 39.374200, 135.000200, 54.141500),
    (73.124600, 29.529700, 124.143255, 42.889900),
    (82.968400, 26.718600, 97.035200, 29.529700),
    (97.025300, 20.414096, 124.367395, 29.529700),
    (107.975793, 17.871542, 111.744104, 20.414096),
)
CHINA_EXCLUDED = (
    (119.921265, 21.785006, 122.497559, 25.398623),
    (101.865200, 20.098800, 106.665000, 22.284000),
    (106.452500, 20.487800, 108.051000, 21.542200),
    (109.032300, 50.325700, 119.127000, 55.817500),
    (127.456800, 49.557400, 137.022700, 55.817500),
    (131.266200, 42.569200, 137.022700, 44.892200),
)

INVERSE_TOLERANCE_DEG = 1e-9  # ~0.1 mm; the fixed point is reached in 2-4 steps (5.4)
INVERSE_MAX_STEPS = 12


class Crs(StrEnum):
    """Datum of a coordinate as declared on the wire (`crs` = wgs84 | gcj02 | bd09)."""

    WGS84 = "wgs84"  # also used for CGCS2000 (differs by centimetres, 5.1)
    GCJ02 = "gcj02"
    BD09 = "bd09"


class CrsError(ValueError):
    """Malformed input to a datum transform (mismatched array shapes, unknown datum)."""


# ---------------------------------------------------------------- China tests


def is_in_china(lon: float, lat: float) -> bool:
    """True inside the doc's rectangle (5.3), the area where GCJ-02 shifts apply."""
    min_lon, min_lat, max_lon, max_lat = CHINA_RECTANGLE
    return min_lon <= lon <= max_lon and min_lat <= lat <= max_lat


def is_in_china_arrays(lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
    """Vectorised `is_in_china`; NaN coordinates are outside."""
    min_lon, min_lat, max_lon, max_lat = CHINA_RECTANGLE
    return (lons >= min_lon) & (lons <= max_lon) & (lats >= min_lat) & (lats <= max_lat)


def is_in_china_strict(lon: float, lat: float) -> bool:
    """Stricter, still cheap: inside one region rectangle and in no excluded one."""
    return _in_any(CHINA_REGIONS, lon, lat) and not _in_any(CHINA_EXCLUDED, lon, lat)


def _in_any(rectangles, lon, lat) -> bool:
    return any(x0 <= lon <= x1 and y0 <= lat <= y1 for x0, y0, x1, y1 in rectangles)


# ---------------------------------------------------------------- the GCJ-02 offset (5.3)


def _gcj_offset(lon, lat, xp: ModuleType):
    """(dLon, dLat) in degrees that GCJ-02 adds at a WGS-84 point; xp is math or numpy."""
    x, y, pi = lon - 105.0, lat - 35.0, math.pi
    common = (20.0 * xp.sin(6.0 * x * pi) + 20.0 * xp.sin(2.0 * x * pi)) * 2.0 / 3.0
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * xp.sqrt(abs(x))
    d_lat += common + (20.0 * xp.sin(y * pi) + 40.0 * xp.sin(y / 3.0 * pi)) * 2.0 / 3.0
    d_lat += (160.0 * xp.sin(y / 12.0 * pi) + 320.0 * xp.sin(y * pi / 30.0)) * 2.0 / 3.0
    d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * xp.sqrt(abs(x))
    d_lon += common + (20.0 * xp.sin(x * pi) + 40.0 * xp.sin(x / 3.0 * pi)) * 2.0 / 3.0
    d_lon += (150.0 * xp.sin(x / 12.0 * pi) + 300.0 * xp.sin(x / 30.0 * pi)) * 2.0 / 3.0
    phi = lat / 180.0 * pi
    m = 1.0 - KRASOVSKY_EE * xp.sin(phi) ** 2
    d_lat = d_lat * 180.0 / (KRASOVSKY_A * (1.0 - KRASOVSKY_EE) / (m * xp.sqrt(m)) * pi)
    d_lon = d_lon * 180.0 / (KRASOVSKY_A / xp.sqrt(m) * xp.cos(phi) * pi)
    return d_lon, d_lat


# ---------------------------------------------------------------- scalar transforms


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """WGS-84 -> GCJ-02 (5.3); unchanged outside the China rectangle."""
    if not is_in_china(lon, lat):
        return lon, lat
    d_lon, d_lat = _gcj_offset(lon, lat, math)
    return lon + d_lon, lat + d_lat


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """GCJ-02 -> WGS-84, exact inverse by fixed-point iteration (5.4)."""
    if not is_in_china(lon, lat):
        return lon, lat
    d_lon, d_lat = _gcj_offset(lon, lat, math)
    w_lon, w_lat = lon - d_lon, lat - d_lat  # the one-step approximation (error up to ~4.5 m)
    for _ in range(INVERSE_MAX_STEPS):
        g_lon, g_lat = wgs84_to_gcj02(w_lon, w_lat)
        e_lon, e_lat = g_lon - lon, g_lat - lat
        w_lon, w_lat = w_lon - e_lon, w_lat - e_lat
        if max(abs(e_lon), abs(e_lat)) < INVERSE_TOLERANCE_DEG:
            break
    return w_lon, w_lat


def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    """GCJ-02 -> BD-09 (5.5)."""
    return _gcj_to_bd(lon, lat, math)


def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """BD-09 -> GCJ-02: the closed form of 5.5 refined to the exact inverse of GCJ->BD."""
    g_lon, g_lat = _bd_to_gcj_closed_form(lon, lat, math)
    for _ in range(INVERSE_MAX_STEPS):
        b_lon, b_lat = _gcj_to_bd(g_lon, g_lat, math)
        e_lon, e_lat = b_lon - lon, b_lat - lat
        g_lon, g_lat = g_lon - e_lon, g_lat - e_lat
        if max(abs(e_lon), abs(e_lat)) < INVERSE_TOLERANCE_DEG:
            break
    return g_lon, g_lat


def wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    """WGS-84 -> BD-09 (via GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """BD-09 -> WGS-84 (via GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def _gcj_to_bd(lon, lat, xp: ModuleType):
    z = xp.sqrt(lon * lon + lat * lat) + 0.00002 * xp.sin(lat * BD_X_PI)
    theta = xp.arctan2(lat, lon) if xp is np else math.atan2(lat, lon)
    theta = theta + 0.000003 * xp.cos(lon * BD_X_PI)
    return z * xp.cos(theta) + 0.0065, z * xp.sin(theta) + 0.006


def _bd_to_gcj_closed_form(lon, lat, xp: ModuleType):
    x, y = lon - 0.0065, lat - 0.006
    z = xp.sqrt(x * x + y * y) - 0.00002 * xp.sin(y * BD_X_PI)
    theta = xp.arctan2(y, x) if xp is np else math.atan2(y, x)
    theta = theta - 0.000003 * xp.cos(x * BD_X_PI)
    return z * xp.cos(theta), z * xp.sin(theta)


# ---------------------------------------------------------------- vectorised transforms


def wgs84_to_gcj02_arrays(lons, lats) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised WGS-84 -> GCJ-02; points outside the rectangle (or NaN) pass unchanged."""
    lons, lats = _as_arrays(lons, lats)
    d_lon, d_lat = _gcj_offset(lons, lats, np)
    shifted = is_in_china_arrays(lons, lats)
    return np.where(shifted, lons + d_lon, lons), np.where(shifted, lats + d_lat, lats)


def gcj02_to_wgs84_arrays(lons, lats) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised exact GCJ-02 -> WGS-84 (fixed point, all points to < 1e-9 degrees)."""
    lons, lats = _as_arrays(lons, lats)
    shifted = is_in_china_arrays(lons, lats)
    d_lon, d_lat = _gcj_offset(lons, lats, np)
    w_lon, w_lat = lons - d_lon, lats - d_lat
    for _ in range(INVERSE_MAX_STEPS):
        g_lon, g_lat = wgs84_to_gcj02_arrays(w_lon, w_lat)
        e_lon, e_lat = g_lon - lons, g_lat - lats
        w_lon, w_lat = w_lon - e_lon, w_lat - e_lat
        if not np.any((np.abs(e_lon) >= INVERSE_TOLERANCE_DEG) | (np.abs(e_lat) >= INVERSE_TOLERANCE_DEG)):
            break
    return np.where(shifted, w_lon, lons), np.where(shifted, w_lat, lats)


def gcj02_to_bd09_arrays(lons, lats) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised GCJ-02 -> BD-09 (5.5)."""
    return _gcj_to_bd(*_as_arrays(lons, lats), np)


def bd09_to_gcj02_arrays(lons, lats) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised BD-09 -> GCJ-02, refined to the exact inverse of GCJ->BD."""
    lons, lats = _as_arrays(lons, lats)
    g_lon, g_lat = _bd_to_gcj_closed_form(lons, lats, np)
    for _ in range(INVERSE_MAX_STEPS):
        b_lon, b_lat = _gcj_to_bd(g_lon, g_lat, np)
        e_lon, e_lat = b_lon - lons, b_lat - lats
        g_lon, g_lat = g_lon - e_lon, g_lat - e_lat
        if not np.any((np.abs(e_lon) >= INVERSE_TOLERANCE_DEG) | (np.abs(e_lat) >= INVERSE_TOLERANCE_DEG)):
            break
    return g_lon, g_lat


def transform_arrays(lons, lats, source: Crs, target: Crs) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised transform between any two datums."""
    lons, lats = _TO_WGS84[parse_crs(source)](*_as_arrays(lons, lats))
    return _FROM_WGS84[parse_crs(target)](lons, lats)


def to_wgs84(lons, lats, crs: Crs) -> tuple[np.ndarray, np.ndarray]:
    """Arrays of lon/lat in `crs` -> arrays in WGS-84 (the storage datum)."""
    return transform_arrays(lons, lats, crs, Crs.WGS84)


def from_wgs84(lons, lats, crs: Crs) -> tuple[np.ndarray, np.ndarray]:
    """Arrays of WGS-84 lon/lat -> arrays in `crs` (e.g. for display on AMap/Baidu)."""
    return transform_arrays(lons, lats, Crs.WGS84, crs)


def parse_crs(value: Crs | str) -> Crs:
    """The Crs named by `value` ("wgs84", "gcj02", "bd09"); CrsError if unknown."""
    try:
        return Crs(value)
    except ValueError:
        raise CrsError(f"unknown datum {value!r}; expected one of {[c.value for c in Crs]}") from None


def _as_arrays(lons, lats) -> tuple[np.ndarray, np.ndarray]:
    lons = np.asarray(lons, dtype=np.float64)
    lats = np.asarray(lats, dtype=np.float64)
    if lons.shape != lats.shape:
        raise CrsError(f"lons {lons.shape} and lats {lats.shape} differ in shape")
    return lons, lats


def _identity(lons, lats):
    return lons, lats


def _wgs84_to_bd09_arrays(lons, lats):
    return gcj02_to_bd09_arrays(*wgs84_to_gcj02_arrays(lons, lats))


def _bd09_to_wgs84_arrays(lons, lats):
    return gcj02_to_wgs84_arrays(*bd09_to_gcj02_arrays(lons, lats))


_TO_WGS84 = {Crs.WGS84: _identity, Crs.GCJ02: gcj02_to_wgs84_arrays, Crs.BD09: _bd09_to_wgs84_arrays}
_FROM_WGS84 = {Crs.WGS84: _identity, Crs.GCJ02: wgs84_to_gcj02_arrays, Crs.BD09: _wgs84_to_bd09_arrays}

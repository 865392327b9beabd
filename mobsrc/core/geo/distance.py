"""Great-circle distance on the WGS-84 mean sphere (haversine)."""

from __future__ import annotations

import math

import numpy as np

# IUGG mean Earth radius; haversine error vs the ellipsoid is < 0.5 %, ample for jump and
# datum-error checks.
EARTH_MEAN_RADIUS_M = 6371008.8


def haversine_m(lon1, lat1, lon2, lat2):
    """Metres between two points given in degrees; scalars or numpy arrays (broadcast)."""
    if type(lon1) is type(lat1) is type(lon2) is type(lat2) is float:
        return _haversine_floats(lon1, lat1, lon2, lat2)  # 10x faster than numpy on scalars
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = np.radians(np.asarray(lon2, dtype=np.float64) - lon1)
    h = np.sin(d_phi / 2.0) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(d_lambda / 2.0) ** 2
    distance = 2.0 * EARTH_MEAN_RADIUS_M * np.arcsin(np.sqrt(np.minimum(h, 1.0)))
    return float(distance) if np.ndim(distance) == 0 else distance


def _haversine_floats(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((phi2 - phi1) / 2.0) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2.0) ** 2
    return 2.0 * EARTH_MEAN_RADIUS_M * math.asin(math.sqrt(min(h, 1.0)))

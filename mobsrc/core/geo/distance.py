"""Great-circle distance on the WGS-84 mean sphere (haversine)."""

from __future__ import annotations

import numpy as np

# IUGG mean Earth radius; haversine error vs the ellipsoid is < 0.5 %, ample for jump and
# datum-error checks.
EARTH_MEAN_RADIUS_M = 6371008.8


def haversine_m(lon1, lat1, lon2, lat2):
    """Metres between two points given in degrees; scalars or numpy arrays (broadcast)."""
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = np.radians(np.asarray(lon2, dtype=np.float64) - lon1)
    h = np.sin(d_phi / 2.0) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(d_lambda / 2.0) ** 2
    distance = 2.0 * EARTH_MEAN_RADIUS_M * np.arcsin(np.sqrt(np.minimum(h, 1.0)))
    return float(distance) if np.ndim(distance) == 0 else distance

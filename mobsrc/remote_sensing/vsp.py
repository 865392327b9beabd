"""Vehicle specific power (standards-enforcement.md 1.5).

Jiménez-Palacios light-duty formula, in kW per tonne of vehicle mass:

    VSP = v * (1.1 * a + 9.81 * sin(theta) + 0.132) + 0.000302 * v**3

with v the speed in m/s, a the acceleration in m/s^2 and theta the road grade angle. That the
Chinese RS methods (HJ 845-2017, the gasoline RS drafts) use exactly these coefficients is
UNCONFIRMED; the device's own VSP is preferred whenever it reports one (doc 1.5).
"""

from __future__ import annotations

import math
from enum import StrEnum

# Coefficients of the Jiménez-Palacios formula; UNCONFIRMED for Chinese RS methods.
ROTATING_MASS_FACTOR = 1.1  # (1 + epsilon_i), dimensionless
GRAVITY_MS2 = 9.81
ROLLING_RESISTANCE_MS2 = 0.132  # rolling-resistance term, m/s^2
AERODYNAMIC_DRAG_PER_M = 0.000302  # aerodynamic-drag term, 1/m
KMH_PER_MS = 3.6


class VspSource(StrEnum):
    """Where the VSP a verdict used came from."""

    REPORTED = "reported"  # the device's value
    COMPUTED = "computed"  # Jiménez-Palacios with the site's slope
    COMPUTED_FLAT = "computed_flat"  # Jiménez-Palacios, slope not reported so 0 deg assumed


def vehicle_specific_power(speed_kmh: float, accel_ms2: float, slope_deg: float = 0.0) -> float:
    """VSP in kW/t for a speed in km/h, an acceleration in m/s^2 and a road grade in degrees
    (positive uphill)."""
    speed_ms = speed_kmh / KMH_PER_MS
    grade_term = GRAVITY_MS2 * math.sin(math.radians(slope_deg))
    return (
        speed_ms * (ROTATING_MASS_FACTOR * accel_ms2 + grade_term + ROLLING_RESISTANCE_MS2)
        + AERODYNAMIC_DRAG_PER_M * speed_ms**3
    )


def resolve_vsp(
    reported_kw_t: float | None, speed_kmh: float, accel_ms2: float, slope_deg: float | None
) -> tuple[float, VspSource]:
    """The VSP to judge validity with: the reported one, else computed (and say which)."""
    if reported_kw_t is not None:
        return reported_kw_t, VspSource.REPORTED
    if slope_deg is None:
        return vehicle_specific_power(speed_kmh, accel_ms2), VspSource.COMPUTED_FLAT
    return vehicle_specific_power(speed_kmh, accel_ms2, slope_deg), VspSource.COMPUTED

"""One roadside remote-sensing pass, as the judgement sees it (standards-enforcement.md 1.2, 1.7).

Plates arrive already normalised by the registry (`mobsrc.registry.identifiers.normalize_plate`)
and their colour is the registry's `PlateColour` (each source adapter maps its colour codes to it);
`plate=None` means the ANPR camera read no plate (无车牌). Physically impossible values raise
`MalformedReading`; values that are merely outside the validity windows are judged, not refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from mobsrc.registry.identifiers import PlateColour


class MalformedReading(ValueError):
    """The reading cannot describe a real pass (naive time, NaN, negative concentration...)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


# field -> (lowest, highest) physically possible value; None = unbounded on that side
_PHYSICAL_RANGES: dict[str, tuple[float | None, float | None]] = {
    "speed_kmh": (0.0, None),
    "accel_ms2": (None, None),
    "vsp_kw_t": (None, None),
    "opacity_pct": (0.0, 100.0),
    "k_m1": (0.0, None),
    "ringelmann_grade": (0.0, 5.0),
    "no_ppm": (0.0, None),
    "co_pct": (0.0, 100.0),
    "hc_ppm": (0.0, None),
    "co2_pct": (0.0, 100.0),
    "wind_ms": (0.0, None),
    "temp_c": (None, None),
    "rh_pct": (0.0, 100.0),
    "slope_deg": (-90.0, 90.0),
}


@dataclass(frozen=True)
class Reading:
    """A single pass. Units are in the field names; optional quantities are None when the
    station does not report them. `vsp_kw_t` is the device's value, preferred over a recomputed
    one (doc 1.5); `slope_deg` is the site's road grade in degrees."""

    station_code: str
    measured_at: datetime
    lane: int
    plate: str | None
    plate_colour: PlateColour | None
    speed_kmh: float
    accel_ms2: float
    vsp_kw_t: float | None = None
    opacity_pct: float | None = None
    k_m1: float | None = None
    ringelmann_grade: float | None = None
    no_ppm: float | None = None
    co_pct: float | None = None
    hc_ppm: float | None = None
    co2_pct: float | None = None
    wind_ms: float | None = None
    temp_c: float | None = None
    rh_pct: float | None = None
    rain: bool | None = None
    slope_deg: float | None = None

    def __post_init__(self) -> None:
        if self.measured_at.tzinfo is None or self.measured_at.utcoffset() is None:
            raise MalformedReading("measured_at", "must be timezone-aware")
        if self.lane < 1:
            raise MalformedReading("lane", "lanes are numbered from 1")
        if self.plate is not None and not self.plate.strip():
            raise MalformedReading("plate", "blank; use None for an unread plate")
        for required in ("speed_kmh", "accel_ms2"):
            if getattr(self, required) is None:
                raise MalformedReading(required, "required")
        for name, (low, high) in _PHYSICAL_RANGES.items():
            value = getattr(self, name)
            if value is not None:
                _check_physical(name, value, low, high)


def _check_physical(name: str, value: float, low: float | None, high: float | None) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MalformedReading(name, f"{value!r} is not a finite number")
    if (low is not None and value < low) or (high is not None and value > high):
        raise MalformedReading(name, f"{value} outside physical range [{low}, {high}]")

"""Shared pieces of the zones integration tests: the real Guiyang district data, points derived
from it (each checked with an exact Shapely predicate before use), tracks and a movable clock."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import shapely
from shapely.geometry import Point, shape

from mobsrc.core.geo import geojson
from mobsrc.core.geo.crs import Crs, from_wgs84
from mobsrc.core.geo.districts import GUIYANG_DISTRICTS

DATA = GUIYANG_DISTRICTS
DISTRICTS = json.loads(DATA.read_text("utf-8"))
BY_CODE = {str(f["properties"]["adcode"]): f for f in DISTRICTS["features"]}
YUNYAN, NANMING, KAIYANG, GUANSHANHU = "520103", "520102", "520121", "520115"
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 Beijing time, a Monday


def feature(code: str) -> dict:
    return BY_CODE[code]


def gcj_shape(code: str):
    return shape(feature(code)["geometry"])


def wgs_area(code: str):
    return geojson.require_area(feature(code), "gcj02").geometry


def inside_point(code: str) -> tuple[float, float]:
    """A WGS-84 point well inside the district (checked)."""
    area = wgs_area(code)
    point = area.representative_point()
    assert area.contains(point.buffer(0.003))
    return point.x, point.y


def to_crs(lon: float, lat: float, crs: str) -> tuple[float, float]:
    xs, ys = from_wgs84(np.array([lon]), np.array([lat]), Crs(crs))
    return float(xs[0]), float(ys[0])


def boundary_crossing(code: str, offset_deg: float = 0.00015) -> tuple[tuple[float, float], tuple[float, float]]:
    """Two WGS-84 points straddling the district's boundary, each `offset_deg` from it
    (default ~15 m; checked)."""
    area = wgs_area(code)
    ring = area.geoms[0].exterior
    at = ring.interpolate(0.37, normalized=True)
    ahead = ring.interpolate(0.37 + 1e-4, normalized=True)
    dx, dy = ahead.x - at.x, ahead.y - at.y
    norm = (dx * dx + dy * dy) ** 0.5
    nx, ny = -dy / norm * offset_deg, dx / norm * offset_deg  # to the left of the ring's direction
    a, b = Point(at.x + nx, at.y + ny), Point(at.x - nx, at.y - ny)
    inside, outside = (a, b) if area.contains(a) else (b, a)
    assert area.contains(inside) and not shapely.intersects(area, outside)
    return (inside.x, inside.y), (outside.x, outside.y)


def item(machine, at: datetime, lon: float, lat: float, crs: str = "wgs84", **extra) -> dict:
    data = {"machine_code": machine.code, "fix_time": at.isoformat(), "lon": lon, "lat": lat, "crs": crs,
            "hdop": 0.8, "satellites": 12, "speed_kmh": 3.0, "engine_on": True, "engine_rpm": 1400.0}
    data.update(extra)
    return data


def entry_dwell_exit(machine, start: datetime, outside, inside, minutes_inside: int = 20, crs="wgs84",
                     period_s: int = 60) -> list[dict]:
    """Outside for 5 fixes, inside for `minutes_inside`, outside again for 5 fixes."""
    points = [outside] * 5 + [inside] * (minutes_inside * 60 // period_s) + [outside] * 5
    return [item(machine, start + timedelta(seconds=k * period_s), *to_crs(*p, crs), crs=crs)
            for k, p in enumerate(points)]


class MovableClock:
    def __init__(self, monkeypatch, start: datetime):
        from mobsrc.core import clock
        self.now = start
        monkeypatch.setattr(clock, "now", lambda: self.now)

    def set(self, at: datetime) -> None:
        self.now = at

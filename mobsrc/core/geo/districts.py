"""Guiyang's district boundaries, shipped as data (data/README.md names the source), in WGS-84.

Pure: reads the GCJ-02 GeoJSON packaged next to this module and converts it with `crs.to_wgs84`.
The migration that fills the `district_boundaries` table and the tests use the same function.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, shape

from mobsrc.core.geo.crs import Crs, to_wgs84

DATA = Path(__file__).parent / "data"
GUIYANG_DISTRICTS = DATA / "guiyang-districts.gcj02.geojson"
SOURCE = "anzhou99/GeoJsons 520100_full.json (GCJ-02, converted to WGS-84)"


@dataclass(frozen=True)
class DistrictBoundary:
    code: str               # GB/T 2260, e.g. "520102"
    name: str
    geometry: MultiPolygon  # WGS-84, valid


def _to_wgs84(geometry, source: Crs):
    return shapely.transform(geometry, lambda xy: np.column_stack(to_wgs84(xy[:, 0], xy[:, 1], source)))


def _multipolygon(geometry) -> MultiPolygon:
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
    parts = [g for g in getattr(geometry, "geoms", [geometry]) if g.geom_type == "Polygon"]
    return MultiPolygon(parts)


def load_district_boundaries(path: Path = GUIYANG_DISTRICTS, source: Crs = Crs.GCJ02) -> list[DistrictBoundary]:
    """Every feature of a district FeatureCollection (properties `adcode`, `name`) in WGS-84."""
    document = json.loads(path.read_text(encoding="utf-8"))
    return [DistrictBoundary(str(f["properties"]["adcode"]), f["properties"]["name"],
                             _multipolygon(_to_wgs84(shape(f["geometry"]), source)))
            for f in document["features"]]

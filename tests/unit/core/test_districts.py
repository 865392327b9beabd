"""Guiyang's district boundaries: read from the packaged GCJ-02 file, stored in WGS-84."""
from __future__ import annotations

import json

import shapely
from shapely.geometry import Point, shape

from mobsrc.core.geo.crs import wgs84_to_gcj02
from mobsrc.core.geo.districts import GUIYANG_DISTRICTS, load_district_boundaries

CODES = {"520102", "520103", "520111", "520112", "520113", "520115", "520121", "520122", "520123", "520181"}


def test_ten_valid_districts_that_do_not_overlap():
    districts = load_district_boundaries()
    assert {d.code for d in districts} == CODES
    assert all(d.geometry.is_valid and not d.geometry.is_empty for d in districts)
    total = sum(d.geometry.area for d in districts)
    union = shapely.union_all([d.geometry for d in districts]).area
    assert abs(total - union) / union < 1e-4  # neighbours share edges, they do not overlap


def test_boundaries_are_converted_from_gcj02_to_wgs84():
    source = {str(f["properties"]["adcode"]): shape(f["geometry"])
              for f in json.loads(GUIYANG_DISTRICTS.read_text(encoding="utf-8"))["features"]}
    nanming = next(d for d in load_district_boundaries() if d.code == "520102")
    # Every WGS-84 vertex, shifted back to GCJ-02, lands on the published vertex (to ~1 mm).
    for lon, lat in list(nanming.geometry.geoms[0].exterior.coords)[:50]:
        gcj = wgs84_to_gcj02(lon, lat)
        assert source["520102"].boundary.distance(Point(gcj)) < 1e-8
    # ... and the shift itself is the few hundred metres GCJ-02 adds in Guiyang.
    shift = nanming.geometry.centroid.distance(source["520102"].centroid)
    assert 0.002 < shift < 0.01

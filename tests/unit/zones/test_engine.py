"""ZoneIndex.locate equals the exact per-point `covers` loop, on canonical and real shapes."""

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, shape

from mobsrc.core.geo import crs
from mobsrc.core.geo.crs import Crs
from mobsrc.core.geo.districts import GUIYANG_DISTRICTS
from mobsrc.core.geo.geojson import require_area
from mobsrc.zones.engine import ZoneIndex, ZoneIndexError, ZoneRecord, zone_set_version
from tests.unit.zones import shapes

AT = datetime(2025, 3, 1, 4, 0, tzinfo=UTC)  # 12:00 in Guiyang
DISTRICTS = json.loads(GUIYANG_DISTRICTS.read_text("utf-8"))


def records(geometries, **schedule):
    return [ZoneRecord(zone_id, 1, g, **schedule) for zone_id, g in geometries.items()]


def naive_pairs(zones, xs, ys):
    """The reference answer: plain Shapely, one point and one zone at a time."""
    return {(i, z) for i, (x, y) in enumerate(zip(xs, ys)) for z, zone in enumerate(zones)
            if zone.geometry.covers(Point(x, y))}


def engine_pairs(index, xs, ys, at=AT, **kwargs):
    hits = index.locate(xs, ys, at, **kwargs)
    return set(zip(hits.point_index.tolist(), hits.zone_index.tolist()))


def vertices_and_edge_points(geometries):
    """Every vertex, every edge midpoint and a point a third of the way along every edge."""
    points = []
    for geometry in geometries:
        for ring in shapely.get_rings(shapely.get_parts(geometry)):
            xy = shapely.get_coordinates(ring)
            points += [xy, (xy[:-1] + xy[1:]) / 2, xy[:-1] + (xy[1:] - xy[:-1]) / 3]
    xy = np.concatenate(points)
    return xy[:, 0], xy[:, 1]


@pytest.fixture(scope="module")
def shape_index():
    return ZoneIndex.build(records(shapes.ALL_SHAPES))


@pytest.fixture(scope="module")
def district_index():
    return ZoneIndex.build([
        ZoneRecord(f["properties"]["adcode"], 1, require_area(f, Crs.GCJ02).geometry)
        for f in DISTRICTS["features"]
    ])


# ---------------------------------------------------------------- exactness


def test_random_points_match_the_naive_covers_loop(shape_index):
    rng = np.random.default_rng(11)
    xs, ys = rng.uniform(106.15, 106.95, 60_000), rng.uniform(26.15, 26.95, 60_000)
    assert engine_pairs(shape_index, xs, ys) == naive_pairs(shape_index.zones, xs, ys)


def test_points_on_vertices_and_edges_match_the_naive_covers_loop(shape_index):
    xs, ys = vertices_and_edge_points(shapes.ALL_SHAPES.values())
    assert engine_pairs(shape_index, xs, ys) == naive_pairs(shape_index.zones, xs, ys)


def test_vertex_and_axis_aligned_edge_points_count_as_inside(shape_index):
    on_boundary = [(106.60, 26.50), (106.65, 26.50), (106.62, 26.55), (106.68, 26.58)]
    hits = shape_index.locate(*np.array(on_boundary).T, AT).zone_ids_per_point()
    assert all("square_with_hole" in ids for ids in hits)


def test_points_on_grid_cell_edges_match_the_naive_covers_loop(shape_index):
    spec = shape_index.cover.spec
    xs = spec.x0 + spec.size * np.arange(0, spec.nx, 7)
    ys = spec.y0 + spec.size * np.arange(0, spec.ny, 7)
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    assert engine_pairs(shape_index, gx, gy) == naive_pairs(shape_index.zones, gx, gy)


@pytest.mark.parametrize("cell_size", [0.0005, 0.003, 0.05])
def test_any_grid_resolution_gives_the_exact_answer(cell_size):
    index = ZoneIndex.build(records(shapes.ALL_SHAPES), cell_size=cell_size)
    rng = np.random.default_rng(5)
    xs, ys = rng.uniform(106.15, 106.95, 20_000), rng.uniform(26.15, 26.95, 20_000)
    vx, vy = vertices_and_edge_points(shapes.ALL_SHAPES.values())
    xs, ys = np.concatenate([xs, vx]), np.concatenate([ys, vy])
    assert engine_pairs(index, xs, ys) == naive_pairs(index.zones, xs, ys)


_VERTICES = np.column_stack(vertices_and_edge_points(shapes.ALL_SHAPES.values()))
_point = st.one_of(
    st.tuples(st.floats(106.15, 106.95), st.floats(26.15, 26.95)),
    st.sampled_from([tuple(v) for v in _VERTICES]),
    st.tuples(st.sampled_from([tuple(v) for v in _VERTICES]), st.floats(-1e-9, 1e-9),
              st.floats(-1e-9, 1e-9)).map(lambda p: (p[0][0] + p[1], p[0][1] + p[2])),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_point, min_size=1, max_size=50))
def test_property_engine_equals_naive_covers(shape_index, points):
    xs, ys = np.array(points).T
    assert engine_pairs(shape_index, xs, ys) == naive_pairs(shape_index.zones, xs, ys)


# ---------------------------------------------------------------- holes and parts


@pytest.mark.parametrize(("point", "expected"), [
    (shapes.POINT_IN_HOLE, set()),
    (shapes.POINT_IN_SQUARE_RING, {"square_with_hole"}),
    (shapes.POINT_IN_FIRST_PART, {"two_parts"}),
    (shapes.POINT_IN_SECOND_PART, {"two_parts"}),
    (shapes.POINT_BETWEEN_PARTS, set()),
    (shapes.POINT_IN_NOTCH, set()),
    ((106.66, 26.56), {"overlapping_square"}),  # in A's hole but inside B
    ((106.69, 26.59), {"square_with_hole", "overlapping_square"}),
    ((106.23, 26.25), set()),  # inside the hole that touches its shell
])
def test_holes_are_outside_and_every_part_is_inside(shape_index, point, expected):
    [ids] = shape_index.locate([point[0]], [point[1]], AT).zone_ids_per_point()
    assert set(ids) == expected


def test_nan_and_far_away_points_are_in_no_zone(shape_index):
    hits = shape_index.locate([np.nan, 106.65, 0.0, 2.35], [26.55, np.nan, 0.0, 48.85], AT)
    assert len(hits) == 0 and hits.point_count == 4


def test_empty_index_and_empty_batch_find_nothing(shape_index):
    assert len(ZoneIndex.build([]).locate([106.65], [26.55], AT)) == 0
    assert len(shape_index.locate([], [], AT)) == 0


# ---------------------------------------------------------------- Guiyang districts


def _district_points():
    rows = []
    for feature in DISTRICTS["features"]:
        for key in ("centroid", "center"):
            lon, lat = feature["properties"][key]
            owners = {f["properties"]["adcode"] for f in DISTRICTS["features"]
                      if shape(f["geometry"]).covers(Point(lon, lat))}
            rows.append(pytest.param((lon, lat), owners, id=f"{feature['properties']['adcode']}-{key}"))
    return rows


@pytest.mark.parametrize(("gcj_point", "owners"), _district_points())
def test_district_point_given_in_gcj02_is_located_in_its_district(district_index, gcj_point, owners):
    assert len(owners) == 1  # checked against the GCJ-02 polygons with exact Shapely
    wgs = crs.to_wgs84([gcj_point[0]], [gcj_point[1]], Crs.GCJ02)
    [ids] = district_index.locate(*wgs, AT).zone_ids_per_point()
    assert set(ids) == owners


@pytest.mark.parametrize(("gcj_point", "owners"), _district_points())
def test_district_point_is_outside_every_other_district(district_index, gcj_point, owners):
    wgs = crs.to_wgs84([gcj_point[0]], [gcj_point[1]], Crs.GCJ02)
    others = {z.zone_id for z in district_index.zones} - owners
    [ids] = district_index.locate(*wgs, AT).zone_ids_per_point()
    assert not others & set(ids)


def test_gcj02_points_converted_agree_with_exact_gcj02_test_and_raw_points_would_not(district_index):
    rng = np.random.default_rng(2)
    gx, gy = rng.uniform(106.60, 106.80, 40_000), rng.uniform(26.50, 26.65, 40_000)
    gcj_zones = [shape(f["geometry"]) for f in DISTRICTS["features"]]
    truth = {(i, z) for z, g in enumerate(gcj_zones) for i in np.flatnonzero(shapely.intersects_xy(g, gx, gy))}
    converted = engine_pairs(district_index, *crs.to_wgs84(gx, gy, Crs.GCJ02))
    unconverted = engine_pairs(district_index, gx, gy)
    assert converted == truth
    assert len(unconverted ^ truth) > 100  # the ~540 m datum error is gross (5.2)


def test_districts_match_naive_loop_on_random_points(district_index):
    rng = np.random.default_rng(3)
    xs, ys = rng.uniform(106.1, 107.3, 5_000), rng.uniform(26.2, 27.4, 5_000)
    assert engine_pairs(district_index, xs, ys) == naive_pairs(district_index.zones, xs, ys)


def test_district_boundary_vertices_match_naive_loop(district_index):
    xs, ys = vertices_and_edge_points([z.geometry for z in district_index.zones])
    assert engine_pairs(district_index, xs, ys) == naive_pairs(district_index.zones, xs, ys)


# ---------------------------------------------------------------- results and versions


def test_zone_hits_convenience_lists_ids_per_point_in_order(shape_index):
    points = [shapes.POINT_IN_HOLE, (106.69, 26.59), shapes.POINT_IN_SECOND_PART]
    hits = shape_index.locate(*np.array(points).T, AT)
    assert hits.zone_ids_per_point() == [[], ["square_with_hole", "overlapping_square"], ["two_parts"]]
    assert [z.zone_id for z in hits.zones_at(2)] == ["two_parts"]


def test_version_fingerprint_ignores_order_and_follows_zone_versions():
    assert zone_set_version([("a", 1), ("b", 2)]) == zone_set_version([("b", 2), ("a", 1)])
    assert zone_set_version([("a", 1), ("b", 2)]) != zone_set_version([("a", 1), ("b", 3)])


def test_index_version_defaults_to_the_fingerprint_of_its_records():
    zones = records({"a": shapes.TINY, "b": shapes.CONCAVE})
    assert ZoneIndex.build(zones).version == zone_set_version([("a", 1), ("b", 1)])
    assert ZoneIndex.build(zones, version="db-42").version == "db-42"


@pytest.mark.parametrize("bad", [
    [ZoneRecord("x", 1, shapely.Polygon([(106, 26), (106.1, 26.1), (106.1, 26), (106, 26.1)]))],
    [ZoneRecord("x", 1, shapely.Point(106, 26).buffer(0.01).exterior)],
    [ZoneRecord("x", 1, shapes.TINY), ZoneRecord("x", 2, shapes.CONCAVE)],
    [ZoneRecord("x", 1, shapes.TINY, effective_from=datetime(2025, 1, 1))],
])
def test_malformed_zone_records_are_refused(bad):
    with pytest.raises(ZoneIndexError):
        ZoneIndex.build(bad)


@pytest.mark.parametrize(("lons", "lats", "at"), [
    ([106.6, 106.7], [26.5], AT),
    ([106.6], [26.5], datetime(2025, 3, 1, 12)),
    ([106.6, 106.7], [26.5, 26.6], np.array(["2025-03-01T04:00"], dtype="datetime64[s]")),
    ([106.6], [26.5], np.array([1.0])),
    ([2.35], [48.85], datetime(2025, 3, 1, 12)),  # no candidate zone, still refused
])
def test_malformed_batches_are_refused(shape_index, lons, lats, at):
    with pytest.raises(ZoneIndexError):
        shape_index.locate(lons, lats, at)


def test_per_fix_times_as_aware_datetimes_equal_datetime64(shape_index):
    times = [AT, AT + timedelta(hours=1)]
    as_numpy = np.array(["2025-03-01T04:00", "2025-03-01T05:00"], dtype="datetime64[us]")
    points = np.array([shapes.POINT_IN_SQUARE_RING, shapes.POINT_IN_FIRST_PART]).T
    assert engine_pairs(shape_index, *points, times) == engine_pairs(shape_index, *points, as_numpy)

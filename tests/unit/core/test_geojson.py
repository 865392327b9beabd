"""GeoJSON -> validated WGS-84 geometry, with located problems."""

import json

import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon

from mobsrc.core.geo import crs
from mobsrc.core.geo.crs import Crs
from mobsrc.core.geo.districts import GUIYANG_DISTRICTS
from mobsrc.core.geo.geojson import (
    AreaQueryError,
    GeometryProblem,
    InvalidGeometry,
    ParsedGeometry,
    ProblemCode,
    area_query,
    parse_area,
    require_area,
)

DISTRICTS = json.loads(GUIYANG_DISTRICTS.read_text("utf-8"))

SQUARE = [[106.6, 26.5], [106.7, 26.5], [106.7, 26.6], [106.6, 26.6], [106.6, 26.5]]
HOLE = [[106.62, 26.52], [106.62, 26.58], [106.68, 26.58], [106.68, 26.52], [106.62, 26.52]]
FAR_SQUARE = [[106.8, 26.8], [106.9, 26.8], [106.9, 26.9], [106.8, 26.9], [106.8, 26.8]]


def polygon(*rings):
    return {"type": "Polygon", "coordinates": list(rings)}


def feature(geometry):
    return {"type": "Feature", "properties": {}, "geometry": geometry}


def collection(*features):
    return {"type": "FeatureCollection", "features": list(features)}


# One row per rejection rule: (document, expected code, expected JSON pointer).
INVALID_DOCUMENTS = [
    pytest.param({"type": "Point", "coordinates": [106.6, 26.5]}, ProblemCode.UNSUPPORTED_TYPE, "/type",
                 id="point-is-not-an-area"),
    pytest.param(collection(feature({"type": "LineString", "coordinates": SQUARE})),
                 ProblemCode.UNSUPPORTED_TYPE, "/features/0/geometry/type", id="linestring-feature"),
    pytest.param([SQUARE], ProblemCode.MALFORMED, "", id="not-an-object"),
    pytest.param(collection(), ProblemCode.EMPTY, "/features", id="empty-collection"),
    pytest.param(feature(None), ProblemCode.EMPTY, "/geometry", id="null-geometry"),
    pytest.param(polygon(SQUARE[:3]), ProblemCode.TOO_FEW_POSITIONS, "/coordinates/0",
                 id="ring-of-three-positions"),
    pytest.param(polygon(SQUARE[:4]), ProblemCode.RING_NOT_CLOSED, "/coordinates/0/3", id="ring-not-closed"),
    pytest.param(polygon([*SQUARE[:2], [106.7, "26.6"], *SQUARE[3:]]), ProblemCode.NON_NUMERIC_COORDINATE,
                 "/coordinates/0/2", id="string-coordinate"),
    pytest.param(polygon([*SQUARE[:2], [106.7, float("nan")], *SQUARE[3:]]),
                 ProblemCode.NON_NUMERIC_COORDINATE, "/coordinates/0/2", id="nan-coordinate"),
    pytest.param(polygon([*SQUARE[:2], [True, 26.6], *SQUARE[3:]]), ProblemCode.NON_NUMERIC_COORDINATE,
                 "/coordinates/0/2", id="boolean-coordinate"),
    pytest.param(polygon([*SQUARE[:2], [106.7], *SQUARE[3:]]), ProblemCode.NON_NUMERIC_COORDINATE,
                 "/coordinates/0/2", id="one-dimensional-position"),
    pytest.param(polygon([[106.6, 26.5], [106.7, 26.6], [106.7, 26.5], [106.6, 26.6], [106.6, 26.5]]),
                 ProblemCode.SELF_INTERSECTION, "/coordinates/0", id="bow-tie"),
    pytest.param(polygon([[106.6, 26.5], [106.65, 26.55], [106.7, 26.6], [106.6, 26.5]]),
                 ProblemCode.ZERO_AREA, "/coordinates/0", id="collinear-ring"),
    pytest.param(polygon([[106.6, 26.5]] * 4), ProblemCode.ZERO_AREA, "/coordinates/0", id="one-point-ring"),
    pytest.param(polygon([[2.30, 48.80], [2.40, 48.80], [2.40, 48.90], [2.30, 48.80]]),
                 ProblemCode.OUTSIDE_CHINA, "/coordinates/0/0", id="paris"),
    pytest.param(polygon(SQUARE, FAR_SQUARE), ProblemCode.HOLE_OUTSIDE_SHELL, "/coordinates/1",
                 id="hole-outside-shell"),
    pytest.param({"type": "MultiPolygon", "coordinates": [[SQUARE], [HOLE]]}, ProblemCode.PARTS_OVERLAP,
                 "/coordinates", id="multipolygon-parts-overlap"),
    pytest.param({"type": "MultiPolygon", "coordinates": [[SQUARE], [SQUARE[:3]]]},
                 ProblemCode.TOO_FEW_POSITIONS, "/coordinates/1/0", id="second-part-too-short"),
]


@pytest.mark.parametrize(("document", "code", "pointer"), INVALID_DOCUMENTS)
def test_invalid_area_is_rejected_with_its_reason_and_location(document, code, pointer):
    problems = parse_area(document, Crs.WGS84)
    assert isinstance(problems, list)
    assert [(p.code, p.pointer) for p in problems] == [(code, pointer)]


def test_self_intersection_reports_the_crossing_point():
    bow_tie = polygon([[106.6, 26.5], [106.7, 26.6], [106.7, 26.5], [106.6, 26.6], [106.6, 26.5]])
    [problem] = parse_area(bow_tie, Crs.WGS84)
    assert problem.point == pytest.approx((106.65, 26.55))
    assert problem.ring_index == 0


def test_hole_crossing_its_shell_is_located_on_the_hole():
    crossing_hole = [[106.65, 26.55], [106.75, 26.55], [106.75, 26.57], [106.65, 26.55]]
    [problem] = parse_area(polygon(SQUARE, crossing_hole), Crs.WGS84)
    assert problem.code is ProblemCode.SELF_INTERSECTION
    assert problem.point == pytest.approx((106.7, 26.55))


def test_every_problem_in_a_collection_is_reported_with_its_feature_index():
    document = collection(feature(polygon(SQUARE)), feature(polygon(SQUARE[:3])),
                          feature({"type": "Point", "coordinates": [1, 2]}), feature(polygon(SQUARE[:4])))
    problems = parse_area(document, Crs.GCJ02)
    assert [(p.feature_index, p.code) for p in problems] == [
        (1, ProblemCode.TOO_FEW_POSITIONS), (2, ProblemCode.UNSUPPORTED_TYPE), (3, ProblemCode.RING_NOT_CLOSED)]


def test_problem_pointer_locates_the_ring_of_a_multipolygon_feature():
    document = collection(feature({"type": "MultiPolygon", "coordinates": [[SQUARE], [FAR_SQUARE, SQUARE[:4]]]}))
    [problem] = parse_area(document, Crs.WGS84)
    assert problem.pointer == "/features/0/geometry/coordinates/1/1/3"
    assert (problem.polygon_index, problem.ring_index, problem.coordinate_index) == (1, 1, 3)


def test_polygon_with_hole_is_accepted_and_keeps_the_hole():
    parsed = parse_area(polygon(SQUARE, HOLE), Crs.WGS84)
    assert isinstance(parsed, ParsedGeometry)
    assert parsed.hole_count == 1
    assert not parsed.geometry.covers(shapely.Point(106.65, 26.55))
    assert parsed.geometry.covers(shapely.Point(106.61, 26.51))


def test_hole_touching_shell_at_one_point_is_valid():
    touching = [[106.6, 26.55], [106.65, 26.53], [106.65, 26.57], [106.6, 26.55]]
    assert isinstance(parse_area(polygon(SQUARE, touching), Crs.WGS84), ParsedGeometry)


def test_third_coordinate_is_accepted_and_dropped():
    with_altitude = [[*p, 1071.0] for p in SQUARE]
    parsed = parse_area(polygon(with_altitude), Crs.WGS84)
    assert not parsed.geometry.has_z


def test_collection_features_are_united_even_when_they_overlap():
    parsed = parse_area(collection(feature(polygon(SQUARE)), feature(polygon(HOLE))), Crs.WGS84)
    assert isinstance(parsed.geometry, Polygon)
    assert parsed.geometry.area == pytest.approx(Polygon(SQUARE).area)


def test_multipolygon_with_disjoint_parts_is_accepted_as_multipolygon():
    parsed = parse_area({"type": "MultiPolygon", "coordinates": [[SQUARE], [FAR_SQUARE]]}, Crs.WGS84)
    assert isinstance(parsed.geometry, MultiPolygon) and parsed.polygon_count == 2


def test_gcj02_area_is_converted_vertex_by_vertex_to_wgs84():
    parsed = parse_area(polygon(SQUARE), Crs.GCJ02)
    expected = np.column_stack(crs.gcj02_to_wgs84_arrays(*np.array(SQUARE).T))
    assert np.allclose(shapely.get_coordinates(parsed.geometry), expected, atol=0, rtol=0)


def test_all_guiyang_districts_parse_as_one_valid_wgs84_area():
    parsed = parse_area(DISTRICTS, Crs.GCJ02)
    assert isinstance(parsed, ParsedGeometry) and parsed.geometry.is_valid
    assert parsed.source_crs is Crs.GCJ02


@pytest.mark.parametrize("index", range(10))
def test_each_guiyang_district_parses_and_moves_about_540_m(index):
    gcj = shapely.geometry.shape(DISTRICTS["features"][index]["geometry"])
    parsed = require_area(DISTRICTS["features"][index], "gcj02")
    shift = gcj.centroid.distance(parsed.geometry.centroid) * 111_000  # rough metres
    assert 450 < shift < 650


def test_require_area_raises_with_all_problems():
    with pytest.raises(InvalidGeometry) as raised:
        require_area(collection(feature(polygon(SQUARE[:3])), feature(polygon(SQUARE[:4]))), Crs.WGS84)
    assert [p.code for p in raised.value.problems] == [ProblemCode.TOO_FEW_POSITIONS, ProblemCode.RING_NOT_CLOSED]


def test_unknown_declared_crs_is_malformed_input():
    with pytest.raises(ValueError):
        parse_area(polygon(SQUARE), "epsg:3857")


def test_wgs84_bbox_query_is_the_box():
    parsed = area_query(bbox=[106.6, 26.5, 106.7, 26.6])
    assert parsed.geometry.bounds == pytest.approx((106.6, 26.5, 106.7, 26.6))
    assert parsed.geometry.area == pytest.approx(0.01)


def test_gcj02_bbox_query_is_shifted_to_wgs84():
    parsed = area_query(bbox=[106.6, 26.5, 106.7, 26.6], crs=Crs.GCJ02)
    w_lon, w_lat = crs.gcj02_to_wgs84(106.6, 26.5)
    assert parsed.geometry.bounds[0] == pytest.approx(w_lon, abs=1e-4)
    assert parsed.geometry.covers(shapely.Point(crs.gcj02_to_wgs84(106.65, 26.55)))


@pytest.mark.parametrize(("bbox", "code"), [
    ([106.7, 26.5, 106.6, 26.6], ProblemCode.ZERO_AREA),
    ([106.6, 26.5, 106.6, 26.6], ProblemCode.ZERO_AREA),
    ([106.6, 26.5, "x", 26.6], ProblemCode.NON_NUMERIC_COORDINATE),
    ([106.6, 26.5, 106.7], ProblemCode.NON_NUMERIC_COORDINATE),
    ([2.3, 48.8, 2.4, 48.9], ProblemCode.OUTSIDE_CHINA),
])
def test_bad_bbox_query_is_rejected(bbox, code):
    [problem] = area_query(bbox=bbox)
    assert isinstance(problem, GeometryProblem) and problem.code is code


def test_polygon_area_query_uses_the_geojson_rules():
    assert isinstance(area_query(geojson=polygon(SQUARE), crs="bd09"), ParsedGeometry)
    assert area_query(geojson=polygon(SQUARE[:3]))[0].code is ProblemCode.TOO_FEW_POSITIONS


@pytest.mark.parametrize("arguments", [{}, {"bbox": [106.6, 26.5, 106.7, 26.6], "geojson": polygon(SQUARE)}])
def test_area_query_needs_exactly_one_of_bbox_or_geojson(arguments):
    with pytest.raises(AreaQueryError):
        area_query(**arguments)

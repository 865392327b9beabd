"""District boundaries are loaded by the migration; a violation recorded without a district code
gets the district its location falls in."""
from __future__ import annotations

import pytest
from shapely.geometry import Point
from sqlalchemy import func, select

from mobsrc.core.geo.districts import load_district_boundaries
from mobsrc.enforcement import service
from mobsrc.enforcement.models import DistrictBoundary
from tests.integration.enforcement.conftest import INSIDE, point_in, vehicle_draft


def test_the_migration_loaded_every_guiyang_district(session):
    rows = session.execute(select(DistrictBoundary.code, func.ST_IsValid(DistrictBoundary.geom),
                                  func.ST_SRID(DistrictBoundary.geom))).all()
    assert {code for code, _, _ in rows} == set(INSIDE)
    assert all(valid and srid == 4326 for _, valid, srid in rows)


@pytest.mark.parametrize("code", sorted(INSIDE))
def test_the_district_is_derived_from_the_location(record, code):
    lon, lat = point_in(code)
    assert record(vehicle_draft(lon=lon, lat=lat)).district_code == code


def test_a_given_district_code_is_kept(record):
    lon, lat = point_in("520102")
    assert record(vehicle_draft(lon=lon, lat=lat, district_code="520103")).district_code == "520103"


@pytest.mark.parametrize("lon, lat", [(106.0, 26.0), (116.40, 39.90)])  # south-west of Guiyang; Beijing
def test_outside_every_district_there_is_no_code(record, lon, lat):
    assert record(vehicle_draft(lon=lon, lat=lat)).district_code is None


def test_without_a_location_nothing_is_derived(record):
    assert record(vehicle_draft()).district_code is None


def test_a_point_on_a_shared_border_goes_to_the_lower_code(session):
    """Neighbours share border vertices exactly (both converted from the same GCJ-02 vertices);
    such a point intersects both districts and the lower code is chosen, deterministically."""
    boundaries = {d.code: d.geometry for d in load_district_boundaries()}
    shared = next(Point(xy) for xy in boundaries["520103"].geoms[0].exterior.coords
                  if boundaries["520102"].boundary.distance(Point(xy)) == 0)
    assert service.district_at(session, shared.x, shared.y) == "520102"

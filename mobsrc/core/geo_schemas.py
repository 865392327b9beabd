"""Coordinates on the wire: WGS-84 [lon, lat] out; in, a point with its declared datum
(`crs`: wgs84 | gcj02 | bd09), converted to WGS-84 on the way in (standards-telemetry.md §5)."""
from __future__ import annotations

from geoalchemy2.elements import WKBElement, WKTElement
from geoalchemy2.shape import to_shape
from marshmallow import Schema, ValidationError, fields, post_load, validate

from mobsrc.core.geo import crs as datums


class PointSchema(Schema):
    lon = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    crs = fields.String(load_default="wgs84", validate=validate.OneOf([c.value for c in datums.Crs]),
                        metadata={"description": "datum of lon/lat: wgs84 (GPS), gcj02 (AMap, Tencent), bd09 (Baidu)"})

    @post_load
    def _to_wgs84(self, data, **kwargs):
        lon, lat = data["lon"], data["lat"]
        if not datums.is_in_china(lon, lat):
            raise ValidationError("the point is outside China; check the order (lon, lat) and the datum", "lon")
        lons, lats = datums.to_wgs84([lon], [lat], datums.Crs(data["crs"]))
        return {"lon": round(float(lons[0]), 7), "lat": round(float(lats[0]), 7)}


def point_element(point: dict | None) -> WKTElement | None:
    """A validated WGS-84 point (PointSchema's output) as a PostGIS value."""
    if point is None:
        return None
    return WKTElement(f"POINT({point['lon']} {point['lat']})", srid=4326)


def lonlat_of(element: WKBElement | WKTElement | None) -> list[float] | None:
    if element is None:
        return None
    shape = to_shape(element)
    return [round(shape.x, 7), round(shape.y, 7)]

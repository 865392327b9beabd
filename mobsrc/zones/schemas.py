"""Zones, alert days, positions and visits on the wire. Position batches are decoded with
msgspec (zones/batches.py); PositionBatchSchema documents the same shape for OpenAPI."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates, validates_schema

from mobsrc.core.geo.crs import Crs
from mobsrc.core.geo_schemas import PointSchema
from mobsrc.core.schemas import PageArgsSchema, Timestamp, one_of_enum, require_one_of
from mobsrc.registry.coding import MachineType
from mobsrc.zones.batches import IngestReason, ItemStatus
from mobsrc.zones.fixes import FixFlag, RejectReason
from mobsrc.zones.models import ZoneStatus
from mobsrc.zones.rules import COMBUSTION_STAGES, EmissionStage

CRS_VALUES = [c.value for c in Crs]
STAGE_VALUES = [s.value for s in (*COMBUSTION_STAGES, EmissionStage.NEW_ENERGY)]
ALERT_LEVELS = ("blue", "yellow", "orange", "red")  # China's four heavy-pollution alert levels
_district = dict(validate=validate.Regexp(r"^\d{6}$", error="a 6-digit GB/T 2260 code"))


def _crs(description: str, **kwargs) -> fields.String:
    return fields.String(validate=validate.OneOf(CRS_VALUES), metadata={"description": description}, **kwargs)


# --- zones ---------------------------------------------------------------------------------------

class DailyWindowSchema(Schema):
    start = fields.Time(required=True, metadata={"description": "local time (Asia/Shanghai), inclusive"})
    end = fields.Time(required=True, metadata={"description": "exclusive; earlier than start = crosses midnight"})

    @validates_schema
    def _not_empty(self, data, **kwargs):
        if data.get("start") is not None and data.get("start") == data.get("end"):
            raise ValidationError("start and end are equal; omit daily_windows for all day", "end")


class ZoneRuleSchema(Schema):
    """The rule of a zone, as data. Omitted fields keep their value (or default, on create)."""

    prohibited_stages = fields.List(fields.String(validate=validate.OneOf(STAGE_VALUES)), metadata={
        "description": "emission stages barred here; default pre_china_1, china_1, china_2 (below China III)"})
    exempt_machine_types = fields.List(fields.String(validate=validate.OneOf([t.value for t in MachineType])),
                                       metadata={"description": "machine types the rule does not apply to"})
    prohibit_unknown_stage = fields.Boolean(metadata={"description": "unknown stage counts as barred (default true)"})
    prohibit_unregistered = fields.Boolean(metadata={"description": "deregistered machinery barred (default false)"})
    unknown_engine_state_is_working = fields.Boolean(metadata={
        "description": "a fix without engine data counts as working (default true)"})
    effective_from = Timestamp(allow_none=True, metadata={"description": "inclusive; default: from now"})
    effective_until = Timestamp(allow_none=True, metadata={"description": "exclusive; default: open-ended"})
    daily_windows = fields.List(fields.Nested(DailyWindowSchema), metadata={
        "description": "local times of day the zone applies; empty = all day"})
    alert_days_only = fields.Boolean(metadata={"description": "applies on heavy-pollution alert days only"})


class ZoneCreateSchema(ZoneRuleSchema):
    name = fields.String(required=True, validate=validate.Length(min=2, max=100))
    district_code = fields.String(load_default=None, allow_none=True, **_district)
    area = fields.Dict(required=True, metadata={"description": "GeoJSON Feature, FeatureCollection, Polygon or "
                                                               "MultiPolygon (holes allowed)"})
    crs = _crs("datum of the area: wgs84 (GPS), gcj02 (AMap, Tencent), bd09 (Baidu)", load_default="wgs84")
    note = fields.String(load_default="", validate=validate.Length(max=300))


class ZoneUpdateSchema(ZoneRuleSchema):
    name = fields.String(validate=validate.Length(min=2, max=100))
    district_code = fields.String(allow_none=True, **_district)
    area = fields.Dict(metadata={"description": "a new area (GeoJSON), in `crs`"})
    crs = _crs("datum of the new area", load_default="wgs84")
    note = fields.String(load_default="", validate=validate.Length(max=300),
                         metadata={"description": "why (kept with the version)"})
    expected_version = fields.Integer(metadata={"description": "refuse (409) unless this is the current version"})


class ZoneRetireSchema(Schema):
    note = fields.String(load_default="", validate=validate.Length(max=300))
    expected_version = fields.Integer()


class ZoneImportSchema(ZoneRuleSchema):
    area = fields.Dict(required=True, metadata={"description": "a GeoJSON FeatureCollection: one zone per feature"})
    crs = _crs("datum of the collection", load_default="wgs84")
    name_property = fields.String(load_default="name")
    district_property = fields.String(load_default="adcode",
                                      metadata={"description": "property holding the GB/T 2260 code, if any"})
    name_prefix = fields.String(load_default="", validate=validate.Length(max=40))
    district_code = fields.String(load_default=None, allow_none=True,
                                  metadata={"description": "for features without a known district code"}, **_district)
    note = fields.String(load_default="", validate=validate.Length(max=300))


class ZoneSummarySchema(ZoneRuleSchema):
    id = fields.Integer()
    version = fields.Function(lambda v: v.version.version, metadata={"description": "the version shown"})
    status = one_of_enum(ZoneStatus)
    name = fields.String()
    district_code = fields.String(allow_none=True)
    prohibited_stages = fields.List(fields.String())
    exempt_machine_types = fields.List(fields.String())
    daily_windows = fields.List(fields.Dict())
    bbox = fields.List(fields.Float(), metadata={"description": "WGS-84 [west, south, east, north]"})
    changed = fields.List(fields.String(), metadata={"description": "what this version changed"})
    note = fields.String()
    recorded_at = Timestamp(metadata={"description": "when this version was made (it is in force from then)"})
    recorded_by = fields.Integer(allow_none=True)


class ZoneSchema(ZoneSummarySchema):
    area = fields.Dict(metadata={"description": "GeoJSON geometry (MultiPolygon) in area_crs"})
    area_crs = fields.Function(lambda v: v.area_crs.value)
    source_crs = fields.String(metadata={"description": "datum the area was drawn in"})


class ZoneQueryArgsSchema(PageArgsSchema):
    status = one_of_enum(ZoneStatus)
    district_code = fields.String(**_district)


class AreaCrsArgsSchema(Schema):
    crs = _crs("datum of the returned coordinates (for drawing on AMap/Tencent: gcj02; Baidu: bd09)",
               load_default="wgs84")


# --- alert days ----------------------------------------------------------------------------------

class AlertDaySchema(Schema):
    day = fields.Date()
    level = fields.String()
    note = fields.String()
    declared_by = fields.Integer(allow_none=True)
    declared_at = Timestamp()


class AlertDayDeclareSchema(Schema):
    level = fields.String(load_default="orange", validate=validate.OneOf(ALERT_LEVELS))
    note = fields.String(load_default="", validate=validate.Length(max=300))


class AlertDayArgsSchema(Schema):
    from_ = fields.Date(data_key="from", load_default=None)
    to = fields.Date(load_default=None)


# --- positions -----------------------------------------------------------------------------------

class PositionItemSchema(Schema):
    """Documentation of one item (the batch is decoded by msgspec, see zones/batches.py)."""

    machine_code = fields.String(metadata={"description": "registration code; or give terminal_id"})
    terminal_id = fields.String()
    fix_time = fields.DateTime(required=True, metadata={"description": "ISO 8601; no offset = Beijing time"})
    lon = fields.Float(required=True)
    lat = fields.Float(required=True)
    crs = _crs("datum of lon/lat", load_default="wgs84")
    hdop = fields.Float()
    accuracy_m = fields.Float()
    satellites = fields.Integer()
    speed_kmh = fields.Float()
    heading = fields.Float()
    engine_on = fields.Boolean()
    engine_rpm = fields.Float()
    position_valid = fields.Boolean(metadata={"description": "false: the terminal repeats its last valid fix"})


class PositionBatchSchema(Schema):
    positions = fields.List(fields.Nested(PositionItemSchema), required=True)


class PositionAnswerSchema(Schema):
    index = fields.Integer()
    status = fields.String(metadata={"enum": [s.value for s in ItemStatus]})
    reason = fields.String(allow_none=True, metadata={
        "enum": [r.value for r in IngestReason] + [r.value for r in RejectReason if r is not RejectReason.DUPLICATE]})
    detail = fields.String(allow_none=True)
    flags = fields.List(fields.String(metadata={"enum": [f.value for f in FixFlag]}))


class PositionBatchOutSchema(Schema):
    id = fields.Integer()
    received_at = Timestamp()
    items = fields.Integer()
    accepted = fields.Integer()
    duplicates = fields.Integer()
    rejected = fields.Integer()
    first_fix_time = Timestamp(allow_none=True)
    last_fix_time = Timestamp(allow_none=True)
    processed = fields.Boolean(metadata={"description": "geofenced"})
    processed_at = Timestamp(allow_none=True)


class BatchResultSchema(PositionBatchOutSchema):
    id = fields.Integer(attribute="batch_id")
    results = fields.List(fields.Nested(PositionAnswerSchema))


class PositionRejectSchema(Schema):
    item_index = fields.Integer()
    reason = fields.String()
    detail = fields.String()
    machine_id = fields.Integer(allow_none=True)
    fix_time = Timestamp(allow_none=True)
    raw = fields.Raw(metadata={"description": "the item as received"})


class LastPositionSchema(Schema):
    machine_id = fields.Integer()
    machine_code = fields.String()
    enterprise_id = fields.Integer()
    fix_time = Timestamp()
    location = fields.Function(lambda p: [round(p.lon, 7), round(p.lat, 7)], metadata={"description": "WGS-84"})
    hdop = fields.Float(allow_none=True)
    accuracy_m = fields.Float(allow_none=True)
    speed_kmh = fields.Float(allow_none=True)
    heading = fields.Float(allow_none=True)
    engine_on = fields.Boolean(allow_none=True)
    engine_rpm = fields.Float(allow_none=True)


class LastPositionQueryArgsSchema(PageArgsSchema):
    enterprise_id = fields.Integer()
    seen_since = Timestamp()
    bbox = fields.String(metadata={"description": "west,south,east,north in bbox_crs"})
    bbox_crs = _crs("datum of bbox", load_default="wgs84")

    @validates("bbox")
    def _bbox(self, value, **kwargs):
        parts = value.split(",")
        try:
            if len(parts) != 4:
                raise ValueError
            [float(p) for p in parts]
        except ValueError:
            raise ValidationError("four numbers: west,south,east,north") from None


class TrackArgsSchema(Schema):
    from_ = Timestamp(data_key="from", required=True)
    to = Timestamp(required=True)
    crs = _crs("datum of the returned coordinates", load_default="wgs84")
    include_excluded = fields.Boolean(load_default=False, metadata={
        "description": "also fixes not used for geofencing (implausible jumps, poor accuracy), flagged"})


class WorkCheckArgsSchema(Schema):
    machine_id = fields.Integer()
    machine_code = fields.String()
    lon = fields.Float(required=True)
    lat = fields.Float(required=True)
    crs = _crs("datum of lon/lat", load_default="wgs84")
    at = Timestamp(metadata={"description": "default: now"})

    @validates_schema
    def _machine(self, data, **kwargs):
        require_one_of(data, "machine_id", "machine_code")

    @post_load
    def _to_wgs84(self, data, **kwargs):
        data["point"] = PointSchema().load({"lon": data["lon"], "lat": data["lat"], "crs": data["crs"]})
        return data


class ZoneAnswerSchema(Schema):
    zone_id = fields.Integer()
    zone_version = fields.Integer()
    name = fields.String()
    district_code = fields.String(allow_none=True)
    in_force = fields.Boolean(metadata={"description": "the zone applied at that time (dates, windows, alert days)"})
    prohibited = fields.Boolean()
    reasons = fields.List(fields.String())
    effective_from = Timestamp(allow_none=True)
    effective_until = Timestamp(allow_none=True)
    daily_windows = fields.Function(lambda z: [{"start": w.start.isoformat(), "end": w.end.isoformat()}
                                               for w in z.daily_windows])
    alert_days_only = fields.Boolean()


class WorkCheckSchema(Schema):
    allowed = fields.Boolean()
    machine_id = fields.Integer()
    machine_code = fields.String()
    point = fields.Function(lambda c: [round(c.lon, 7), round(c.lat, 7)], metadata={"description": "WGS-84"})
    at = Timestamp()
    alert_day = fields.Boolean()
    denied_by = fields.List(fields.Integer(), metadata={"description": "ids of the zones that deny it"})
    zones = fields.List(fields.Nested(ZoneAnswerSchema))


# --- visits --------------------------------------------------------------------------------------

class ZoneVisitSchema(Schema):
    id = fields.Integer()
    machine_id = fields.Integer()
    machine_code = fields.String()
    enterprise_id = fields.Integer()
    zone_id = fields.Integer()
    zone_version_id = fields.Integer()
    entry_time = Timestamp()
    confirmed_at = Timestamp()
    exit_time = Timestamp(allow_none=True)
    dwell_seconds = fields.Integer(allow_none=True)
    ended_by = fields.String(allow_none=True)
    machine_barred = fields.Boolean(metadata={"description": "its stage/registration is barred in this zone"})
    reasons = fields.List(fields.String())
    violation_id = fields.Integer(allow_none=True)
    violation_started_at = Timestamp(allow_none=True)
    entry_evidence = fields.List(fields.Dict())
    exit_evidence = fields.List(fields.Dict(), allow_none=True)


class ZoneVisitQueryArgsSchema(PageArgsSchema):
    open = fields.Boolean(metadata={"description": "true: machines inside now"})
    violating = fields.Boolean(metadata={"description": "true: visits that opened a violation"})
    zone_id = fields.Integer()
    machine_id = fields.Integer()
    enterprise_id = fields.Integer()
    entered_from = Timestamp()
    entered_to = Timestamp()


class OccupantSchema(ZoneVisitSchema):
    last_position = fields.Function(lambda o: None if o.position is None else LastPositionSchema().dump(o.position))


class InsideArgsSchema(Schema):
    zone_id = fields.Integer()

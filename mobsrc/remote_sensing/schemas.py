"""Remote-sensing schemas: the API's language. The readings batch is decoded by msgspec
(`payloads.py`, the hot path); its marshmallow schemas here document it in the OpenAPI spec."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from mobsrc.core.geo_schemas import lonlat_of
from mobsrc.core.schemas import PageArgsSchema, Timestamp, one_of_enum
from mobsrc.registry.identifiers import PlateColour
from mobsrc.registry.schemas import PlateColourField
from mobsrc.remote_sensing.calibration import CheckKind
from mobsrc.remote_sensing.models import HandoverStatus
from mobsrc.remote_sensing.payloads import MAX_READINGS_PER_BATCH
from mobsrc.remote_sensing.verdicts import Outcome

_text = dict(validate=validate.Length(min=1, max=100))
_float = dict(allow_none=True, load_default=None)

# --- the readings batch (documentation of what payloads.py decodes) ------------------------------


class EvidenceSchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(["image", "video"]))
    id = fields.String(required=True, metadata={"description": "the file's id in the evidence store"})
    sha256 = fields.String(required=True, metadata={"description": "SHA-256 of the file, 64 hex digits"})
    role = fields.String(allow_none=True, metadata={"description": "plate, far, near, smoke, ..."})


class ReadingInSchema(Schema):
    measured_at = Timestamp(required=True, metadata={"description": "without an offset: Beijing time"})
    lane = fields.Integer(required=True, validate=validate.Range(min=1, max=99))
    plate = fields.String(allow_none=True, metadata={"description": "as read; normalised (full-width, spaces, "
                                                                   "case); null or 无车牌 for an unread plate"})
    plate_colour = PlateColourField(allow_none=True)
    record_id = fields.String(allow_none=True, metadata={"description": "the device's own record id"})
    speed_kmh = fields.Float(required=True)
    accel_ms2 = fields.Float(required=True)
    vsp_kw_t = fields.Float(**_float, metadata={"description": "computed (Jiménez-Palacios) when absent"})
    opacity_pct = fields.Float(**_float)
    k_m1 = fields.Float(**_float, metadata={"description": "light absorption coefficient, m^-1"})
    ringelmann_grade = fields.Float(**_float, metadata={"description": "0-5"})
    no_ppm = fields.Float(**_float)
    co_pct = fields.Float(**_float)
    hc_ppm = fields.Float(**_float)
    co2_pct = fields.Float(**_float)
    wind_ms = fields.Float(**_float)
    wind_dir_deg = fields.Float(**_float)
    temp_c = fields.Float(**_float)
    rh_pct = fields.Float(**_float)
    pressure_kpa = fields.Float(**_float)
    rain = fields.Boolean(allow_none=True)
    slope_deg = fields.Float(**_float, metadata={"description": "road grade; the site's when absent"})
    evidence = fields.List(fields.Nested(EvidenceSchema))


class ReadingBatchSchema(Schema):
    station_code = fields.String(metadata={"description": "optional; must be the posting key's own station"})
    readings = fields.List(fields.Nested(ReadingInSchema), required=True,
                           metadata={"description": f"1 to {MAX_READINGS_PER_BATCH} readings"})


class ReadingAnswerSchema(Schema):
    index = fields.Integer()
    status = fields.String(metadata={"description": "accepted | duplicate | rejected"})
    reading_id = fields.Integer(allow_none=True, metadata={"description": "for a duplicate: the reading stored"})
    errors = fields.Function(lambda a: [{"field": e.field, "reason": e.reason} for e in a.errors],
                             metadata={"description": "why a reading was rejected"})


class BatchAnswerSchema(Schema):
    batch_id = fields.Integer()
    station_code = fields.String()
    received = fields.Integer()
    accepted = fields.Integer()
    duplicates = fields.Integer()
    rejected = fields.Integer()
    notices = fields.List(fields.String())
    items = fields.List(fields.Nested(ReadingAnswerSchema))


class BatchSchema(Schema):
    id = fields.Integer()
    station_id = fields.Integer()
    received_at = Timestamp()
    received = fields.Integer()
    accepted = fields.Integer()
    duplicates = fields.Integer()
    rejected = fields.Integer()
    first_measured_at = Timestamp(allow_none=True)
    last_measured_at = Timestamp(allow_none=True)
    processed_at = Timestamp(allow_none=True, metadata={"description": "null until judged"})
    outcomes = fields.Dict(metadata={"description": "verdicts per outcome, black-smoke captures, confirmations"})


# --- readings and verdicts -------------------------------------------------------------------------


class VerdictSchema(Schema):
    id = fields.Integer()
    outcome = one_of_enum(Outcome)
    limit_version = fields.String(metadata={"description": "the limit table the verdict used"})
    reasons = fields.List(fields.Dict(), metadata={"description": "code, measured, limit, clause"})
    pollutants = fields.List(fields.Dict(), metadata={"description": "per pollutant: status, measured, limit, "
                                                                     "clause, source tag"})
    exceeded = fields.List(fields.String())
    black_smoke = fields.Boolean(metadata={"description": "captured as black smoke (Ringelmann trigger)"})
    fuel = fields.String(allow_none=True)
    vehicle_id = fields.Integer(allow_none=True, metadata={"description": "the registered vehicle matched"})
    calibration_id = fields.Integer(allow_none=True, metadata={"description": "the calibration record in force"})
    vsp_kw_t = fields.Float()
    vsp_source = fields.String()
    judged_at = Timestamp()
    superseded_at = Timestamp(allow_none=True)


class ReadingSchema(Schema):
    id = fields.Integer()
    station_id = fields.Integer()
    batch_id = fields.Integer()
    measured_at = Timestamp()
    lane = fields.Integer()
    plate = fields.String(allow_none=True)
    plate_colour = one_of_enum(PlateColour, allow_none=True)
    record_id = fields.String(allow_none=True)
    speed_kmh = fields.Float()
    accel_ms2 = fields.Float()
    vsp_kw_t = fields.Float(allow_none=True)
    opacity_pct = fields.Float(allow_none=True)
    k_m1 = fields.Float(allow_none=True)
    ringelmann_grade = fields.Float(allow_none=True)
    no_ppm = fields.Float(allow_none=True)
    co_pct = fields.Float(allow_none=True)
    hc_ppm = fields.Float(allow_none=True)
    co2_pct = fields.Float(allow_none=True)
    wind_ms = fields.Float(allow_none=True)
    wind_dir_deg = fields.Float(allow_none=True)
    temp_c = fields.Float(allow_none=True)
    rh_pct = fields.Float(allow_none=True)
    pressure_kpa = fields.Float(allow_none=True)
    rain = fields.Boolean(allow_none=True)
    slope_deg = fields.Float(allow_none=True)
    evidence = fields.List(fields.Nested(EvidenceSchema))
    received_at = Timestamp()
    verdict = fields.Nested(VerdictSchema, allow_none=True, metadata={"description": "current; null until judged"})


class ReadingDetailSchema(ReadingSchema):
    verdicts = fields.List(fields.Nested(VerdictSchema), metadata={"description": "every judgement, oldest first"})


class ReadingQueryArgsSchema(PageArgsSchema):
    station_id = fields.Integer()
    plate = fields.String()
    plate_colour = PlateColourField()
    vehicle_id = fields.Integer()
    outcome = one_of_enum(Outcome)
    black_smoke = fields.Boolean()
    measured_from = Timestamp()
    measured_to = Timestamp()


# --- stations, calibration --------------------------------------------------------------------------


class StationDetailsSchema(Schema):
    road = fields.String(required=True, validate=validate.Length(min=1, max=200))
    direction = fields.String(required=True, validate=validate.Length(min=1, max=60))
    lanes = fields.Integer(required=True, validate=validate.Range(min=1, max=20))
    mounting = fields.String(required=True, validate=validate.OneOf(["vertical", "horizontal", "mobile"]))
    device_make = fields.String(required=True, **_text)
    device_model = fields.String(required=True, **_text)
    device_serial = fields.String(required=True, **_text)
    slope_deg = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=-30, max=30),
                             metadata={"description": "site road grade, degrees (used when a reading has none)"})


class CalibrationStatusSchema(Schema):
    ok = fields.Boolean(metadata={"description": "a passed check is in force today"})
    record_id = fields.Integer(allow_none=True)
    valid_to = fields.Function(lambda s: s.record.valid_to.isoformat() if s.record else None)


class RsStationSchema(Schema):
    id = fields.Function(lambda v: v.station.id)
    code = fields.Function(lambda v: v.station.code)
    name = fields.Function(lambda v: v.station.name)
    district_code = fields.Function(lambda v: v.station.district_code)
    location = fields.Function(lambda v: lonlat_of(v.station.location), metadata={"description": "WGS-84"})
    active = fields.Function(lambda v: v.station.active)
    details = fields.Nested(StationDetailsSchema, allow_none=True)
    calibration = fields.Nested(CalibrationStatusSchema)


class CalibrationCreateSchema(Schema):
    kind = one_of_enum(CheckKind, required=True)
    performed_on = fields.Date(required=True)
    valid_from = fields.Date(required=True, metadata={"description": "first local day covered"})
    valid_to = fields.Date(required=True, metadata={"description": "last local day covered (inclusive)"})
    passed = fields.Boolean(required=True, metadata={"description": "a failed check invalidates the days it covers"})
    certificate_no = fields.String(load_default="", validate=validate.Length(max=100))
    performed_by = fields.String(load_default="", validate=validate.Length(max=200))
    device_serial = fields.String(load_default="", validate=validate.Length(max=100))
    notes = fields.String(load_default="", validate=validate.Length(max=500))

    @validates_schema
    def _range(self, data, **kwargs):
        if data.get("valid_from") and data.get("valid_to") and data["valid_to"] < data["valid_from"]:
            raise ValidationError("lies before valid_from", "valid_to")


class CalibrationSchema(CalibrationCreateSchema):
    id = fields.Integer()
    station_id = fields.Integer()
    recorded_by = fields.Integer(allow_none=True)
    created_at = Timestamp()


# --- limit tables -------------------------------------------------------------------------------------


class LimitTableCreateSchema(Schema):
    document = fields.Dict(required=True, metadata={"description": "the whole table; see remote_sensing/"
                                                                   "limit_documents.py for its shape"})
    note = fields.String(load_default="", validate=validate.Length(max=500))


class LimitTableSchema(Schema):
    id = fields.Integer()
    version = fields.String()
    effective_from = fields.Date()
    document = fields.Dict()
    note = fields.String()
    created_by = fields.Integer(allow_none=True)
    created_at = Timestamp()


# --- statistics, confirmations -------------------------------------------------------------------------


class StationDayArgsSchema(Schema):
    station_id = fields.Integer()
    day_from = fields.Date(required=True, metadata={"description": "first Asia/Shanghai day"})
    day_to = fields.Date(required=True, metadata={"description": "last Asia/Shanghai day (inclusive)"})


class StationDaySchema(Schema):
    station = fields.String(metadata={"description": "station code"})
    day = fields.Date()
    readings = fields.Integer()
    pending = fields.Integer(metadata={"description": "stored, not judged yet"})
    valid = fields.Integer()
    judged = fields.Integer(metadata={"description": "pass + exceed"})
    exceeded = fields.Integer()
    matched = fields.Integer(metadata={"description": "plate matched to a registered vehicle"})
    black_smoke = fields.Integer()
    valid_rate = fields.Float(allow_none=True, metadata={"description": "valid / (readings - pending)"})
    exceedance_rate = fields.Float(allow_none=True, metadata={"description": "exceeded / judged"})
    matched_rate = fields.Float(allow_none=True, metadata={"description": "matched / (readings - pending)"})


class ConfirmationSchema(Schema):
    id = fields.Integer()
    plate = fields.String()
    plate_colour = one_of_enum(PlateColour)
    vehicle_id = fields.Integer(allow_none=True)
    pollutant = fields.String()
    reading_ids = fields.List(fields.Integer())
    first_measured_at = Timestamp()
    last_measured_at = Timestamp()
    window_start = Timestamp()
    limit_version = fields.String()
    rule = fields.Dict()
    violation_id = fields.Integer(allow_none=True)
    handover_status = one_of_enum(HandoverStatus)
    handed_over_at = Timestamp(allow_none=True)
    handover_ref = fields.String(allow_none=True)
    confirmed_at = Timestamp()


class ConfirmationQueryArgsSchema(PageArgsSchema):
    plate = fields.String()
    plate_colour = PlateColourField()
    vehicle_id = fields.Integer()
    handover_status = one_of_enum(HandoverStatus)

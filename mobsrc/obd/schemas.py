"""OBD API schemas (marshmallow): the JSON telemetry records built from the same field rules
as the msgspec validators of the hot path (record_specs.py), the answers, and the read side."""
from __future__ import annotations

import numbers
from datetime import datetime

import msgspec
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from mobsrc.core.schemas import PageArgsSchema, Timestamp, one_of_enum
from mobsrc.obd.alarm_model import AlarmKind
from mobsrc.obd.hj1239.tables import IUPR_COUNTERS
from mobsrc.obd.models import AlarmStatus, HandoverStatus
from mobsrc.obd.record_specs import DTC_PATTERN, INFO_RULES, STREAM_RULES, FieldRule
from mobsrc.obd.rows import ENGINE_COLUMNS, ItemStatus, RejectReason


# --- strict JSON types, as msgspec reads them --------------------------------------------------
class StrictFloat(fields.Float):
    """A JSON number (not a bool, not a string); no NaN or infinity."""

    def _validated(self, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise self.make_error("invalid")
        return super()._validated(value)


class StrictInteger(fields.Integer):
    """A JSON integer (not a bool, not 1.0, not a string)."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _validated(self, value):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._validated(value)


class StrictBoolean(fields.Boolean):
    """true or false only (not 1, not "true")."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class Rfc3339(Timestamp):
    """RFC 3339 date-time exactly as the hot path reads it (msgspec's parser); without an
    offset it is Beijing time (Timestamp)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid", input=value, obj_type="datetime")
        try:
            parsed = msgspec.convert(value, datetime)
        except msgspec.ValidationError as exc:
            raise ValidationError("Not a valid RFC 3339 date-time.") from exc
        return super()._deserialize(parsed.isoformat(), attr, data, **kwargs)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


IuprSchema = _Strict.from_dict({name: StrictInteger(load_default=0, validate=validate.Range(0, 0xFFFF))
                                for name in IUPR_COUNTERS}, name="Iupr")


def _validators(rule: FieldRule) -> list:
    out = []
    if rule.lo is not None or rule.hi is not None:
        out.append(validate.Range(rule.lo, rule.hi))
    if rule.pattern:
        out.append(validate.Regexp(rule.pattern))
    if rule.max_length is not None:
        out.append(validate.Length(max=rule.max_length))
    if rule.choices:
        out.append(validate.OneOf(rule.choices))
    return out


def _marshmallow_field(rule: FieldRule) -> fields.Field:
    options = dict(allow_none=rule.nullable, validate=_validators(rule),
                   metadata={"description": rule.description})
    if rule.required:
        options["required"] = True
    else:
        options["load_default"] = list(rule.default) if rule.kind == "dtcs" else rule.default
    if rule.kind == "dtcs":
        options["validate"] = [validate.Length(max=rule.max_length)]
        return fields.List(fields.String(validate=validate.Regexp(DTC_PATTERN)), **options)
    if rule.kind == "iupr":
        options["load_default"] = dict
        return fields.Nested(IuprSchema, **options)
    factory = {"float": StrictFloat, "int": StrictInteger, "bool": StrictBoolean,
               "str": fields.String, "choice": fields.String, "time": Rfc3339}[rule.kind]
    return factory(**options)


class _StreamRecordChecks(_Strict):
    @validates_schema
    def _position(self, data, **kwargs):
        if (data.get("longitude") is None) != (data.get("latitude") is None):
            raise ValidationError("give longitude and latitude together, or neither", "longitude")


StreamRecordInSchema = _StreamRecordChecks.from_dict(
    {r.name: _marshmallow_field(r) for r in STREAM_RULES}, name="ObdStreamRecordIn")
InfoRecordInSchema = _Strict.from_dict({r.name: _marshmallow_field(r) for r in INFO_RULES},
                                       name="ObdInfoRecordIn")


class RecordBatchSchema(_Strict):
    """A batch of telemetry: engine data-stream samples and OBD information snapshots."""
    records = fields.List(fields.Nested(StreamRecordInSchema), load_default=list,
                          metadata={"description": "engine data stream (type 0x02) samples"})
    obd_info = fields.List(fields.Nested(InfoRecordInSchema), load_default=list,
                           metadata={"description": "OBD information (type 0x01) snapshots"})


# --- answers --------------------------------------------------------------------------------------
class ObdItemAnswerSchema(Schema):
    status = fields.String(validate=validate.OneOf([s.value for s in ItemStatus]))
    reason = fields.String(validate=validate.OneOf([r.value for r in RejectReason]),
                           metadata={"description": "stable code, when rejected"})
    field = fields.String(metadata={"description": "the field concerned, when rejected"})
    detail = fields.String()


class BatchCountsSchema(Schema):
    batch_id = fields.Integer()
    accepted = fields.Integer()
    duplicate = fields.Integer()
    rejected = fields.Integer()


class RecordBatchAnswerSchema(BatchCountsSchema):
    records = fields.List(fields.Nested(ObdItemAnswerSchema), metadata={
        "description": "one answer per submitted record, in order"})
    obd_info = fields.List(fields.Nested(ObdItemAnswerSchema))


class RecordAnswerSchema(ObdItemAnswerSchema):
    info_type = fields.Integer()
    collected_at = Timestamp()


class FrameAnswerSchema(Schema):
    offset = fields.Integer(metadata={"description": "byte offset of the frame in the body"})
    command = fields.Integer()
    vin = fields.String()
    status = fields.String(metadata={"description": "accepted | duplicate (a removal alarm already stored) | rejected | ignored"})
    reason = fields.String()
    detail = fields.String()
    reply = fields.String(metadata={"description": "the platform's answer frame, hex (1.14)"})
    records = fields.List(fields.Nested(RecordAnswerSchema))


class GarbageSchema(Schema):
    offset = fields.Integer()
    length = fields.Integer()
    reason = fields.String()


class FramesAnswerSchema(BatchCountsSchema):
    frames = fields.List(fields.Nested(FrameAnswerSchema))
    garbage = fields.List(fields.Nested(GarbageSchema))


# --- reading ----------------------------------------------------------------------------------------
class RecordQueryArgsSchema(PageArgsSchema):
    collected_from = Timestamp(required=True, data_key="from")
    collected_to = Timestamp(required=True, data_key="to")
    order = fields.String(load_default="asc", validate=validate.OneOf(["asc", "desc"]))

    @validates_schema
    def _span(self, data, **kwargs):
        if data["collected_to"] <= data["collected_from"]:
            raise ValidationError("must be after 'from'", "to")


class _Kind(fields.Field):
    def _serialize(self, value, attr, obj, **kwargs):
        return {2: "realtime", 3: "resent"}.get(value)


class _StreamRecordBase(Schema):
    collected_at = Timestamp()
    received_at = Timestamp()
    info_type = fields.Integer()
    kind = _Kind()
    serial = fields.Integer(allow_none=True)
    longitude = fields.Float(allow_none=True)
    latitude = fields.Float(allow_none=True)
    position_valid = fields.Boolean(allow_none=True)
    extra = fields.Dict(allow_none=True)
    batch_id = fields.Integer()


StreamRecordSchema = _StreamRecordBase.from_dict(
    {name: fields.Float(allow_none=True) for name in ENGINE_COLUMNS}, name="ObdStreamRecord")


class InfoRecordSchema(Schema):
    collected_at = Timestamp()
    received_at = Timestamp()
    kind = _Kind()
    serial = fields.Integer(allow_none=True)
    protocol = fields.Integer(allow_none=True)
    mil_on = fields.Boolean(allow_none=True)
    dtc_count = fields.Integer(allow_none=True)
    dtcs = fields.List(fields.Dict())
    cal_id = fields.String()
    cvn = fields.String()
    obd_vin = fields.String()
    obd_vin_check_ok = fields.Boolean()
    support_map = fields.Integer()
    readiness_map = fields.Integer()
    iupr = fields.Dict()
    batch_id = fields.Integer()


class VehicleStateSchema(Schema):
    vehicle_id = fields.Integer()
    vin = fields.String()
    plate = fields.String()
    online = fields.Boolean(metadata={"description": "seen within the offline period"})
    last_seen_at = Timestamp(allow_none=True)
    last_collected_at = Timestamp(allow_none=True)
    last_record = fields.Dict(allow_none=True)
    last_obd_at = Timestamp(allow_none=True)
    last_obd = fields.Dict(allow_none=True)
    layout = fields.String(allow_none=True)
    last_login_at = Timestamp(allow_none=True)
    open_alarms = fields.List(fields.String())


class AlarmQueryArgsSchema(PageArgsSchema):
    vehicle_id = fields.Integer()
    kind = one_of_enum(AlarmKind)
    status = one_of_enum(AlarmStatus)
    enterprise_id = fields.Integer()
    opened_from = Timestamp()
    opened_to = Timestamp()


class AlarmSchema(Schema):
    id = fields.Integer()
    vehicle_id = fields.Integer()
    vin = fields.String()
    enterprise_id = fields.Integer(allow_none=True)
    kind = one_of_enum(AlarmKind)
    rule_id = fields.String()
    rule_version = fields.Integer()
    status = one_of_enum(AlarmStatus)
    opened_at = Timestamp()
    closed_at = Timestamp(allow_none=True)
    first_at = Timestamp()
    last_at = Timestamp()
    evidence = fields.Dict()
    params = fields.Dict()
    handover_status = one_of_enum(HandoverStatus)
    violation_id = fields.Integer(allow_none=True)


class AlarmDetailSchema(AlarmSchema):
    window = fields.List(fields.Dict(), metadata={"description": "the records that prove it"})


class ThresholdSchema(Schema):
    name = fields.String()
    default = fields.Float()
    value = fields.Float()
    unit = fields.String()
    source = fields.String()


class RuleSchema(Schema):
    id = fields.String()
    kind = fields.String()
    description = fields.String()
    version = fields.Integer(metadata={"description": "settings version in force (0 = built-in)"})
    enabled = fields.Boolean()
    violation_after_h = fields.Float(allow_none=True, metadata={
        "description": "an alarm open this long becomes a violation; null = never"})
    thresholds = fields.List(fields.Nested(ThresholdSchema))
    note = fields.String()
    created_by = fields.Integer(allow_none=True)
    created_at = Timestamp(allow_none=True)


class RuleUpdateSchema(Schema):
    thresholds = fields.Dict(keys=fields.String(), values=StrictFloat(), load_default=dict,
                             metadata={"description": "threshold name -> value (others keep theirs)"})
    enabled = fields.Boolean()
    violation_after_h = fields.Float(allow_none=True, validate=validate.Range(min=0, min_inclusive=False))
    note = fields.String(load_default="", validate=validate.Length(max=300))


class OnlineRateArgsSchema(PageArgsSchema):
    day = fields.Date(required=True, metadata={"description": "Asia/Shanghai calendar day"})
    vehicle_id = fields.Integer()
    enterprise_id = fields.Integer()


class OnlineDaySchema(Schema):
    vehicle_id = fields.Integer()
    day = fields.Date()
    rate = fields.Float(metadata={"description": "slots with data / slots between first and last sample"})
    coverage = fields.Float(metadata={"description": "slots with data / slots in the day"})
    slots_with_data = fields.Integer()
    span_slots = fields.Integer()
    slots_in_day = fields.Integer()
    slot_s = fields.Integer()
    first_at = Timestamp()
    last_at = Timestamp()


class FleetArgsSchema(Schema):
    day = fields.Date(required=True)
    enterprise_id = fields.Integer()


class FleetOnlineSchema(Schema):
    day = fields.Date()
    enterprise_id = fields.Integer(allow_none=True)
    monitored = fields.Integer(metadata={"description": "vehicles with an OBD terminal or data"})
    online = fields.Integer(metadata={"description": "of them, vehicles that sent data that day"})
    fleet_online_rate = fields.Float(allow_none=True)
    mean_rate = fields.Float(allow_none=True, metadata={"description": "mean of the online vehicles' rates"})

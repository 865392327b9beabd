"""I/M schemas: the API's language and the validation of every input."""
from __future__ import annotations

import math

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates, validates_schema

from mobsrc.core.geo_schemas import PointSchema
from mobsrc.core.schemas import PageArgsSchema, Timestamp, one_of_enum
from mobsrc.im.cases import CaseEventKind, CaseState, TriggerKind
from mobsrc.im.fraud import FraudKind
from mobsrc.im.inspection import InspectionKind, Outcome
from mobsrc.im.limits import InspectionMethod, LimitTier
from mobsrc.im.models import DeliveryStatus, FlagStatus
from mobsrc.registry import identifiers
from mobsrc.registry.identifiers import PlateColour
from mobsrc.registry.schemas import PlateColourField

_reference = validate.Regexp(r"^[A-Za-z0-9_\-/.:]{1,60}$", error="1-60 letters, digits or _ - / . :")
_quantity = validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$", error="a quantity name such as k_m1 or co_pct")
_OUTCOMES = [o.value for o in Outcome]
MAX_CURVE_SAMPLES = 3600
MAX_CURVE_CHANNELS = 16


def _finite(value) -> None:
    if value is not None and not math.isfinite(value):
        raise ValidationError("must be a finite number")


def _normalised_vehicle(data: dict) -> dict:
    """Plate and VIN as the registry stores them, so that they compare equal."""
    if data.get("plate"):
        data["plate"] = identifiers.normalize_plate(data["plate"])
    if data.get("vin"):
        data["vin"] = identifiers.normalize_vin(data["vin"])
    return data


class _VehicleFields(Schema):
    """A vehicle named by VIN (GB 16735 check digit), or plate and plate colour (GA 36)."""

    vin = fields.String(load_default=None, metadata={"description": "17 characters, check digit per GB 16735"})
    plate = fields.String(load_default=None, metadata={"description": "e.g. 贵A12345; normalised"})
    plate_colour = PlateColourField(as_value=True, load_default=None)

    @validates("vin")
    def _vin(self, value, **kwargs):
        if value is not None:
            problem = identifiers.vin_problem(identifiers.normalize_vin(value))
            if problem:
                raise ValidationError(problem)

    @validates_schema
    def _plate(self, data, **kwargs):
        if data.get("plate"):
            problem = identifiers.plate_problem(identifiers.normalize_plate(data["plate"]),
                                                PlateColour(data["plate_colour"]) if data.get("plate_colour") else None)
            if problem:
                raise ValidationError(problem, "plate")

    @post_load
    def _normalise(self, data, **kwargs):
        return _normalised_vehicle(data)


# --- inspections -------------------------------------------------------------------------------------

class InspectionItemSchema(Schema):
    quantity = fields.String(required=True, validate=_quantity, metadata={"description": "k_m1, co_pct, hc_ppm, ..."})
    phase = fields.String(load_default="", validate=validate.Length(max=40),
                          metadata={"description": "idle, high_idle, asm5025, ... (empty: whole test)"})
    measured = fields.Float(required=True, validate=_finite)
    upper_limit = fields.Float(load_default=None, allow_none=True, validate=_finite)
    lower_limit = fields.Float(load_default=None, allow_none=True, validate=_finite)
    unit = fields.String(load_default="", validate=validate.Length(max=20))
    outcome = fields.String(required=True, validate=validate.OneOf(_OUTCOMES))


class ObdCheckSchema(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(_OUTCOMES))
    communication_ok = fields.Boolean(required=True)
    mil_on = fields.Boolean(required=True)
    dtcs = fields.List(fields.String(validate=validate.Length(min=1, max=12)), load_default=list,
                       validate=validate.Length(max=100), metadata={"description": "emission-related DTCs"})
    readiness_incomplete = fields.Integer(load_default=0, validate=validate.Range(min=0, max=20))
    vin_read = fields.String(load_default="", validate=validate.Length(max=17))
    cal_id = fields.String(load_default="", validate=validate.Length(max=18))
    cvn = fields.String(load_default="", validate=validate.Length(max=18))


class CurveSchema(Schema):
    """Second-by-second process data (HJ 1238): each channel one value per period."""

    period_s = fields.Float(load_default=1.0, validate=validate.Range(min=0.1, max=10))
    channels = fields.Dict(keys=fields.String(validate=_quantity),
                           values=fields.List(fields.Float(validate=_finite)), required=True,
                           metadata={"description": "e.g. {\"speed_kmh\": [...], \"co_pct\": [...]}"})

    @validates("channels")
    def _shape(self, channels, **kwargs):
        if not 1 <= len(channels) <= MAX_CURVE_CHANNELS:
            raise ValidationError(f"1 to {MAX_CURVE_CHANNELS} channels")
        lengths = {len(v) for v in channels.values()}
        if len(lengths) != 1:
            raise ValidationError("every channel needs the same number of samples")
        if not 1 <= lengths.pop() <= MAX_CURVE_SAMPLES:
            raise ValidationError(f"1 to {MAX_CURVE_SAMPLES} samples per channel")


class InspectionCreateSchema(_VehicleFields):
    report_number = fields.String(required=True, validate=_reference, metadata={"description": "unique per station"})
    station_code = fields.String(load_default=None, metadata={"description": "optional; must be your own station"})
    vin = fields.String(required=True, metadata={"description": "17 characters, check digit per GB 16735"})
    plate = fields.String(required=True)
    plate_colour = PlateColourField(as_value=True, required=True)
    kind = one_of_enum(InspectionKind, required=True)
    method = one_of_enum(InspectionMethod, required=True)
    limit_tier = one_of_enum(LimitTier, load_default=None,
                             metadata={"description": "tier of the limits applied (default: the configured one)"})
    vehicle_class = fields.String(load_default="", validate=validate.Length(max=20),
                                  metadata={"description": "peer grouping for pass rates, e.g. N3"})
    items = fields.List(fields.Nested(InspectionItemSchema), load_default=list, validate=validate.Length(max=100))
    obd = fields.Nested(ObdCheckSchema, load_default=None, allow_none=True)
    appearance_passed = fields.Boolean(load_default=True, metadata={"description": "false: visible smoke"})
    overall = fields.String(required=True, validate=validate.OneOf(_OUTCOMES))
    started_at = Timestamp(required=True)
    ended_at = Timestamp(required=True)
    inspector = fields.String(required=True, validate=validate.Length(min=1, max=60))
    test_line = fields.String(load_default="", validate=validate.Length(max=20))
    repair_order = fields.String(load_default="", validate=validate.Length(max=60),
                                 metadata={"description": "the M station order a re-test follows"})
    curve = fields.Nested(CurveSchema, load_default=None, allow_none=True,
                          metadata={"description": "required except for obd_check and ringelmann"})

    @validates_schema
    def _obd_check(self, data, **kwargs):
        if data.get("method") is InspectionMethod.OBD_CHECK and data.get("obd") is None:
            raise ValidationError("an obd_check result carries its OBD readings", "obd")


class CaseOutcomeSchema(Schema):
    action = fields.String(metadata={"description": "opened, attached, retest_failed, passed, closed, "
                                                    "not_linked, none"})
    case_id = fields.Integer(allow_none=True)
    case_state = fields.String(allow_none=True)
    deadline = Timestamp(allow_none=True)
    note = fields.String()


class InspectionSchema(Schema):
    id = fields.Integer()
    station_id = fields.Integer()
    report_number = fields.String()
    vehicle_id = fields.Integer(allow_none=True)
    vin = fields.String()
    plate = fields.String()
    plate_colour = fields.String()
    kind = one_of_enum(InspectionKind)
    method = one_of_enum(InspectionMethod)
    limit_tier = one_of_enum(LimitTier)
    limits_version = fields.String()
    vehicle_class = fields.String()
    overall = one_of_enum(Outcome)
    items = fields.List(fields.Dict())
    obd = fields.Dict(allow_none=True)
    appearance_passed = fields.Boolean()
    started_at = Timestamp()
    ended_at = Timestamp()
    inspector = fields.String()
    test_line = fields.String()
    repair_order = fields.String()
    curve_summary = fields.Dict(allow_none=True, metadata={"description": "samples, duration_s, peak per channel"})
    case_id = fields.Integer(allow_none=True)
    case_action = fields.String()
    received_at = Timestamp()


class InspectionPostedSchema(Schema):
    inspection = fields.Nested(InspectionSchema)
    case = fields.Nested(CaseOutcomeSchema)
    duplicate = fields.Boolean(metadata={"description": "true: this exact result was already stored"})


class InspectionCurveSchema(Schema):
    inspection_id = fields.Integer()
    period_s = fields.Float()
    channels = fields.Dict()
    digest = fields.String(allow_none=True, metadata={"description": "exact fingerprint of the emission channels"})


class _VehicleQueryArgs(PageArgsSchema):
    """A page query that may name a vehicle by plate or VIN, compared normalised."""

    @post_load
    def _normalise(self, data, **kwargs):
        return _normalised_vehicle(data)


class InspectionQueryArgsSchema(_VehicleQueryArgs):
    vin = fields.String()
    plate = fields.String()
    overall = one_of_enum(Outcome)
    method = one_of_enum(InspectionMethod)
    kind = one_of_enum(InspectionKind)
    station_id = fields.Integer()
    case_id = fields.Integer()
    started_from = Timestamp(metadata={"description": "inclusive"})
    started_to = Timestamp(metadata={"description": "exclusive"})


# --- repairs ----------------------------------------------------------------------------------------

class FaultSchema(Schema):
    code = fields.String(load_default="", validate=validate.Length(max=20), metadata={"description": "e.g. P0401"})
    description = fields.String(required=True, validate=validate.Length(min=1, max=300))
    system = fields.String(load_default="", validate=validate.Length(max=40),
                           metadata={"description": "EGR, DPF, SCR, injection, ..."})


class PartSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    part_number = fields.String(load_default="", validate=validate.Length(max=60))
    quantity = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1000))
    unit_price_yuan = fields.Decimal(load_default=None, allow_none=True, places=2, as_string=True,
                                     validate=validate.Range(min=0))

    @post_load
    def _plain(self, data, **kwargs):
        if data.get("unit_price_yuan") is not None:
            data["unit_price_yuan"] = str(data["unit_price_yuan"])
        return data


class SelfCheckItemSchema(Schema):
    quantity = fields.String(required=True, validate=_quantity)
    phase = fields.String(load_default="", validate=validate.Length(max=40))
    measured = fields.Float(required=True, validate=_finite)
    limit = fields.Float(required=True, validate=_finite)
    unit = fields.String(load_default="", validate=validate.Length(max=20))


class SelfCheckSchema(Schema):
    checked_at = Timestamp(required=True)
    method = fields.String(load_default=None, validate=validate.OneOf([m.value for m in InspectionMethod]))
    instrument = fields.String(load_default="", validate=validate.Length(max=60))
    items = fields.List(fields.Nested(SelfCheckItemSchema), required=True, validate=validate.Length(min=1, max=50))
    passed = fields.Boolean(required=True)


class RepairCompletionSchema(Schema):
    completed_at = Timestamp(required=True)
    faults = fields.List(fields.Nested(FaultSchema), required=True, validate=validate.Length(min=1, max=50),
                         metadata={"description": "faults found (diagnosis)"})
    work_done = fields.List(fields.String(validate=validate.Length(min=1, max=300)), required=True,
                            validate=validate.Length(min=1, max=50))
    parts = fields.List(fields.Nested(PartSchema), load_default=list, validate=validate.Length(max=100))
    cost_yuan = fields.Decimal(required=True, places=2, as_string=True, validate=validate.Range(min=0))
    technician = fields.String(required=True, validate=validate.Length(min=1, max=60))
    self_check = fields.Nested(SelfCheckSchema, required=True, metadata={"description": "post-repair self-check"})


class RepairCreateSchema(_VehicleFields):
    repair_order = fields.String(required=True, validate=_reference, metadata={"description": "unique per station"})
    station_code = fields.String(load_default=None, metadata={"description": "optional; must be your own station"})
    case_id = fields.Integer(load_default=None, metadata={"description": "default: the vehicle's open case"})
    started_at = Timestamp(required=True)
    faults = fields.List(fields.Nested(FaultSchema), load_default=list, validate=validate.Length(max=50))
    completed_at = Timestamp(load_default=None, metadata={"description": "given: the order is posted completed, "
                                                                         "with the fields of a completion"})
    work_done = fields.List(fields.String(validate=validate.Length(min=1, max=300)), load_default=None)
    parts = fields.List(fields.Nested(PartSchema), load_default=list, validate=validate.Length(max=100))
    cost_yuan = fields.Decimal(load_default=None, places=2, as_string=True, validate=validate.Range(min=0))
    technician = fields.String(load_default=None, validate=validate.Length(min=1, max=60))
    self_check = fields.Nested(SelfCheckSchema, load_default=None)

    @validates_schema
    def _complete_or_open(self, data, **kwargs):
        if not (data.get("vin") or data.get("plate")):
            raise ValidationError("name the vehicle: its VIN, or its plate and plate colour", "vin")
        if data.get("completed_at") is None:
            return
        missing = [n for n in ("work_done", "cost_yuan", "technician", "self_check") if data.get(n) is None]
        if not data.get("faults"):
            missing.insert(0, "faults")
        if missing:
            raise ValidationError({n: ["required when completed_at is given"] for n in missing})


class RepairSchema(Schema):
    id = fields.Integer()
    station_id = fields.Integer()
    repair_order = fields.String()
    case_id = fields.Integer()
    vehicle_id = fields.Integer(allow_none=True)
    vin = fields.String(allow_none=True)
    plate = fields.String(allow_none=True)
    plate_colour = fields.String(allow_none=True)
    started_at = Timestamp()
    completed_at = Timestamp(allow_none=True)
    faults = fields.List(fields.Dict())
    work_done = fields.List(fields.String())
    parts = fields.List(fields.Dict())
    cost_yuan = fields.Decimal(as_string=True, allow_none=True)
    technician = fields.String(allow_none=True)
    self_check = fields.Dict(allow_none=True)
    created_at = Timestamp()


class RepairQueryArgsSchema(PageArgsSchema):
    case_id = fields.Integer()
    vin = fields.String()
    repair_order = fields.String()
    station_id = fields.Integer()


# --- cases ------------------------------------------------------------------------------------------

class CaseSchema(Schema):
    id = fields.Integer()
    state = one_of_enum(CaseState)
    trigger = one_of_enum(TriggerKind, metadata={"description": "what opened the case"})
    vin = fields.String(allow_none=True)
    plate = fields.String(allow_none=True)
    plate_colour = fields.String(allow_none=True)
    vehicle_id = fields.Integer(allow_none=True)
    enterprise_id = fields.Integer(allow_none=True)
    opened_at = Timestamp()
    deadline = Timestamp()
    repair_round = fields.Integer(metadata={"description": "failed re-tests so far"})
    overdue_at = Timestamp(allow_none=True, metadata={"description": "the deadline that was missed"})
    escalated_at = Timestamp(allow_none=True, metadata={"description": "referred to the police as a violation"})
    referred_at = Timestamp(allow_none=True)
    closed_at = Timestamp(allow_none=True)
    needs_review = fields.Boolean()
    review_reason = fields.String(allow_none=True)
    violation_id = fields.Integer(allow_none=True)
    version = fields.Integer(metadata={"description": "send it back with an event to guard against lost updates"})


class TriggerSchema(Schema):
    kind = one_of_enum(TriggerKind)
    source = fields.String()
    source_ref = fields.String()
    evidence = fields.List(fields.String())
    details = fields.Dict()
    occurred_at = Timestamp()
    reported_by = fields.String()
    opened_case = fields.Boolean()


class CaseDetailSchema(CaseSchema):
    triggers = fields.List(fields.Nested(TriggerSchema))
    allowed_events = fields.List(fields.String(), metadata={"description": "events the case's state allows"})


class FailureSchema(Schema):
    report_number = fields.String()
    station_id = fields.Integer()
    method = fields.String()
    ended_at = Timestamp()
    failed_items = fields.List(fields.Dict())
    obd = fields.Dict(allow_none=True)
    appearance_passed = fields.Boolean()


class ActiveCaseSchema(CaseSchema):
    failures = fields.List(fields.Nested(FailureSchema), metadata={"description": "the failed inspections"})


class CaseHistorySchema(Schema):
    id = fields.Integer()
    at = Timestamp()
    actor_role = fields.String()
    actor_id = fields.String(metadata={"description": "station code, user:<id>, or the job"})
    actor_user_id = fields.Integer(allow_none=True)
    event = fields.String()
    from_state = fields.String(allow_none=True)
    to_state = fields.String()
    reason = fields.String()
    reference = fields.String()


class FindingItemSchema(Schema):
    quantity = fields.String(required=True, validate=_quantity)
    measured = fields.Float(required=True, validate=_finite)
    limit = fields.Float(load_default=None, allow_none=True, validate=_finite)
    unit = fields.String(load_default="", validate=validate.Length(max=20))


class FindingsSchema(Schema):
    """What a roadside or site spot check found (portable test, doc 6.3)."""

    method = fields.String(load_default=None, validate=validate.OneOf([m.value for m in InspectionMethod]))
    instrument = fields.String(load_default="", validate=validate.Length(max=60))
    officer = fields.String(load_default="", validate=validate.Length(max=60))
    items = fields.List(fields.Nested(FindingItemSchema), load_default=list, validate=validate.Length(max=50))


class CaseCreateSchema(_VehicleFields):
    trigger = one_of_enum(TriggerKind, required=True,
                          metadata={"description": "spot_check (police, bureau); black_smoke, obd_alarm, "
                                                   "remote_sensing_high_emitter (bureau)"})
    reference = fields.String(required=True, validate=_reference,
                              metadata={"description": "your document number; the same one again is the same case"})
    vehicle_id = fields.Integer(load_default=None)
    occurred_at = Timestamp(required=True)
    evidence = fields.List(fields.String(validate=validate.Length(min=1, max=200)), load_default=list,
                           validate=validate.Length(max=50), metadata={"description": "e.g. photo:..., video:..."})
    note = fields.String(load_default="", validate=validate.Length(max=500))
    location = fields.Nested(PointSchema, load_default=None, allow_none=True)
    findings = fields.Nested(FindingsSchema, load_default=None, allow_none=True)

    @validates_schema
    def _named(self, data, **kwargs):
        if not (data.get("vin") or data.get("plate") or data.get("vehicle_id")):
            raise ValidationError("name the vehicle: its VIN, its plate and plate colour, or vehicle_id", "vin")


class CaseEventCreateSchema(Schema):
    event = one_of_enum(CaseEventKind, required=True,
                        metadata={"description": "notify, close, escalate, cancel, extend_deadline"})
    reason = fields.String(load_default="", validate=validate.Length(max=500))
    reference = fields.String(load_default="", validate=validate.Length(max=120))
    new_deadline = Timestamp(load_default=None, metadata={"description": "extend_deadline only"})
    version = fields.Integer(load_default=None, metadata={"description": "the version you read (optional guard)"})


class CaseQueryArgsSchema(_VehicleQueryArgs):
    state = one_of_enum(CaseState)
    trigger = one_of_enum(TriggerKind)
    vin = fields.String()
    plate = fields.String(metadata={"description": "normalised before matching"})
    plate_colour = PlateColourField(as_value=True)
    enterprise_id = fields.Integer()
    vehicle_id = fields.Integer()
    needs_review = fields.Boolean()
    overdue = fields.Boolean(metadata={"description": "missed its deadline"})
    escalated = fields.Boolean()
    opened_from = Timestamp(metadata={"description": "inclusive"})
    opened_to = Timestamp(metadata={"description": "exclusive"})


class ActiveCaseArgsSchema(_VehicleFields):
    @validates_schema
    def _named(self, data, **kwargs):
        if not (data.get("vin") or data.get("plate")):
            raise ValidationError("give the VIN, or the plate and plate colour", "vin")


# --- webhooks and notifications ---------------------------------------------------------------------

class WebhookPutSchema(Schema):
    url = fields.String(required=True, metadata={"description": "http(s) URL receiving case notices"})
    active = fields.Boolean(load_default=True)
    rotate_secret = fields.Boolean(load_default=False, metadata={"description": "issue a new signing secret"})


class WebhookSchema(Schema):
    enterprise_id = fields.Integer()
    url = fields.String()
    active = fields.Boolean()
    created_at = Timestamp()
    updated_at = Timestamp()


class WebhookSetSchema(WebhookSchema):
    secret = fields.String(allow_none=True, metadata={
        "description": "HMAC-SHA256 signing secret; shown only when issued (creation, rotate_secret), "
                       "null otherwise"})


class DeliverySchema(Schema):
    status = one_of_enum(DeliveryStatus)
    attempts = fields.Integer()
    next_attempt_at = Timestamp()
    last_attempt_at = Timestamp(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    delivered_at = Timestamp(allow_none=True)


class NotificationSchema(Schema):
    id = fields.Integer()
    uuid = fields.UUID(metadata={"description": "the X-Mobsrc-Delivery id receivers dedupe on"})
    case_id = fields.Integer()
    enterprise_id = fields.Integer(allow_none=True)
    event = fields.String()
    payload = fields.Dict()
    created_at = Timestamp()
    delivery = fields.Nested(DeliverySchema, allow_none=True)


class NotificationQueryArgsSchema(PageArgsSchema):
    case_id = fields.Integer()
    event = fields.String()
    enterprise_id = fields.Integer()


# --- supervision and parameters ----------------------------------------------------------------------

class FraudFlagSchema(Schema):
    id = fields.Integer()
    kind = one_of_enum(FraudKind)
    station_id = fields.Integer(allow_none=True)
    station_code = fields.String()
    status = one_of_enum(FlagStatus)
    score = fields.Float()
    explanation = fields.String()
    evidence = fields.List(fields.Dict(), metadata={"description": "label, report_numbers, values"})
    window_from = Timestamp()
    window_to = Timestamp()
    first_detected_at = Timestamp()
    last_detected_at = Timestamp()
    reviewed_at = Timestamp(allow_none=True)
    reviewed_by = fields.Integer(allow_none=True)
    review_note = fields.String(allow_none=True)


class FraudFlagQueryArgsSchema(PageArgsSchema):
    kind = one_of_enum(FraudKind)
    status = one_of_enum(FlagStatus)
    station_code = fields.String()


class FlagReviewSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf([FlagStatus.CONFIRMED.value,
                                                                  FlagStatus.DISMISSED.value]))
    note = fields.String(load_default="", validate=validate.Length(max=500))


class ParameterSchema(Schema):
    key = fields.String()
    value = fields.Raw()
    default = fields.Raw()
    overridden = fields.Boolean()
    kind = fields.String()
    description = fields.String()
    tag = fields.String(metadata={"description": "CONFIRMED / SECONDARY / UNCONFIRMED"})
    source = fields.String()
    minimum = fields.Float(allow_none=True)
    maximum = fields.Float(allow_none=True)
    choices = fields.List(fields.String())


class ParametersPatchSchema(Schema):
    values = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), required=True,
                         metadata={"description": "{key: value}; null returns a parameter to its default"})

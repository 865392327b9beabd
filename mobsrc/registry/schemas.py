"""Registry schemas: the API's language and the validation of every input, CSV rows included."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates, validates_schema

from mobsrc.core.geo_schemas import PointSchema
from mobsrc.core.schemas import PageArgsSchema, Timestamp, one_of_enum
from mobsrc.registry import coding, identifiers
from mobsrc.registry.coding import MachineType
from mobsrc.registry.emissions import EmissionStage, Fuel, VehicleStandard, is_terminal_required
from mobsrc.registry.identifiers import PlateColour
from mobsrc.registry.lifecycle import DeregistrationReason, MachineStatus
from mobsrc.registry.models import ImportStatus, RowOutcome, StationKind

_district = fields.String(validate=validate.Regexp(r"^\d{6}$", error="a 6-digit GB/T 2260 code"))
_text = dict(validate=validate.Length(min=1, max=100))


class PlateColourField(fields.String):
    """A plate colour: the API's values, or the Chinese names stations and clerks write
    (黄, 黄色, 蓝, 渐变绿, 黄绿, 黑, 白...).  Loads a PlateColour (its value with
    `as_value=True`), dumps its value."""

    default_error_messages = {"unknown": "one of " + ", ".join(c.value for c in PlateColour)
                              + " (or its Chinese name: 蓝, 黄, 绿, 黄绿, 黑, 白, 其他)"}

    def __init__(self, *, as_value: bool = False, **kwargs):
        self.as_value = as_value
        kwargs.setdefault("metadata", {}).setdefault(
            "description", "blue | yellow | green | yellow_green | black | white | other; "
                           "Chinese names (黄, 黄色, 渐变绿, ...) are accepted")
        super().__init__(**kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else PlateColour(value).value

    def _deserialize(self, value, attr, data, **kwargs):
        colour = identifiers.parse_plate_colour(super()._deserialize(value, attr, data, **kwargs))
        if colour is None:
            raise self.make_error("unknown")
        return colour.value if self.as_value else colour


def _check(problem: str | None) -> None:
    if problem:
        raise ValidationError(problem)


# --- enterprises --------------------------------------------------------------------------------

class EnterpriseCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=2, max=200))
    uscc = fields.String(required=True, metadata={"description": "unified social credit code, GB 32100"})
    contact_name = fields.String(load_default="", validate=validate.Length(max=60))
    contact_phone = fields.String(load_default="", validate=validate.Regexp(r"^[0-9+\- ]{0,30}$"))
    address = fields.String(load_default="", validate=validate.Length(max=300))
    district_code = fields.String(load_default=None, validate=validate.Regexp(r"^\d{6}$"))

    @validates("uscc")
    def _uscc(self, value, **kwargs):
        _check(identifiers.uscc_problem(identifiers.normalize_uscc(value)))

    @post_load
    def _normalize(self, data, **kwargs):
        data["uscc"] = identifiers.normalize_uscc(data["uscc"])
        return data


class EnterpriseUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=2, max=200),
                         metadata={"description": "admin only"})
    contact_name = fields.String(validate=validate.Length(max=60))
    contact_phone = fields.String(validate=validate.Regexp(r"^[0-9+\- ]{0,30}$"))
    address = fields.String(validate=validate.Length(max=300))


class EnterpriseSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    uscc = fields.String()
    contact_name = fields.String()
    contact_phone = fields.String()
    address = fields.String()
    district_code = fields.String(allow_none=True)
    created_at = Timestamp()


class EnterpriseRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()


# --- stations -----------------------------------------------------------------------------------

class StationCreateSchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_\-]{2,40}$"))
    kind = one_of_enum(StationKind, required=True, metadata={"description": "i, m or rs"})
    name = fields.String(required=True, validate=validate.Length(min=2, max=200))
    district_code = fields.String(load_default=None, validate=validate.Regexp(r"^\d{6}$"))
    address = fields.String(load_default="", validate=validate.Length(max=300))
    location = fields.Nested(PointSchema, load_default=None)


class StationUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=2, max=200))
    address = fields.String(validate=validate.Length(max=300))
    location = fields.Nested(PointSchema, allow_none=True)
    active = fields.Boolean()


class StationSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    kind = one_of_enum(StationKind)
    name = fields.String()
    district_code = fields.String(allow_none=True)
    address = fields.String()
    location = fields.Method("_location", metadata={"description": "WGS-84 [lon, lat]"})
    active = fields.Boolean()
    created_at = Timestamp()

    def _location(self, station):
        from mobsrc.core.geo_schemas import lonlat_of
        return lonlat_of(station.location)


# --- machines -----------------------------------------------------------------------------------

class MachineCreateSchema(Schema):
    machine_type = one_of_enum(MachineType, required=True)
    brand = fields.String(required=True, **_text)
    model = fields.String(required=True, **_text)
    machine_serial = fields.String(load_default="", validate=validate.Length(max=60),
                                   metadata={"description": "machine serial / PIN (GB/T 25606)"})
    engine_manufacturer = fields.String(required=True, **_text)
    engine_model = fields.String(required=True, **_text)
    engine_serial = fields.String(required=True, validate=validate.Length(min=3, max=60))
    rated_power_kw = fields.Decimal(required=True, places=2, as_string=False,
                                    validate=validate.Range(min=0, min_inclusive=False, max=10000))
    fuel = one_of_enum(Fuel, required=True)
    emission_stage = one_of_enum(EmissionStage, required=True)
    manufactured_on = fields.Date(load_default=None)
    terminal_id = fields.String(load_default=None, validate=validate.Regexp(r"^[A-Za-z0-9_\-]{4,40}$"))
    district_code = fields.String(load_default=None, validate=validate.Regexp(r"^\d{6}$"),
                                  metadata={"description": "registering district; default: the owner's"})
    enterprise_id = fields.Integer(load_default=None,
                                   metadata={"description": "owner (admin only; operators register their own)"})

    @validates_schema
    def _terminal_rule(self, data, **kwargs):
        stage, power = data.get("emission_stage"), data.get("rated_power_kw")
        if stage and power is not None and not data.get("terminal_id") and is_terminal_required(stage, float(power)):
            raise ValidationError("China IV machinery of 37-560 kW must carry a positioning terminal "
                                  "(HJ 1014-2020): give its terminal_id", "terminal_id")


class MachineUpdateSchema(Schema):
    brand = fields.String(**_text)
    model = fields.String(**_text)
    machine_serial = fields.String(validate=validate.Length(max=60))
    engine_model = fields.String(**_text)
    terminal_id = fields.String(allow_none=True, validate=validate.Regexp(r"^[A-Za-z0-9_\-]{4,40}$"))
    emission_stage = one_of_enum(EmissionStage, metadata={"description": "admin only (a correction)"})


class MachineSchema(Schema):
    id = fields.Integer()
    code = fields.String(metadata={"description": "registration code, stored form"})
    display_code = fields.Function(lambda m: coding.display(m.code), metadata={"description": "printed form"})
    machine_type = one_of_enum(MachineType)
    brand = fields.String()
    model = fields.String()
    machine_serial = fields.String()
    engine_manufacturer = fields.String()
    engine_model = fields.String()
    engine_serial = fields.String()
    rated_power_kw = fields.Float()
    fuel = one_of_enum(Fuel)
    emission_stage = one_of_enum(EmissionStage)
    manufactured_on = fields.Date(allow_none=True)
    terminal_id = fields.String(allow_none=True)
    district_code = fields.String()
    enterprise = fields.Nested(EnterpriseRefSchema)
    status = one_of_enum(MachineStatus)
    registered_at = Timestamp()
    deregistered_at = Timestamp(allow_none=True)
    deregistration_reason = one_of_enum(DeregistrationReason, allow_none=True)


class MachineQueryArgsSchema(PageArgsSchema):
    machine_type = one_of_enum(MachineType)
    emission_stage = one_of_enum(EmissionStage)
    status = one_of_enum(MachineStatus)
    enterprise_id = fields.Integer()
    district_code = fields.String()
    terminal_id = fields.String()
    q = fields.String(metadata={"description": "registration code, machine serial or engine serial"})


class TransferSchema(Schema):
    to_enterprise_id = fields.Integer(load_default=None)
    to_uscc = fields.String(load_default=None, metadata={"description": "the new owner's credit code"})
    note = fields.String(load_default="", validate=validate.Length(max=300))

    @validates_schema
    def _one_target(self, data, **kwargs):
        if (data.get("to_enterprise_id") is None) == (data.get("to_uscc") is None):
            raise ValidationError("give the new owner as to_enterprise_id or to_uscc (one of them)",
                                  "to_enterprise_id")


class DeregisterSchema(Schema):
    reason = one_of_enum(DeregistrationReason, required=True)
    note = fields.String(load_default="", validate=validate.Length(max=300))


class MachineHistorySchema(Schema):
    id = fields.Integer()
    at = Timestamp()
    event = fields.String()
    from_enterprise_id = fields.Integer(allow_none=True)
    to_enterprise_id = fields.Integer(allow_none=True)
    actor_user_id = fields.Integer(allow_none=True)
    details = fields.Dict()


class LabelSchema(Schema):
    code = fields.String()
    display_code = fields.String()
    machine_type = fields.String()
    machine_type_zh = fields.String()
    brand = fields.String()
    model = fields.String()
    emission_stage = fields.String()
    rated_power_kw = fields.Float()
    owner = fields.String()
    registered_on = fields.Date()
    verify_url = fields.String(metadata={"description": "the QR code's content"})
    qr_svg_url = fields.String()


class VerificationSchema(Schema):
    code = fields.String()
    well_formed = fields.Boolean(metadata={"description": "check character and structure are right"})
    problem = fields.String(allow_none=True)
    registered = fields.Boolean()
    status = fields.String(allow_none=True)
    machine_type = fields.String(allow_none=True)
    emission_stage = fields.String(allow_none=True)
    district_code = fields.String(allow_none=True)


# --- CSV imports --------------------------------------------------------------------------------

class ImportArgsSchema(Schema):
    enterprise_id = fields.Integer(load_default=None, metadata={"description": "admin only: the owner"})
    filename = fields.String(load_default="", validate=validate.Length(max=200))


class ImportRowSchema(Schema):
    row_number = fields.Integer()
    outcome = one_of_enum(RowOutcome)
    machine_id = fields.Integer(allow_none=True)
    code = fields.String(allow_none=True)
    errors = fields.List(fields.Dict())


class ImportSchema(Schema):
    id = fields.Integer()
    enterprise_id = fields.Integer()
    filename = fields.String()
    sha256 = fields.String()
    status = one_of_enum(ImportStatus)
    rows_total = fields.Integer()
    rows_done = fields.Integer()
    progress = fields.Function(lambda i: round(i.rows_done / i.rows_total, 3) if i.rows_total else 1.0)
    registered = fields.Integer()
    already_registered = fields.Integer()
    rejected = fields.Integer()
    error = fields.String(allow_none=True)
    created_at = Timestamp()
    finished_at = Timestamp(allow_none=True)


class ImportRowsArgsSchema(Schema):
    outcome = one_of_enum(RowOutcome)


# --- vehicles -----------------------------------------------------------------------------------

_TERMINAL_ID = validate.Regexp(r"^[A-Za-z0-9_\-]{4,40}$")


class _PlateRules(Schema):
    """Plates are checked against their colour (GA 36) and stored normalised."""

    @validates_schema
    def _plate(self, data, **kwargs):
        if "plate" in data:
            problem = identifiers.plate_problem(identifiers.normalize_plate(data["plate"]), data.get("plate_colour"))
            if problem:
                raise ValidationError(problem, "plate")

    @post_load
    def _normalize_plate(self, data, **kwargs):
        if "plate" in data:
            data["plate"] = identifiers.normalize_plate(data["plate"])
        return data


class VehicleCreateSchema(_PlateRules):
    vin = fields.String(required=True, metadata={"description": "17 characters, check digit per GB 16735"})
    plate = fields.String(required=True, metadata={"description": "e.g. 贵A12345 (GA 36)"})
    plate_colour = PlateColourField(required=True)
    fuel = one_of_enum(Fuel, required=True)
    emission_standard = one_of_enum(VehicleStandard, required=True)
    obd_terminal_id = fields.String(load_default=None, validate=_TERMINAL_ID)
    enterprise_id = fields.Integer(load_default=None, metadata={"description": "owner (admin only)"})

    @validates("vin")
    def _vin(self, value, **kwargs):
        _check(identifiers.vin_problem(identifiers.normalize_vin(value)))

    @post_load
    def _normalize_vin(self, data, **kwargs):
        data["vin"] = identifiers.normalize_vin(data["vin"])
        return data


class VehicleUpdateSchema(_PlateRules):
    plate = fields.String()
    plate_colour = PlateColourField()
    obd_terminal_id = fields.String(allow_none=True, validate=_TERMINAL_ID)


class VehicleSchema(Schema):
    id = fields.Integer()
    vin = fields.String()
    plate = fields.String()
    plate_colour = one_of_enum(PlateColour)
    fuel = one_of_enum(Fuel)
    emission_standard = one_of_enum(VehicleStandard)
    obd_terminal_id = fields.String(allow_none=True)
    enterprise = fields.Nested(EnterpriseRefSchema)
    registered_at = Timestamp()


class VehicleQueryArgsSchema(PageArgsSchema):
    plate = fields.String(metadata={"description": "normalised before matching (全角, spaces, case)"})
    vin = fields.String()
    enterprise_id = fields.Integer()
    emission_standard = one_of_enum(VehicleStandard)
    obd_terminal_id = fields.String()

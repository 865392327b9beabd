"""Violation register schemas."""
from __future__ import annotations

from marshmallow import Schema, fields

from mobsrc.core.geo_schemas import lonlat_of
from mobsrc.core.schemas import PageArgsSchema, Timestamp, one_of_enum
from mobsrc.enforcement.register import SubjectType, ViolationKind, ViolationStatus


class ViolationSchema(Schema):
    id = fields.Integer()
    kind = one_of_enum(ViolationKind)
    status = one_of_enum(ViolationStatus)
    occurred_at = Timestamp()
    ended_at = Timestamp(allow_none=True)
    subject_type = one_of_enum(SubjectType)
    vehicle_id = fields.Integer(allow_none=True)
    machine_id = fields.Integer(allow_none=True)
    plate = fields.String(allow_none=True)
    plate_colour = fields.String(allow_none=True)
    vin = fields.String(allow_none=True)
    machine_code = fields.String(allow_none=True)
    enterprise_id = fields.Integer(allow_none=True)
    location = fields.Function(lambda v: lonlat_of(v.location), metadata={"description": "WGS-84 [lon, lat]"})
    district_code = fields.String(allow_none=True)
    source = fields.String()
    source_ref = fields.String()
    evidence = fields.List(fields.Dict())
    details = fields.Dict()
    legal_basis_code = fields.String()
    created_at = Timestamp()


class ViolationQueryArgsSchema(PageArgsSchema):
    kind = one_of_enum(ViolationKind)
    status = one_of_enum(ViolationStatus)
    plate = fields.String(metadata={"description": "normalised before matching"})
    plate_colour = fields.String()
    vin = fields.String()
    machine_code = fields.String()
    enterprise_id = fields.Integer()
    district_code = fields.String()
    occurred_from = Timestamp(metadata={"description": "inclusive"})
    occurred_to = Timestamp(metadata={"description": "exclusive"})


class ViolationEventSchema(Schema):
    id = fields.Integer()
    at = Timestamp()
    actor_user_id = fields.Integer(allow_none=True)
    actor_role = fields.String()
    action = fields.String()
    from_status = fields.String(allow_none=True)
    to_status = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    decision_number = fields.String(allow_none=True)
    penalty_amount = fields.Float(allow_none=True)
    officer = fields.String(allow_none=True)
    decided_on = fields.Date(allow_none=True)


class LegalBasisSchema(Schema):
    code = fields.String()
    instrument = fields.String()
    article = fields.String()
    paragraph = fields.String(allow_none=True)
    authority = fields.String()
    summary = fields.String()
    fine_min = fields.Integer(allow_none=True)
    fine_max = fields.Integer(allow_none=True)
    fine_unit = fields.String(allow_none=True)
    points = fields.Integer(allow_none=True)
    confidence = fields.String()
    effective_from = fields.Date(allow_none=True)
    effective_to = fields.Date(allow_none=True)

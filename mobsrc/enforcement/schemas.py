"""Violation register schemas: the query language (GET arguments and the POST search body),
enforcement actions, the subject-status answer and dashboard statistics."""
from __future__ import annotations

from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema
from webargs.fields import DelimitedList

from mobsrc.core import clock
from mobsrc.core.geo.crs import Crs
from mobsrc.core.geo.geojson import AreaQueryError, area_query
from mobsrc.core.geo_schemas import lonlat_of
from mobsrc.core.schemas import PageArgsSchema, Timestamp, one_of_enum
from mobsrc.enforcement.actions import AppealChannel, AppealOutcome, AppealStatus, allowed_actions
from mobsrc.enforcement.register import SubjectType, ViolationKind, ViolationStatus
from mobsrc.registry.schemas import PlateColourField

MAX_AREA_VERTICES = 10_000
CRS_FIELD_DOC = "datum of the area's coordinates: wgs84 (GPS), gcj02 (AMap, Tencent), bd09 (Baidu)"


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
    status_changed_at = Timestamp(allow_none=True)
    status_reason = fields.String(allow_none=True)
    decision_number = fields.String(allow_none=True)
    penalty_amount = fields.Decimal(places=2, allow_none=True, as_string=True)
    officer = fields.String(allow_none=True)
    decided_on = fields.Date(allow_none=True)
    appeal_status = one_of_enum(AppealStatus, allow_none=True)
    allowed_actions = fields.Function(lambda v: [a.value for a in allowed_actions(v.status, v.appeal_status)],
                                      metadata={"description": "what may be done next"})


def _local(value):
    return None if value is None else clock.as_local(value).isoformat()


def _value(member):
    return None if member is None else member.value


def violation_document(v) -> dict:
    """What ViolationSchema dumps, built directly: pages of up to 500 violations are the police's
    hot path, and marshmallow's per-field machinery cost ~3.5 ms of a ~12 ms request for 50.
    tests/integration/enforcement/test_documents.py keeps the two identical."""
    amount = v.penalty_amount
    return {
        "id": v.id, "kind": v.kind.value, "status": v.status.value, "occurred_at": _local(v.occurred_at),
        "ended_at": _local(v.ended_at), "subject_type": v.subject_type.value, "vehicle_id": v.vehicle_id,
        "machine_id": v.machine_id, "plate": v.plate, "plate_colour": v.plate_colour, "vin": v.vin,
        "machine_code": v.machine_code, "enterprise_id": v.enterprise_id, "location": lonlat_of(v.location),
        "district_code": v.district_code, "source": v.source, "source_ref": v.source_ref, "evidence": v.evidence,
        "details": v.details, "legal_basis_code": v.legal_basis_code, "created_at": _local(v.created_at),
        "status_changed_at": _local(v.status_changed_at), "status_reason": v.status_reason,
        "decision_number": v.decision_number, "penalty_amount": None if amount is None else f"{amount:.2f}",
        "officer": v.officer, "decided_on": None if v.decided_on is None else v.decided_on.isoformat(),
        "appeal_status": _value(v.appeal_status),
        "allowed_actions": [a.value for a in allowed_actions(v.status, v.appeal_status)],
    }


def page_document(page) -> dict:
    return {"items": [violation_document(v) for v in page.items], "next_cursor": page.next_cursor,
            "limit": page.limit}


# --- the query language ---------------------------------------------------------------------------

def _area_problem_messages(problems, field: str, is_geojson: bool) -> dict:
    """Problems -> {field: [reasons]}; GeoJSON problems keep their JSON pointer in the field."""
    messages: dict = {}
    for p in problems:
        key = f"{field}{p.pointer}" if is_geojson else field
        reason = f"{p.code.value}: {p.detail}" if p.detail else p.code.value
        messages.setdefault(key, []).append(reason)
    return messages


def _vertex_count(node, depth: int = 0) -> int:
    """Positions in a GeoJSON document (lists of numbers), without trusting its structure."""
    if depth > 8:
        return 0
    if isinstance(node, dict):
        return sum(_vertex_count(v, depth + 1) for v in node.values())
    if isinstance(node, list):
        if node and all(isinstance(v, (int, float)) for v in node):
            return 1
        return sum(_vertex_count(v, depth + 1) for v in node)
    return 0


def parse_area(bbox=None, geojson=None, crs: str = "wgs84", prefix: str = "area"):
    """A WGS-84 geometry from a bbox or GeoJSON in `crs`; ValidationError naming the spot otherwise."""
    if geojson is not None and _vertex_count(geojson) > MAX_AREA_VERTICES:
        raise ValidationError(f"at most {MAX_AREA_VERTICES} vertices", f"{prefix}.geojson")
    try:
        parsed = area_query(bbox=bbox, geojson=geojson, crs=crs)
    except AreaQueryError as exc:
        raise ValidationError(str(exc), prefix) from exc
    if isinstance(parsed, list):
        is_geojson = geojson is not None
        field = f"{prefix}.geojson" if is_geojson else ("bbox" if prefix == "bbox" else f"{prefix}.bbox")
        raise ValidationError(_area_problem_messages(parsed, field, is_geojson))
    return parsed.geometry


class _FilterFields(Schema):
    kind = fields.List(one_of_enum(ViolationKind), metadata={"description": "one or more (repeat the parameter)"})
    status = fields.List(one_of_enum(ViolationStatus), metadata={"description": "one or more"})
    plate = fields.String(validate=validate.Length(max=20), metadata={"description": "normalised before matching"})
    plate_colour = PlateColourField()
    vin = fields.String(validate=validate.Length(max=20))
    machine_code = fields.String(validate=validate.Length(max=30), metadata={"description": "hyphens optional"})
    subject_type = one_of_enum(SubjectType)
    district_code = fields.List(fields.String(validate=validate.Regexp(r"^\d{6}$")),
                                metadata={"description": "GB/T 2260, one or more"})
    enterprise_id = fields.Integer()
    legal_basis_code = fields.String(validate=validate.Length(max=30))
    source = fields.String(validate=validate.Length(max=30))
    occurred_from = Timestamp(metadata={"description": "inclusive"})
    occurred_to = Timestamp(metadata={"description": "exclusive"})
    crs = fields.String(load_default="wgs84", validate=validate.OneOf([c.value for c in Crs]),
                        metadata={"description": CRS_FIELD_DOC})

    @validates_schema
    def _window(self, data, **kwargs):
        if data.get("occurred_from") and data.get("occurred_to") and data["occurred_from"] >= data["occurred_to"]:
            raise ValidationError("must be before occurred_to", "occurred_from")

    @staticmethod
    def _plural(data: dict) -> dict:
        for single, plural in (("kind", "kinds"), ("status", "statuses"), ("district_code", "district_codes")):
            if single in data:
                data[plural] = tuple(data.pop(single))
        return data


class ViolationFilterArgsSchema(_FilterFields):
    """Filters as query parameters; the area as a bbox."""

    bbox = DelimitedList(fields.Float(), validate=validate.Length(equal=4),
                         metadata={"description": "min_lon,min_lat,max_lon,max_lat in `crs`"})

    @post_load
    def _to_filters(self, data, **kwargs):
        bbox, crs = data.pop("bbox", None), data.pop("crs")
        if bbox is not None:
            data["area"] = parse_area(bbox=bbox, crs=crs, prefix="bbox")
        return self._plural(data)


class ViolationQueryArgsSchema(ViolationFilterArgsSchema, PageArgsSchema):
    pass


class AreaSchema(Schema):
    bbox = fields.List(fields.Float(), validate=validate.Length(equal=4),
                       metadata={"description": "[min_lon, min_lat, max_lon, max_lat]"})
    geojson = fields.Dict(metadata={"description": "Polygon, MultiPolygon, Feature or FeatureCollection"})


class ViolationFilterBodySchema(_FilterFields):
    """Filters as a JSON body; the area as a bbox or a GeoJSON polygon (with `crs`)."""

    area = fields.Nested(AreaSchema)

    @post_load
    def _to_filters(self, data, **kwargs):
        area, crs = data.pop("area", None), data.pop("crs")
        if area is not None:
            data["area"] = parse_area(bbox=area.get("bbox"), geojson=area.get("geojson"), crs=crs)
        return self._plural(data)


class ViolationSearchSchema(ViolationFilterBodySchema, PageArgsSchema):
    pass


# --- actions --------------------------------------------------------------------------------------

_REASON = dict(validate=validate.Length(min=2, max=500))
_OFFICER = dict(validate=validate.Length(min=1, max=60), metadata={"description": "name or badge number"})
def _whole_fen(value: Decimal) -> None:
    if value != value.quantize(Decimal("0.01")):
        raise ValidationError("at most two decimals (fen)")


_AMOUNT = dict(validate=[validate.Range(min=0, max=100_000_000), _whole_fen], metadata={"description": "yuan"})


class ReviewSchema(Schema):
    reason = fields.String(**_REASON)
    officer = fields.String(**_OFFICER)


class ReopenSchema(Schema):
    reason = fields.String(required=True, **_REASON)


class PenaltySchema(Schema):
    decision_number = fields.String(required=True, validate=validate.Length(min=1, max=60),
                                    metadata={"description": "处罚决定书编号; unique"})
    penalty_amount = fields.Decimal(required=True, **_AMOUNT)
    officer = fields.String(required=True, **_OFFICER)
    decided_on = fields.Date(required=True, metadata={"description": "Beijing date of the decision"})
    legal_basis_code = fields.String(metadata={"description": "when the decision cites another article"})
    reason = fields.String(**_REASON)


class DismissalSchema(Schema):
    reason = fields.String(required=True, **_REASON)
    officer = fields.String(**_OFFICER)
    decided_on = fields.Date()


class AppealSchema(Schema):
    channel = one_of_enum(AppealChannel, required=True)
    filed_on = fields.Date(required=True)
    reason = fields.String(**_REASON)


class AppealDecisionSchema(Schema):
    outcome = one_of_enum(AppealOutcome, required=True,
                          metadata={"description": "overturned dismisses the violation; amended changes the amount"})
    decided_on = fields.Date(required=True)
    decision_number = fields.String(validate=validate.Length(min=1, max=60))
    penalty_amount = fields.Decimal(**_AMOUNT)
    reason = fields.String(**_REASON)

    @validates_schema
    def _amount_iff_amended(self, data, **kwargs):
        amended = data.get("outcome") is AppealOutcome.AMENDED
        if amended and data.get("penalty_amount") is None:
            raise ValidationError("an amended penalty needs its new amount", "penalty_amount")
        if not amended and data.get("penalty_amount") is not None:
            raise ValidationError("only an amended penalty has a new amount", "penalty_amount")


class NoteSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500),
                           metadata={"description": "the note"})


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
    penalty_amount = fields.Decimal(places=2, allow_none=True, as_string=True)
    officer = fields.String(allow_none=True)
    decided_on = fields.Date(allow_none=True)
    details = fields.Dict()


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


# --- subject status and statistics ----------------------------------------------------------------

class SubjectStatusArgsSchema(Schema):
    plate = fields.String(validate=validate.Length(max=20))
    plate_colour = PlateColourField()
    vin = fields.String(validate=validate.Length(max=20))
    machine_code = fields.String(validate=validate.Length(max=30))

    @validates_schema
    def _one_subject(self, data, **kwargs):
        if sum(bool(data.get(k)) for k in ("plate", "vin", "machine_code")) != 1:
            raise ValidationError("give exactly one of plate, vin or machine_code", "plate")


class _SubjectSchema(Schema):
    subject_type = one_of_enum(SubjectType)
    plate = fields.String(allow_none=True)
    plate_colour = fields.String(allow_none=True)
    vin = fields.String(allow_none=True)
    machine_code = fields.String(allow_none=True)


class SubjectStatusSchema(_SubjectSchema):
    registered = fields.List(fields.Dict(), metadata={"description": "registry records of the subject "
                                                                      "(identity and emission class only)"})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "by status, all time"})
    last_violation_at = Timestamp(allow_none=True)
    open_violations = fields.List(fields.Nested(ViolationSchema), metadata={"description": "open or under review"})
    providers = fields.Dict(metadata={"description": "what other features know, e.g. im: its I/M state"})


class KindCountSchema(Schema):
    kind = one_of_enum(ViolationKind)
    count = fields.Integer()


class StatusCountSchema(Schema):
    status = one_of_enum(ViolationStatus)
    count = fields.Integer()


class DistrictCountSchema(Schema):
    district_code = fields.String(allow_none=True, metadata={"description": "null: outside every known district"})
    district_name = fields.String(allow_none=True)
    count = fields.Integer()


class DayCountSchema(Schema):
    day = fields.Date(metadata={"description": "Beijing (Asia/Shanghai) date"})
    count = fields.Integer()


class StatisticsSchema(Schema):
    occurred_from = Timestamp()
    occurred_to = Timestamp()
    total = fields.Integer()
    by_kind = fields.List(fields.Nested(KindCountSchema))
    by_status = fields.List(fields.Nested(StatusCountSchema))
    by_district = fields.List(fields.Nested(DistrictCountSchema))
    by_day = fields.List(fields.Nested(DayCountSchema), metadata={"description": "every Beijing day of the window"})


class RepeatOffenderArgsSchema(ViolationFilterArgsSchema):
    min_count = fields.Integer(load_default=2, validate=validate.Range(min=1, max=100_000))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=500))


class RepeatOffenderSchema(_SubjectSchema):
    count = fields.Integer()
    open_count = fields.Integer()
    first_at = Timestamp()
    last_at = Timestamp()
    kinds = fields.List(one_of_enum(ViolationKind))

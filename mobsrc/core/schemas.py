"""Schema pieces every feature uses: times, problems, pages, query arguments."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from mobsrc.core import clock
from mobsrc.core.pagination import MAX_LIMIT


class Timestamp(fields.DateTime):
    """ISO 8601 on the wire. Stored in UTC; shown in Asia/Shanghai (+08:00). An input without an
    offset is taken as Beijing time, as clerks and terminals mean it."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else clock.as_local(value).isoformat()

    def _deserialize(self, value, attr, data, **kwargs):
        return clock.as_utc(super()._deserialize(value, attr, data, **kwargs))


class ProblemFieldSchema(Schema):
    field = fields.String(metadata={"description": "dotted path of the input field"})
    reason = fields.String()
    code = fields.String()


class ProblemSchema(Schema):
    """RFC 9457 problem document; every failure is answered with one."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.List(fields.Nested(ProblemFieldSchema))


class PageArgsSchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(load_default=None, metadata={"description": "next_cursor of the previous page"})


def page_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    """A page of `item_schema`: {items, next_cursor}."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item_schema)),
        "next_cursor": fields.String(allow_none=True),
        "limit": fields.Integer(),
    }, name=name)


def one_of_enum(enum_cls, **kwargs) -> fields.Enum:
    return fields.Enum(enum_cls, by_value=True, **kwargs)


def require_one_of(data: dict, *names: str) -> None:
    if not any(data.get(n) for n in names):
        raise ValidationError(f"give one of: {', '.join(names)}", names[0])

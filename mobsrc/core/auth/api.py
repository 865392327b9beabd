"""Accounts: users, their API keys, who-am-I, and the audit log (for the bureau)."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from mobsrc.core.audit import AuditEntry
from mobsrc.core.auth import service
from mobsrc.core.auth.access import ALL_ROLES_LIST, current_principal, requires
from mobsrc.core.auth.principals import Role
from mobsrc.core.pagination import paginate
from mobsrc.core.schemas import PageArgsSchema, Timestamp, one_of_enum, page_schema
from mobsrc.core.web import request_session

blp = Blueprint("accounts", __name__, url_prefix="/api/v1", description="Users, API keys and the audit log")


class UserCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    role = one_of_enum(Role, required=True)
    enterprise_id = fields.Integer(load_default=None, metadata={"description": "fleet_operator (required) or terminal"})
    station_id = fields.Integer(load_default=None, metadata={"description": "required for station roles"})


class KeySchema(Schema):
    id = fields.Integer()
    label = fields.String()
    created_at = Timestamp()
    revoked_at = Timestamp(allow_none=True)
    last_used_at = Timestamp(allow_none=True)


class IssuedKeySchema(KeySchema):
    key = fields.String(metadata={"description": "the secret: shown only in this answer, store it now"})


class UserSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    role = one_of_enum(Role)
    enterprise_id = fields.Integer(allow_none=True)
    station_id = fields.Integer(allow_none=True)
    active = fields.Boolean()
    created_at = Timestamp()
    keys = fields.List(fields.Nested(KeySchema))


class KeyCreateSchema(Schema):
    label = fields.String(load_default="", validate=validate.Length(max=100))


class MeSchema(Schema):
    user_id = fields.Integer()
    name = fields.String()
    role = one_of_enum(Role)
    enterprise_id = fields.Integer(allow_none=True)
    station_id = fields.Integer(allow_none=True)
    station_code = fields.String(allow_none=True)


class AuditEntrySchema(Schema):
    id = fields.Integer()
    at = Timestamp()
    user_id = fields.Integer(allow_none=True)
    key_id = fields.Integer(allow_none=True)
    role = fields.String()
    action = fields.String()
    entity = fields.String()
    entity_id = fields.String(allow_none=True)
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)


class AuditQueryArgsSchema(PageArgsSchema):
    entity = fields.String()
    entity_id = fields.String()
    user_id = fields.Integer()
    action = fields.String()


@blp.route("/users")
class Users(MethodView):
    @requires(Role.ADMIN)
    @blp.response(200, UserSchema(many=True))
    def get(self):
        """List users."""
        return service.list_users(request_session())

    @requires(Role.ADMIN)
    @blp.arguments(UserCreateSchema)
    @blp.response(201, UserSchema)
    def post(self, data):
        """Create a user: a person, a station's account or a terminal platform."""
        return service.create_user(request_session(), **data)


@blp.route("/users/<int:user_id>")
class UserById(MethodView):
    @requires(Role.ADMIN)
    @blp.response(200, UserSchema)
    def get(self, user_id):
        """One user with its keys (never the secrets)."""
        return service.get_user(request_session(), user_id)


@blp.route("/users/<int:user_id>/keys")
class UserKeys(MethodView):
    @requires(Role.ADMIN)
    @blp.arguments(KeyCreateSchema)
    @blp.response(201, IssuedKeySchema)
    def post(self, data, user_id):
        """Issue an API key. The secret is in this answer only; it is stored hashed."""
        key, secret = service.issue_api_key(request_session(), user_id, data["label"])
        return {name: getattr(key, name) for name in KeySchema().fields} | {"key": secret}


@blp.route("/keys/<int:key_id>")
class KeyById(MethodView):
    @requires(*ALL_ROLES_LIST)
    @blp.response(200, KeySchema)
    def delete(self, key_id):
        """Revoke a key (admins any key; everyone else their own). Idempotent."""
        return service.revoke_api_key(request_session(), key_id, current_principal())


@blp.route("/me")
class Me(MethodView):
    @requires(*ALL_ROLES_LIST)
    @blp.response(200, MeSchema)
    def get(self):
        """Who the presented key belongs to, with its role and scope."""
        return current_principal()


@blp.route("/audit")
class Audit(MethodView):
    @requires(Role.ADMIN)
    @blp.arguments(AuditQueryArgsSchema, location="query")
    @blp.response(200, page_schema(AuditEntrySchema, "AuditPage"))
    def get(self, args):
        """The audit log, newest first: who changed what and when (and police lookups)."""
        stmt = select(AuditEntry)
        for name in ("entity", "entity_id", "user_id", "action"):
            if args.get(name) is not None:
                stmt = stmt.where(getattr(AuditEntry, name) == args[name])
        return paginate(request_session(), stmt, [AuditEntry.id], args["cursor"], args["limit"])

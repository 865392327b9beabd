"""Violation register HTTP API (the register's core: list, one, history, legal bases)."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from mobsrc.core.auth.access import current_principal, requires
from mobsrc.core.auth.principals import Role
from mobsrc.core.schemas import page_schema
from mobsrc.core.web import request_session
from mobsrc.enforcement import service
from mobsrc.enforcement.schemas import LegalBasisSchema, ViolationEventSchema, ViolationQueryArgsSchema, ViolationSchema

blp = Blueprint("violations", __name__, url_prefix="/api/v1", description="The one violation register, every kind")
BLUEPRINTS = [blp]


@blp.route("/violations")
class Violations(MethodView):
    @requires(Role.ADMIN, Role.POLICE, Role.FLEET_OPERATOR)
    @blp.arguments(ViolationQueryArgsSchema, location="query")
    @blp.response(200, page_schema(ViolationSchema, "ViolationPage"))
    def get(self, args):
        """Violations, newest first (an operator sees its own enterprise's only)."""
        return service.list_violations(request_session(), current_principal(), args, args["cursor"], args["limit"])


@blp.route("/violations/<int:violation_id>")
class ViolationById(MethodView):
    @requires(Role.ADMIN, Role.POLICE, Role.FLEET_OPERATOR)
    @blp.response(200, ViolationSchema)
    def get(self, violation_id):
        """One violation with its evidence links."""
        return service.get_violation(request_session(), current_principal(), violation_id)


@blp.route("/violations/<int:violation_id>/history")
class ViolationHistory(MethodView):
    @requires(Role.ADMIN, Role.POLICE, Role.FLEET_OPERATOR)
    @blp.response(200, ViolationEventSchema(many=True))
    def get(self, violation_id):
        """Status changes and enforcement actions, with who and when."""
        return service.violation_history(request_session(), current_principal(), violation_id)


@blp.route("/legal-bases")
class LegalBases(MethodView):
    @requires(Role.ADMIN, Role.POLICE)
    @blp.response(200, LegalBasisSchema(many=True))
    def get(self):
        """Articles violations refer to, with fines and the confidence of each fact."""
        return service.list_legal_bases(request_session())

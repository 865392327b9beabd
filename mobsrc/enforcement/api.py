"""Violation register HTTP API: queries (list, search, export, statistics, subject status),
one violation and its history, enforcement actions, legal bases."""
from __future__ import annotations

import orjson
from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from mobsrc.core.auth.access import current_principal, requires
from mobsrc.core.auth.principals import Role
from mobsrc.core.csv import MEDIA_TYPE
from mobsrc.core.schemas import ProblemSchema, page_schema
from mobsrc.core.web import PROBLEM_JSON, request_session
from mobsrc.enforcement import export, service, statistics, subject_status
from mobsrc.enforcement.actions import Action
from mobsrc.enforcement.decisions import ActionRequest, act_on_violation
from mobsrc.enforcement.queries import ViolationFilters
from mobsrc.enforcement.schemas import (
    AppealDecisionSchema,
    AppealSchema,
    DismissalSchema,
    LegalBasisSchema,
    NoteSchema,
    PenaltySchema,
    ReopenSchema,
    RepeatOffenderArgsSchema,
    RepeatOffenderSchema,
    ReviewSchema,
    StatisticsSchema,
    SubjectStatusArgsSchema,
    SubjectStatusSchema,
    ViolationEventSchema,
    ViolationFilterArgsSchema,
    ViolationFilterBodySchema,
    ViolationQueryArgsSchema,
    ViolationSchema,
    ViolationSearchSchema,
    page_document,
)
from mobsrc.extensions import state

blp = Blueprint("violations", __name__, url_prefix="/api/v1", description="The one violation register, every kind")
BLUEPRINTS = [blp]
ViolationPage = page_schema(ViolationSchema, "ViolationPage")
ENFORCERS = (Role.ADMIN, Role.POLICE)
CSV_DOC = dict(content_type=MEDIA_TYPE, description="UTF-8 CSV with a BOM, streamed; newest first")


def _page(args: dict) -> Response:
    """The page as JSON, built without marshmallow (see schemas.violation_document)."""
    filters = ViolationFilters.from_args(args)
    page = service.list_violations(request_session(), current_principal(), filters, args["cursor"], args["limit"])
    return Response(orjson.dumps(page_document(page)), mimetype="application/json")


@blp.route("/violations")
class Violations(MethodView):
    @requires(Role.ADMIN, Role.POLICE, Role.FLEET_OPERATOR)
    @blp.arguments(ViolationQueryArgsSchema, location="query")
    @blp.response(200, ViolationPage)
    def get(self, args):
        """Violations, newest first, filtered; the area as a bbox (an operator sees its own only)."""
        return _page(args)


@blp.route("/violations/search")
class ViolationSearch(MethodView):
    @requires(Role.ADMIN, Role.POLICE, Role.FLEET_OPERATOR)
    @blp.arguments(ViolationSearchSchema)
    @blp.response(200, ViolationPage)
    def post(self, args):
        """The same query with a JSON body: the area may be a GeoJSON polygon (in wgs84, gcj02 or bd09)."""
        return _page(args)


def _csv_response(args: dict) -> Response:
    principal, filters = current_principal(), ViolationFilters.from_args(args)
    service.log_query(request_session(), principal, "violations.export", filters)
    body = export.stream_csv(state().db, principal, filters)
    return Response(body, mimetype=MEDIA_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{export.filename()}"',
                             "Cache-Control": "no-store"})


@blp.route("/violations/export.csv")
class ViolationExport(MethodView):
    @requires(*ENFORCERS)
    @blp.arguments(ViolationFilterArgsSchema, location="query")
    @blp.response(200, **CSV_DOC)
    def get(self, args):
        """Every violation matching the filters as CSV (spreadsheet-safe), streamed."""
        return _csv_response(args)


@blp.route("/violations/export")
class ViolationExportSearch(MethodView):
    @requires(*ENFORCERS)
    @blp.arguments(ViolationFilterBodySchema)
    @blp.response(200, **CSV_DOC)
    def post(self, args):
        """The CSV export with a JSON body (GeoJSON area)."""
        return _csv_response(args)


@blp.route("/violations/statistics")
class ViolationStatistics(MethodView):
    @requires(*ENFORCERS)
    @blp.arguments(ViolationFilterArgsSchema, location="query")
    @blp.response(200, StatisticsSchema)
    def get(self, args):
        """Counts by kind, status, district and Beijing day (default: the last 30 days; at most 366)."""
        return statistics.violation_statistics(request_session(), current_principal(),
                                               ViolationFilters.from_args(args))


@blp.route("/violations/repeat-offenders")
class RepeatOffenders(MethodView):
    @requires(*ENFORCERS)
    @blp.arguments(RepeatOffenderArgsSchema, location="query")
    @blp.response(200, RepeatOffenderSchema(many=True))
    def get(self, args):
        """Vehicles (by plate and colour) and machines (by code) with the most violations in the window."""
        return statistics.repeat_offenders(request_session(), current_principal(), ViolationFilters.from_args(args),
                                           args["min_count"], args["limit"])


@blp.route("/subject-status")
class SubjectStatus(MethodView):
    @requires(*ENFORCERS)
    @blp.arguments(SubjectStatusArgsSchema, location="query")
    @blp.response(200, SubjectStatusSchema)
    def get(self, args):
        """Status of one plate, VIN or machine code: open violations, counts, and e.g. its I/M state."""
        return subject_status.subject_status(request_session(), current_principal(), args)


@blp.route("/violations/<int:violation_id>")
class ViolationById(MethodView):
    @requires(Role.ADMIN, Role.POLICE, Role.FLEET_OPERATOR)
    @blp.response(200, ViolationSchema)
    def get(self, violation_id):
        """One violation with its evidence links and what may be done next."""
        return service.get_violation(request_session(), current_principal(), violation_id)


@blp.route("/violations/<int:violation_id>/history")
class ViolationHistory(MethodView):
    @requires(Role.ADMIN, Role.POLICE, Role.FLEET_OPERATOR)
    @blp.response(200, ViolationEventSchema(many=True))
    def get(self, violation_id):
        """Status changes and enforcement actions, with who and when."""
        return service.violation_history(request_session(), current_principal(), violation_id)


def _act(violation_id: int, action: Action, args: dict):
    return act_on_violation(request_session(), current_principal(), violation_id, ActionRequest(action, **args))


def _action_route(path: str, action: Action, schema, summary: str) -> None:
    class ActionView(MethodView):
        @requires(*ENFORCERS)
        @blp.arguments(schema)
        @blp.response(200, ViolationSchema)
        @blp.alt_response(404, schema=ProblemSchema, content_type=PROBLEM_JSON, description="no such violation")
        @blp.alt_response(409, schema=ProblemSchema, content_type=PROBLEM_JSON,
                          description="not allowed in the current state: `allowed_actions` says what is")
        def post(self, args, violation_id):
            return _act(violation_id, action, args)

    ActionView.post.__doc__ = summary + "\n\nAn action not allowed in the current state is answered 409 with " \
                                        "`allowed_actions`."
    ActionView.__name__ = f"Violation{action.name.title().replace('_', '')}"
    blp.route(f"/violations/<int:violation_id>/{path}")(ActionView)


_action_route("review", Action.REVIEW, ReviewSchema, "Take an open violation under review.")
_action_route("reopen", Action.REOPEN, ReopenSchema, "Send a violation under review back to open (with a reason).")
_action_route("penalty", Action.PENALISE, PenaltySchema,
              "Record the penalty decision (number, amount, officer, date) on a violation under review.")
_action_route("dismissal", Action.DISMISS, DismissalSchema, "Dismiss an open or reviewed violation, with a reason.")
_action_route("appeals", Action.APPEAL, AppealSchema, "Note an appeal (reconsideration or litigation) of a penalty.")
_action_route("appeal-decision", Action.DECIDE_APPEAL, AppealDecisionSchema,
              "Record the outcome of the pending appeal: upheld, amended (new amount) or overturned (dismissed).")
_action_route("notes", Action.NOTE, NoteSchema, "Add a note to the violation's history.")


@blp.route("/legal-bases")
class LegalBases(MethodView):
    @requires(Role.ADMIN, Role.POLICE)
    @blp.response(200, LegalBasisSchema(many=True))
    def get(self):
        """Articles violations refer to, with fines and the confidence of each fact."""
        return service.list_legal_bases(request_session())

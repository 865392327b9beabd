"""I/M HTTP API: thin views over mobsrc.im.service."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from mobsrc.core.auth.access import current_principal, requires
from mobsrc.core.auth.principals import Role
from mobsrc.core.schemas import ProblemSchema, page_schema
from mobsrc.core.web import request_session
from mobsrc.extensions import state
from mobsrc.im.schemas import (
    ActiveCaseArgsSchema,
    ActiveCaseSchema,
    CaseCreateSchema,
    CaseDetailSchema,
    CaseEventCreateSchema,
    CaseHistorySchema,
    CaseQueryArgsSchema,
    CaseSchema,
    FlagReviewSchema,
    FraudFlagQueryArgsSchema,
    FraudFlagSchema,
    InspectionCreateSchema,
    InspectionCurveSchema,
    InspectionPostedSchema,
    InspectionQueryArgsSchema,
    InspectionSchema,
    NotificationQueryArgsSchema,
    NotificationSchema,
    ParameterSchema,
    ParametersPatchSchema,
    RepairCompletionSchema,
    RepairCreateSchema,
    RepairQueryArgsSchema,
    RepairSchema,
    WebhookPutSchema,
    WebhookSchema,
    WebhookSetSchema,
)
from mobsrc.im.service import cases, configuration, inspections, outbox, repairs, supervision
from mobsrc.im.service.subjects import Subject

ADMIN, POLICE, OPERATOR = Role.ADMIN, Role.POLICE, Role.FLEET_OPERATOR
I_STATION, M_STATION = Role.I_STATION, Role.M_STATION

inspections_blp = Blueprint("im_inspections", __name__, url_prefix="/api/v1/im/inspections",
                            description="I/M: inspection results posted by I stations")
repairs_blp = Blueprint("im_repairs", __name__, url_prefix="/api/v1/im/repairs",
                        description="I/M: repair orders posted by M stations")
cases_blp = Blueprint("im_cases", __name__, url_prefix="/api/v1/im/cases",
                      description="I/M: cases with deadlines, their history and transitions")
webhooks_blp = Blueprint("im_webhooks", __name__, url_prefix="/api/v1/im/webhooks",
                         description="I/M: an owner's webhook for case notices (HMAC-signed)")
notifications_blp = Blueprint("im_notifications", __name__, url_prefix="/api/v1/im/notifications",
                              description="I/M: notices to owners and their webhook deliveries")
flags_blp = Blueprint("im_fraud_flags", __name__, url_prefix="/api/v1/im/fraud-flags",
                      description="I/M: station data-quality and fraud signs for the bureau")
parameters_blp = Blueprint("im_parameters", __name__, url_prefix="/api/v1/im/parameters",
                           description="I/M: deadlines, thresholds and switches set by the bureau")
BLUEPRINTS = [inspections_blp, repairs_blp, cases_blp, webhooks_blp, notifications_blp, flags_blp,
              parameters_blp]


def _problem(description: str) -> dict:
    return {"schema": ProblemSchema, "description": description, "content_type": "application/problem+json"}


# --- inspections ---------------------------------------------------------------------------------

def _posted(row, outcome, created: bool) -> dict:
    case = outcome.case
    return {"inspection": row, "duplicate": not created, "case": {
        "action": outcome.action, "case_id": case.id if case else None,
        "case_state": case.state.value if case else None, "deadline": case.deadline if case else None,
        "note": outcome.note}}


@inspections_blp.route("")
class Inspections(MethodView):
    @requires(I_STATION)
    @inspections_blp.arguments(InspectionCreateSchema)
    @inspections_blp.response(201, InspectionPostedSchema)
    @inspections_blp.alt_response(200, schema=InspectionPostedSchema, description="already stored (a retry)")
    @inspections_blp.alt_response(409, **_problem("the report number was used for other content"))
    def post(self, data):
        """Post a result: checked, stored with its process curve, applied to the vehicle's case."""
        row, outcome, created = inspections.post_inspection(request_session(), current_principal(), data)
        return _posted(row, outcome, created), 201 if created else 200

    @requires(ADMIN, POLICE, I_STATION, OPERATOR)
    @inspections_blp.arguments(InspectionQueryArgsSchema, location="query")
    @inspections_blp.response(200, page_schema(InspectionSchema, "InspectionPage"))
    def get(self, args):
        """Results, newest first (a station its own; an owner its vehicles')."""
        return inspections.list_inspections(request_session(), current_principal(), args, args["cursor"],
                                            args["limit"])


@inspections_blp.route("/<int:inspection_id>")
class InspectionById(MethodView):
    @requires(ADMIN, POLICE, I_STATION, OPERATOR)
    @inspections_blp.response(200, InspectionSchema)
    def get(self, inspection_id):
        """One result with its items and curve summary."""
        return inspections.get_inspection(request_session(), current_principal(), inspection_id)


@inspections_blp.route("/<int:inspection_id>/curve")
class InspectionCurve(MethodView):
    @requires(ADMIN, I_STATION)
    @inspections_blp.response(200, InspectionCurveSchema)
    def get(self, inspection_id):
        """The second-by-second process curve, for audit."""
        return inspections.inspection_curve(request_session(), current_principal(), inspection_id)


# --- repairs -------------------------------------------------------------------------------------

@repairs_blp.route("")
class Repairs(MethodView):
    @requires(M_STATION)
    @repairs_blp.arguments(RepairCreateSchema)
    @repairs_blp.response(201, RepairSchema)
    @repairs_blp.alt_response(200, schema=RepairSchema, description="already stored (a retry)")
    @repairs_blp.alt_response(409, **_problem("order number reused, or the case's state does not allow it"))
    def post(self, data):
        """Open a repair order for the vehicle's case (or post it completed in one step)."""
        repair, created = repairs.post_repair(request_session(), current_principal(), data)
        return repair, 201 if created else 200

    @requires(ADMIN, M_STATION, OPERATOR)
    @repairs_blp.arguments(RepairQueryArgsSchema, location="query")
    @repairs_blp.response(200, page_schema(RepairSchema, "RepairPage"))
    def get(self, args):
        """Repair orders (a station its own; an owner its vehicles')."""
        return repairs.list_repairs(request_session(), current_principal(), args, args["cursor"], args["limit"])


@repairs_blp.route("/<int:repair_id>")
class RepairById(MethodView):
    @requires(ADMIN, M_STATION, OPERATOR)
    @repairs_blp.response(200, RepairSchema)
    def get(self, repair_id):
        """One repair order."""
        return repairs.get_repair(request_session(), current_principal(), repair_id)


@repairs_blp.route("/<int:repair_id>/completion")
class RepairCompletion(MethodView):
    @requires(M_STATION)
    @repairs_blp.arguments(RepairCompletionSchema)
    @repairs_blp.response(200, RepairSchema)
    @repairs_blp.alt_response(409, **_problem("completed with other content, or the case's state does not allow it"))
    def post(self, data, repair_id):
        """Complete an open order: faults, work, parts, cost, technician, passing self-check."""
        return repairs.complete_repair(request_session(), current_principal(), repair_id, data)[0]


# --- cases ---------------------------------------------------------------------------------------

@cases_blp.route("")
class Cases(MethodView):
    @requires(ADMIN, POLICE, I_STATION, M_STATION, OPERATOR)
    @cases_blp.arguments(CaseQueryArgsSchema, location="query")
    @cases_blp.response(200, page_schema(CaseSchema, "CasePage"))
    def get(self, args):
        """Cases, newest first: the bureau all, the police the escalated ones, owners their
        vehicles', stations those they worked on."""
        return cases.list_cases(request_session(), current_principal(), args, args["cursor"], args["limit"])

    @requires(ADMIN, POLICE)
    @cases_blp.arguments(CaseCreateSchema)
    @cases_blp.response(201, CaseDetailSchema)
    @cases_blp.alt_response(200, schema=CaseDetailSchema, description="reference already entered, or the "
                                                                      "vehicle's open case took the trigger")
    def post(self, data):
        """Open a case by hand (roadside spot check; a capture the bureau reviewed)."""
        session, principal = request_session(), current_principal()
        case, created = cases.open_case_by_hand(session, principal, data)
        return cases.case_detail(session, principal, case.id), 201 if created else 200


@cases_blp.route("/active")
class ActiveCase(MethodView):
    @requires(ADMIN, POLICE, I_STATION, M_STATION)
    @cases_blp.arguments(ActiveCaseArgsSchema, location="query")
    @cases_blp.response(200, ActiveCaseSchema)
    def get(self, args):
        """The open case of the vehicle in front of you, with its failed inspections (logged)."""
        session = request_session()
        case = cases.find_active_case(session, current_principal(),
                                      Subject(args.get("vin"), args.get("plate"), args.get("plate_colour")))
        return cases.CaseView(case, [], [], inspections.describe_failures(session, case.id))


@cases_blp.route("/<int:case_id>")
class CaseById(MethodView):
    @requires(ADMIN, POLICE, I_STATION, M_STATION, OPERATOR)
    @cases_blp.response(200, CaseDetailSchema)
    def get(self, case_id):
        """One case with its triggers and the events its state allows."""
        return cases.case_detail(request_session(), current_principal(), case_id)


@cases_blp.route("/<int:case_id>/history")
class CaseHistory(MethodView):
    @requires(ADMIN, POLICE, I_STATION, M_STATION, OPERATOR)
    @cases_blp.response(200, CaseHistorySchema(many=True))
    def get(self, case_id):
        """Every change: who (role, station or user, job), when, from and to."""
        return cases.case_history(request_session(), current_principal(), case_id)


@cases_blp.route("/<int:case_id>/events")
class CaseEvents(MethodView):
    @requires(ADMIN, POLICE)
    @cases_blp.arguments(CaseEventCreateSchema)
    @cases_blp.response(200, CaseDetailSchema)
    @cases_blp.alt_response(409, **_problem("not allowed in the case's state (allowed_events), or a stale version"))
    def post(self, data, case_id):
        """Send an event (notify, close, escalate, cancel, extend_deadline). 409 names the events
        the case's state allows; 403 when your role may not send this one."""
        session, principal = request_session(), current_principal()
        case = cases.post_event(session, principal, case_id, data)
        return cases.case_detail(session, principal, case.id)


# --- webhooks and notifications ------------------------------------------------------------------

@webhooks_blp.route("/<int:enterprise_id>")
class WebhookById(MethodView):
    @requires(ADMIN, OPERATOR)
    @webhooks_blp.response(200, WebhookSchema)
    def get(self, enterprise_id):
        """The enterprise's webhook (the secret is never shown again)."""
        return outbox.get_webhook(request_session(), current_principal(), enterprise_id)

    @requires(ADMIN, OPERATOR)
    @webhooks_blp.arguments(WebhookPutSchema)
    @webhooks_blp.response(200, WebhookSetSchema)
    @webhooks_blp.alt_response(201, schema=WebhookSetSchema, description="created; the secret is shown once")
    def put(self, data, enterprise_id):
        """Set the URL that receives case notices; a new secret is shown once."""
        hook, secret, created = outbox.put_webhook(request_session(), current_principal(), enterprise_id, data,
                                                   outbox.allows_private_addresses(state().settings))
        view = {c: getattr(hook, c) for c in ("enterprise_id", "url", "active", "created_at", "updated_at")}
        return view | {"secret": secret}, 201 if created else 200

    @requires(ADMIN, OPERATOR)
    @webhooks_blp.response(204)
    def delete(self, enterprise_id):
        """Remove the webhook; pending deliveries are given up."""
        outbox.delete_webhook(request_session(), current_principal(), enterprise_id)


@notifications_blp.route("")
class Notifications(MethodView):
    @requires(ADMIN, OPERATOR)
    @notifications_blp.arguments(NotificationQueryArgsSchema, location="query")
    @notifications_blp.response(200, page_schema(NotificationSchema, "NotificationPage"))
    def get(self, args):
        """Notices to owners, newest first, with their webhook delivery (an owner its own)."""
        return outbox.list_notifications(request_session(), current_principal(), args, args["cursor"],
                                         args["limit"])


@notifications_blp.route("/<int:notification_id>/redeliver")
class Redeliver(MethodView):
    @requires(ADMIN, OPERATOR)
    @notifications_blp.response(200, NotificationSchema)
    def post(self, notification_id):
        """Send a notice to the owner's webhook again (same delivery id)."""
        return outbox.redeliver(request_session(), current_principal(), notification_id)


# --- supervision and parameters ------------------------------------------------------------------

@flags_blp.route("")
class FraudFlags(MethodView):
    @requires(ADMIN)
    @flags_blp.arguments(FraudFlagQueryArgsSchema, location="query")
    @flags_blp.response(200, page_schema(FraudFlagSchema, "FraudFlagPage"))
    def get(self, args):
        """Station signs, most recently detected first; each names its evidence."""
        return supervision.list_flags(request_session(), args, args["cursor"], args["limit"])


@flags_blp.route("/<int:flag_id>")
class FraudFlagById(MethodView):
    @requires(ADMIN)
    @flags_blp.response(200, FraudFlagSchema)
    def get(self, flag_id):
        """One flag with its evidence."""
        return supervision.get_flag(request_session(), flag_id)


@flags_blp.route("/<int:flag_id>/review")
class FraudFlagReview(MethodView):
    @requires(ADMIN)
    @flags_blp.arguments(FlagReviewSchema)
    @flags_blp.response(200, FraudFlagSchema)
    def post(self, data, flag_id):
        """Confirm or dismiss a flag; its evidence never raises a flag again."""
        return supervision.review_flag(request_session(), current_principal(), flag_id, data)


@parameters_blp.route("")
class Parameters(MethodView):
    @requires(ADMIN, POLICE)
    @parameters_blp.response(200, ParameterSchema(many=True))
    def get(self):
        """Every parameter with its value, default, bounds, confidence tag and source."""
        return configuration.list_parameters(request_session())

    @requires(ADMIN)
    @parameters_blp.arguments(ParametersPatchSchema)
    @parameters_blp.response(200, ParameterSchema(many=True))
    def patch(self, data):
        """Set parameters (null: back to the default); all or nothing, audited."""
        return configuration.update_parameters(request_session(), current_principal(), data["values"])

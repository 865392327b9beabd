"""OBD HTTP API: telemetry in (JSON batches, raw HJ 1239 frames), records, state, alarms,
rule settings and online rates out.  Thin views over obd.ingest and obd.service.

The two telemetry endpoints read the body themselves (msgspec, record by record answers) and
answer with msgspec-encoded JSON; their marshmallow schemas document them.
"""
from __future__ import annotations

import msgspec
from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from mobsrc.core.auth.access import current_principal, requires
from mobsrc.core.auth.principals import Role
from mobsrc.core.schemas import page_schema
from mobsrc.core.web import request_session
from mobsrc.extensions import state
from mobsrc.obd import ingest, online, service
from mobsrc.obd.schemas import (
    AlarmDetailSchema,
    AlarmQueryArgsSchema,
    AlarmSchema,
    FleetArgsSchema,
    FleetOnlineSchema,
    FramesAnswerSchema,
    InfoRecordSchema,
    OnlineDaySchema,
    OnlineRateArgsSchema,
    RecordBatchAnswerSchema,
    RecordBatchSchema,
    RecordQueryArgsSchema,
    RuleSchema,
    RuleUpdateSchema,
    StreamRecordSchema,
    VehicleStateSchema,
)
from mobsrc.obd.settings import ObdSettings

ADMIN, POLICE, OPERATOR, TERMINAL = Role.ADMIN, Role.POLICE, Role.FLEET_OPERATOR, Role.TERMINAL

blp = Blueprint("obd", __name__, url_prefix="/api/v1/obd",
                description="Heavy-duty vehicle OBD remote monitoring (HJ 1239 / GB 17691 Annex Q)")
BLUEPRINTS = [blp]
_ENCODER = msgspec.json.Encoder()


def obd_settings() -> ObdSettings:
    """Read once per app from the MOBSRC_OBD_* settings."""
    extensions = current_app.extensions
    if "mobsrc.obd" not in extensions:
        extensions["mobsrc.obd"] = ObdSettings.from_extra(state().settings.extra)
    return extensions["mobsrc.obd"]


def _json(answer: dict) -> Response:
    return Response(_ENCODER.encode(answer), status=200, mimetype="application/json")


def _body(mimetype: str) -> bytes:
    if request.mimetype != mimetype:
        raise ingest.UnsupportedMediaType(f"Send the body as {mimetype} (got {request.mimetype or 'none'}).")
    return request.get_data(cache=False)


_JSON_BODY = {"required": True, "content": {"application/json": {"schema": RecordBatchSchema}}}
_FRAMES_BODY = {"required": True, "description": "one or more HJ 1239 / GB 17691 frames, back to back",
                "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}


@blp.route("/records")
class Records(MethodView):
    @requires(TERMINAL)
    @blp.doc(requestBody=_JSON_BODY)
    @blp.response(200, RecordBatchAnswerSchema)
    @blp.alt_response(400, description="the body is not JSON")
    @blp.alt_response(413, description="more records than MOBSRC_OBD_MAX_BATCH_RECORDS")
    @blp.alt_response(415, description="not application/json")
    @blp.alt_response(422, description="not an object of `records` / `obd_info` lists")
    def post(self):
        """Submit telemetry as JSON: engine data-stream samples and OBD snapshots.

        Each record is answered in order: accepted, duplicate (the same vehicle and collection
        time is stored already) or rejected with a reason code and field.  Accepted records are
        durable when this answers 200.  A terminal user bound to an enterprise may send that
        enterprise's vehicles only; an unbound one (city platform) any registered vehicle."""
        answer = ingest.ingest_json(request_session(), current_principal(), _body("application/json"),
                                    obd_settings())
        return _json(answer)


@blp.route("/frames")
class Frames(MethodView):
    @requires(TERMINAL)
    @blp.doc(requestBody=_FRAMES_BODY)
    @blp.response(200, FramesAnswerSchema)
    @blp.alt_response(413, description="more records than MOBSRC_OBD_MAX_BATCH_RECORDS")
    @blp.alt_response(415, description="not application/octet-stream")
    @blp.alt_response(422, description="no frame in the body")
    def post(self):
        """Submit raw HJ 1239 frames (application/octet-stream, one or more frames).

        Each frame is answered with its status, its records' statuses and the platform's
        answer frame in hex (an ACK, or the time for a time-calibration request); garbage
        between frames is reported with its offset.  Logins update the terminal's profile."""
        answer = ingest.ingest_frames(request_session(), current_principal(),
                                      _body("application/octet-stream"), obd_settings())
        return _json(answer)


@blp.route("/vehicles/<int:vehicle_id>/records")
class VehicleRecords(MethodView):
    @requires(ADMIN, POLICE, OPERATOR)
    @blp.arguments(RecordQueryArgsSchema, location="query")
    @blp.response(200, page_schema(StreamRecordSchema, "ObdStreamRecordPage"))
    def get(self, args, vehicle_id):
        """A vehicle's data-stream records in [from, to), by collection time, paged."""
        return service.vehicle_records(request_session(), current_principal(), vehicle_id, args)


@blp.route("/vehicles/<int:vehicle_id>/obd-info")
class VehicleObdInfo(MethodView):
    @requires(ADMIN, POLICE, OPERATOR)
    @blp.arguments(RecordQueryArgsSchema, location="query")
    @blp.response(200, page_schema(InfoRecordSchema, "ObdInfoRecordPage"))
    def get(self, args, vehicle_id):
        """A vehicle's OBD information snapshots (MIL, trouble codes, CAL ID/CVN) in [from, to)."""
        return service.vehicle_obd_info(request_session(), current_principal(), vehicle_id, args)


@blp.route("/vehicles/<int:vehicle_id>/state")
class VehicleState(MethodView):
    @requires(ADMIN, POLICE, OPERATOR)
    @blp.response(200, VehicleStateSchema)
    def get(self, vehicle_id):
        """A vehicle's latest state: last sample, last OBD snapshot, online, open alarms."""
        return service.vehicle_state(request_session(), current_principal(), vehicle_id)


@blp.route("/alarms")
class Alarms(MethodView):
    @requires(ADMIN, POLICE, OPERATOR)
    @blp.arguments(AlarmQueryArgsSchema, location="query")
    @blp.response(200, page_schema(AlarmSchema, "ObdAlarmPage"))
    def get(self, args):
        """Alarms, newest first (an operator sees its own enterprise's only)."""
        return service.list_alarms(request_session(), current_principal(), args)


@blp.route("/alarms/<int:alarm_id>")
class AlarmById(MethodView):
    @requires(ADMIN, POLICE, OPERATOR)
    @blp.response(200, AlarmDetailSchema)
    def get(self, alarm_id):
        """One alarm with its evidence: the rule's finding and the records that prove it."""
        return service.get_alarm(request_session(), current_principal(), alarm_id)


@blp.route("/rules")
class Rules(MethodView):
    @requires(ADMIN, POLICE)
    @blp.response(200, RuleSchema(many=True))
    def get(self):
        """Alarm rules with their thresholds (default, value in force, source) and follow-up."""
        return service.rule_views(request_session())


@blp.route("/rules/<string:rule_id>")
class RuleById(MethodView):
    @requires(ADMIN, POLICE)
    @blp.response(200, RuleSchema)
    def get(self, rule_id):
        """One rule's settings in force."""
        return service.rule_view(request_session(), rule_id)

    @requires(ADMIN)
    @blp.arguments(RuleUpdateSchema)
    @blp.response(200, RuleSchema)
    def put(self, changes, rule_id):
        """Change a rule's thresholds, switch it on or off, or set when an alarm left open
        becomes a violation.  Each change is a new version; earlier versions stay readable."""
        return service.update_rule(request_session(), current_principal(), rule_id, changes)


@blp.route("/rules/<string:rule_id>/versions")
class RuleVersions(MethodView):
    @requires(ADMIN, POLICE)
    @blp.response(200, RuleSchema(many=True))
    def get(self, rule_id):
        """Every settings version of a rule, newest first, with who made it."""
        return service.rule_versions(request_session(), rule_id)


@blp.route("/online-rates")
class OnlineRates(MethodView):
    @requires(ADMIN, POLICE, OPERATOR)
    @blp.arguments(OnlineRateArgsSchema, location="query")
    @blp.response(200, page_schema(OnlineDaySchema, "ObdOnlineDayPage"))
    def get(self, args):
        """Daily online rate of each vehicle (an operator sees its own fleet's)."""
        return online.list_online_days(request_session(), current_principal(), args)


@blp.route("/online-rates/fleet")
class FleetOnlineRate(MethodView):
    @requires(ADMIN, POLICE, OPERATOR)
    @blp.arguments(FleetArgsSchema, location="query")
    @blp.response(200, FleetOnlineSchema)
    def get(self, args):
        """The fleet's online rate for a day: monitored vehicles that sent data that day."""
        return online.fleet_online(request_session(), current_principal(), args)

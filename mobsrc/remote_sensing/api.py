"""Remote-sensing HTTP API: thin views over ingest, service and queries."""
from __future__ import annotations

from flask import request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from mobsrc.core.auth.access import current_principal, requires
from mobsrc.core.auth.principals import Role
from mobsrc.core.schemas import PageArgsSchema, page_schema
from mobsrc.core.web import request_session
from mobsrc.remote_sensing import ingest, queries, service
from mobsrc.remote_sensing.schemas import (
    BatchAnswerSchema,
    BatchSchema,
    CalibrationCreateSchema,
    CalibrationSchema,
    ConfirmationQueryArgsSchema,
    ConfirmationSchema,
    LimitTableCreateSchema,
    LimitTableSchema,
    ReadingBatchSchema,
    ReadingDetailSchema,
    ReadingQueryArgsSchema,
    ReadingSchema,
    RsStationSchema,
    StationDayArgsSchema,
    StationDaySchema,
    StationDetailsSchema,
)

ADMIN, POLICE, RS, OPERATOR = Role.ADMIN, Role.POLICE, Role.RS_STATION, Role.FLEET_OPERATOR

blp = Blueprint("remote_sensing", __name__, url_prefix="/api/v1/remote-sensing",
                description="Roadside remote sensing: stations, readings, verdicts, black smoke, high emitters")
BLUEPRINTS = [blp]

_BATCH_BODY = {"required": True, "description": "A batch of readings; each is answered on its own.",
               "content": {"application/json": {"schema": ReadingBatchSchema}}}


# --- readings -----------------------------------------------------------------------------------

@blp.route("/readings")
class Readings(MethodView):
    @requires(RS)
    @blp.doc(requestBody=_BATCH_BODY)
    @blp.response(202, BatchAnswerSchema, description="stored; judged by a job (follow `Location`)")
    def post(self):
        """Post roadside readings as this station: each is accepted, a duplicate of a pass
        already stored, or rejected with reasons. Accepted readings are stored before the answer."""
        answer = ingest.ingest_readings(request_session(), current_principal(), request.get_data())
        return answer, 202, {"Location": url_for("remote_sensing.BatchById", batch_id=answer.batch_id)}

    @requires(ADMIN, POLICE, RS, OPERATOR)
    @blp.arguments(ReadingQueryArgsSchema, location="query")
    @blp.response(200, page_schema(ReadingSchema, "RsReadingPage"))
    def get(self, args):
        """Readings with their current verdict, newest first (a station sees its own, an
        operator those judged against its vehicles)."""
        return queries.list_readings(request_session(), current_principal(), args, args["cursor"], args["limit"])


@blp.route("/readings/<int:reading_id>")
class ReadingById(MethodView):
    @requires(ADMIN, POLICE, RS, OPERATOR)
    @blp.response(200, ReadingDetailSchema)
    def get(self, reading_id):
        """One reading with every judgement of it."""
        return queries.get_reading(request_session(), current_principal(), reading_id)


@blp.route("/batches/<int:batch_id>")
class BatchById(MethodView):
    @requires(ADMIN, RS)
    @blp.response(200, BatchSchema)
    def get(self, batch_id):
        """A posted batch: counts, and whether its readings are judged yet."""
        return queries.get_batch(request_session(), current_principal(), batch_id)


@blp.route("/vehicles/<int:vehicle_id>/readings")
class VehicleReadings(MethodView):
    @requires(ADMIN, POLICE, OPERATOR)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, page_schema(ReadingSchema, "RsVehicleReadingPage"))
    def get(self, args, vehicle_id):
        """A registered vehicle's readings and judgements, newest first."""
        return queries.vehicle_readings(request_session(), current_principal(), vehicle_id, {},
                                        args["cursor"], args["limit"])


@blp.route("/confirmations")
class Confirmations(MethodView):
    @requires(ADMIN, POLICE, OPERATOR)
    @blp.arguments(ConfirmationQueryArgsSchema, location="query")
    @blp.response(200, page_schema(ConfirmationSchema, "RsConfirmationPage"))
    def get(self, args):
        """Confirmed high emitters with their evidence readings and I/M hand-over state."""
        return queries.list_confirmations(request_session(), current_principal(), args, args["cursor"],
                                          args["limit"])


@blp.route("/statistics/station-days")
class StationDays(MethodView):
    @requires(ADMIN, POLICE, RS)
    @blp.arguments(StationDayArgsSchema, location="query")
    @blp.response(200, StationDaySchema(many=True))
    def get(self, args):
        """Per station and Asia/Shanghai day: readings, valid / exceedance / matched rates."""
        return queries.station_days(request_session(), current_principal(), args.get("station_id"),
                                    args["day_from"], args["day_to"])


# --- stations and calibration ---------------------------------------------------------------------

@blp.route("/stations")
class Stations(MethodView):
    @requires(ADMIN, POLICE, RS)
    @blp.response(200, RsStationSchema(many=True))
    def get(self):
        """Remote-sensing stations with their roadside details and calibration status today."""
        return service.list_stations(request_session(), current_principal())


@blp.route("/stations/<int:station_id>")
class StationById(MethodView):
    @requires(ADMIN, POLICE, RS)
    @blp.response(200, RsStationSchema)
    def get(self, station_id):
        """One remote-sensing station."""
        return service.get_station(request_session(), current_principal(), station_id)

    @requires(ADMIN)
    @blp.arguments(StationDetailsSchema)
    @blp.response(200, RsStationSchema)
    def put(self, data, station_id):
        """Set the station's road, lanes, direction and device (the registry holds code, name,
        location and district)."""
        return service.set_station_details(request_session(), current_principal(), station_id, data)


@blp.route("/stations/<int:station_id>/calibrations")
class Calibrations(MethodView):
    @requires(ADMIN, POLICE, RS)
    @blp.response(200, CalibrationSchema(many=True))
    def get(self, station_id):
        """The device's calibration and audit records, newest first."""
        return service.list_calibrations(request_session(), current_principal(), station_id)

    @requires(ADMIN)
    @blp.arguments(CalibrationCreateSchema)
    @blp.response(201, CalibrationSchema)
    def post(self, data, station_id):
        """Record a calibration or audit with the days it covers; readings on days that no
        passed check covers are stored but invalid for judgement."""
        return service.record_calibration(request_session(), current_principal(), station_id, data)


# --- limit tables -------------------------------------------------------------------------------

@blp.route("/limit-tables")
class LimitTables(MethodView):
    @requires(ADMIN, POLICE)
    @blp.response(200, LimitTableSchema(many=True))
    def get(self):
        """Every version of the limit table, newest first."""
        return service.list_limit_tables(request_session())

    @requires(ADMIN)
    @blp.arguments(LimitTableCreateSchema)
    @blp.response(201, LimitTableSchema)
    def post(self, data):
        """Store a new version of the limits, validity gate, black-smoke trigger and
        confirmation rule (effective today or later; tables are never edited)."""
        return service.create_limit_table(request_session(), current_principal(), data["document"], data["note"])


@blp.route("/limit-tables/<string:version>")
class LimitTableByVersion(MethodView):
    @requires(ADMIN, POLICE)
    @blp.response(200, LimitTableSchema)
    def get(self, version):
        """One version of the limit table."""
        return service.get_limit_table(request_session(), version)

"""Zones HTTP API: no-use zones (the bureau draws them; everyone with a key may read them),
alert days, machine positions (terminals and operators post them), tracks, visits and the
"may this machine work here?" check. Thin views over the zones services."""
from __future__ import annotations

from datetime import date

from flask import request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from mobsrc.core import clock
from mobsrc.core.auth.access import current_principal, requires
from mobsrc.core.auth.principals import Role
from mobsrc.core.errors import invalid
from mobsrc.core.geo import geojson
from mobsrc.core.geo.crs import Crs
from mobsrc.core.schemas import page_schema
from mobsrc.core.web import request_session
from mobsrc.extensions import state
from mobsrc.zones import config, geofence, positions, service, tracks, zone_sets
from mobsrc.zones.schemas import (
    AlertDayArgsSchema,
    AlertDayDeclareSchema,
    AlertDaySchema,
    AreaCrsArgsSchema,
    BatchResultSchema,
    InsideArgsSchema,
    LastPositionQueryArgsSchema,
    LastPositionSchema,
    OccupantSchema,
    PositionBatchOutSchema,
    PositionBatchSchema,
    PositionRejectSchema,
    TrackArgsSchema,
    WorkCheckArgsSchema,
    WorkCheckSchema,
    ZoneCreateSchema,
    ZoneImportSchema,
    ZoneQueryArgsSchema,
    ZoneRetireSchema,
    ZoneSchema,
    ZoneSummarySchema,
    ZoneUpdateSchema,
    ZoneVisitQueryArgsSchema,
    ZoneVisitSchema,
)

ADMIN, POLICE, OPERATOR, TERMINAL = Role.ADMIN, Role.POLICE, Role.FLEET_OPERATOR, Role.TERMINAL
READERS = (ADMIN, POLICE, OPERATOR)  # zones are published rules: whoever may be bound by them reads them

zones = Blueprint("zones", __name__, url_prefix="/api/v1/zones",
                  description="No-use zones for high-emission machinery: areas, rules as data, versions")
zone_visits = Blueprint("zone_visits", __name__, url_prefix="/api/v1/zone-visits",
                        description="Confirmed visits of machines to no-use zones")
alert_days = Blueprint("alert_days", __name__, url_prefix="/api/v1/alert-days",
                       description="Heavy-pollution alert days (for zones that apply on alert days only)")
machine_positions = Blueprint("positions", __name__, url_prefix="/api/v1",
                              description="Machine positions: batch ingestion, last known positions, tracks")
BLUEPRINTS = [zones, zone_visits, alert_days, machine_positions]


def _config():
    return config.from_settings(state().settings)


# --- zones ---------------------------------------------------------------------------------------

@zones.route("")
class Zones(MethodView):
    @requires(*READERS)
    @zones.arguments(ZoneQueryArgsSchema, location="query")
    @zones.response(200, page_schema(ZoneSummarySchema, "ZonePage"))
    def get(self, args):
        """Zones and their current versions (without the area; see /zones/geojson or one zone)."""
        return service.list_zones(request_session(), args, args["cursor"], args["limit"])

    @requires(ADMIN)
    @zones.arguments(ZoneCreateSchema)
    @zones.response(201, ZoneSchema)
    def post(self, draft):
        """Create a zone from GeoJSON in wgs84, gcj02 or bd09 (stored in WGS-84); 422 with the
        reason and JSON pointer of every geometry problem, nothing stored."""
        view = service.create_zone(request_session(), current_principal(), draft)
        return view, 201, {"Location": url_for("zones.ZoneById", zone_id=view.id)}


@zones.route("/import")
class ZoneImport(MethodView):
    @requires(ADMIN)
    @zones.arguments(ZoneImportSchema)
    @zones.response(201, ZoneSummarySchema(many=True))
    def post(self, draft):
        """One zone per feature of a FeatureCollection (e.g. district boundaries), all or nothing."""
        return service.import_zones(request_session(), current_principal(), draft)


@zones.route("/geojson")
class ZonesGeoJson(MethodView):
    @requires(*READERS)
    @zones.arguments(AreaCrsArgsSchema, location="query")
    @zones.response(200, description="GeoJSON FeatureCollection of the active zones, rules as properties")
    def get(self, args):
        """Every active zone as one FeatureCollection, in the datum your map uses."""
        return service.active_zones_collection(request_session(), Crs(args["crs"]))


@zones.route("/<int:zone_id>")
class ZoneById(MethodView):
    @requires(*READERS)
    @zones.arguments(AreaCrsArgsSchema, location="query")
    @zones.response(200, ZoneSchema)
    def get(self, args, zone_id):
        """One zone, current version, with its area."""
        return service.get_zone(request_session(), zone_id, area_crs=Crs(args["crs"]))

    @requires(ADMIN)
    @zones.arguments(ZoneUpdateSchema)
    @zones.response(200, ZoneSchema)
    def patch(self, changes, zone_id):
        """Change the area or the rule: a new version (the old ones are kept)."""
        return service.update_zone(request_session(), current_principal(), zone_id, changes)


@zones.route("/<int:zone_id>/retire")
class ZoneRetire(MethodView):
    @requires(ADMIN)
    @zones.arguments(ZoneRetireSchema)
    @zones.response(200, ZoneSchema)
    def post(self, data, zone_id):
        """Retire a zone from now on (a final version records it)."""
        return service.retire_zone(request_session(), current_principal(), zone_id, data["note"],
                                   data.get("expected_version"))


@zones.route("/<int:zone_id>/versions")
class ZoneVersions(MethodView):
    @requires(*READERS)
    @zones.response(200, ZoneSummarySchema(many=True))
    def get(self, zone_id):
        """Every version of a zone, oldest first: what changed, when, by whom."""
        return service.zone_versions(request_session(), zone_id)


@zones.route("/<int:zone_id>/versions/<int:version>")
class ZoneVersionById(MethodView):
    @requires(*READERS)
    @zones.arguments(AreaCrsArgsSchema, location="query")
    @zones.response(200, ZoneSchema)
    def get(self, args, zone_id, version):
        """One version of a zone with its area (the one a violation names)."""
        return service.get_zone(request_session(), zone_id, version, Crs(args["crs"]))


@zones.route("/inside")
class MachinesInside(MethodView):
    @requires(*READERS)
    @zones.arguments(InsideArgsSchema, location="query")
    @zones.response(200, OccupantSchema(many=True))
    def get(self, args):
        """Machines inside no-use zones now (open visits), with their last known position."""
        return geofence.machines_inside(request_session(), current_principal(), args.get("zone_id"))


@zones.route("/check")
class WorkCheck(MethodView):
    @requires(*READERS)
    @zones.arguments(WorkCheckArgsSchema, location="query")
    @zones.response(200, WorkCheckSchema)
    def get(self, args):
        """May this machine work (engine running) at this point at that time? Allowed or denied,
        with every zone there and its reasons."""
        session, principal = request_session(), current_principal()
        machine = zone_sets.visible_machine(session, principal, args.get("machine_id"), args.get("machine_code"))
        point = args["point"]
        return zone_sets.check_work(session, principal, machine, point["lon"], point["lat"],
                                    args.get("at") or clock.now(), _config().lookback)


@zone_visits.route("")
class ZoneVisits(MethodView):
    @requires(*READERS)
    @zone_visits.arguments(ZoneVisitQueryArgsSchema, location="query")
    @zone_visits.response(200, page_schema(ZoneVisitSchema, "ZoneVisitPage"))
    def get(self, args):
        """Visits, newest entry first; `violating=true` lists the ones that opened a violation
        (the violation itself is in /violations)."""
        return geofence.list_visits(request_session(), current_principal(), args, args["cursor"], args["limit"])


# --- alert days ----------------------------------------------------------------------------------

@alert_days.route("")
class AlertDays(MethodView):
    @requires(*READERS)
    @alert_days.arguments(AlertDayArgsSchema, location="query")
    @alert_days.response(200, AlertDaySchema(many=True))
    def get(self, args):
        """Declared alert days in a range of local dates."""
        return service.list_alert_days(request_session(), args["from_"], args["to"])


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise invalid("day", "a date YYYY-MM-DD (local)") from None


@alert_days.route("/<string:day>")
class AlertDayByDate(MethodView):
    @requires(ADMIN)
    @alert_days.arguments(AlertDayDeclareSchema)
    @alert_days.response(200, AlertDaySchema)
    def put(self, data, day):
        """Declare (or change) an alert day: alert-days-only zones apply on it."""
        return service.declare_alert_day(request_session(), current_principal(), _day(day), data["level"],
                                         data["note"])

    @requires(ADMIN)
    @alert_days.response(204)
    def delete(self, day):
        """Lift an alert day."""
        service.cancel_alert_day(request_session(), _day(day))


# --- positions -----------------------------------------------------------------------------------

@machine_positions.route("/positions")
class Positions(MethodView):
    @requires(TERMINAL, OPERATOR)
    @machine_positions.doc(requestBody={"required": True, "content": {"application/json": {
        "schema": PositionBatchSchema}}})
    @machine_positions.response(202, BatchResultSchema, description="stored; geofencing follows")
    def post(self):
        """Post a batch of fixes: each answered accepted (with flags), duplicate or rejected with a
        reason code. Stored in PostgreSQL before this answer; a terminal user bound to an
        enterprise (and an operator) may report only its own machines."""
        result = positions.ingest_positions(request_session(), current_principal(), request.get_data(), _config())
        return result, 202, {"Location": url_for("positions.PositionBatchById", batch_id=result.batch_id)}


@machine_positions.route("/positions/batches/<int:batch_id>")
class PositionBatchById(MethodView):
    @requires(ADMIN, TERMINAL, OPERATOR)
    @machine_positions.response(200, PositionBatchOutSchema)
    def get(self, batch_id):
        """A batch's totals and whether it has been geofenced (its sender, or the bureau)."""
        return tracks.get_batch(request_session(), current_principal(), batch_id)


@machine_positions.route("/positions/batches/<int:batch_id>/rejects")
class PositionBatchRejects(MethodView):
    @requires(ADMIN, TERMINAL, OPERATOR)
    @machine_positions.response(200, PositionRejectSchema(many=True))
    def get(self, batch_id):
        """The rejected items of a batch, with their reasons and records as received."""
        return tracks.batch_rejects(request_session(), current_principal(), batch_id)


@machine_positions.route("/positions/latest")
class LastPositions(MethodView):
    @requires(*READERS)
    @machine_positions.arguments(LastPositionQueryArgsSchema, location="query")
    @machine_positions.response(200, page_schema(LastPositionSchema, "LastPositionPage"))
    def get(self, args):
        """The last known position of every machine (an operator: its own), by area or recency."""
        if args.get("bbox"):
            area = geojson.area_query(bbox=[float(v) for v in args["bbox"].split(",")], crs=args["bbox_crs"])
            if isinstance(area, list):
                raise invalid("bbox", f"{area[0].code.value}: {area[0].detail or 'not a valid box'}")
            args["bbox"] = area.geometry.bounds
        return tracks.last_positions(request_session(), current_principal(), args, args["cursor"], args["limit"])


@machine_positions.route("/machines/<int:machine_id>/position")
class MachinePosition(MethodView):
    @requires(*READERS)
    @machine_positions.response(200, LastPositionSchema)
    def get(self, machine_id):
        """A machine's last known position."""
        return tracks.last_position(request_session(), current_principal(), machine_id)


@machine_positions.route("/machines/<int:machine_id>/track")
class MachineTrack(MethodView):
    @requires(*READERS)
    @machine_positions.arguments(TrackArgsSchema, location="query")
    @machine_positions.response(200, description="GeoJSON FeatureCollection: the track (LineString) and its fixes")
    def get(self, args, machine_id):
        """A machine's track for a time range as GeoJSON, in the datum your map uses."""
        return tracks.machine_track(request_session(), current_principal(), machine_id, args["from_"], args["to"],
                                       Crs(args["crs"]), args["include_excluded"])

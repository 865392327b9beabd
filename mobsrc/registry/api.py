"""Registry HTTP API: thin views over registry.service and registry.imports."""
from __future__ import annotations

import io

import segno
from flask import Response, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema

from mobsrc.core.auth.access import current_principal, public, requires
from mobsrc.core.auth.principals import Role
from mobsrc.core.errors import invalid
from mobsrc.core.schemas import PageArgsSchema, one_of_enum, page_schema
from mobsrc.core.web import request_session
from mobsrc.extensions import state
from mobsrc.registry import imports, service
from mobsrc.registry.models import StationKind
from mobsrc.registry.schemas import (
    DeregisterSchema,
    EnterpriseCreateSchema,
    EnterpriseSchema,
    EnterpriseUpdateSchema,
    ImportArgsSchema,
    ImportRowsArgsSchema,
    ImportRowSchema,
    ImportSchema,
    LabelSchema,
    MachineCreateSchema,
    MachineHistorySchema,
    MachineQueryArgsSchema,
    MachineSchema,
    MachineUpdateSchema,
    StationCreateSchema,
    StationSchema,
    StationUpdateSchema,
    TransferSchema,
    VehicleCreateSchema,
    VehicleQueryArgsSchema,
    VehicleSchema,
    VehicleUpdateSchema,
    VerificationSchema,
)

ADMIN, POLICE, OPERATOR = Role.ADMIN, Role.POLICE, Role.FLEET_OPERATOR

enterprises = Blueprint("enterprises", __name__, url_prefix="/api/v1/enterprises",
                        description="Fleet owners (enterprises), identified by their credit code")
stations = Blueprint("stations", __name__, url_prefix="/api/v1/stations",
                     description="Inspection (I), repair (M) and remote-sensing stations")
machines = Blueprint("machines", __name__, url_prefix="/api/v1/machines",
                     description="Non-road mobile machinery: registration, codes, labels, lifecycle")
machine_imports = Blueprint("machine_imports", __name__, url_prefix="/api/v1/machine-imports",
                            description="Register many machines at once from a CSV file")
vehicles = Blueprint("vehicles", __name__, url_prefix="/api/v1/vehicles",
                     description="Heavy-duty vehicles (VIN, plate and colour, OBD terminal)")
verification = Blueprint("verification", __name__, url_prefix="/api/v1/verify",
                         description="Public check of a machine's registration code (the label's QR code)")
BLUEPRINTS = [enterprises, stations, machines, machine_imports, vehicles, verification]


# --- enterprises --------------------------------------------------------------------------------

@enterprises.route("")
class Enterprises(MethodView):
    @requires(ADMIN, POLICE, OPERATOR)
    @enterprises.arguments(PageArgsSchema, location="query")
    @enterprises.response(200, page_schema(EnterpriseSchema, "EnterprisePage"))
    def get(self, args):
        """List enterprises (an operator sees only its own)."""
        return service.list_enterprises(request_session(), current_principal(), args["cursor"], args["limit"])

    @requires(ADMIN)
    @enterprises.arguments(EnterpriseCreateSchema)
    @enterprises.response(201, EnterpriseSchema)
    def post(self, data):
        """Register an enterprise (credit code checked per GB 32100)."""
        return service.create_enterprise(request_session(), data)


@enterprises.route("/<int:enterprise_id>")
class EnterpriseById(MethodView):
    @requires(ADMIN, POLICE, OPERATOR)
    @enterprises.response(200, EnterpriseSchema)
    def get(self, enterprise_id):
        """One enterprise."""
        return service.get_enterprise(request_session(), current_principal(), enterprise_id)

    @requires(ADMIN, OPERATOR)
    @enterprises.arguments(EnterpriseUpdateSchema)
    @enterprises.response(200, EnterpriseSchema)
    def patch(self, changes, enterprise_id):
        """Change contact details (operators their own; the name only the bureau)."""
        return service.update_enterprise(request_session(), current_principal(), enterprise_id, changes)


# --- stations -----------------------------------------------------------------------------------

class StationQueryArgsSchema(Schema):
    kind = one_of_enum(StationKind)


@stations.route("")
class Stations(MethodView):
    @requires(ADMIN, POLICE, Role.I_STATION, Role.M_STATION, Role.RS_STATION)
    @stations.arguments(StationQueryArgsSchema, location="query")
    @stations.response(200, StationSchema(many=True))
    def get(self, args):
        """List stations (a station sees itself)."""
        return service.list_stations(request_session(), current_principal(), args.get("kind"))

    @requires(ADMIN)
    @stations.arguments(StationCreateSchema)
    @stations.response(201, StationSchema)
    def post(self, data):
        """Create a station (its location may be given in gcj02 or bd09)."""
        return service.create_station(request_session(), data)


@stations.route("/<int:station_id>")
class StationById(MethodView):
    @requires(ADMIN, POLICE, Role.I_STATION, Role.M_STATION, Role.RS_STATION)
    @stations.response(200, StationSchema)
    def get(self, station_id):
        """One station."""
        return service.get_station(request_session(), current_principal(), station_id)

    @requires(ADMIN)
    @stations.arguments(StationUpdateSchema)
    @stations.response(200, StationSchema)
    def patch(self, changes, station_id):
        """Change a station's name, address, location or active flag."""
        return service.update_station(request_session(), station_id, changes)


# --- machines -----------------------------------------------------------------------------------

@machines.route("")
class Machines(MethodView):
    @requires(ADMIN, POLICE, OPERATOR)
    @machines.arguments(MachineQueryArgsSchema, location="query")
    @machines.response(200, page_schema(MachineSchema, "MachinePage"))
    def get(self, args):
        """Search registered machines, newest first (an operator sees only its own)."""
        return service.list_machines(request_session(), current_principal(), args, args["cursor"], args["limit"])

    @requires(ADMIN, OPERATOR)
    @machines.arguments(MachineCreateSchema)
    @machines.response(201, MachineSchema)
    def post(self, draft):
        """Register a machine and issue its registration code."""
        return service.register_machine(request_session(), current_principal(), draft,
                                        state().settings.default_district_code)


@machines.route("/<int:machine_id>")
class MachineById(MethodView):
    @requires(ADMIN, POLICE, OPERATOR)
    @machines.response(200, MachineSchema)
    def get(self, machine_id):
        """One machine."""
        return service.get_machine(request_session(), current_principal(), machine_id)

    @requires(ADMIN, OPERATOR)
    @machines.arguments(MachineUpdateSchema)
    @machines.response(200, MachineSchema)
    def patch(self, changes, machine_id):
        """Correct descriptive data or fit a terminal (the stage only by the bureau)."""
        return service.update_machine(request_session(), current_principal(), machine_id, changes)


@machines.route("/<int:machine_id>/transfer")
class MachineTransfer(MethodView):
    @requires(ADMIN, OPERATOR)
    @machines.arguments(TransferSchema)
    @machines.response(200, MachineSchema)
    def post(self, data, machine_id):
        """Transfer to a new owner (the current owner or the bureau); the code stays."""
        return service.transfer_machine(request_session(), current_principal(), machine_id, data)


@machines.route("/<int:machine_id>/deregister")
class MachineDeregister(MethodView):
    @requires(ADMIN, OPERATOR)
    @machines.arguments(DeregisterSchema)
    @machines.response(200, MachineSchema)
    def post(self, data, machine_id):
        """Deregister (scrapped, exported). Final: the code is never issued again."""
        return service.deregister_machine(request_session(), current_principal(), machine_id, data)


@machines.route("/<int:machine_id>/history")
class MachineHistoryView(MethodView):
    @requires(ADMIN, POLICE, OPERATOR)
    @machines.response(200, MachineHistorySchema(many=True))
    def get(self, machine_id):
        """Lifecycle history: registration, changes, transfers, deregistration."""
        return service.machine_history(request_session(), current_principal(), machine_id)


@machines.route("/<int:machine_id>/label")
class MachineLabel(MethodView):
    @requires(ADMIN, POLICE, OPERATOR)
    @machines.response(200, LabelSchema)
    def get(self, machine_id):
        """The label's content; its QR code carries `verify_url`."""
        machine = service.get_machine(request_session(), current_principal(), machine_id)
        return service.machine_label(machine, state().settings.public_base_url)


@machines.route("/<int:machine_id>/label.svg")
class MachineLabelQr(MethodView):
    @requires(ADMIN, POLICE, OPERATOR)
    @machines.response(200, content_type="image/svg+xml", description="QR code of the verification URL")
    def get(self, machine_id):
        """The label's QR code as SVG, ready to print."""
        machine = service.get_machine(request_session(), current_principal(), machine_id)
        out = io.BytesIO()
        segno.make(service.verify_url(state().settings.public_base_url, machine.code), error="m").save(
            out, kind="svg", scale=4, border=2)
        return Response(out.getvalue(), mimetype="image/svg+xml")


# --- imports ------------------------------------------------------------------------------------

def _uploaded_file() -> tuple[bytes, str]:
    if "file" in request.files:
        upload = request.files["file"]
        return upload.read(), upload.filename or ""
    if request.mimetype in ("text/csv", "application/octet-stream", "text/plain"):
        return request.get_data(), ""
    raise invalid("file", "send the CSV as multipart form field 'file' or as a text/csv body")


_CSV_BODY = {"content": {
    "text/csv": {"schema": {"type": "string", "format": "binary"}},
    "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}},
}, "description": "UTF-8 or GBK CSV with a header row (English or Chinese column names)"}


@machine_imports.route("")
class MachineImports(MethodView):
    @requires(ADMIN, OPERATOR)
    @machine_imports.response(200, ImportSchema(many=True))
    def get(self):
        """Recent imports (an operator sees its own)."""
        return imports.list_imports(request_session(), current_principal())

    @requires(ADMIN, OPERATOR)
    @machine_imports.arguments(ImportArgsSchema, location="query")
    @machine_imports.doc(requestBody=_CSV_BODY)
    @machine_imports.response(202, ImportSchema, description="accepted; follow `Location` for progress")
    @machine_imports.alt_response(200, schema=ImportSchema, description="this file was uploaded before")
    def post(self, args):
        """Upload a CSV of machines; a job registers the rows and answers each one."""
        content, filename = _uploaded_file()
        if not content:
            raise invalid("file", "the file is empty")
        upload, created = imports.start_import(request_session(), current_principal(), args["enterprise_id"],
                                               args["filename"] or filename, content)
        location = url_for("machine_imports.MachineImportById", import_id=upload.id)
        return upload, (202 if created else 200), {"Location": location}


@machine_imports.route("/<int:import_id>")
class MachineImportById(MethodView):
    @requires(ADMIN, OPERATOR)
    @machine_imports.response(200, ImportSchema)
    def get(self, import_id):
        """Progress and totals of one import."""
        return imports.get_import(request_session(), current_principal(), import_id)


@machine_imports.route("/<int:import_id>/rows")
class MachineImportRows(MethodView):
    @requires(ADMIN, OPERATOR)
    @machine_imports.arguments(ImportRowsArgsSchema, location="query")
    @machine_imports.response(200, ImportRowSchema(many=True))
    def get(self, args, import_id):
        """The answer for each row: its code, or why it was rejected."""
        return imports.import_rows(request_session(), current_principal(), import_id, args.get("outcome"))


# --- vehicles -----------------------------------------------------------------------------------

@vehicles.route("")
class Vehicles(MethodView):
    @requires(ADMIN, POLICE, OPERATOR)
    @vehicles.arguments(VehicleQueryArgsSchema, location="query")
    @vehicles.response(200, page_schema(VehicleSchema, "VehiclePage"))
    def get(self, args):
        """Search vehicles by plate, VIN, owner or terminal."""
        return service.list_vehicles(request_session(), current_principal(), args, args["cursor"], args["limit"])

    @requires(ADMIN, OPERATOR)
    @vehicles.arguments(VehicleCreateSchema)
    @vehicles.response(201, VehicleSchema)
    def post(self, data):
        """Register a heavy-duty vehicle (VIN check digit and plate format are checked)."""
        return service.register_vehicle(request_session(), current_principal(), data)


@vehicles.route("/<int:vehicle_id>")
class VehicleById(MethodView):
    @requires(ADMIN, POLICE, OPERATOR)
    @vehicles.response(200, VehicleSchema)
    def get(self, vehicle_id):
        """One vehicle."""
        return service.get_vehicle(request_session(), current_principal(), vehicle_id)

    @requires(ADMIN, OPERATOR)
    @vehicles.arguments(VehicleUpdateSchema)
    @vehicles.response(200, VehicleSchema)
    def patch(self, changes, vehicle_id):
        """Change the plate (re-plating) or the OBD terminal."""
        return service.update_vehicle(request_session(), current_principal(), vehicle_id, changes)


# --- public verification ------------------------------------------------------------------------

@verification.route("/<string:code>")
class Verify(MethodView):
    @public
    @verification.response(200, VerificationSchema)
    def get(self, code):
        """Check a machine's registration code: structure and check character, then the register.
        Open to anyone who scans a label; shows no owner details."""
        return service.verify_code(request_session(), code)

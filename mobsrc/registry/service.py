"""Registry use cases: enterprises, stations, machines (codes, lifecycle, labels), vehicles.
CSV imports are in registry/imports.py. Services take the session and the principal, apply
scope, raise DomainErrors and never commit."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, String, bindparam, func, insert, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mobsrc.core import clock
from mobsrc.core.audit import name_action
from mobsrc.core.auth.principals import Principal, Role
from mobsrc.core.auth.scope import ensure_visible, scoped
from mobsrc.core.errors import Conflict, DuplicateEngine, Forbidden, NotFound, invalid
from mobsrc.core.geo_schemas import point_element
from mobsrc.core.pagination import Page, paginate
from mobsrc.registry import coding, identifiers, lifecycle
from mobsrc.registry.lifecycle import MachineEvent, MachineStatus
from mobsrc.registry.models import CodeCounter, District, Enterprise, Machine, MachineHistory, Station, Vehicle

# --- districts and enterprises ------------------------------------------------------------------


def ensure_district(session: Session, code: str | None, field: str = "district_code") -> str | None:
    if code is not None and session.get(District, code) is None:
        raise invalid(field, f"{code} is not a district this platform serves")
    return code


def create_enterprise(session: Session, data: dict) -> Enterprise:
    ensure_district(session, data.get("district_code"))
    if session.scalar(select(Enterprise.id).where(Enterprise.uscc == data["uscc"])) is not None:
        raise Conflict(f"An enterprise with credit code {data['uscc']} is already registered.")
    enterprise = Enterprise(**data)
    session.add(enterprise)
    session.flush()
    return enterprise


def get_enterprise(session: Session, principal: Principal, enterprise_id: int) -> Enterprise:
    enterprise = session.get(Enterprise, enterprise_id)
    return ensure_visible(principal, enterprise, "enterprise", enterprise_id=enterprise_id)


def update_enterprise(session: Session, principal: Principal, enterprise_id: int, changes: dict) -> Enterprise:
    enterprise = get_enterprise(session, principal, enterprise_id)
    if "name" in changes and principal.role is not Role.ADMIN:
        raise Forbidden("Only the ecology bureau may change an enterprise's registered name.")
    for name, value in changes.items():
        setattr(enterprise, name, value)
    session.flush()
    return enterprise


def list_enterprises(session: Session, principal: Principal, cursor: str | None, limit: int) -> Page:
    stmt = scoped(select(Enterprise), principal, enterprise_col=Enterprise.id)
    return paginate(session, stmt, [Enterprise.id], cursor, limit, descending=False)


def enterprise_by_uscc(session: Session, uscc: str) -> Enterprise:
    enterprise = session.scalar(select(Enterprise).where(Enterprise.uscc == identifiers.normalize_uscc(uscc)))
    if enterprise is None:
        raise invalid("to_uscc", "no enterprise is registered with this credit code")
    return enterprise


# --- stations -----------------------------------------------------------------------------------


def create_station(session: Session, data: dict) -> Station:
    ensure_district(session, data.get("district_code"))
    if session.scalar(select(Station.id).where(Station.code == data["code"])) is not None:
        raise Conflict(f"Station code {data['code']} is taken.")
    station = Station(**{**data, "location": point_element(data.get("location"))})
    session.add(station)
    session.flush()
    return station


def get_station(session: Session, principal: Principal, station_id: int) -> Station:
    station = session.get(Station, station_id)
    return ensure_visible(principal, station, "station", station_id=station_id)


def update_station(session: Session, station_id: int, changes: dict) -> Station:
    station = session.get(Station, station_id)
    if station is None:
        raise NotFound("No such station.")
    if "location" in changes:
        changes["location"] = point_element(changes["location"])
    for name, value in changes.items():
        setattr(station, name, value)
    session.flush()
    return station


def list_stations(session: Session, principal: Principal, kind=None) -> list[Station]:
    stmt = scoped(select(Station), principal, station_col=Station.id)
    if kind is not None:
        stmt = stmt.where(Station.kind == kind)
    return list(session.scalars(stmt.order_by(Station.code)))


def own_station(session: Session, principal: Principal) -> Station:
    """The station a station key belongs to: a station posts only as itself."""
    if principal.station_id is None:
        raise Forbidden("Only a station's own key may post for it.")
    return session.get(Station, principal.station_id)


# --- machines -----------------------------------------------------------------------------------


def engine_key(manufacturer: str, serial: str) -> str:
    """'Yuchai ', 'yc 6108-zg' and 'YUCHAI', 'YC6108ZG' are the same engine."""
    def fold(text: str) -> str:
        return "".join(ch for ch in identifiers.normalize_vin(text) if ch.isalnum())
    return f"{fold(manufacturer)}|{fold(serial)}"


def _owner_for(session: Session, principal: Principal, requested: int | None) -> Enterprise:
    """Operators register for themselves; the bureau names the owner."""
    if principal.role is Role.FLEET_OPERATOR:
        if requested not in (None, principal.enterprise_id):
            raise Forbidden("An operator registers machines for its own enterprise only.")
        requested = principal.enterprise_id
    if requested is None:
        raise invalid("enterprise_id", "name the owning enterprise")
    enterprise = session.get(Enterprise, requested)
    if enterprise is None:
        raise invalid("enterprise_id", "no such enterprise")
    return enterprise


def next_serials(session: Session, district_code: str, type_code: str, count: int) -> range:
    """Atomically take `count` serials: concurrent registrations never share one, and a serial
    is never handed out twice (the counter only goes up; a rolled-back transaction's serials
    were never issued)."""
    stmt = pg_insert(CodeCounter).values(district_code=district_code, type_code=type_code, last_serial=count)
    stmt = stmt.on_conflict_do_update(index_elements=["district_code", "type_code"],
                                      set_={"last_serial": CodeCounter.last_serial + count})
    last = session.execute(stmt.returning(CodeCounter.last_serial)).scalar_one()
    return range(last - count + 1, last + 1)


def _history(session: Session, machine: Machine, event: str, actor: Principal, **fields) -> None:
    session.execute(insert(MachineHistory).values(machine_id=machine.id, event=event,
                                                  actor_user_id=actor.user_id, **fields))


def find_engine(session: Session, manufacturer: str, serial: str) -> Machine | None:
    return session.scalar(select(Machine).where(Machine.engine_key == engine_key(manufacturer, serial)))


def find_engines(session: Session, keys: list[str]) -> dict[str, Machine]:
    """Registered machines by engine key, for many keys in one query."""
    return {m.engine_key: m for m in session.scalars(select(Machine).where(Machine.engine_key.in_(keys)))}


def _ensure_terminal_free(session: Session, terminal_id: str | None, machine_id: int | None = None) -> None:
    if terminal_id is None:
        return
    holder = session.scalar(select(Machine.id).where(Machine.terminal_id == terminal_id))
    if holder is not None and holder != machine_id:
        raise Conflict(f"Terminal {terminal_id} is already fitted to another registered machine.")


@dataclass(frozen=True)
class CheckedDraft:
    """A registration that passed every check; only its serial is still to be taken."""

    draft: dict
    owner_id: int
    district: str
    machine_type: coding.MachineType
    engine_key: str


def check_registration(session: Session, principal: Principal, draft: dict, default_district: str,
                       existing: Machine | None) -> CheckedDraft:
    """Every rule of a registration except the serial. `existing` is the machine already
    registered with this engine, if any (callers look it up, one by one or a chunk at a time)."""
    owner = _owner_for(session, principal, draft.get("enterprise_id"))
    if existing is not None:
        raise DuplicateEngine(f"This engine ({draft['engine_manufacturer']} {draft['engine_serial']}) is "
                              f"already registered{' as ' + existing.code if existing.enterprise_id == owner.id else ''}.")
    _ensure_terminal_free(session, draft.get("terminal_id"))
    if draft.get("manufactured_on") and draft["manufactured_on"] > clock.as_local(clock.now()).date():
        raise invalid("manufactured_on", "lies in the future")
    district = ensure_district(session, draft.get("district_code") or owner.district_code or default_district)
    return CheckedDraft(draft, owner.id, district, coding.MachineType(draft["machine_type"]),
                        engine_key(draft["engine_manufacturer"], draft["engine_serial"]))


def new_machine(checked: CheckedDraft, serial: int) -> Machine:
    fields = {k: v for k, v in checked.draft.items() if k not in ("enterprise_id", "district_code")}
    return Machine(**fields, code=coding.issue_code(checked.district, checked.machine_type, serial),
                   district_code=checked.district, enterprise_id=checked.owner_id, engine_key=checked.engine_key)


def record_registrations(session: Session, principal: Principal, machines: list[Machine]) -> None:
    """Flush new machines (one batched INSERT) and write their history lines."""
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent registration of the same engine or terminal
        raise DuplicateEngine("This engine or terminal was registered a moment ago by another request.") from exc
    if machines:
        session.execute(insert(MachineHistory), [
            dict(machine_id=m.id, event="registered", actor_user_id=principal.user_id, to_enterprise_id=m.enterprise_id,
                 details={"code": m.code}) for m in machines])


def register_machine(session: Session, principal: Principal, draft: dict, default_district: str) -> Machine:
    """Register one machine and issue its code."""
    existing = find_engine(session, draft["engine_manufacturer"], draft["engine_serial"])
    checked = check_registration(session, principal, draft, default_district, existing)
    serial = next_serials(session, checked.district, coding.MACHINE_TYPE_CODES[checked.machine_type], 1)[0]
    machine = new_machine(checked, serial)
    session.add(machine)
    record_registrations(session, principal, [machine])
    return machine


def get_machine(session: Session, principal: Principal, machine_id: int) -> Machine:
    machine = session.get(Machine, machine_id)
    return ensure_visible(principal, machine, "machine",
                          enterprise_id=machine.enterprise_id if machine else None)


def list_machines(session: Session, principal: Principal, filters: dict, cursor: str | None, limit: int) -> Page:
    stmt = scoped(select(Machine), principal, enterprise_col=Machine.enterprise_id)
    for name in ("machine_type", "emission_stage", "status", "enterprise_id", "district_code", "terminal_id"):
        if filters.get(name) is not None:
            stmt = stmt.where(getattr(Machine, name) == filters[name])
    if filters.get("q"):
        q = filters["q"].strip()
        stmt = stmt.where(or_(Machine.code == coding.canonical(q), Machine.machine_serial == q,
                              Machine.engine_serial == q))
    return paginate(session, stmt, [Machine.id], cursor, limit)


def update_machine(session: Session, principal: Principal, machine_id: int, changes: dict) -> Machine:
    machine = get_machine(session, principal, machine_id)
    if machine.status is MachineStatus.DEREGISTERED:
        raise Conflict("A deregistered machine cannot be changed.", allowed_events=[])
    if "emission_stage" in changes and principal.role is not Role.ADMIN:
        raise Forbidden("Only the ecology bureau may correct a machine's emission stage.")
    _ensure_terminal_free(session, changes.get("terminal_id"), machine.id)
    before = {k: getattr(machine, k) for k in changes}
    for name, value in changes.items():
        setattr(machine, name, value)
    session.flush()
    _history(session, machine, "updated", principal,
             details={k: [_plain(before[k]), _plain(v)] for k, v in changes.items() if before[k] != v})
    return machine


def _plain(value):
    return getattr(value, "value", value)


def transfer_machine(session: Session, principal: Principal, machine_id: int, data: dict) -> Machine:
    machine = get_machine(session, principal, machine_id)
    target = (session.get(Enterprise, data["to_enterprise_id"]) if data.get("to_enterprise_id") is not None
              else enterprise_by_uscc(session, data["to_uscc"]))
    if target is None:
        raise invalid("to_enterprise_id", "no such enterprise")
    if target.id == machine.enterprise_id:
        raise Conflict("The machine already belongs to this enterprise.")
    machine.status = lifecycle.next_status(machine.status, MachineEvent.TRANSFER)
    previous, machine.enterprise_id = machine.enterprise_id, target.id
    name_action(session, "machine.transfer")
    session.flush()
    _history(session, machine, "transferred", principal, from_enterprise_id=previous,
             to_enterprise_id=target.id, details={"note": data.get("note", "")})
    session.refresh(machine, ["enterprise"])
    return machine


def deregister_machine(session: Session, principal: Principal, machine_id: int, data: dict) -> Machine:
    machine = get_machine(session, principal, machine_id)
    machine.status = lifecycle.next_status(machine.status, MachineEvent.DEREGISTER)
    machine.deregistered_at = clock.now()
    machine.deregistration_reason = data["reason"]
    machine.terminal_id = None  # the terminal may be fitted to another machine
    name_action(session, "machine.deregister")
    session.flush()
    _history(session, machine, "deregistered", principal, from_enterprise_id=machine.enterprise_id,
             details={"reason": data["reason"].value, "note": data.get("note", "")})
    return machine


def machine_history(session: Session, principal: Principal, machine_id: int) -> list[MachineHistory]:
    get_machine(session, principal, machine_id)
    return list(session.scalars(select(MachineHistory).where(MachineHistory.machine_id == machine_id)
                                .order_by(MachineHistory.id)))


MACHINE_TYPE_ZH = {
    "excavator": "挖掘机", "loader": "装载机", "bulldozer": "推土机", "roller": "压路机", "crane": "起重机",
    "forklift": "叉车", "paver": "摊铺机", "grader": "平地机", "drilling_rig": "钻机",
    "concrete_pump": "混凝土泵车", "generator_set": "发电机组", "aerial_work_platform": "高空作业平台",
    "tractor": "牵引车", "other": "其他",
}


def verify_url(base_url: str, code: str) -> str:
    return f"{base_url}/api/v1/verify/{code}"


def machine_label(machine: Machine, base_url: str) -> dict:
    """What the printed label shows; the QR code carries `verify_url`."""
    return {
        "code": machine.code, "display_code": coding.display(machine.code),
        "machine_type": machine.machine_type.value, "machine_type_zh": MACHINE_TYPE_ZH[machine.machine_type.value],
        "brand": machine.brand, "model": machine.model, "emission_stage": machine.emission_stage.value,
        "rated_power_kw": machine.rated_power_kw, "owner": machine.enterprise.name,
        "registered_on": clock.as_local(machine.registered_at).date(),
        "verify_url": verify_url(base_url, machine.code),
        "qr_svg_url": f"{base_url}/api/v1/machines/{machine.id}/label.svg",
    }


@dataclass(frozen=True)
class Verification:
    code: str
    well_formed: bool
    problem: str | None = None
    registered: bool = False
    status: str | None = None
    machine_type: str | None = None
    emission_stage: str | None = None
    district_code: str | None = None


def verify_code(session: Session, text: str) -> Verification:
    """Public check of a scanned or typed code: the structure offline, then the register.
    Shows only what a site inspector needs, never the owner's contact."""
    parsed = coding.parse_code(text)
    if isinstance(parsed, str):
        return Verification(code=coding.canonical(text), well_formed=False, problem=parsed)
    machine = session.scalar(select(Machine).where(Machine.code == parsed.code))
    if machine is None:
        return Verification(code=parsed.code, well_formed=True, problem="no machine is registered with this code")
    return Verification(code=parsed.code, well_formed=True, registered=True, status=machine.status.value,
                        machine_type=machine.machine_type.value, emission_stage=machine.emission_stage.value,
                        district_code=machine.district_code)


# --- vehicles -----------------------------------------------------------------------------------


def _ensure_vehicle_unique(session: Session, vehicle_id: int | None, plate=None, colour=None, terminal=None):
    if plate is not None:
        other = session.scalar(select(Vehicle.id).where(Vehicle.plate == plate, Vehicle.plate_colour == colour))
        if other is not None and other != vehicle_id:
            raise Conflict(f"Plate {plate} ({colour.value}) is already registered to another vehicle.")
    if terminal is not None:
        other = session.scalar(select(Vehicle.id).where(Vehicle.obd_terminal_id == terminal))
        if other is not None and other != vehicle_id:
            raise Conflict(f"OBD terminal {terminal} is already fitted to another vehicle.")


def register_vehicle(session: Session, principal: Principal, data: dict) -> Vehicle:
    owner = _owner_for(session, principal, data.get("enterprise_id"))
    if session.scalar(select(Vehicle.id).where(Vehicle.vin == data["vin"])) is not None:
        raise Conflict(f"VIN {data['vin']} is already registered.")
    _ensure_vehicle_unique(session, None, data["plate"], data["plate_colour"], data.get("obd_terminal_id"))
    vehicle = Vehicle(**{k: v for k, v in data.items() if k != "enterprise_id"}, enterprise_id=owner.id)
    session.add(vehicle)
    session.flush()
    return vehicle


def get_vehicle(session: Session, principal: Principal, vehicle_id: int) -> Vehicle:
    vehicle = session.get(Vehicle, vehicle_id)
    return ensure_visible(principal, vehicle, "vehicle", enterprise_id=vehicle.enterprise_id if vehicle else None)


def update_vehicle(session: Session, principal: Principal, vehicle_id: int, changes: dict) -> Vehicle:
    vehicle = get_vehicle(session, principal, vehicle_id)
    plate = changes.get("plate", vehicle.plate)
    colour = changes.get("plate_colour", vehicle.plate_colour)
    problem = identifiers.plate_problem(plate, colour)
    if problem:
        raise invalid("plate", problem)
    _ensure_vehicle_unique(session, vehicle.id, plate, colour, changes.get("obd_terminal_id"))
    for name, value in changes.items():
        setattr(vehicle, name, value)
    session.flush()
    return vehicle


def list_vehicles(session: Session, principal: Principal, filters: dict, cursor: str | None, limit: int) -> Page:
    stmt = scoped(select(Vehicle), principal, enterprise_col=Vehicle.enterprise_id)
    if filters.get("plate"):
        stmt = stmt.where(Vehicle.plate == identifiers.normalize_plate(filters["plate"]))
    if filters.get("vin"):
        stmt = stmt.where(Vehicle.vin == identifiers.normalize_vin(filters["vin"]))
    for name in ("enterprise_id", "emission_standard", "obd_terminal_id"):
        if filters.get(name) is not None:
            stmt = stmt.where(getattr(Vehicle, name) == filters[name])
    return paginate(session, stmt, [Vehicle.id], cursor, limit)


# --- zones: machine facts for positions and geofencing (bulk, no ORM objects) --------------------

MACHINE_FACT_COLUMNS = (Machine.id, Machine.code, Machine.terminal_id, Machine.enterprise_id, Machine.machine_type,
                        Machine.emission_stage, Machine.fuel, Machine.manufactured_on, Machine.status,
                        Machine.district_code)


def _array(values: list, item_type):
    return bindparam(None, values, type_=ARRAY(item_type))


def machine_facts(session: Session, *, ids=(), codes=(), terminal_ids=()) -> list:
    """Rows (id, code, terminal_id, enterprise_id, machine_type, emission_stage, fuel,
    manufactured_on, status, district_code) of the machines with any of the given ids, codes
    (canonicalised) or terminal ids, in one query. Unscoped: callers apply their own scope."""
    # IN (SELECT unnest(array)): one parameter, not one per value (batches name hundreds), and a
    # semi-join the planner hashes (`= ANY(array)` compares every row with every value).
    conditions = []
    if ids:
        conditions.append(Machine.id.in_(select(func.unnest(_array(list(ids), BigInteger)))))
    if codes:
        conditions.append(Machine.code.in_(select(func.unnest(_array([coding.canonical(c) for c in codes], String)))))
    if terminal_ids:
        conditions.append(Machine.terminal_id.in_(select(func.unnest(_array(list(terminal_ids), String)))))
    if not conditions:
        return []
    return list(session.execute(select(*MACHINE_FACT_COLUMNS).where(or_(*conditions))))


# --- remote_sensing: plate matching for roadside readings ----------------------------------------


def vehicles_by_plate(session: Session, plates: list[tuple[str, str]]) -> dict[tuple[str, str], Vehicle]:
    """Registered vehicles keyed by (plate, colour value), for many (plate, colour) pairs in one
    query (plates normalised, as stored)."""
    wanted = set(plates)
    if not wanted:
        return {}
    found = session.scalars(select(Vehicle).where(
        Vehicle.plate.in_(select(func.unnest(_array(sorted({plate for plate, _ in wanted}), String))))))
    return {key: v for v in found if (key := (v.plate, v.plate_colour.value)) in wanted}


def vehicles_by_id(session: Session, ids: list[int]) -> list[Vehicle]:
    return list(session.scalars(select(Vehicle).where(Vehicle.id.in_(ids)).order_by(Vehicle.id))) if ids else []

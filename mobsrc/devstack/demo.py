"""Demo data, loaded once by the run command: the bureau, the police, three fleet operators,
one station of each kind, a terminal platform, machines and trucks. Keys are printed at the
first load and written to var/demo-keys.txt (mode 600), since only their hashes are stored."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from mobsrc.core.audit import act_as
from mobsrc.core.auth import service as accounts
from mobsrc.core.auth.models import User
from mobsrc.core.auth.principals import SYSTEM, Role
from mobsrc.registry import service
from mobsrc.registry.identifiers import uscc_check_character, vin_check_digit
from mobsrc.registry.schemas import (
    EnterpriseCreateSchema,
    MachineCreateSchema,
    StationCreateSchema,
    VehicleCreateSchema,
)

KEY_FILE = Path(__file__).resolve().parents[2] / "var" / "demo-keys.txt"
MARKER_USER = "生态环境局管理员 (demo)"


def _uscc(body17: str) -> str:
    return body17 + uscc_check_character(body17)


def _vin(wmi_vds: str, tail: str) -> str:
    draft = wmi_vds + "0" + tail
    return wmi_vds + vin_check_digit(draft) + tail


ENTERPRISES = [
    ("贵州黔通建设工程有限公司", _uscc("91520115MA6DKQ0X0"), "520115"),
    ("贵阳筑城土石方机械租赁有限公司", _uscc("91520102MA6H7TK52"), "520102"),
    ("贵州云岩重型运输有限公司", _uscc("91520103MA6J9RW83"), "520103"),
]
STATIONS = [
    ("GY-I-001", "i", "贵阳市观山湖区机动车排放检验站", "520115", (106.6245, 26.6012)),
    ("GY-M-001", "m", "贵阳南明汽车排放维修站", "520102", (106.7135, 26.5780)),
    ("GY-RS-001", "rs", "花溪大道遥感监测点", "520111", (106.6760, 26.4990)),
]
MACHINES = [  # (enterprise index, type, brand, model, engine maker, engine model, engine serial, kW, stage)
    (0, "excavator", "三一", "SY215C", "五十铃", "4HK1", "4HK1-882731", 128.5, "china_3"),
    (0, "excavator", "徐工", "XE60DA", "洋马", "4TNV94L", "4TNV94-22917", 36.2, "china_2"),
    (0, "loader", "柳工", "CLG856H", "玉柴", "YC6J125Z", "YC6J-A93311", 162.0, "china_4"),
    (1, "roller", "徐工", "XS263J", "上柴", "SC8D190", "SC8D-773120", 140.0, "china_3"),
    (1, "crane", "中联", "ZTC250", "潍柴", "WP10.336", "WP10-516672", 247.0, "china_2"),
    (1, "forklift", "杭叉", "CPCD30", "新柴", "C490BPG", "C490-102238", 40.0, "china_1"),
    (1, "generator_set", "康明斯", "C200D5", "康明斯", "6CTAA8.3", "6CTA-229918", 160.0, "pre_china_1"),
    (2, "bulldozer", "山推", "SD16", "潍柴", "WD10G178", "WD10-340071", 131.0, "china_3"),
]
VEHICLES = [  # (enterprise index, vin, plate, standard)
    (2, _vin("LZZ1BLSB", "MA127733"), "贵A12345", "china_6"),
    (2, _vin("LFWSRXRJ", "KA512298"), "贵A6T521", "china_5"),
    (2, _vin("LGAX5D35", "LA002211"), "贵AB7762", "china_6"),
    (0, _vin("LZGJR4T6", "NX118805"), "贵A3K806", "china_6"),
]


def _key(session: Session, user: User, lines: list[str]) -> None:
    key, secret = accounts.issue_api_key(session, user.id, "demo")
    lines.append(f"{user.role.value:<15} {user.name:<28} {secret}")


def load(session: Session, echo: Callable[[str], None] = print, key_file: Path = KEY_FILE) -> bool:
    """Load once; returns False (and loads nothing) when the demo data is already there."""
    if session.scalar(select(User.id).where(User.name == MARKER_USER)) is not None:
        echo(f"Demo data already loaded; its API keys are in {key_file}.")
        return False
    act_as(session, SYSTEM, "demo.load")
    keys: list[str] = []
    _key(session, accounts.create_user(session, MARKER_USER, Role.ADMIN), keys)
    _key(session, accounts.create_user(session, "贵阳市公安交警支队 (demo)", Role.POLICE), keys)
    firms = [service.create_enterprise(session, EnterpriseCreateSchema().load(dict(
        name=n, uscc=u, district_code=d, contact_name="王经理", contact_phone="0851-86000000")))
        for n, u, d in ENTERPRISES]
    for firm in firms:
        _key(session, accounts.create_user(session, f"{firm.name[:10]}… 运维", Role.FLEET_OPERATOR, firm.id), keys)
    for code, kind, name, district, (lon, lat) in STATIONS:
        station = service.create_station(session, StationCreateSchema().load(dict(
            code=code, kind=kind, name=name, district_code=district, location={"lon": lon, "lat": lat})))
        role = {"i": Role.I_STATION, "m": Role.M_STATION, "rs": Role.RS_STATION}[kind]
        _key(session, accounts.create_user(session, code, role, station_id=station.id), keys)
    _key(session, accounts.create_user(session, "车载终端平台 (demo)", Role.TERMINAL), keys)
    for firm_index, *m in MACHINES:
        draft = dict(zip(("machine_type", "brand", "model", "engine_manufacturer", "engine_model",
                          "engine_serial", "rated_power_kw", "emission_stage"), m))
        draft |= dict(fuel="diesel", enterprise_id=firms[firm_index].id, manufactured_on="2015-06-01",
                      terminal_id=f"T{draft['engine_serial'].replace('-', '')}" if m[-1] == "china_4" else None)
        service.register_machine(session, SYSTEM, MachineCreateSchema().load(draft), "520100")
    for firm_index, vin, plate, standard in VEHICLES:
        service.register_vehicle(session, SYSTEM, VehicleCreateSchema().load(dict(
            vin=vin, plate=plate, plate_colour="yellow", fuel="diesel", emission_standard=standard,
            enterprise_id=firms[firm_index].id, obd_terminal_id=f"OBD{vin[-8:]}")))
    _load_im(session)  # --- im
    _demo_zones(session)  # --- zones
    # --- obd: an hour of simulated driving of the demo trucks
    from mobsrc.obd import demo as obd_demo
    obd_demo.load(session, echo)
    _remote_sensing(session)  # --- remote_sensing
    # --- enforcement
    from mobsrc.enforcement.demo import load_demo as load_violations
    load_violations(session)
    _publish(keys, echo, key_file)
    return True


# --- zones: no-use zones built from the real district boundaries (mobsrc/core/geo/data/README.md)
from mobsrc.core.geo.districts import GUIYANG_DISTRICTS as ZONE_DATA  # noqa: E402

CENTRAL_DISTRICTS = ("520102", "520103", "520115")  # Nanming, Yunyan, Guanshanhu


def _demo_zones(session: Session) -> None:
    """One zone per central district (below China III barred, all day), and the whole city as
    an alert-days-only zone that also bars China III."""
    import json

    from mobsrc.zones import service as zones
    collection = json.loads(ZONE_DATA.read_text("utf-8"))
    central = [f for f in collection["features"] if str(f["properties"]["adcode"]) in CENTRAL_DISTRICTS]
    zones.import_zones(session, SYSTEM, {"area": {"type": "FeatureCollection", "features": central}, "crs": "gcj02",
                                         "name_property": "name", "district_property": "adcode",
                                         "name_prefix": "高排放非道路移动机械禁用区·",
                                         "note": "demo: central districts"})
    zones.create_zone(session, SYSTEM, {"name": "贵阳市重污染天气应急禁用区", "district_code": "520100",
                                        "area": collection, "crs": "gcj02", "alert_days_only": True,
                                        "prohibited_stages": ["pre_china_1", "china_1", "china_2", "china_3"],
                                        "exempt_machine_types": ["generator_set"],
                                        "note": "demo: the whole city on heavy-pollution alert days"})


def _publish(keys: list[str], echo, key_file: Path) -> None:
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_text("# mobsrc demo API keys (role, user, key). Send as the X-API-Key header.\n"
                        + "\n".join(keys) + "\n")
    key_file.chmod(0o600)
    echo(f"Demo data loaded. API keys (shown once; also saved to {key_file}):")
    for line in keys:
        echo("  " + line)


# --- im: a failed periodic inspection at the demo I station, which opens the truck's case.

def _load_im(session: Session) -> None:
    from datetime import timedelta

    from mobsrc.core import clock
    from mobsrc.core.auth.principals import Principal
    from mobsrc.im.schemas import InspectionCreateSchema
    from mobsrc.im.service import inspections
    from mobsrc.registry.models import Station

    station = session.scalar(select(Station).where(Station.code == STATIONS[0][0]))
    user = session.scalar(select(User).where(User.station_id == station.id))
    principal = Principal(user_id=user.id, role=Role.I_STATION, name=user.name, station_id=station.id,
                          station_code=station.code)
    ended = clock.now() - timedelta(days=2)
    k = [round(1.1 + 0.8 * abs(((t % 12) - 6) / 6), 3) for t in range(70)]
    _, vin, plate, _ = VEHICLES[1]
    inspections.post_inspection(session, principal, InspectionCreateSchema().load(dict(
        report_number="GY-I-001-DEMO-0001", vin=vin, plate=plate, plate_colour="yellow", kind="periodic",
        method="free_acceleration", overall="fail", inspector="王检测员", test_line="L2",
        started_at=(ended - timedelta(minutes=6)).isoformat(), ended_at=ended.isoformat(),
        items=[{"quantity": "k_m1", "measured": max(k), "upper_limit": 1.2, "unit": "m-1", "outcome": "fail"}],
        curve={"period_s": 1.0, "channels": {"rpm": [800 + 1600 * (t % 12 < 4) for t in range(70)], "k_m1": k}})))


# --- remote_sensing: the roadside station's details and calibration, and a few passes (judged by the
# worker once the stack runs: the reconciler queues the batch): a truck exceeding opacity on two
# days (a confirmed high emitter), a black-smoke capture, an unregistered plate, a pass in the rain.


def _remote_sensing(session: Session) -> None:
    from datetime import timedelta

    from mobsrc.core import clock
    from mobsrc.core.auth.principals import Principal
    from mobsrc.remote_sensing import ingest
    from mobsrc.remote_sensing import service as rs_service
    from mobsrc.remote_sensing.calibration import CheckKind

    station = next(s for s in service.list_stations(session, SYSTEM, "rs") if s.code == "GY-RS-001")
    rs_service.set_station_details(session, SYSTEM, station.id, dict(
        road="花溪大道 (甘荫塘段)", direction="花溪往市区", lanes=3, mounting="vertical", device_make="安杰",
        device_model="AJ-RSD-3000", device_serial="AJ3000-2024-017", slope_deg=0.6))
    today = clock.as_local(clock.now()).date()
    rs_service.record_calibration(session, SYSTEM, station.id, dict(
        kind=CheckKind.CALIBRATION, performed_on=today - timedelta(days=30), valid_from=today - timedelta(days=30),
        valid_to=today + timedelta(days=335), passed=True, certificate_no="GZJL-2024-RS-0917",
        performed_by="贵州省计量测试院"))
    user = session.scalar(select(User).where(User.name == "GY-RS-001"))
    principal = Principal(user.id, Role.RS_STATION, user.name, station_id=station.id, station_code=station.code)
    now = clock.now()

    def passing(hours_ago: float, plate: str, **values) -> dict:
        return dict(measured_at=(now - timedelta(hours=hours_ago)).isoformat(), lane=1 + int(hours_ago) % 3,
                    plate=plate, plate_colour="yellow", speed_kmh=42.0, accel_ms2=0.3, opacity_pct=12.0,
                    ringelmann_grade=0, no_ppm=620.0, co2_pct=3.2, wind_ms=1.4, temp_c=17.0, rh_pct=62.0,
                    rain=False, evidence=[{"type": "image", "id": f"DEMO-{plate}-{hours_ago}",
                                           "sha256": "0" * 63 + "1", "role": "plate"}]) | values

    readings = [passing(50, "贵A6T521", opacity_pct=41.5), passing(26, "贵A6T521", opacity_pct=38.0),
                passing(20, "贵A12345"), passing(8, "贵AB7762", ringelmann_grade=3, opacity_pct=35.0),
                passing(5, "贵C88888"), passing(2, "贵A3K806", rain=True)]
    ingest.ingest_readings(session, principal, json.dumps({"readings": readings}).encode())

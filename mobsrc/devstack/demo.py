"""Demo data, loaded once by the run command: the bureau, the police, three fleet operators,
one station of each kind, a terminal platform, machines and trucks. Keys are printed at the
first load and written to var/demo-keys.txt (mode 600), since only their hashes are stored."""
from __future__ import annotations

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
    # --- enforcement
    from mobsrc.enforcement.demo import load_demo as load_violations
    load_violations(session)
    _publish(keys, echo, key_file)
    return True


def _publish(keys: list[str], echo, key_file: Path) -> None:
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_text("# mobsrc demo API keys (role, user, key). Send as the X-API-Key header.\n"
                        + "\n".join(keys) + "\n")
    key_file.chmod(0o600)
    echo(f"Demo data loaded. API keys (shown once; also saved to {key_file}):")
    for line in keys:
        echo("  " + line)

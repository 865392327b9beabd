"""Plain factory functions with a counter (Redash's Sequence idea): flushed objects, valid by
default, any field overridable."""
from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from mobsrc.core.auth.principals import SYSTEM
from mobsrc.registry import service
from mobsrc.registry.identifiers import uscc_check_character, vin_check_digit
from mobsrc.registry.schemas import MachineCreateSchema, StationCreateSchema, VehicleCreateSchema

_seq = itertools.count(1)


def valid_uscc(n: int) -> str:
    body = f"915201{n % 100:02d}MA{n:07d}"[:17]
    return body + uscc_check_character(body)


def valid_vin(n: int) -> str:
    head, tail = "LZZ1BLSB", f"{n:08d}"
    return head + vin_check_digit(head + "0" + tail) + tail


def machine_draft(**overrides) -> dict:
    n = next(_seq)
    draft = dict(machine_type="excavator", brand="三一", model="SY215C", engine_manufacturer="五十铃",
                 engine_model="4HK1", engine_serial=f"4HK1-{n:06d}", rated_power_kw="128.5",
                 fuel="diesel", emission_stage="china_3", manufactured_on="2016-05-01")
    draft.update(overrides)
    return draft


def make_enterprise(session: Session, **overrides):
    n = next(_seq)
    data = dict(name=f"测试机械有限公司{n}", uscc=valid_uscc(n), district_code="520115")
    data.update(overrides)
    return service.create_enterprise(session, data)


def make_machine(session: Session, enterprise, **overrides):
    draft = MachineCreateSchema().load(machine_draft(enterprise_id=enterprise.id, **overrides))
    return service.register_machine(session, SYSTEM, draft, "520100")


def make_station(session: Session, kind: str = "i", **overrides):
    n = next(_seq)
    data = dict(code=f"ST-{kind.upper()}-{n:04d}", kind=kind, name=f"测试站{n}", district_code="520102",
                location={"lon": 106.71, "lat": 26.57})
    data.update(overrides)
    return service.create_station(session, StationCreateSchema().load(data))


def make_vehicle(session: Session, enterprise, **overrides):
    n = next(_seq)
    data = dict(vin=valid_vin(n), plate=f"贵A{n % 100000:05d}", plate_colour="yellow", fuel="diesel",
                emission_standard="china_6", enterprise_id=enterprise.id)
    data.update(overrides)
    return service.register_vehicle(session, SYSTEM, VehicleCreateSchema().load(data))

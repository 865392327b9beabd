"""Demo violations for the run command (called once by devstack/demo.py, after the registry's
demo data): a few of each kind on the demo trucks and machines, in Guiyang, over the last days,
one under review and one penalised, so the police queries have something to show."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from mobsrc.core import clock
from mobsrc.core.auth.principals import SYSTEM
from mobsrc.enforcement.actions import Action
from mobsrc.enforcement.decisions import ActionRequest, act_on_violation
from mobsrc.enforcement.register import Evidence, SubjectType, ViolationDraft, ViolationKind
from mobsrc.enforcement.service import record_violation
from mobsrc.registry import service as registry

K = ViolationKind
# (kind, plate or machine index, hours ago, lon, lat) — WGS-84 points on Guiyang's roads and sites
VEHICLE_CASES = [
    (K.BLACK_SMOKE, "贵A12345", 70, 106.6762, 26.4991),        # 花溪大道遥感监测点
    (K.RS_HIGH_EMITTER, "贵A6T521", 50, 106.6760, 26.4990),
    (K.FAILED_INSPECTION_DRIVING, "贵AB7762", 30, 106.7135, 26.5780),
    (K.BLACK_SMOKE, "贵A12345", 8, 106.7042, 26.5869),         # 中华北路
]
MACHINE_CASES = [(1, 26, 106.6302, 26.6453), (4, 5, 106.7110, 26.5632)]  # 观山湖区工地, 南明区工地


def _vehicle_draft(vehicles: dict, kind: ViolationKind, plate: str, hours: int, lon: float, lat: float):
    vehicle = vehicles[plate]
    source = "remote_sensing" if kind in (K.BLACK_SMOKE, K.RS_HIGH_EMITTER) else "im"
    return ViolationDraft(kind=kind, occurred_at=clock.now() - timedelta(hours=hours), source=source,
                          source_ref=f"demo:{plate}:{hours}", subject_type=SubjectType.VEHICLE, vehicle_id=vehicle.id,
                          plate=plate, plate_colour=vehicle.plate_colour.value, vin=vehicle.vin,
                          enterprise_id=vehicle.enterprise_id, lon=lon, lat=lat,
                          evidence=(Evidence("image", f"demo/{plate}-{hours}h.jpg"),))


def _machine_draft(machine, hours: int, lon: float, lat: float) -> ViolationDraft:
    return ViolationDraft(kind=K.NRMM_IN_NO_USE_ZONE, occurred_at=clock.now() - timedelta(hours=hours),
                          source="zones", source_ref=f"demo:{machine.code}:{hours}", subject_type=SubjectType.MACHINE,
                          machine_id=machine.id, machine_code=machine.code, enterprise_id=machine.enterprise_id,
                          lon=lon, lat=lat, evidence=(Evidence("position_fix", f"demo-fix-{hours}"),),
                          details={"zone": "demo no-use zone"})


def load_demo(session: Session) -> list:
    vehicles = {v.plate: v for v in registry.list_vehicles(session, SYSTEM, {}, None, 100).items}
    machines = sorted(registry.list_machines(session, SYSTEM, {}, None, 100).items, key=lambda m: m.id)
    recorded = [record_violation(session, _vehicle_draft(vehicles, *case))[0] for case in VEHICLE_CASES]
    recorded += [record_violation(session, _machine_draft(machines[i], *case))[0] for i, *case in MACHINE_CASES]
    act_on_violation(session, SYSTEM, recorded[2].id, ActionRequest(Action.REVIEW, reason="监控视频待核实"))
    act_on_violation(session, SYSTEM, recorded[0].id, ActionRequest(Action.REVIEW))
    today = clock.as_local(clock.now()).date()
    act_on_violation(session, SYSTEM, recorded[0].id, ActionRequest(
        Action.PENALISE, decision_number=f"DEMO-{today:%Y%m%d}-0001", penalty_amount=200, officer="交警 520001",
        decided_on=today))
    return recorded

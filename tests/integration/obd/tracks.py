"""Synthetic 1 Hz engine tracks (JSON records) for the alarm tests: a warm truck driving at
steady load, with the knobs the rules care about."""
from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from mobsrc.core.auth.principals import Principal, Role

PLATFORM = Principal(user_id=0, role=Role.TERMINAL, name="test platform")


def driving(vin: str, start: datetime, seconds: int, **values) -> list[dict]:
    """Warm SCR, moving, engine loaded; `values` override any field (callables get the second)."""
    base = dict(vehicle_speed=55.0, engine_speed=1500.0, engine_net_torque=45.0, nox_upstream=600.0,
                nox_downstream=40.0, scr_inlet_temperature=320.0, reagent_level=60.0, dpf_pressure_drop=3.0,
                intake_air_flow=700.0, longitude=106.713478, latitude=26.578343)
    records = []
    for t in range(seconds):
        record = {k: (v(t) if callable(v) else v) for k, v in (base | values).items()}
        records.append({"vin": vin, "collected_at": (start + timedelta(seconds=t)).isoformat(), **record})
    return records


def body(records: list[dict], obd_info: list[dict] = ()) -> bytes:
    return msgspec.json.encode({"records": records, "obd_info": list(obd_info)})

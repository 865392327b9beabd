"""Request bodies for the I/M API: valid by default, any field overridable."""
from __future__ import annotations

import itertools
import math
from datetime import datetime, timedelta

from mobsrc.core import clock

_reports = itertools.count(1)


def curve(samples: int = 70, seed: int = 0, channels=("speed_kmh", "k_m1")) -> dict:
    """A deterministic per-second curve; different seeds give different shapes."""
    values = {}
    for index, name in enumerate(channels):
        values[name] = [round(0.5 + 0.4 * math.sin((t + 7 * seed + 3 * index) / (4.0 + seed % 5))
                              + 0.01 * ((t * (seed + 3)) % 7), 3) for t in range(samples)]
    return {"period_s": 1.0, "channels": values}


def inspection(vehicle, k: float = 0.6, *, report: str | None = None, ended_at: datetime | None = None,
               duration_s: float = 300, **overrides) -> dict:
    """A free-acceleration result for `vehicle` (k limit 1.2, tier a): pass when k <= 1.2."""
    ended_at = ended_at or clock.now() - timedelta(minutes=5)
    outcome = "pass" if k <= 1.2 else "fail"
    body = dict(report_number=report or f"R-{next(_reports):06d}", vin=vehicle.vin, plate=vehicle.plate,
                plate_colour=vehicle.plate_colour.value, kind="periodic", method="free_acceleration",
                items=[{"quantity": "k_m1", "measured": k, "upper_limit": 1.2, "unit": "m-1", "outcome": outcome}],
                overall=outcome, started_at=(ended_at - timedelta(seconds=duration_s)).isoformat(),
                ended_at=ended_at.isoformat(), inspector="王检测员", curve=curve(seed=next(_reports)))
    body.update(overrides)
    return body


def failing(vehicle, **overrides) -> dict:
    return inspection(vehicle, k=1.9, **overrides)


def passing(vehicle, **overrides) -> dict:
    return inspection(vehicle, k=0.5, **overrides)


def completion(completed_at: datetime | None = None, **overrides) -> dict:
    completed_at = completed_at or clock.now() - timedelta(minutes=1)
    body = dict(completed_at=completed_at.isoformat(),
                faults=[{"code": "P2002", "description": "DPF efficiency below threshold", "system": "DPF"}],
                work_done=["replaced DPF", "cleaned EGR valve"],
                parts=[{"name": "柴油颗粒捕集器", "part_number": "DPF-6108", "quantity": 1, "unit_price_yuan": "3200.00"}],
                cost_yuan="4150.00", technician="李师傅",
                self_check={"checked_at": (completed_at - timedelta(minutes=5)).isoformat(),
                            "method": "free_acceleration", "instrument": "NHT-6",
                            "items": [{"quantity": "k_m1", "measured": 0.55, "limit": 1.2}], "passed": True})
    body.update(overrides)
    return body


def repair_order(vehicle, *, order: str | None = None, started_at: datetime | None = None,
                 completed: bool = False, **overrides) -> dict:
    started_at = started_at or clock.now() - timedelta(hours=3)
    body = dict(repair_order=order or f"WX-{next(_reports):06d}", vin=vehicle.vin, started_at=started_at.isoformat(),
                faults=[{"code": "P2002", "description": "DPF efficiency below threshold"}])
    if completed:
        body.update(completion())
    body.update(overrides)
    return body

"""OBD demo data, loaded with the rest of the demo (devstack/demo.py): the last hour of driving
of every demo truck, as their terminals would have sent it, one of them with a failed SCR, so
that states, records and (once the worker has run) an alarm are there to look at."""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from mobsrc.core import clock
from mobsrc.obd import ingest
from mobsrc.obd.hj1239.records import flatten_frame
from mobsrc.obd.hj1239.simulate import TruckPlan, simulate_trip
from mobsrc.obd.settings import ObdSettings
from mobsrc.obd.terminal import SCENARIOS

TRIP_S = 3600


def load(session: Session, echo: Callable[[str], None] = print) -> int:
    """Store an hour of simulated driving per registered truck; returns the records stored."""
    trucks = session.execute(text("SELECT id, vin, enterprise_id FROM vehicles ORDER BY id")).all()
    start = clock.now().replace(microsecond=0) - timedelta(seconds=TRIP_S + 60)
    items = []
    for index, (vehicle_id, vin, owner) in enumerate(trucks):
        scenario = "failed-scr" if index == 0 else "healthy"
        plan = TruckPlan(vin=vin, start=start, duration_s=TRIP_S, **SCENARIOS[scenario])
        vehicle = ingest.VehicleRef(vehicle_id, vin, owner)
        for timed in simulate_trip(plan, seed=index):
            records = flatten_frame(timed.frame)
            if records.count:
                items.append(ingest.GatewayItem(vehicle, records))
    result = ingest.store_gateway_batch(session, items, ObdSettings())
    echo(f"OBD demo: {result['accepted']} records of {len(trucks)} trucks (the first with a failed SCR).")
    return result["accepted"]

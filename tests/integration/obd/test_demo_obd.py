"""The OBD demo data: an hour per demo truck, the first one with a failed SCR, which the alarm
job then flags."""
from __future__ import annotations

from sqlalchemy import select, text

from mobsrc.obd import alarming
from mobsrc.obd import demo as obd_demo
from mobsrc.obd.models import Alarm
from tests.integration import factories


def test_the_demo_trucks_drive_for_an_hour_and_the_failed_scr_is_flagged(session, enterprise):
    trucks = [factories.make_vehicle(session, enterprise) for _ in range(2)]
    stored = obd_demo.load(session, lambda line: None)
    samples = session.execute(text("SELECT count(*) FROM obd_stream_records")).scalar()
    assert samples == 2 * obd_demo.TRIP_S and stored == samples + 2 * 12     # an OBD block every 300 s
    while alarming.evaluate_next_batches(session, 10):
        pass
    kinds = {(a.vehicle_id, a.kind.value) for a in session.scalars(select(Alarm))}
    assert (trucks[0].id, "low_scr_efficiency") in kinds and not any(v == trucks[1].id for v, _ in kinds)

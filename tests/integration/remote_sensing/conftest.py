"""Remote-sensing fixtures: an RS station with its details, a passed calibration covering 2025-2026
and its own key; a reading builder; helpers that post through the API and run the judgement
job in the test's transaction (what the worker runs, without the queue)."""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from mobsrc.core import clock
from mobsrc.core.auth.principals import Role
from mobsrc.remote_sensing import judging, service
from mobsrc.remote_sensing.calibration import CheckKind
from mobsrc.remote_sensing.models import RsBatch
from tests.integration import factories

NOW = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)  # 12:00 in Guiyang
DAY = datetime(2026, 5, 20, 2, 0, tzinfo=UTC)  # 10:00 local: readings are made around here
_lanes = itertools.count(1)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)
    return NOW


def reading(at: datetime = DAY, **overrides) -> dict:
    """A valid diesel-truck pass, under every default limit and inside every validity window."""
    fields = dict(measured_at=at.isoformat(), lane=1, plate="贵A12345", plate_colour="yellow",
                  speed_kmh=40.0, accel_ms2=0.3, opacity_pct=10.0, ringelmann_grade=0, no_ppm=500.0,
                  co_pct=0.2, hc_ppm=50.0, co2_pct=3.0, wind_ms=1.0, temp_c=20.0, rh_pct=50.0, rain=False,
                  slope_deg=0.0, evidence=[{"type": "image", "id": f"IMG-{at.timestamp():.0f}",
                                            "sha256": "ab" * 32, "role": "plate"}])
    fields.update(overrides)
    return fields


@dataclass
class RsSite:
    station: object
    headers: dict
    client: object
    session: object

    def post(self, *readings, expect: int = 202, **envelope) -> dict:
        response = self.client.post("/api/v1/remote-sensing/readings", json={"readings": list(readings), **envelope},
                                    headers=self.headers)
        assert response.status_code == expect, response.json
        return response.json

    def judge(self) -> int:
        """Run the judgement job for every unprocessed batch, in this test's transaction."""
        ids = self.session.scalars(select(RsBatch.id).where(RsBatch.processed_at.is_(None)).order_by(RsBatch.id))
        return sum(judging.judge_batch(self.session, batch_id) for batch_id in list(ids))

    def post_and_judge(self, *readings) -> list[dict]:
        """Post, judge, and return the stored readings with their current verdicts, in order."""
        answer = self.post(*readings)
        self.judge()
        return [self.reading(item["reading_id"]) for item in answer["items"]]

    def reading(self, reading_id: int, headers: dict | None = None) -> dict:
        response = self.client.get(f"/api/v1/remote-sensing/readings/{reading_id}", headers=headers or self.headers)
        assert response.status_code == 200, response.json
        return response.json


def make_rs_station(session, principal_headers, lanes: int = 4, calibrated: bool = True, **overrides):
    station = factories.make_station(session, "rs", **overrides)
    service.set_station_details(session, _admin(), station.id, dict(
        road="花溪大道", direction="northbound", lanes=lanes, mounting="vertical", device_make="安杰",
        device_model="AJ-RS-2000", device_serial=f"SN-{station.id}", slope_deg=1.0))
    if calibrated:
        service.record_calibration(session, _admin(), station.id, dict(
            kind=CheckKind.CALIBRATION, performed_on=date(2025, 1, 1), valid_from=date(2025, 1, 1),
            valid_to=date(2026, 12, 31), passed=True, certificate_no="CAL-2026-01"))
    return station, principal_headers(Role.RS_STATION, station=station)


def _admin():
    from mobsrc.core.auth.principals import SYSTEM
    return SYSTEM


@pytest.fixture
def rs(client, session, principal_headers) -> RsSite:
    station, headers = make_rs_station(session, principal_headers)
    session.flush()
    return RsSite(station, headers, client, session)


@pytest.fixture
def truck(session, enterprise):
    """A registered diesel truck with the plate of `reading()`."""
    return factories.make_vehicle(session, enterprise, plate="贵A12345", plate_colour="yellow", fuel="diesel")


def days(n: float) -> timedelta:
    return timedelta(days=n)

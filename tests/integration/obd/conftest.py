"""OBD fixtures: a terminal key (bound to an enterprise or not), registered trucks, records."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from mobsrc.core import clock
from mobsrc.core.auth.principals import Role
from tests.integration import factories


@pytest.fixture
def truck(session, enterprise):
    return factories.make_vehicle(session, enterprise)


@pytest.fixture
def other_truck(session, other_enterprise):
    return factories.make_vehicle(session, other_enterprise)


@pytest.fixture
def as_platform(principal_headers):
    """A city-level forwarding platform: a terminal user bound to no enterprise."""
    return principal_headers(Role.TERMINAL, name="city platform")


@pytest.fixture
def as_terminal(principal_headers, enterprise):
    """An enterprise's terminal platform: may send that enterprise's vehicles only."""
    return principal_headers(Role.TERMINAL, enterprise, name="fleet platform")


@pytest.fixture
def minutes_ago():
    now = clock.now().replace(microsecond=0)

    def at(minutes: float) -> datetime:
        return now - timedelta(minutes=minutes)
    return at


def sample(vin: str, at: datetime, **values) -> dict:
    """A plausible engine data-stream record as JSON."""
    record = dict(vin=vin, collected_at=at.isoformat(), vehicle_speed=45.5, engine_speed=1450.0,
                  engine_net_torque=35.0, nox_upstream=420.5, nox_downstream=35.25, reagent_level=62.4,
                  scr_inlet_temperature=300.0, longitude=106.713478, latitude=26.578343)
    record.update(values)
    return record


def post_records(client, headers, records=(), obd_info=()):
    return client.post("/api/v1/obd/records", json={"records": list(records), "obd_info": list(obd_info)},
                       headers=headers)


def statuses(answers) -> list[str]:
    return [a["status"] for a in answers]

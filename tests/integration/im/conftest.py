"""I/M fixtures: stations with their keys, a registered truck, and a clock the test moves."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mobsrc.core import clock
from mobsrc.core.auth.principals import Role
from tests.integration import factories


class Clock:
    """`clock.now()` for the services, set by the test (timezone-aware UTC)."""

    def __init__(self, start: datetime):
        self.value = start

    def __call__(self) -> datetime:
        return self.value

    def advance(self, **delta) -> datetime:
        self.value += timedelta(**delta)
        return self.value

    def set(self, moment: datetime) -> datetime:
        self.value = moment
        return moment


@pytest.fixture
def frozen_clock(monkeypatch) -> Clock:
    """Starts at 2026-11-10 10:00 Beijing time."""
    holder = Clock(datetime(2026, 11, 10, 2, 0, tzinfo=UTC))
    monkeypatch.setattr(clock, "now", holder)
    return holder


@pytest.fixture
def i_station(session):
    return factories.make_station(session, "i")


@pytest.fixture
def other_i_station(session):
    return factories.make_station(session, "i")


@pytest.fixture
def m_station(session):
    return factories.make_station(session, "m")


@pytest.fixture
def other_m_station(session):
    return factories.make_station(session, "m")


@pytest.fixture
def as_i_station(principal_headers, i_station):
    return principal_headers(Role.I_STATION, station=i_station)


@pytest.fixture
def as_other_i_station(principal_headers, other_i_station):
    return principal_headers(Role.I_STATION, station=other_i_station)


@pytest.fixture
def as_m_station(principal_headers, m_station):
    return principal_headers(Role.M_STATION, station=m_station)


@pytest.fixture
def as_other_m_station(principal_headers, other_m_station):
    return principal_headers(Role.M_STATION, station=other_m_station)


@pytest.fixture
def vehicle(session, enterprise):
    return factories.make_vehicle(session, enterprise)


@pytest.fixture
def other_vehicle(session, other_enterprise):
    return factories.make_vehicle(session, other_enterprise)

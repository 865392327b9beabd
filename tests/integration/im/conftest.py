"""I/M fixtures: stations with their keys, a registered truck, a clock the test moves, and a
real webhook receiver (http.server in a thread)."""
from __future__ import annotations

import threading
from collections import deque
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mobsrc.core import clock
from mobsrc.core.auth.principals import Role
from mobsrc.im.service import outbox
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


class Receiver:
    """A webhook receiver: records every request, answers the queued statuses (then 200)."""

    def __init__(self):
        self.requests: list[tuple[dict, bytes, str]] = []
        self.statuses: deque[int] = deque()
        self.url = ""

    def handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body, self.path))
                self.send_response(receiver.statuses.popleft() if receiver.statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture
def receiver():
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), receiver.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_port}/hooks/mobsrc?source=im"
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def private_webhooks(app, monkeypatch):
    """This deployment lets webhooks call private addresses (the receiver is on 127.0.0.1)."""
    state = app.extensions["mobsrc"]
    extra = {**state.settings.extra, outbox.ALLOW_PRIVATE_SETTING: "1"}
    monkeypatch.setattr(state, "settings", state.settings.with_overrides(extra=extra))

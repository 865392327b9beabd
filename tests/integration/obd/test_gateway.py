"""The TCP gateway over real sockets, against the real database: frames split and merged,
garbage, corrupted and unauthenticated frames, answers per the standard, idle timeouts, ACK
only once durable, and many simulated terminals at once."""
from __future__ import annotations

import asyncio
import socket
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import text

from mobsrc.core import clock
from mobsrc.core.audit import act_as
from mobsrc.core.auth.principals import SYSTEM
from mobsrc.obd import alarming
from mobsrc.obd.gateway import Gateway
from mobsrc.obd.hj1239.codec import decode_frame, encode_frame, make_frame
from mobsrc.obd.hj1239.framing import FrameSplitter, RawFrame
from mobsrc.obd.hj1239.messages import (
    Acknowledgement,
    Command,
    Position,
    RemovalAlarm,
    TimeCalibrationAnswer,
)
from mobsrc.obd.hj1239.simulate import TruckPlan, simulate_trip, trip_bytes
from mobsrc.obd.settings import ObdSettings
from mobsrc.obd.terminal import play, simulate_fleet
from tests.integration import factories


@pytest.fixture
def fleet(committed_app):
    """Three registered trucks, committed (the gateway reads them from its own connections)."""
    with committed_app.extensions["mobsrc"].db.session_scope() as session:
        act_as(session, SYSTEM)
        firm = factories.make_enterprise(session)
        vins = [factories.make_vehicle(session, firm).vin for _ in range(3)]
    return vins


class RunningGateway:
    def __init__(self, gateway: Gateway, loop: asyncio.AbstractEventLoop):
        self.gateway, self.loop = gateway, loop

    @property
    def port(self) -> int:
        return self.gateway.port

    @property
    def stats(self):
        return self.gateway.stats


@pytest.fixture
def gateway(committed_app, redis):
    state = committed_app.extensions["mobsrc"]
    server = Gateway(state.db, state.redis, ObdSettings(gateway_idle_s=1.5, gateway_batch_ms=50))
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def run():
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start("127.0.0.1", 0))
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10)
    yield RunningGateway(server, loop)
    asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


class Link:
    """A blocking client socket that reads the gateway's answer frames."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.splitter = FrameSplitter()
        self.frames: list[bytes] = []

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def answers(self, count: int, timeout: float = 5.0) -> list:
        deadline = time.monotonic() + timeout
        while len(self.frames) < count and time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            self.frames += [e.data for e in self.splitter.feed(chunk) if isinstance(e, RawFrame)]
        taken, self.frames = self.frames[:count], self.frames[count:]
        return [decode_frame(f) for f in taken]

    def is_closed_by_peer(self, timeout: float = 5.0) -> bool:
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(65536) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        self.sock.close()


def trip(vin: str, seconds: int = 30, **options) -> list[bytes]:
    start = clock.now().replace(microsecond=0) - timedelta(minutes=5)
    return trip_bytes(TruckPlan(vin=vin, start=start, duration_s=seconds, **options))


def stored(committed_app, vin: str) -> int:
    with committed_app.extensions["mobsrc"].db.session_scope() as session:
        return session.execute(text("SELECT count(*) FROM obd_stream_records r JOIN vehicles v"
                                    " ON v.id = r.vehicle_id WHERE v.vin = :vin"), {"vin": vin}).scalar()


def test_split_and_merged_frames_are_answered_after_they_are_durable(gateway, fleet, committed_app):
    login, calibration, *reports, logout = trip(fleet[0], 50)
    link = Link(gateway.port)
    link.send(login + calibration)                         # two frames in one write
    answers = link.answers(2)
    assert [a.header.command for a in answers] == [Command.LOGIN, Command.TIME_CALIBRATION]
    assert isinstance(answers[0].message, Acknowledgement) and answers[0].vin == fleet[0]
    assert isinstance(answers[1].message, TimeCalibrationAnswer)
    assert abs((answers[1].message.time - clock.now()).total_seconds()) < 3
    first = reports[0]
    for i in range(len(first)):                             # one frame split byte by byte
        link.send(first[i:i + 1])
    link.send(b"".join(reports[1:]))                       # four frames merged
    acks = link.answers(5)
    assert [a.header.command for a in acks] == [Command.REALTIME] * 5
    assert stored(committed_app, fleet[0]) == 50           # an ACK means the rows are committed
    link.send(logout)
    assert link.answers(1)[0].header.command == Command.LOGOUT
    link.close()


def test_garbage_is_skipped_and_a_corrupted_frame_is_not_answered(gateway, fleet, committed_app):
    login, _, first, second, third, _ = trip(fleet[1], 30)
    broken = bytearray(second)
    broken[60] ^= 0x55
    link = Link(gateway.port)
    link.send(b"\xff\xfe garbage ## more" + login)
    assert link.answers(1)[0].header.command == Command.LOGIN
    link.send(first + bytes(broken) + b"#" + third)
    assert len(link.answers(2)) == 2 and link.answers(1, timeout=0.5) == []
    assert stored(committed_app, fleet[1]) == 20
    assert gateway.stats.garbage_bytes >= len(broken)
    link.close()


def test_data_before_login_is_neither_stored_nor_answered(gateway, fleet, committed_app):
    _, _, *reports, _ = trip(fleet[2], 30)
    link = Link(gateway.port)
    link.send(reports[0] + reports[1])
    assert link.answers(1, timeout=0.5) == []
    link.send(reports[2])                                   # the third one: the gateway hangs up
    assert link.is_closed_by_peer()
    assert stored(committed_app, fleet[2]) == 0 and gateway.stats.unauthenticated == 3


def test_data_for_another_vin_than_the_logged_in_one_is_refused(gateway, fleet, committed_app):
    login = trip(fleet[0])[0]
    foreign = trip(fleet[1])[2]
    link = Link(gateway.port)
    link.send(login)
    link.answers(1)
    link.send(foreign)
    assert link.answers(1, timeout=0.5) == [] and stored(committed_app, fleet[1]) == 0
    link.close()


def test_a_removal_alarm_is_stored_once_answered_and_opens_a_terminal_removed_alarm(gateway, fleet, committed_app):
    link = Link(gateway.port)
    link.send(trip(fleet[0])[0])
    link.answers(1)
    at = clock.now().replace(microsecond=0)
    removal = encode_frame(make_frame(fleet[0], RemovalAlarm(at, 1, Position.from_degrees(106.7, 26.5))))
    link.send(removal)
    assert [a.header.command for a in link.answers(1)] == [Command.REMOVAL_ALARM]
    link.send(removal)                                    # re-sent (the ACK was lost): answered, stored once
    assert [a.header.command for a in link.answers(1)] == [Command.REMOVAL_ALARM]
    link.close()
    with committed_app.extensions["mobsrc"].db.session_scope() as session:
        reports = session.execute(text(
            "SELECT r.reported_at, r.longitude, r.latitude, r.position_valid, r.source FROM obd_removal_reports r"
            " JOIN vehicles v ON v.id = r.vehicle_id WHERE v.vin = :vin"), {"vin": fleet[0]}).all()
        assert reports == [(at, 106.7, 26.5, True, "gateway")]    # durable before the ACK
        while alarming.evaluate_next_batches(session, 50):
            pass
        [(kind, status, evidence)] = session.execute(text(
            "SELECT kind, status, evidence FROM obd_alarms WHERE vin = :vin"), {"vin": fleet[0]}).all()
    assert (kind, status) == ("terminal_removed", "open")
    assert evidence["reports"] == 1 and evidence["position"]["longitude"] == 106.7
    assert gateway.stats.removal_alarms == 2


def test_an_unregistered_vin_cannot_log_in(gateway, committed_app):
    link = Link(gateway.port)
    link.send(trip("LZZ1BLSB9XX999999")[0])
    assert link.is_closed_by_peer() and link.answers(1, timeout=0.2) == []
    assert gateway.stats.refused_logins == 1


def test_a_silent_connection_is_closed_after_the_idle_period(gateway, fleet):
    link = Link(gateway.port)
    link.send(trip(fleet[0])[0])
    link.answers(1)
    started = time.monotonic()
    assert link.is_closed_by_peer(timeout=5)
    assert 1.0 < time.monotonic() - started < 4 and gateway.stats.idle_closed == 1


def test_many_simulated_terminals_lose_nothing_and_store_nothing_twice(gateway, committed_app):
    with committed_app.extensions["mobsrc"].db.session_scope() as session:
        act_as(session, SYSTEM)
        firm = factories.make_enterprise(session)
        vins = [factories.make_vehicle(session, firm).vin for _ in range(40)]
    results = asyncio.run(simulate_fleet("127.0.0.1", gateway.port, vins, duration_s=120, speed=None,
                                         stagger_s=0.5))
    assert [r.error for r in results] == [None] * 40
    assert all(r.reports_acknowledged == 12 for r in results)
    sent = sum(r.records_sent for r in results)            # 120 samples + 1 OBD block each
    with committed_app.extensions["mobsrc"].db.session_scope() as session:
        streams = session.execute(text("SELECT count(*) FROM obd_stream_records")).scalar()
        infos = session.execute(text("SELECT count(*) FROM obd_info_records")).scalar()
        accepted = session.execute(text("SELECT sum(accepted) FROM obd_batches")).scalar()
    assert streams + infos == sent == accepted == 40 * 121


def test_a_trip_sent_twice_is_answered_twice_and_stored_once(gateway, fleet, committed_app):
    plan = TruckPlan(vin=fleet[0], start=clock.now().replace(microsecond=0) - timedelta(minutes=5), duration_s=60)
    frames = list(simulate_trip(plan))
    first = asyncio.run(play("127.0.0.1", gateway.port, frames, speed=None))
    again = asyncio.run(play("127.0.0.1", gateway.port, frames, speed=None))
    assert first.reports_acknowledged == again.reports_acknowledged == 6
    assert stored(committed_app, fleet[0]) == 60
    with committed_app.extensions["mobsrc"].db.session_scope() as session:
        assert session.execute(text("SELECT sum(accepted), sum(duplicates) FROM obd_batches")).one() == (61, 61)


def test_a_simulated_terminal_taken_off_its_truck_raises_a_terminal_removed_alarm(gateway, fleet, committed_app):
    [result] = asyncio.run(simulate_fleet("127.0.0.1", gateway.port, fleet[:1], duration_s=300,
                                          scenario="removed-terminal", speed=None))
    assert result.error is None and result.reports_acknowledged == 12
    assert result.answers[Command.REMOVAL_ALARM] == 4
    with committed_app.extensions["mobsrc"].db.session_scope() as session:
        while alarming.evaluate_next_batches(session, 50):
            pass
        alarms = session.execute(text("SELECT kind, evidence FROM obd_alarms WHERE vin = :vin AND status = 'open'"),
                                 {"vin": fleet[0]}).all()
    assert [kind for kind, _ in alarms] == ["terminal_removed"] and alarms[0][1]["reports"] == 4

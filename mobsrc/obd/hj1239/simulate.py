"""A deterministic simulated China VI diesel truck: login, time calibration, 1 Hz samples
packed into real-time frames (GB or HJ layout), periodic OBD blocks, logout.

Pure: the start time and the seed are inputs; the same plan and seed give the same frames.
Used by the simulator command, the benchmarks and the alarm tests.  The engine model is a
plausible toy (cold SCR converts little; NOx scales with load), not a calibrated one.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from mobsrc.obd.hj1239.codec import encode_frame, make_frame
from mobsrc.obd.hj1239.messages import (
    EngineStream,
    Frame,
    Layout,
    Login,
    Logout,
    ObdInfo,
    Position,
    RealtimeReport,
    RemovalAlarm,
    ResentReport,
    Signature,
    TimeCalibrationRequest,
)
from mobsrc.obd.hj1239.tables import ENGINE_BODY

#: diesel monitors: exhaust sensor, EGR, boost, DPF, SCR, NMHC cat., fuel, comprehensive
DIESEL_SUPPORT_MAP = 0xDEA0


@dataclass(frozen=True, slots=True)
class TruckPlan:
    vin: str = "LTESTKZZ8R0000001"
    start: datetime = datetime(2024, 3, 15, 2, 0, tzinfo=UTC)
    duration_s: int = 600
    layout: Layout = Layout.HJ
    samples_per_frame: int = 10
    obd_every_s: int = 300               # OBD block in the first frame, then every N s (0: once)
    engine_out_nox_ppm: float = 600.0    # at full load; scaled down at part load
    scr_efficiency: float = 0.92         # when the SCR is warm
    tailpipe_nox_ppm: float | None = None  # forces downstream NOx (+-3 % noise): failed SCR
    stuck_nox_downstream_ppm: float | None = None  # downstream sensor frozen at this value
    cold_start: bool = True
    ambient_c: float = 15.0
    idle_first_s: int = 60
    mil_on: bool = False
    dtcs: tuple[int, ...] = ()
    reagent_start_pct: float = 60.0
    reagent_use_pct_per_h: float = 2.0
    invalid_rate: float = 0.0            # chance that a measured field carries its invalid marker
    signed: bool = False                 # HJ: append a dummy 32 + 32 byte signature
    resent: bool = False                 # send as 0x03 instead of 0x02
    software_version: int = 1
    iccid: str = "89860000000000000001"
    cal_id: str = "YCY30165-60"
    cvn: bytes = bytes.fromhex("EC40A1BF")
    obd_vin: str | None = None           # None: same as the header VIN
    origin: tuple[float, float] = (106.713478, 26.578343)   # central Guiyang, WGS-84
    login_serial: int = 1
    time_calibration: bool = True
    removed_after_s: int | None = None   # the terminal is taken off then: reports stop, and
    removal_every_s: int = 60            # a 0x06 removal alarm follows every N s, no logout (1.7)


@dataclass(frozen=True, slots=True)
class TimedFrame:
    at: datetime       # when the terminal sends it
    frame: Frame


@dataclass(slots=True)
class _Truck:
    """Mutable engine/vehicle state, advanced one second at a time."""
    plan: TruckPlan
    rng: random.Random
    speed: float = 0.0
    target: float = 0.0
    segment_left: int = 0
    scr_c: float = 0.0
    coolant_c: float = 0.0
    reagent: float = 0.0
    fuel: float = 70.0
    mileage: float = 12_345.6
    heading: float = 0.7
    lon: float = 0.0
    lat: float = 0.0
    history: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self.scr_c = self.plan.ambient_c if self.plan.cold_start else 280.0
        self.coolant_c = self.plan.ambient_c if self.plan.cold_start else 85.0
        self.reagent = self.plan.reagent_start_pct
        self.lon, self.lat = self.plan.origin

    def step(self, t: int) -> dict:
        accel = self._drive(t)
        torque = 8.0 if self.speed < 1 else min(95.0, 18 + 0.35 * self.speed + 25 * max(accel, 0))
        torque += self.rng.uniform(-2, 2)
        rpm = 650.0 if self.speed < 1 else min(2300.0, 800 + 17 * self.speed)
        rpm += self.rng.uniform(-15, 15)
        self._warm_up(torque)
        self._move()
        return self._sample(torque, rpm)

    def _drive(self, t: int) -> float:
        if t < self.plan.idle_first_s:
            return 0.0
        if self.segment_left <= 0:
            stop = self.rng.random() < 0.25
            self.target = 0.0 if stop else self.rng.uniform(20, 80)
            self.segment_left = self.rng.randint(10, 40) if stop else self.rng.randint(60, 240)
        self.segment_left -= 1
        accel = max(-3.0, min(1.5, self.target - self.speed))
        self.speed = max(0.0, self.speed + accel)
        return accel

    def _warm_up(self, torque: float) -> None:
        self.scr_c += (180 + 2.5 * torque - self.scr_c) / 120
        self.coolant_c += max(0.0, 88 - self.coolant_c) / 200
        self.reagent = max(0.0, self.reagent - self.plan.reagent_use_pct_per_h / 3600)
        self.fuel = max(0.0, self.fuel - 0.002)

    def _move(self) -> None:
        metres = self.speed / 3.6
        self.heading += self.rng.uniform(-0.05, 0.05)
        self.lat += metres * math.cos(self.heading) / 111_320
        self.lon += metres * math.sin(self.heading) / (111_320 * math.cos(math.radians(self.lat)))
        self.mileage += metres / 1000

    def _sample(self, torque: float, rpm: float) -> dict:
        plan = self.plan
        load = 0.35 + 0.65 * torque / 100
        nox_up = plan.engine_out_nox_ppm * load * self.rng.uniform(0.95, 1.05)
        efficiency = plan.scr_efficiency * min(1.0, max(0.0, (self.scr_c - 180) / 70))
        nox_down = nox_up * (1 - efficiency)
        if plan.tailpipe_nox_ppm is not None:
            nox_down = plan.tailpipe_nox_ppm * self.rng.uniform(0.97, 1.03)
        if plan.stuck_nox_downstream_ppm is not None:
            nox_down = plan.stuck_nox_downstream_ppm
        intake = rpm * 0.25 + torque * 4
        return {
            "vehicle_speed": self.speed, "atmospheric_pressure": 89.5,
            "engine_net_torque": torque, "friction_torque": 7.0, "engine_speed": rpm,
            "fuel_flow": 1.5 + torque * rpm / 4000, "nox_upstream": nox_up,
            "nox_downstream": nox_down, "reagent_level": self.reagent,
            "intake_air_flow": intake, "scr_inlet_temperature": self.scr_c,
            "scr_outlet_temperature": self.scr_c - 12, "dpf_pressure_drop": 0.5 + intake / 150,
            "coolant_temperature": self.coolant_c, "fuel_level": self.fuel,
            "total_mileage": self.mileage,
        }


def _quantise(values: dict) -> dict:
    """Clip each value into its field's valid range (the raw encoding rounds it)."""
    out = {}
    for name, value in values.items():
        spec = ENGINE_BODY.field(name)
        out[name] = None if value is None else min(spec.valid_max, max(spec.valid_min, value))
    return out


def simulate_samples(plan: TruckPlan, seed: int = 0) -> list[EngineStream]:
    """The 1 Hz engine-stream samples of the trip (no serials)."""
    rng = random.Random(seed)
    truck = _Truck(plan, rng)
    samples = []
    for t in range(plan.duration_s):
        values = truck.step(t)
        if plan.invalid_rate:
            values = {k: None if rng.random() < plan.invalid_rate else v
                      for k, v in values.items()}
        samples.append(EngineStream.from_values(
            plan.start + timedelta(seconds=t), None, longitude=truck.lon, latitude=truck.lat,
            **_quantise(values)))
    return samples


def _obd_block(plan: TruckPlan, at: datetime, serial: int | None) -> ObdInfo:
    vin = plan.obd_vin or plan.vin
    return ObdInfo(at, serial, 1, 1 if plan.mil_on else 0, DIESEL_SUPPORT_MAP, 0, vin,
                   plan.cal_id.encode("latin-1").ljust(18, b"\x00"), plan.cvn.ljust(18, b"\x00"),
                   bytes(36), len(plan.dtcs), tuple(plan.dtcs))


def _wants_obd(plan: TruckPlan, first_t: int, last_t: int) -> bool:
    if first_t == 0:
        return True
    every = plan.obd_every_s
    return every > 0 and any(t % every == 0 for t in range(first_t, last_t + 1))


def _report(plan: TruckPlan, samples: list[EngineStream], index: int, first_t: int, serial: int):
    """One real-time (or re-send) report of consecutive samples, and its sending time."""
    kind = ResentReport if plan.resent else RealtimeReport
    t0 = samples[0].collected_at
    sent = samples[-1].collected_at + timedelta(seconds=1)
    wants_obd = _wants_obd(plan, first_t, first_t + len(samples) - 1)
    obd = (_obd_block(plan, t0, None),) if wants_obd else ()
    if plan.layout is Layout.HJ:
        signature = Signature(bytes(range(32)), bytes(range(32, 64))) if plan.signed else None
        return kind(Layout.HJ, obd + tuple(samples), sent_at=sent, serial=(index + 1) % 0x10000,
                    signature=signature), sent
    blocks = tuple(replace(block, serial=(serial + k) % 0x10000)
                   for k, block in enumerate(obd + tuple(samples)))
    return kind(Layout.GB, blocks, collected_at=t0), sent


def simulate_trip(plan: TruckPlan = TruckPlan(), seed: int = 0) -> tuple[TimedFrame, ...]:
    """Login, time-calibration request, real-time frames, logout — in sending order (a terminal
    taken off sends removal alarms instead of the later reports and the logout)."""
    def frame(message) -> Frame:
        return make_frame(plan.vin, message, software_version=plan.software_version)

    login_at = plan.start - timedelta(seconds=5)
    frames = [TimedFrame(login_at, frame(Login(login_at, plan.login_serial, plan.iccid)))]
    if plan.time_calibration:
        frames.append(TimedFrame(login_at + timedelta(seconds=1), frame(TimeCalibrationRequest())))
    samples = simulate_samples(plan, seed)
    if plan.removed_after_s is not None:
        samples = samples[:plan.removed_after_s]
    size, serial = plan.samples_per_frame, 1
    for index, first in enumerate(range(0, len(samples), size)):
        report, sent = _report(plan, samples[first:first + size], index, first, serial)
        serial += len(report.blocks)
        frames.append(TimedFrame(sent, frame(report)))
    end = plan.start + timedelta(seconds=plan.duration_s + 1)
    if plan.removed_after_s is not None:
        return tuple(frames + _removal_alarms(plan, samples, frame))
    frames.append(TimedFrame(end, frame(Logout(end, plan.login_serial))))
    return tuple(frames)


def _removal_alarms(plan: TruckPlan, samples: list[EngineStream], frame) -> list[TimedFrame]:
    """What a terminal taken off the truck sends (HJ 0x06, every `removal_every_s` s till the
    plan ends): the time and its last fix."""
    position = samples[-1].position if samples else Position.from_degrees(*plan.origin)
    out = []
    for serial, t in enumerate(range(plan.removed_after_s, plan.duration_s + 1, plan.removal_every_s), start=1):
        at = plan.start + timedelta(seconds=t)
        out.append(TimedFrame(at, frame(RemovalAlarm(at, serial, position))))
    return out


def trip_bytes(plan: TruckPlan = TruckPlan(), seed: int = 0) -> list[bytes]:
    """The encoded frames of simulate_trip, in sending order."""
    return [encode_frame(timed.frame) for timed in simulate_trip(plan, seed)]

"""Simulated terminals on real TCP links: the `mobsrc simulate` command, the gateway tests and
the benchmark drive the gateway with these.  Frames come from hj1239/simulate.py (a
deterministic China VI truck); each terminal logs in, waits for the answer as HJ terminals do,
then sends its reports (paced in real time, faster, or at once) and counts the ACKs; a terminal
taken off (scenario `removed-terminal`) sends removal alarms (0x06) instead of its later reports.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mobsrc.obd.hj1239.codec import encode_frame
from mobsrc.obd.hj1239.framing import FrameSplitter, RawFrame
from mobsrc.obd.hj1239.messages import Command, Login, RemovalAlarm, Report
from mobsrc.obd.hj1239.simulate import TimedFrame, TruckPlan, simulate_trip

#: named plans for demos: what a healthy truck and typical faults look like on the wire
SCENARIOS: dict[str, dict] = {
    "healthy": {},
    "failed-scr": {"cold_start": False, "scr_efficiency": 0.1, "idle_first_s": 0},
    "tampered-nox-sensor": {"cold_start": False, "stuck_nox_downstream_ppm": 30.0, "idle_first_s": 0},
    "mil-on": {"mil_on": True, "dtcs": (0x145600AF,)},
    "empty-reagent": {"cold_start": False, "reagent_start_pct": 0.0, "idle_first_s": 0},
    "removed-terminal": {"removed_after_s": 120},    # taken off after 2 min: 0x06 every 60 s
}


@dataclass
class LinkResult:
    vin: str
    frames_sent: int = 0
    records_sent: int = 0
    answers: Counter = field(default_factory=Counter)   # command -> answers received
    logged_in: bool = False
    error: str | None = None

    @property
    def reports_acknowledged(self) -> int:
        return self.answers[Command.REALTIME] + self.answers[Command.RESENT]


class TerminalLink:
    """One TCP connection to the gateway, with a reader that counts the answer frames."""

    def __init__(self, vin: str):
        self.vin = vin
        self.result = LinkResult(vin)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task | None = None
        self._answered = asyncio.Condition()

    async def connect(self, host: str, port: int, timeout: float = 30.0) -> None:
        self._reader, self._writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        self._task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        splitter = FrameSplitter()
        while True:
            chunk = await self._reader.read(65536)
            if not chunk:
                break
            for event in splitter.feed(chunk):
                if isinstance(event, RawFrame):
                    async with self._answered:
                        self.result.answers[event.data[2]] += 1
                        self._answered.notify_all()

    async def send(self, data: bytes) -> None:
        self._writer.write(data)
        await self._writer.drain()

    async def wait_answers(self, command: int, count: int, timeout: float) -> bool:
        """Until `count` answers to `command` have come (False on timeout or a closed link)."""
        async def enough():
            async with self._answered:
                await self._answered.wait_for(lambda: self.result.answers[command] >= count
                                              or self._task.done())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(enough(), timeout)
        return self.result.answers[command] >= count

    @property
    def closed_by_gateway(self) -> bool:
        return self._task is not None and self._task.done()

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task


def records_in(timed: TimedFrame) -> int:
    message = timed.frame.message
    return len(message.blocks) if isinstance(message, Report) else 0


async def play(host: str, port: int, frames: list[TimedFrame], *, speed: float | None = 1.0,
               answer_timeout: float = 30.0) -> LinkResult:
    """Send a trip over one link: log in and wait for the answer, then the other frames at
    `speed` x real time (None: at once), then wait for every report's ACK."""
    vin = frames[0].frame.vin
    link = TerminalLink(vin)
    try:
        await link.connect(host, port)
        await _play(link, frames, speed, answer_timeout)
    except (OSError, TimeoutError) as exc:
        link.result.error = f"{type(exc).__name__}: {exc}"
    finally:
        await link.close()
    return link.result


async def _play(link: TerminalLink, frames: list[TimedFrame], speed: float | None, answer_timeout: float) -> None:
    loop = asyncio.get_running_loop()
    started, origin = loop.time(), frames[0].at
    reports = removals = 0
    for timed in frames:
        if speed:
            await asyncio.sleep(max(0.0, (timed.at - origin).total_seconds() / speed - (loop.time() - started)))
        await link.send(encode_frame(timed.frame))
        link.result.frames_sent += 1
        link.result.records_sent += records_in(timed)
        if isinstance(timed.frame.message, Login):
            link.result.logged_in = await link.wait_answers(Command.LOGIN, 1, answer_timeout)
            if not link.result.logged_in:
                link.result.error = "login not answered"
                return
        elif isinstance(timed.frame.message, Report):
            reports += 1
        elif isinstance(timed.frame.message, RemovalAlarm):
            removals += 1
    command = Command.RESENT if frames and any(t.frame.header.command == Command.RESENT for t in frames) \
        else Command.REALTIME
    await link.wait_answers(command, reports, answer_timeout)
    await link.wait_answers(Command.REMOVAL_ALARM, removals, answer_timeout)


def plan_for(vin: str, scenario: str, start: datetime, duration_s: int, samples_per_frame: int) -> TruckPlan:
    return TruckPlan(vin=vin, start=start, duration_s=duration_s, samples_per_frame=samples_per_frame,
                     **SCENARIOS[scenario])


async def simulate_fleet(host: str, port: int, vins: list[str], *, duration_s: int, scenario: str = "healthy",
                         samples_per_frame: int = 10, speed: float | None = 1.0, seed: int = 0,
                         stagger_s: float = 1.0) -> list[LinkResult]:
    """One terminal per VIN, started `stagger_s` apart spread over the fleet; trips end now when
    sent at once (`speed` None), start now otherwise."""
    now = datetime.now().astimezone().replace(microsecond=0)
    start = now - timedelta(seconds=duration_s + 5) if speed is None else now + timedelta(seconds=6)

    async def one(index: int, vin: str) -> LinkResult:
        await asyncio.sleep(stagger_s * index / max(1, len(vins)))
        plan = plan_for(vin, scenario, start, duration_s, samples_per_frame)
        return await play(host, port, list(simulate_trip(plan, seed + index)), speed=speed)

    return list(await asyncio.gather(*(one(i, vin) for i, vin in enumerate(vins))))

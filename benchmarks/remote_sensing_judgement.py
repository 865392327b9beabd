"""Throughput of the pure remote-sensing modules (not a test; prints figures).

Run: cd <worktree> && PYTHONPATH=. /tmp/v/bin/python benchmarks/remote_sensing_judgement.py
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta

from mobsrc.registry.identifiers import PlateColour
from mobsrc.remote_sensing.confirmation import JudgedReading, VehicleKey, find_confirmations
from mobsrc.remote_sensing.judgement import judge_reading
from mobsrc.remote_sensing.limits import DEFAULT_LIMITS, Fuel, Pollutant
from mobsrc.remote_sensing.readings import Reading
from mobsrc.remote_sensing.statistics import summarise_station_days
from mobsrc.remote_sensing.verdicts import Outcome

START = datetime(2025, 1, 1, tzinfo=UTC)


def random_reading(rng: random.Random, index: int) -> Reading:
    return Reading(
        station_code=f"S{index % 11}", measured_at=START + timedelta(seconds=index), lane=1,
        plate=f"贵A{index % 50000:05d}", plate_colour=PlateColour.YELLOW,
        speed_kmh=rng.uniform(0, 120), accel_ms2=rng.uniform(-2, 2),
        opacity_pct=rng.uniform(0, 50), ringelmann_grade=float(rng.randint(0, 3)),
        no_ppm=rng.uniform(0, 2500), wind_ms=rng.uniform(0, 7), temp_c=rng.uniform(-5, 40),
        rh_pct=rng.uniform(20, 95), rain=rng.random() < 0.05, slope_deg=1.0,
    )


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=100_000)
    count = parser.parse_args().readings
    rng = random.Random(1)
    t0 = time.perf_counter()
    readings = [random_reading(rng, i) for i in range(count)]
    t1 = time.perf_counter()
    verdicts = [judge_reading(r, Fuel.DIESEL, DEFAULT_LIMITS, True) for r in readings]
    t2 = time.perf_counter()
    rows = [(r.station_code, r.measured_at, v.outcome, True) for r, v in zip(readings, verdicts)]
    summarise_station_days(rows)
    t3 = time.perf_counter()
    vehicle = VehicleKey("贵A00001", PlateColour.YELLOW)
    history = [
        JudgedReading(f"r{i}", START + timedelta(hours=i), vehicle.plate, vehicle.colour,
                      Outcome.EXCEED if i % 3 else Outcome.PASS,
                      frozenset({Pollutant.OPACITY}) if i % 3 else frozenset(),
                      frozenset() if i % 3 else frozenset({Pollutant.OPACITY}))
        for i in range(10_000)
    ]
    t4 = time.perf_counter()
    find_confirmations(vehicle, history, DEFAULT_LIMITS.confirmation)
    t5 = time.perf_counter()
    print(f"build Reading (validated):   {rate(count, t1 - t0)}")
    print(f"judge_reading (diesel):      {rate(count, t2 - t1)}")
    print(f"summarise_station_days:      {rate(count, t3 - t2)}")
    print(f"find_confirmations (10,000-reading history): {(t5 - t4) * 1000:.1f} ms")


if __name__ == "__main__":
    main()

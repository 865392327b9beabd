"""I/M pure-module throughput: case transitions, deadline sweep, fraud detectors.

    python -m benchmarks im_pure

Prints figures only; no assertions. Uses the seeded synthetic city of the unit tests.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from mobsrc.im.cases import Actor, CaseEvent, CaseEventKind, CaseSubject, Role, TriggerKind, advance
from mobsrc.im.deadlines import Trigger, open_case, sweep_deadlines
from mobsrc.im.fraud import detect_fraud_signs, find_reused_curves
from mobsrc.im.inspection import check_inspection_consistency
from mobsrc.im.limits import REFERENCE_LIMITS
from tests.unit.im.factories import SyntheticCity


def timed(label: str, count: int, func) -> None:
    start = time.perf_counter()
    func()
    elapsed = time.perf_counter() - start
    print(f"{label:<58} {count:>8,} in {elapsed:7.3f} s  = {count / elapsed:>12,.0f} /s")


def bench_cases(n: int = 50_000) -> None:
    at = datetime(2025, 3, 1, 2, tzinfo=UTC)
    trigger = Trigger(TriggerKind.BLACK_SMOKE, Actor(Role.SYSTEM, "job"), ("CAP-1",))
    subject = CaseSubject(vin="LVIN0000000000001")
    cases = [open_case(trigger, subject, at).snapshot(f"C{i}") for i in range(n)]
    notify = CaseEvent(CaseEventKind.NOTIFY)
    timed("open_case", n, lambda: [open_case(trigger, subject, at) for _ in range(n)])
    timed("advance (notify)", n,
          lambda: [advance(c, notify, at, Actor(Role.SYSTEM, "job")) for c in cases])
    later = cases[0].deadline + timedelta(hours=1)
    timed("sweep_deadlines (all overdue, default: mark + escalate)", n,
          lambda: sweep_deadlines(cases, later))
    timed("sweep_deadlines (none due)", n, lambda: sweep_deadlines(cases, at))


def bench_fraud(tests_per_station: int = 2_000) -> None:
    city = SyntheticCity(seed=1, stations=10, tests_per_station=tests_per_station)
    tests = city.tests
    timed("check_inspection_consistency (with reference table)", len(tests),
          lambda: [check_inspection_consistency(t, REFERENCE_LIMITS) for t in tests])
    timed("find_reused_curves (10 stations x ~2,000 tests)", len(tests),
          lambda: find_reused_curves(tests))
    timed("detect_fraud_signs (all detectors)", len(tests), lambda: detect_fraud_signs(tests))
    one_station = [replace(t, station_code="S00") for t in tests]
    timed("find_reused_curves (one station, ~20,000 tests)", len(one_station),
          lambda: find_reused_curves(one_station))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--tests-per-station", type=int, default=2_000)
    args = parser.parse_args()
    bench_cases(args.cases)
    bench_fraud(args.tests_per_station)


if __name__ == "__main__":
    main()

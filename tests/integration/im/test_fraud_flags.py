"""Station supervision through the stored data path: inspections are posted over HTTP by their
stations, the supervision job reads them back from PostgreSQL and runs the detectors. A seeded
honest city is the clean control (no flag at all); planted patterns are each flagged at their
station only, naming their evidence; flags are idempotent and respect the bureau's reviews."""
from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import select

from mobsrc.core import clock
from mobsrc.core.auth.principals import Role
from mobsrc.im.fraud import FraudKind, detect_fraud_signs
from mobsrc.im.limits import InspectionMethod
from mobsrc.im.models import FraudFlag
from mobsrc.im.service import supervision
from mobsrc.im.service.configuration import load_config
from tests.integration import factories
from tests.unit.im.factories import T0, SyntheticCity, honest_curve, limit_for, make_inspection, make_item

ASM, FREE = InspectionMethod.ASM, InspectionMethod.FREE_ACCELERATION
ASM_ITEMS = ("co_pct", "hc_ppm", "no_ppm")
# A small city needs smaller peer groups than the defaults; thresholds are configuration.
SMALL_CITY = {"fraud.window_days": 60, "fraud.pass_rate.min_sample": 15, "fraud.pass_rate.min_peer_tests": 50,
              "fraud.pass_rate.alpha": 0.01}


class Poster:
    """Posts pure test inspections over HTTP, each by its station's own key, with valid VINs."""

    def __init__(self, client, session, principal_headers):
        self.client, self.session, self.principal_headers = client, session, principal_headers
        self.stations, self.keys, self.vins = {}, {}, {}
        self.numbers = itertools.count(700_000)

    def station(self, code: str):
        if code not in self.stations:
            self.stations[code] = factories.make_station(self.session, "i", code=f"GY-I-{code}")
            self.keys[code] = self.principal_headers(Role.I_STATION, station=self.stations[code])
        return self.stations[code]

    def vin(self, raw: str) -> tuple[str, str]:
        if raw not in self.vins:
            n = next(self.numbers)
            self.vins[raw] = (factories.valid_vin(n), f"贵A{n % 100000:05d}")
        return self.vins[raw]

    def post(self, tests) -> None:
        for test in tests:
            self.station(test.station_code)
            vin, plate = self.vin(test.vin)
            body = dict(
                report_number=test.report_number, vin=vin, plate=plate, plate_colour="yellow", kind=test.kind.value,
                method=test.method.value, overall=test.overall.value, inspector=test.inspector,
                started_at=test.started_at.isoformat(), ended_at=test.ended_at.isoformat(),
                items=[{"quantity": i.quantity, "phase": i.phase, "measured": i.measured,
                        "upper_limit": i.upper_limit, "outcome": i.outcome.value} for i in test.items],
                curve={"period_s": test.curve.period_s, "channels": {c.name: list(c.values) for c in test.curve.channels}})
            response = self.client.post("/api/v1/im/inspections", json=body, headers=self.keys[test.station_code])
            assert response.status_code == 201, response.json

    def code(self, city_code: str) -> str:
        return self.stations[city_code].code


def asm_items(ratio: float):
    return [make_item(q, round(ratio * limit_for(ASM, "asm5025", q), 3), limit_for(ASM, "asm5025", q),
                      phase="asm5025") for q in ASM_ITEMS]


def plants() -> dict[tuple[FraudKind, str], list]:
    """Each planted pattern, by the (kind, city station) it must raise."""
    rng = np.random.default_rng(99)
    day = T0 + timedelta(days=3)
    source = make_inspection("CP-0", "S01", "LCOPY0", method=ASM, items=asm_items(0.3), start=day, duration_s=120,
                             curve=honest_curve(rng, ASM, 1.0))
    copies = [replace(source, report_number=f"CP-{i}", vin=f"LCOPY{i}", started_at=day + timedelta(hours=i),
                      ended_at=day + timedelta(hours=i, seconds=120)) for i in (1, 2)]
    short = [make_inspection(f"SH-{i}", "S02", f"LSHORT{i}", method=FREE, duration_s=30, items=[make_item()],
                             start=day + timedelta(days=1, hours=i), curve=honest_curve(rng, FREE, 1.0))
             for i in range(3)]
    at_limit = [make_inspection(f"AL-{i}", "S03", f"LATLIM{i}", method=FREE, duration_s=120,
                                items=[make_item("k_m1", 1.19, 1.2)], start=day + timedelta(days=2, hours=i),
                                curve=honest_curve(rng, FREE, 1.0)) for i in range(12)]
    all_pass = [make_inspection(f"PR-{i}", "S06", f"LPASS{i}", method=ASM, duration_s=120, items=asm_items(0.3),
                                start=day + timedelta(days=3, minutes=30 * i), curve=honest_curve(rng, ASM, 1.0))
                for i in range(120)]
    failed = make_inspection("QR-F", "S00", "LQUICK", method=FREE, duration_s=120, items=[make_item("k_m1", 1.9)],
                             start=day + timedelta(days=9), curve=honest_curve(rng, FREE, 1.0))
    passed = make_inspection("QR-P", "S05", "LQUICK", method=FREE, duration_s=120, items=[make_item("k_m1", 0.4)],
                             start=failed.ended_at + timedelta(minutes=10), curve=honest_curve(rng, FREE, 1.0))
    return {(FraudKind.CURVE_IDENTICAL, "S01"): [source, *copies], (FraudKind.SHORT_TEST, "S02"): short,
            (FraudKind.VALUES_AT_LIMIT, "S03"): at_limit, (FraudKind.PASS_RATE_OUTLIER, "S06"): all_pass,
            (FraudKind.QUICK_RETEST_PASS, "S05"): [failed, passed]}


@pytest.fixture
def poster(client, session, principal_headers, as_admin, frozen_clock):
    frozen_clock.set(T0 + timedelta(days=40))
    assert client.patch("/api/v1/im/parameters", json={"values": SMALL_CITY}, headers=as_admin).status_code == 200
    return Poster(client, session, principal_headers)


def flags(client, headers) -> dict[tuple[str, str], dict]:
    items = client.get("/api/v1/im/fraud-flags", query_string={"limit": 100}, headers=headers).json["items"]
    return {(f["kind"], f["station_code"]): f for f in items}


def test_honest_stations_raise_nothing_and_each_plant_is_flagged_with_its_evidence(client, session, poster,
                                                                                   as_admin):
    poster.post(SyntheticCity(seed=3, stations=6, tests_per_station=50).tests)
    run = supervision.detect_and_flag(session)
    assert run.inspections > 300 and (run.signs, run.opened) == (0, 0)  # the clean control
    planted = plants()
    for tests in planted.values():
        poster.post(tests)
    run = supervision.detect_and_flag(session)
    found = flags(client, as_admin)
    assert set(found) == {(kind.value, poster.code(station)) for kind, station in planted}
    for (kind, station), tests in planted.items():
        flag = found[kind.value, poster.code(station)]
        named = {n for e in flag["evidence"] for n in e["report_numbers"]}
        if kind is FraudKind.PASS_RATE_OUTLIER:
            (summary,) = flag["evidence"]
            assert summary["values"]["tests"] >= 120 and summary["values"]["passes"] == summary["values"]["tests"]
        else:
            assert {t.report_number for t in tests} <= named, kind
        assert flag["status"] == "open" and flag["explanation"] and flag["station_id"] is not None
    # loading the curves station by station finds what the detectors find over everything at once
    end = clock.now()
    start, fraud = end - timedelta(days=60), load_config(session).fraud
    _, chunked = supervision.detect_signs(session, start, end, fraud)
    whole = detect_fraud_signs(supervision.load_inspections(session, start, end), fraud)
    assert {(s.kind, s.station_code, s.report_numbers) for s in chunked} == \
        {(s.kind, s.station_code, s.report_numbers) for s in whole}
    short = found[FraudKind.SHORT_TEST.value, poster.code("S02")]
    assert {(e["values"]["duration_s"], e["values"]["minimum_s"]) for e in short["evidence"]} == {(30.0, 60.0)}


def test_flags_are_idempotent_and_a_review_is_respected(client, session, poster, as_admin):
    first = [make_inspection(f"SH-{i}", "S02", f"LSHORT{i}", method=FREE, duration_s=25, items=[make_item()],
                             start=T0 + timedelta(days=5, hours=i),
                             curve=honest_curve(np.random.default_rng(i), FREE, 1.0)) for i in range(2)]
    poster.post(first)
    assert supervision.detect_and_flag(session).opened == 1
    assert supervision.detect_and_flag(session) == supervision.Run(2, 1, 0, 1)  # refreshed, not duplicated
    (flag,) = flags(client, as_admin).values()
    reviewed = client.post(f"/api/v1/im/fraud-flags/{flag['id']}/review",
                           json={"status": "dismissed", "note": "line calibration day"}, headers=as_admin)
    assert reviewed.status_code == 200 and reviewed.json["status"] == "dismissed"
    assert client.post(f"/api/v1/im/fraud-flags/{flag['id']}/review", json={"status": "confirmed"},
                       headers=as_admin).status_code == 409
    assert supervision.detect_and_flag(session).opened == 0  # the same evidence, already reviewed
    poster.post([make_inspection("SH-9", "S02", "LSHORT9", method=FREE, duration_s=20, items=[make_item()],
                                 start=T0 + timedelta(days=6), curve=honest_curve(np.random.default_rng(9), FREE, 1.0))])
    assert supervision.detect_and_flag(session).opened == 1  # new evidence: a new flag
    listed = client.get("/api/v1/im/fraud-flags", query_string={"status": "open"}, headers=as_admin).json["items"]
    assert len(listed) == 1 and "SH-9" in {n for e in listed[0]["evidence"] for n in e["report_numbers"]}
    assert session.scalar(select(FraudFlag).where(FraudFlag.id == flag["id"])).review_note == "line calibration day"


def test_the_supervision_job_runs_through_redis(committed_app, committed_session, run_jobs, frozen_clock):
    from mobsrc.core.jobs import enqueue
    frozen_clock.set(T0 + timedelta(days=10))
    station = factories.make_station(committed_session, "i", code="GY-I-JOB")
    from mobsrc.core.auth import service as accounts
    user = accounts.create_user(committed_session, "line", Role.I_STATION, station_id=station.id)
    key = accounts.issue_api_key(committed_session, user.id)[1]
    committed_session.commit()
    client = committed_app.test_client()
    for i in range(2):
        body = dict(report_number=f"J-{i}", vin=factories.valid_vin(800 + i), plate=f"贵A{800 + i:05d}",
                    plate_colour="yellow", kind="periodic", method="obd_check", overall="pass", inspector="x",
                    started_at=(T0 + timedelta(days=1, seconds=100 * i)).isoformat(),
                    ended_at=(T0 + timedelta(days=1, seconds=100 * i + 5)).isoformat(),
                    obd={"outcome": "pass", "communication_ok": True, "mil_on": False})
        assert client.post("/api/v1/im/inspections", json=body, headers={"X-API-Key": key}).status_code == 201
    assert enqueue(committed_app.extensions["mobsrc"].redis, "im.detect_fraud_signs")
    assert run_jobs() == 1
    (flag,) = committed_session.scalars(select(FraudFlag)).all()
    assert (flag.kind, flag.station_code) == (FraudKind.SHORT_TEST, "GY-I-JOB")


def test_the_same_curve_at_two_stations_is_found_by_its_stored_fingerprint(client, session, poster, as_admin):
    rng = np.random.default_rng(5)
    original = make_inspection("X-1", "S01", "LCROSS1", method=ASM, items=asm_items(0.3), duration_s=120,
                               start=T0 + timedelta(days=2), curve=honest_curve(rng, ASM, 1.0))
    copy = replace(original, report_number="X-2", station_code="S04", vin="LCROSS2",
                   started_at=T0 + timedelta(days=4), ended_at=T0 + timedelta(days=4, seconds=120))
    honest = make_inspection("X-3", "S04", "LCROSS3", method=ASM, items=asm_items(0.3), duration_s=120,
                             start=T0 + timedelta(days=5), curve=honest_curve(rng, ASM, 1.0))
    poster.post([original, copy, honest])
    assert supervision.detect_and_flag(session).opened == 2
    found = flags(client, as_admin)
    assert set(found) == {(FraudKind.CURVE_IDENTICAL.value, poster.code(s)) for s in ("S01", "S04")}
    for flag in found.values():
        assert {n for e in flag["evidence"] for n in e["report_numbers"]} == {"X-1", "X-2"}

"""The judgement job over stored readings, with the limits from the standards' tables
(standards-enforcement.md 1.3-1.5, 7): just under, at and over each diesel limit; every kind of
invalid condition; petrol not judged until an admin sets its limits; lapsed calibration; black
smoke as a violation of its own; every verdict cites its limit version and reasons."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from mobsrc.enforcement.models import Violation
from mobsrc.enforcement.register import ViolationKind
from mobsrc.remote_sensing import service
from mobsrc.remote_sensing.limit_documents import limit_table_to_dict
from mobsrc.remote_sensing.limits import DEFAULT_LIMITS
from mobsrc.remote_sensing.models import RsBatch
from tests.integration import factories
from tests.integration.remote_sensing.conftest import DAY, days, make_rs_station, reading

DEFAULT_VERSION = DEFAULT_LIMITS.version


def verdict_of(rs, **overrides) -> dict:
    (stored,) = rs.post_and_judge(reading(**overrides))
    return stored["verdict"]


def codes(verdict) -> list[str]:
    return [reason["code"] for reason in verdict["reasons"]]


@pytest.mark.parametrize("field, value, outcome", [
    ("opacity_pct", 29.99, "pass"), ("opacity_pct", 30.0, "pass"), ("opacity_pct", 30.01, "exceed"),
    ("ringelmann_grade", 1, "pass"), ("ringelmann_grade", 2, "exceed"),
    ("no_ppm", 1499.9, "pass"), ("no_ppm", 1500.0, "pass"), ("no_ppm", 1500.1, "exceed"),
])
def test_diesel_limits_of_hj845_under_at_and_over(rs, truck, field, value, outcome):
    verdict = verdict_of(rs, **{field: value})
    assert (verdict["outcome"], verdict["limit_version"], verdict["fuel"]) == (outcome, DEFAULT_VERSION, "diesel")
    assert verdict["vehicle_id"] == truck.id and verdict["calibration_id"] is not None
    pollutant = {"opacity_pct": "opacity", "ringelmann_grade": "ringelmann", "no_ppm": "no"}[field]
    row = next(p for p in verdict["pollutants"] if p["pollutant"] == pollutant)
    assert row["measured"] == value and row["clause"].startswith("HJ 845")
    if outcome == "exceed":
        (reason,) = verdict["reasons"]
        assert reason["measured"] == value and reason["limit"] == row["limit"] and reason["code"].startswith("exceed.")


@pytest.mark.parametrize("overrides, code", [
    ({"speed_kmh": 4.9}, "invalid.speed_out_of_window"),
    ({"speed_kmh": 100.1}, "invalid.speed_out_of_window"),
    ({"accel_ms2": 2.0}, "invalid.vsp_out_of_window"),
    ({"wind_ms": 5.1}, "invalid.wind_too_strong"),
    ({"wind_ms": None}, "invalid.wind_not_reported"),
    ({"temp_c": -20.1}, "invalid.temperature_out_of_window"),
    ({"temp_c": 45.1}, "invalid.temperature_out_of_window"),
    ({"rh_pct": 85.1}, "invalid.humidity_too_high"),
    ({"rain": True}, "invalid.rain"),
    ({"rain": None}, "invalid.precipitation_not_reported"),
])
def test_each_invalid_condition_is_the_reason_and_the_reading_is_never_exceeding(rs, truck, overrides, code):
    verdict = verdict_of(rs, opacity_pct=80.0, **overrides)
    assert verdict["outcome"] == "invalid" and codes(verdict) == [code]
    assert verdict["pollutants"] == [] and verdict["exceeded"] == []


def test_bounds_of_the_validity_windows_are_valid(rs, truck):
    assert verdict_of(rs, speed_kmh=100.0, wind_ms=5.0, temp_c=45.0, rh_pct=85.0, accel_ms2=0.0)["outcome"] == "pass"


def test_the_sites_slope_is_used_when_the_device_reports_none(rs, truck):
    flat = verdict_of(rs, slope_deg=0.0)
    sloped = verdict_of(rs, slope_deg=None, measured_at=(DAY + days(0.1)).isoformat())
    assert (flat["vsp_source"], sloped["vsp_source"]) == ("computed", "computed")
    assert sloped["vsp_kw_t"] > flat["vsp_kw_t"]  # the site climbs 1 degree


def test_an_unmatched_plate_is_stored_and_not_judged_with_that_reason(rs):
    verdict = verdict_of(rs, opacity_pct=80.0)
    assert verdict["outcome"] == "not_judged" and codes(verdict) == ["not_judged.fuel_unknown"]
    assert verdict["vehicle_id"] is None


def test_petrol_is_not_judged_while_its_limits_are_unset(rs, session, enterprise):
    factories.make_vehicle(session, enterprise, plate="贵A12345", plate_colour="blue", fuel="petrol")
    verdict = verdict_of(rs, plate_colour="blue", co_pct=9.0, hc_ppm=5000, no_ppm=4000)
    assert verdict["outcome"] == "not_judged" and codes(verdict) == ["not_judged.petrol_limits_unset"]
    assert {p["status"] for p in verdict["pollutants"]} == {"limit_unset"}


def test_petrol_is_judged_once_an_admin_sets_limits_and_verdicts_cite_the_new_version(
        rs, session, client, as_admin, monkeypatch, enterprise):
    factories.make_vehicle(session, enterprise, plate="贵A12345", plate_colour="blue", fuel="petrol")
    document = limit_table_to_dict(DEFAULT_LIMITS) | {"version": "gy-2026-06", "effective_from": "2026-06-01"}
    document["fuels"]["petrol"]["co"]["value"] = 1.0
    created = client.post("/api/v1/remote-sensing/limit-tables", json={"document": document, "note": "signed"},
                          headers=as_admin)
    assert created.status_code == 201, created.json
    before = verdict_of(rs, plate_colour="blue", co_pct=1.5)  # measured 2026-05-20: old table
    after = verdict_of(rs, plate_colour="blue", co_pct=1.5, measured_at="2026-06-01T09:00:00+08:00")
    at_limit = verdict_of(rs, plate_colour="blue", co_pct=1.0, measured_at="2026-06-01T09:30:00+08:00")
    assert (before["outcome"], before["limit_version"]) == ("not_judged", DEFAULT_VERSION)
    assert (after["outcome"], after["limit_version"], codes(after)) == ("exceed", "gy-2026-06", ["exceed.co"])
    assert at_limit["outcome"] == "pass"


def test_a_reading_on_a_day_no_calibration_covers_is_invalid_with_that_reason(client, session, principal_headers,
                                                                               truck):
    station, headers = make_rs_station(session, principal_headers, calibrated=False)
    client.post("/api/v1/remote-sensing/readings", json={"readings": [reading(opacity_pct=80.0)]}, headers=headers)
    batch = session.scalar(select(RsBatch).where(RsBatch.station_id == station.id))
    from mobsrc.remote_sensing import judging
    judging.judge_batch(session, batch.id)
    page = client.get(f"/api/v1/remote-sensing/readings?station_id={station.id}", headers=headers).json
    verdict = page["items"][0]["verdict"]
    assert verdict["outcome"] == "invalid" and codes(verdict) == ["invalid.calibration_lapsed"]
    assert verdict["calibration_id"] is None


def test_calibration_lapses_after_its_last_local_day(client, session, principal_headers, truck):
    from mobsrc.core.auth.principals import SYSTEM
    from mobsrc.remote_sensing import judging
    station, headers = make_rs_station(session, principal_headers, calibrated=False)
    service.record_calibration(session, SYSTEM, station.id, dict(
        kind="calibration", performed_on=date(2026, 4, 1), valid_from=date(2026, 4, 1), valid_to=date(2026, 5, 19),
        passed=True))
    client.post("/api/v1/remote-sensing/readings", headers=headers, json={"readings": [
        reading(measured_at="2026-05-19T23:59:59+08:00"), reading(measured_at="2026-05-20T00:00:00+08:00")]})
    judging.judge_batch(session, session.scalar(select(RsBatch.id).where(RsBatch.station_id == station.id)))
    items = client.get("/api/v1/remote-sensing/readings", headers=headers).json["items"]
    last_day, lapsed = sorted(items, key=lambda r: r["measured_at"])
    assert last_day["verdict"]["outcome"] == "pass"
    assert lapsed["verdict"]["outcome"] == "invalid" and codes(lapsed["verdict"]) == ["invalid.calibration_lapsed"]


def test_a_failed_audit_invalidates_the_days_it_covers(rs, session, truck):
    from mobsrc.core.auth.principals import SYSTEM
    service.record_calibration(session, SYSTEM, rs.station.id, dict(
        kind="audit", performed_on=date(2026, 5, 25), valid_from=date(2026, 5, 25), valid_to=date(2026, 5, 26),
        passed=False, notes="NO channel out of tolerance"))
    inside = verdict_of(rs, measured_at="2026-05-24T23:59:59+08:00")
    failed = verdict_of(rs, measured_at="2026-05-25T00:00:00+08:00")
    restored = verdict_of(rs, measured_at="2026-05-27T08:00:00+08:00")
    assert inside["outcome"] == "pass" and restored["outcome"] == "pass"
    assert failed["outcome"] == "invalid" and codes(failed) == ["invalid.calibration_lapsed"]
    assert failed["calibration_id"] not in (None, inside["calibration_id"])  # the failed audit is cited


def test_black_smoke_is_a_violation_of_its_own_with_the_reading_and_its_files_as_evidence(rs, session, truck):
    (stored,) = rs.post_and_judge(reading(ringelmann_grade=2, rain=True))  # invalid for RS, still captured
    assert stored["verdict"]["black_smoke"] and stored["verdict"]["outcome"] == "invalid"
    violation = session.scalar(select(Violation).where(Violation.kind == ViolationKind.BLACK_SMOKE))
    assert (violation.source_ref, violation.vehicle_id, violation.plate, violation.enterprise_id) == (
        f"rs_reading:{stored['id']}", truck.id, "贵A12345", truck.enterprise_id)
    assert violation.evidence[0] == {"type": "rs_reading", "ref": str(stored["id"])}
    assert violation.evidence[1] == {"type": "image", "ref": stored["evidence"][0]["id"], "sha256": "ab" * 32,
                                     "note": "plate"}
    assert violation.details["ringelmann_grade"] == 2 and violation.details["reasons"] == ["invalid.rain"]
    assert violation.location is not None and violation.district_code == rs.station.district_code


def test_grade_below_the_trigger_is_no_capture_and_an_unread_plate_is_captured_without_a_violation(rs, session):
    below, unplated = rs.post_and_judge(reading(ringelmann_grade=1.9), reading(DAY + days(0.1), plate=None,
                                                                             ringelmann_grade=3))
    assert not below["verdict"]["black_smoke"] and unplated["verdict"]["black_smoke"]
    assert session.scalars(select(Violation)).all() == []
    batch = session.scalars(select(RsBatch)).one()
    assert batch.outcomes["black_smoke_unplated"] == 1 and batch.outcomes["black_smoke"] == 0


def test_judging_a_batch_twice_changes_nothing(rs, session, truck):
    rs.post(reading(opacity_pct=80.0))
    assert rs.judge() == 1
    batch = session.scalars(select(RsBatch)).one()
    from mobsrc.remote_sensing import judging
    assert judging.judge_batch(session, batch.id) == 0
    assert batch.processed_at is not None and batch.outcomes["exceed"] == 1


def test_a_colour_mismatch_is_not_a_match(rs, truck):
    assert verdict_of(rs, plate_colour="blue")["vehicle_id"] is None


def test_two_stations_judge_with_their_own_calibration(client, session, principal_headers, rs, truck):
    other, headers = make_rs_station(session, principal_headers, calibrated=False)
    rs.post(reading())
    client.post("/api/v1/remote-sensing/readings", json={"readings": [reading()]}, headers=headers)
    rs.judge()
    mine = client.get("/api/v1/remote-sensing/readings", headers=rs.headers).json["items"]
    theirs = client.get("/api/v1/remote-sensing/readings", headers=headers).json["items"]
    assert [r["verdict"]["outcome"] for r in mine] == ["pass"]
    assert [r["verdict"]["outcome"] for r in theirs] == ["invalid"]


def test_black_smoke_with_a_plate_but_no_colour_is_still_charged_to_the_plate(rs, session):
    rs.post_and_judge(reading(plate_colour=None, ringelmann_grade=4))
    violation = session.scalar(select(Violation).where(Violation.kind == ViolationKind.BLACK_SMOKE))
    assert (violation.plate, violation.plate_colour, violation.vehicle_id) == ("贵A12345", None, None)

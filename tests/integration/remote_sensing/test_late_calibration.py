"""Calibration and audit records entered after the readings of their days were judged: a
certificate filed late makes lapsed readings judgeable; an audit that found the analyser out of
tolerance makes valid ones invalid.  The periodic job judges exactly those readings again (the
new verdict supersedes the old, citing the check now in force) and nothing else; a second run
changes nothing."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from mobsrc.core.auth.principals import SYSTEM
from mobsrc.remote_sensing import judging, service
from mobsrc.remote_sensing.models import RsConfirmation
from tests.integration.remote_sensing.conftest import DAY, RsSite, days, make_rs_station, reading


def codes(verdict) -> list[str]:
    return [reason["code"] for reason in verdict["reasons"]]


def record_check(session, station, passed: bool, valid_from: date, valid_to: date, kind="calibration"):
    return service.record_calibration(session, SYSTEM, station.id, dict(
        kind=kind, performed_on=valid_from, valid_from=valid_from, valid_to=valid_to, passed=passed))


def test_a_certificate_filed_late_gets_the_lapsed_readings_of_its_days_judged(
        client, session, principal_headers, truck):
    station, headers = make_rs_station(session, principal_headers, calibrated=False)
    site = RsSite(station, headers, client, session)
    first, second, later = site.post_and_judge(reading(opacity_pct=80.0), reading(DAY + days(3), opacity_pct=80.0),
                                               reading(DAY + days(9)))
    assert {codes(r["verdict"])[0] for r in (first, second, later)} == {"invalid.calibration_lapsed"}
    assert judging.rejudge_for_calibrations(session) == 0               # no new record: nothing to do
    certificate = record_check(session, station, True, date(2026, 5, 1), date(2026, 5, 25))
    assert judging.rejudge_for_calibrations(session) == 2               # the two readings it covers
    first, second, later = (site.reading(r["id"]) for r in (first, second, later))
    assert [r["verdict"]["outcome"] for r in (first, second)] == ["exceed", "exceed"]
    assert first["verdict"]["calibration_id"] == certificate.id
    old, new = first["verdicts"]
    assert old["superseded_at"] is not None and codes(old) == ["invalid.calibration_lapsed"]
    assert codes(later["verdict"]) == ["invalid.calibration_lapsed"]     # 29 May: not covered
    (confirmation,) = session.scalars(select(RsConfirmation)).all()     # two exceedances in 3 days
    assert confirmation.pollutant == "opacity" and len(confirmation.reading_ids) == 2
    assert judging.rejudge_for_calibrations(session) == 0               # a second run changes nothing


def test_a_failed_audit_entered_late_invalidates_the_verdicts_of_its_days(rs, session, truck):
    inside, outside = rs.post_and_judge(reading(), reading(DAY + days(3)))
    assert inside["verdict"]["outcome"] == outside["verdict"]["outcome"] == "pass"
    judging.rejudge_for_calibrations(session)                           # the fixture's certificate: no change
    audit = record_check(session, rs.station, False, date(2026, 5, 20), date(2026, 5, 21), kind="audit")
    assert judging.rejudge_for_calibrations(session) == 1
    inside, outside = rs.reading(inside["id"]), rs.reading(outside["id"])
    assert codes(inside["verdict"]) == ["invalid.calibration_lapsed"] and inside["verdict"]["calibration_id"] == audit.id
    assert outside["verdict"]["outcome"] == "pass" and len(outside["verdicts"]) == 1

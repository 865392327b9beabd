"""Which calibration / audit record is in force on a reading's local day."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from mobsrc.remote_sensing.calibration import CalibrationRecord, CheckKind, calibration_status, check_in_force

YEAR = CalibrationRecord(1, CheckKind.CALIBRATION, date(2026, 1, 1), date(2026, 12, 31), True)
FAILED_AUDIT = CalibrationRecord(2, CheckKind.AUDIT, date(2026, 5, 25), date(2026, 5, 26), False)
RECALIBRATED = CalibrationRecord(3, CheckKind.CALIBRATION, date(2026, 5, 26), date(2026, 11, 25), True)


@pytest.mark.parametrize("records, day, expected", [
    ([YEAR], date(2026, 1, 1), YEAR),                          # first day covered
    ([YEAR], date(2026, 12, 31), YEAR),                        # last day covered (inclusive)
    ([YEAR], date(2027, 1, 1), None),                          # lapsed
    ([], date(2026, 5, 1), None),
    ([YEAR, FAILED_AUDIT], date(2026, 5, 25), FAILED_AUDIT),   # the most recent check decides
    ([YEAR, FAILED_AUDIT, RECALIBRATED], date(2026, 5, 26), RECALIBRATED),  # same start: later record
    ([YEAR, FAILED_AUDIT, RECALIBRATED], date(2026, 5, 27), RECALIBRATED),
])
def test_the_most_recent_check_covering_the_day_is_in_force(records, day, expected):
    assert check_in_force(records, day) == expected


def test_status_is_by_the_asia_shanghai_day_and_a_failed_check_is_not_ok():
    last_minute = datetime(2026, 12, 31, 15, 59, tzinfo=UTC)   # 23:59 local
    next_day = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)       # 00:00 local on 2027-01-01
    assert calibration_status([YEAR], last_minute).ok and not calibration_status([YEAR], next_day).ok
    failed = calibration_status([YEAR, FAILED_AUDIT], datetime(2026, 5, 25, 1, tzinfo=UTC))
    assert (failed.ok, failed.record_id) == (False, 2)
    assert calibration_status([], next_day).record_id is None


def test_a_record_ending_before_it_starts_is_refused():
    with pytest.raises(ValueError):
        CalibrationRecord(9, CheckKind.AUDIT, date(2026, 2, 1), date(2026, 1, 1), True)

"""Day partitions (Beijing days), OBD settings, escalation defaults."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from mobsrc.obd.alarm_model import AlarmKind
from mobsrc.obd.alarms import RULES
from mobsrc.obd.escalation import VIOLATION_AFTER_H, is_due, is_handed_over
from mobsrc.obd.partition_plan import (
    day_bounds,
    days_needed,
    local_day,
    partition_day,
    partition_name,
)
from mobsrc.obd.settings import ObdSettings


def test_partitions_are_beijing_days():
    start, end = day_bounds(date(2026, 3, 1))
    assert start == datetime(2026, 2, 28, 16, tzinfo=UTC) and end - start == timedelta(days=1)
    assert local_day(datetime(2026, 2, 28, 16, tzinfo=UTC)) == date(2026, 3, 1)
    assert local_day(datetime(2026, 2, 28, 15, 59, 59, tzinfo=UTC)) == date(2026, 2, 28)


def test_partition_names_round_trip_and_foreign_names_are_ignored():
    name = partition_name("obd_stream_records", date(2026, 3, 1))
    assert name == "obd_stream_records_p20260301"
    assert partition_day("obd_stream_records", name) == date(2026, 3, 1)
    assert partition_day("obd_info_records", name) is None and partition_day("obd_stream_records", "x") is None


def test_partitions_cover_the_acceptance_window_and_days_ahead():
    now = datetime(2026, 3, 10, 17, tzinfo=UTC)                 # 01:00 on 11 March in Beijing
    days = days_needed(now, max_age_days=7, ahead_days=3)
    assert days[0] == date(2026, 3, 4) and days[-1] == date(2026, 3, 14) and len(days) == 11


def test_settings_from_the_environment_and_their_guard():
    settings = ObdSettings.from_extra({"MOBSRC_OBD_RETENTION_DAYS": "90", "MOBSRC_OBD_GATEWAY_BATCH_MS": "50",
                                       "MOBSRC_OTHER": "x"})
    assert (settings.retention_days, settings.gateway_batch_ms, settings.max_age_days) == (90, 50.0, 7)
    assert settings.acceptance.future_tolerance == timedelta(minutes=5)
    with pytest.raises(ValueError, match="RETENTION_DAYS"):
        ObdSettings(retention_days=7, max_age_days=7)


def test_every_rule_has_an_escalation_default():
    assert {rule.id for rule in RULES} == set(VIOLATION_AFTER_H)


def test_escalation_is_due_after_the_period_and_never_without_one():
    opened = datetime(2026, 3, 1, tzinfo=UTC)
    assert not is_due(opened, opened + timedelta(hours=71, minutes=59), 72.0)
    assert is_due(opened, opened + timedelta(hours=72), 72.0)
    assert not is_due(opened, opened + timedelta(days=999), None)


def test_offline_terminals_are_not_handed_to_the_im_loop():
    assert not is_handed_over(AlarmKind.TERMINAL_OFFLINE) and is_handed_over(AlarmKind.NOX_EXCEEDANCE)

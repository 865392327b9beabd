"""Dashboard statistics: counts by kind, status, district and Beijing day; repeat offenders."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mobsrc.core import clock
from mobsrc.enforcement.register import ViolationKind, ViolationStatus
from tests.integration.enforcement.conftest import machine_draft, point_in, vehicle_draft

K = ViolationKind
# 2026-11-10 23:30 UTC is 2026-11-11 07:30 in Beijing: it counts on the 11th.
LATE_UTC = datetime(2026, 11, 10, 23, 30, tzinfo=UTC)
WINDOW = {"occurred_from": "2026-11-09T00:00:00+08:00", "occurred_to": "2026-11-13T00:00:00+08:00"}


@pytest.fixture
def week(record, session):
    lon, lat = point_in("520102")
    made = [
        record(vehicle_draft(occurred_at=datetime(2026, 11, 9, 2, tzinfo=UTC), plate="贵A00001", lon=lon, lat=lat)),
        record(vehicle_draft(occurred_at=LATE_UTC, plate="贵A00001", kind=K.RS_HIGH_EMITTER, district_code="520103")),
        record(vehicle_draft(occurred_at=LATE_UTC + timedelta(hours=1), plate="贵A00001", district_code="520103")),
        record(vehicle_draft(occurred_at=LATE_UTC + timedelta(hours=2), plate="贵A00002")),  # no place
        record(machine_draft(occurred_at=LATE_UTC, machine_code="520115EX000001C", district_code="520115")),
        record(machine_draft(occurred_at=LATE_UTC + timedelta(hours=3), machine_code="520115EX000001C",
                             district_code="520115")),
        record(vehicle_draft(occurred_at=datetime(2026, 11, 20, tzinfo=UTC), plate="贵A00001")),  # outside
    ]
    made[1].status = ViolationStatus.PENALISED
    session.flush()
    return made


def test_counts_by_kind_status_district_and_beijing_day(client, as_police, week):
    stats = client.get("/api/v1/violations/statistics", query_string=WINDOW, headers=as_police).json
    assert stats["total"] == 6
    assert stats["by_kind"] == [{"kind": "black_smoke", "count": 3}, {"kind": "nrmm_in_no_use_zone", "count": 2},
                                {"kind": "rs_high_emitter", "count": 1}]
    assert stats["by_status"] == [{"status": "open", "count": 5}, {"status": "under_review", "count": 0},
                                  {"status": "penalised", "count": 1}, {"status": "dismissed", "count": 0}]
    assert stats["by_district"] == [
        {"district_code": "520103", "district_name": "云岩区", "count": 2},
        {"district_code": "520115", "district_name": "观山湖区", "count": 2},
        {"district_code": "520102", "district_name": "南明区", "count": 1},
        {"district_code": None, "district_name": None, "count": 1}]
    assert stats["by_day"] == [{"day": "2026-11-09", "count": 1}, {"day": "2026-11-10", "count": 0},
                               {"day": "2026-11-11", "count": 5}, {"day": "2026-11-12", "count": 0}]
    assert stats["occurred_from"] == "2026-11-09T00:00:00+08:00"


def test_statistics_take_the_same_filters(client, as_police, week):
    stats = client.get("/api/v1/violations/statistics", query_string=WINDOW | {"subject_type": "machine"},
                       headers=as_police).json
    assert stats["total"] == 2 and stats["by_district"][0]["district_code"] == "520115"


def test_the_default_window_is_the_last_30_beijing_days(client, as_police, week, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 11, 30, 20, tzinfo=UTC))  # 1 Dec, 04:00 Beijing
    stats = client.get("/api/v1/violations/statistics", headers=as_police).json
    assert stats["occurred_to"] == "2026-12-02T00:00:00+08:00" and len(stats["by_day"]) == 30
    assert stats["by_day"][0]["day"] == "2026-11-02" and stats["total"] == 7


@pytest.mark.parametrize("window", [
    {"occurred_from": "2025-01-01T00:00:00+08:00", "occurred_to": "2026-11-01T00:00:00+08:00"},
    {"occurred_from": "2026-11-02T00:00:00+08:00", "occurred_to": "2026-11-01T00:00:00+08:00"},
])
def test_windows_must_be_ordered_and_at_most_a_year(client, as_police, window):
    response = client.get("/api/v1/violations/statistics", query_string=window, headers=as_police)
    assert response.status_code == 422 and response.json["errors"][0]["field"] == "occurred_from"


def test_repeat_offenders_most_first(client, as_police, week):
    top = client.get("/api/v1/violations/repeat-offenders", query_string=WINDOW, headers=as_police).json
    assert [(o["plate"] or o["machine_code"], o["count"], o["open_count"]) for o in top] == [
        ("贵A00001", 3, 2), ("520115EX000001C", 2, 2)]
    first = top[0]
    assert first["subject_type"] == "vehicle" and first["kinds"] == ["black_smoke", "rs_high_emitter"]
    assert first["first_at"] == "2026-11-09T10:00:00+08:00" and first["last_at"] == "2026-11-11T08:30:00+08:00"
    once = client.get("/api/v1/violations/repeat-offenders", query_string=WINDOW | {"min_count": 1, "limit": 5},
                      headers=as_police).json
    assert [o["plate"] for o in once if o["subject_type"] == "vehicle"] == ["贵A00001", "贵A00002"]
    machines = client.get("/api/v1/violations/repeat-offenders", query_string=WINDOW | {"subject_type": "machine"},
                          headers=as_police).json
    assert [o["machine_code"] for o in machines] == ["520115EX000001C"]

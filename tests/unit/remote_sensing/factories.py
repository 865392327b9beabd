"""Valid baseline readings and limit documents for the remote-sensing unit tests."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from mobsrc.registry.identifiers import PlateColour
from mobsrc.remote_sensing.limit_documents import limit_table_from_dict, limit_table_to_dict
from mobsrc.remote_sensing.limits import DEFAULT_LIMITS, LimitTable
from mobsrc.remote_sensing.readings import Reading

MEASURED_AT = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)

# Inside every default validity window (VSP computed ~5.5 kW/t) and under every diesel limit.
BASELINE = Reading(
    station_code="GY-RS-01",
    measured_at=MEASURED_AT,
    lane=1,
    plate="贵A12345",
    plate_colour=PlateColour.YELLOW,
    speed_kmh=40.0,
    accel_ms2=0.3,
    opacity_pct=10.0,
    ringelmann_grade=0.0,
    no_ppm=500.0,
    co_pct=0.2,
    hc_ppm=50.0,
    co2_pct=3.0,
    wind_ms=1.0,
    temp_c=20.0,
    rh_pct=50.0,
    rain=False,
    slope_deg=0.0,
)


def make_reading(**overrides: Any) -> Reading:
    return replace(BASELINE, **overrides)


def default_document() -> dict[str, Any]:
    return copy.deepcopy(limit_table_to_dict(DEFAULT_LIMITS))


def table_with(**changes: Any) -> LimitTable:
    """DEFAULT_LIMITS with dotted-path changes applied through the dict API,
    e.g. table_with(**{"validity.accel_ms2": [-1, 2]})."""
    document = default_document()
    for path, value in changes.items():
        set_path(document, path, value)
    table = limit_table_from_dict(document)
    assert isinstance(table, LimitTable), table
    return table


def set_path(document: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for key in parents:
        document = document[key]
    document[leaf] = value


def delete_path(document: dict[str, Any], path: str) -> None:
    *parents, leaf = path.split(".")
    for key in parents:
        document = document[key]
    del document[leaf]


# Petrol limits used only to exercise configured petrol judgement: test values, NOT standard
# values (the real ones are unset and UNCONFIRMED, doc 1.4).
PETROL_TEST_LIMITS = {
    "co": {"value": 1.0, "clause": "test value", "tag": "UNCONFIRMED"},
    "hc": {"value": 200.0, "clause": "test value", "tag": "UNCONFIRMED"},
    "no": {"value": 1000.0, "clause": "test value", "tag": "UNCONFIRMED"},
}

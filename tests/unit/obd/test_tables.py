"""Field tables (standards-telemetry.md 1.8-1.11) and value classification (1.2, 1.16 step 6)."""
import pytest

from mobsrc.obd.hj1239.tables import (
    ENGINE_BODY,
    HYBRID_BODY,
    MONITORS,
    OBD_FIELD,
    STREAM_BODIES,
    SUPPLEMENTARY_BODY,
    TWC_BODY,
    TWC_NOX_BODY,
    ValueStatus,
)


@pytest.mark.parametrize("info_type, size", [(0x02, 37), (0x03, 30), (0x04, 8), (0x05, 32), (0x80, 17)])
def test_body_sizes(info_type, size):
    body = STREAM_BODIES[info_type]
    assert body.size == size == body.struct.size


# published valid ranges (1.10, 1.11): name -> (min, max)
PUBLISHED_RANGES = [
    (ENGINE_BODY, "vehicle_speed", 0, 250.99609375),
    (ENGINE_BODY, "atmospheric_pressure", 0, 125),
    (ENGINE_BODY, "engine_net_torque", -125, 125),
    (ENGINE_BODY, "friction_torque", -125, 125),
    (ENGINE_BODY, "engine_speed", 0, 8031.875),
    (ENGINE_BODY, "fuel_flow", 0, 3212.75),
    (ENGINE_BODY, "nox_upstream", -200, 3012.75),
    (ENGINE_BODY, "nox_downstream", -200, 3012.75),
    (ENGINE_BODY, "reagent_level", 0, 100),
    (ENGINE_BODY, "intake_air_flow", 0, 3212.75),
    (ENGINE_BODY, "scr_inlet_temperature", -273, 1734.96875),
    (ENGINE_BODY, "scr_outlet_temperature", -273, 1734.96875),
    (ENGINE_BODY, "dpf_pressure_drop", 0, 6425.5),
    (ENGINE_BODY, "coolant_temperature", -40, 210),
    (ENGINE_BODY, "fuel_level", 0, 100),
    (ENGINE_BODY, "longitude", 0, 180),
    (ENGINE_BODY, "latitude", 0, 90),
    (ENGINE_BODY, "total_mileage", 0, 429_496_729.4),
    (TWC_NOX_BODY, "twc_nox_downstream", -200, 3012.75),
    (TWC_BODY, "twc_temperature", -273, 1734.96875),
    (HYBRID_BODY, "motor_load", 0, 100),
    (HYBRID_BODY, "battery_voltage", 0, 6553.4),
    (HYBRID_BODY, "battery_current", -1000, 5553.4),
    (HYBRID_BODY, "battery_soc", 0, 100),
    (SUPPLEMENTARY_BODY, "dpf_exhaust_temperature", -273, 1734.96875),
]


@pytest.mark.parametrize("body, name, low, high", PUBLISHED_RANGES)
def test_valid_range_matches_published_range(body, name, low, high):
    spec = body.field(name)
    assert spec.valid_min == pytest.approx(low) and spec.valid_max == pytest.approx(high)


@pytest.mark.parametrize("name, offset", [("twc_nox_downstream", 12), ("intake_air_flow", 14),
                                          ("coolant_temperature", 16), ("position_status", 19)])
def test_twc_with_nox_shifts_fields_after_the_nox_sensor_by_two(name, offset):
    assert TWC_NOX_BODY.field(name).offset == offset
    if name != "twc_nox_downstream":
        assert TWC_BODY.field(name).offset == offset - 2


@pytest.mark.parametrize("body, name, raw, status, value", [
    (ENGINE_BODY, "engine_speed", 0xFAFF, ValueStatus.VALID, 8031.875),
    (ENGINE_BODY, "engine_speed", 0xFB00, ValueStatus.ERROR, None),      # J1939 reserved
    (ENGINE_BODY, "engine_speed", 0xFDFF, ValueStatus.ERROR, None),
    (ENGINE_BODY, "engine_speed", 0xFE00, ValueStatus.ERROR, None),      # J1939 error
    (ENGINE_BODY, "scr_inlet_temperature", 0xFEFF, ValueStatus.ERROR, None),
    (ENGINE_BODY, "engine_speed", 0xFF00, ValueStatus.INVALID, None),    # not available
    (ENGINE_BODY, "engine_speed", 0xFFFF, ValueStatus.INVALID, None),
    (ENGINE_BODY, "reagent_level", 0xFA, ValueStatus.VALID, 100.0),
    (ENGINE_BODY, "reagent_level", 0xFB, ValueStatus.ERROR, None),
    (ENGINE_BODY, "reagent_level", 0xFE, ValueStatus.ERROR, None),
    (ENGINE_BODY, "reagent_level", 0xFF, ValueStatus.INVALID, None),
    (ENGINE_BODY, "nox_downstream", 0, ValueStatus.SUSPECT, -200.0),     # sensor not ready
    (ENGINE_BODY, "scr_outlet_temperature", 0, ValueStatus.SUSPECT, -273.0),
    (ENGINE_BODY, "longitude", 180_000_001, ValueStatus.OUT_OF_RANGE, None),
    (ENGINE_BODY, "longitude", 0xFFFFFFFF, ValueStatus.INVALID, None),
    (ENGINE_BODY, "total_mileage", 0xFFFFFFFE, ValueStatus.VALID, 429_496_729.4),
    (HYBRID_BODY, "battery_soc", 101, ValueStatus.OUT_OF_RANGE, None),
    (HYBRID_BODY, "battery_soc", 0xFF, ValueStatus.INVALID, None),
    (HYBRID_BODY, "battery_current", 0, ValueStatus.VALID, -1000.0),
])
def test_value_status_and_not_available_value(body, name, raw, status, value):
    spec = body.field(name)
    assert spec.status(raw) is status
    assert spec.physical(raw) == value


@pytest.mark.parametrize("name, raw, status", [
    ("protocol", 2, ValueStatus.VALID), ("protocol", 3, ValueStatus.OUT_OF_RANGE),
    ("protocol", 0xFE, ValueStatus.INVALID), ("mil", 1, ValueStatus.VALID),
    ("mil", 0xFE, ValueStatus.INVALID), ("dtc_count", 253, ValueStatus.VALID),
    ("dtc_count", 0xFE, ValueStatus.INVALID),
])
def test_obd_enumerations_use_0xfe_as_invalid(name, raw, status):
    assert OBD_FIELD[name].status(raw) is status


@pytest.mark.parametrize("body, name, value", [
    (ENGINE_BODY, "vehicle_speed", 45.5), (ENGINE_BODY, "reagent_level", 62.4),
    (ENGINE_BODY, "nox_downstream", 35.25), (ENGINE_BODY, "coolant_temperature", -40),
    (HYBRID_BODY, "battery_current", -12.5),
])
def test_to_raw_inverts_scaling(body, name, value):
    spec = body.field(name)
    assert spec.physical(spec.to_raw(value)) == value


def test_to_raw_of_none_is_the_invalid_marker_and_off_range_is_refused():
    spec = ENGINE_BODY.field("engine_speed")
    assert spec.to_raw(None) == 0xFFFF
    with pytest.raises(ValueError):
        spec.to_raw(9000)


def test_bit_map_monitors_are_lsb_first():
    assert len(MONITORS) == 16
    assert (MONITORS[0], MONITORS[10], MONITORS[11], MONITORS[15]) == (
        "catalyst", "dpf", "nox_catalyst_scr", "comprehensive_component")


@pytest.mark.parametrize("body", list(STREAM_BODIES.values()), ids=lambda b: b.name)
def test_every_field_documents_unit_source_and_chinese_label(body):
    for spec in body.fields:
        assert spec.source and spec.label_zh

"""Alarm rules over synthetic tracks that must and must not alarm, and the alarm lifecycle."""
from datetime import timedelta

import pytest

from mobsrc.obd.alarm_model import RemovalReport
from mobsrc.obd.alarms import (
    NO_DATA,
    RULES,
    RULES_BY_ID,
    AlarmDecision,
    AlarmKind,
    OpenAlarm,
    VehicleWindow,
    advance_alarms,
    evaluate_rules,
)
from mobsrc.obd.hj1239.messages import EngineStream, Layout, ObdInfo
from mobsrc.obd.hj1239.records import ReportKind, flatten_frame, obd_record, stream_record
from mobsrc.obd.hj1239.simulate import TruckPlan, simulate_trip

from .frames import TEST_VIN as VIN
from .frames import utc

T0 = utc(2024, 3, 15, 2, 0, 0)
WARM = dict(vehicle_speed=50, engine_speed=1500, engine_net_torque=40, scr_inlet_temperature=300,
            scr_outlet_temperature=290, nox_upstream=400, nox_downstream=30, reagent_level=50,
            dpf_pressure_drop=3, intake_air_flow=600, coolant_temperature=85)
IDLE = dict(vehicle_speed=0, engine_speed=650, engine_net_torque=8)
COLD = dict(scr_inlet_temperature=150, scr_outlet_temperature=140)
OFF = dict(vehicle_speed=0, engine_speed=0, engine_net_torque=0)


def record(second: float, **values):
    block = EngineStream.from_values(T0 + timedelta(seconds=second), None, **{**WARM, **values})
    return stream_record(VIN, ReportKind.REALTIME, Layout.HJ, block)


def track(*segments, start=0):
    """Segments of (seconds, overrides) at 1 Hz."""
    records, t = [], start
    for seconds, overrides in segments:
        records += [record(t + k, **overrides) for k in range(seconds)]
        t += seconds
    return records


def window(streams=(), obd=(), **kw):
    now = kw.pop("now", (streams[-1].collected_at if streams else T0) + timedelta(seconds=1))
    return VehicleWindow(VIN, now, tuple(streams), tuple(obd), **kw)


def obd(second, mil=0, dtcs=(), vin=VIN, cal=b"CAL0001", cvn=bytes.fromhex("12345678")):
    info = ObdInfo(T0 + timedelta(seconds=second), None, 1, mil, 0, 0, vin, cal.ljust(18, b"\x00"),
                   cvn.ljust(18, b"\x00"), bytes(36), len(dtcs), tuple(dtcs))
    return obd_record(VIN, ReportKind.REALTIME, Layout.HJ, info)


def judge(rule_id, w, params=None):
    return RULES_BY_ID[rule_id].judge(w, params)


HIGH_NOX = dict(nox_downstream=700)

# --- NOx exceedance ---------------------------------------------------------------------------
NOX_CASES = [
    ("sustained_exceedance", [(400, HIGH_NOX)], True),
    ("compliant", [(900, {})], False),
    ("cold_start_scr_cold", [(900, {**HIGH_NOX, **COLD})], None),
    ("idling", [(900, {**HIGH_NOX, **IDLE})], None),
    ("engine_off", [(900, {**HIGH_NOX, **OFF})], None),
    ("spike_shorter_than_sustain", [(100, {}), (250, HIGH_NOX), (100, {})], False),
    ("repeated_short_spikes", [(60, HIGH_NOX), (5, {})] * 10, False),
    ("short_idle_inside_run_keeps_it", [(200, HIGH_NOX), (20, IDLE), (200, HIGH_NOX)], True),
    ("long_idle_splits_the_run", [(200, HIGH_NOX), (60, IDLE), (200, HIGH_NOX), (10, {})], False),
    ("exceedance_building_up_is_undetermined", [(600, {}), (200, HIGH_NOX)], None),
    ("tail_of_a_run_then_engine_off_is_undetermined", [(200, HIGH_NOX), (900, OFF)], None),
    ("nox_not_available", [(900, {"nox_downstream": None})], None),
    ("sensor_not_ready_minus_200", [(900, {"nox_downstream": -200})], None),
    ("scr_temperature_error_marker", [(900, {**HIGH_NOX, "scr_inlet_temperature": None,
                                             "scr_outlet_temperature": None})], None),
    ("outlet_temperature_used_when_inlet_missing", [(400, {**HIGH_NOX, "scr_inlet_temperature": None})], True),
]


@pytest.mark.parametrize("name, segments, expected", NOX_CASES, ids=[c[0] for c in NOX_CASES])
def test_nox_exceedance_only_when_sustained_under_valid_operating_conditions(name, segments, expected):
    result = judge("nox_exceedance", window(track(*segments)))
    if expected is None:
        assert result is NO_DATA
    elif expected:
        assert isinstance(result, AlarmDecision) and result.kind is AlarmKind.NOX_EXCEEDANCE
    else:
        assert result is None


def test_nox_decision_carries_the_window_evidence():
    decision = RULES_BY_ID["nox_exceedance"].evaluate(window(track((60, {}), (400, HIGH_NOX))))
    assert (decision.first_at, decision.last_at) == (T0 + timedelta(seconds=60), T0 + timedelta(seconds=459))
    assert decision.evidence["nox_downstream_max_ppm"] == 700
    assert decision.evidence["threshold_ppm"] == 500 and decision.evidence["samples"] == 400
    assert decision.key == (VIN, AlarmKind.NOX_EXCEEDANCE)


def test_thresholds_are_configurable_and_unknown_names_refused():
    w = window(track((400, HIGH_NOX)))
    assert RULES_BY_ID["nox_exceedance"].evaluate(w, {"nox_ppm": 800}) is None
    with pytest.raises(ValueError):
        RULES_BY_ID["nox_exceedance"].evaluate(w, {"nox_pmm": 800})


def test_records_out_of_order_are_sorted_by_collection_time():
    records = track((400, HIGH_NOX))
    assert RULES_BY_ID["nox_exceedance"].evaluate(window(records[::-1], now=T0 + timedelta(hours=1)))


# --- SCR efficiency ------------------------------------------------------------------------------
@pytest.mark.parametrize("segments, expected", [
    ([(400, {"nox_upstream": 400, "nox_downstream": 300})], True),          # 25 %
    ([(400, {"nox_upstream": 400, "nox_downstream": 40})], False),          # 90 %
    ([(400, {"nox_upstream": 50, "nox_downstream": 45})], None),            # engine-out too low
    ([(400, {"nox_upstream": 400, "nox_downstream": 300, **COLD})], None),  # cold SCR
])
def test_low_scr_efficiency(segments, expected):
    result = judge("low_scr_efficiency", window(track(*segments)))
    assert (result is NO_DATA) if expected is None else (isinstance(result, AlarmDecision) is expected)


# --- MIL ---------------------------------------------------------------------------------------
def test_mil_on_in_latest_obd_block_alarms_with_dtcs_as_evidence():
    decision = judge("mil_on", window(obd=[obd(0), obd(60, mil=1, dtcs=(0x145600AF,)),
                                           obd(120, mil=1, dtcs=(0x145600AF,))]))
    assert decision.first_at == T0 + timedelta(seconds=60)
    assert decision.evidence["dtc_codes"] == ["P1456-00/AF"]


@pytest.mark.parametrize("blocks, params, expected", [
    ([(0, 1, ()), (60, 0, ())], None, None),            # MIL went off
    ([(0, 1, ())], {"require_dtc": 1}, None),          # no emission DTC
    ([(0, 0xFE, ())], None, NO_DATA),                  # MIL state invalid
    ([], None, NO_DATA),
])
def test_mil_not_alarmed(blocks, params, expected):
    assert judge("mil_on", window(obd=[obd(t, mil, d) for t, mil, d in blocks]), params) is expected


# --- reagent -----------------------------------------------------------------------------------
@pytest.mark.parametrize("level, empty", [(5.2, False), (0.0, True)])
def test_reagent_low_or_empty_while_running(level, empty):
    decision = judge("reagent_low", window(track((120, {"reagent_level": level}))))
    assert decision.evidence["empty"] is empty and decision.evidence["reagent_min_pct"] == level


@pytest.mark.parametrize("segments, expected", [
    ([(120, {"reagent_level": 40})], None),
    ([(30, {"reagent_level": 5}), (90, {"reagent_level": 40})], None),       # shorter than 60 s
    ([(120, {"reagent_level": 5, **OFF})], NO_DATA),                         # engine off
    ([(120, {"reagent_level": None})], NO_DATA),
])
def test_reagent_not_alarmed(segments, expected):
    assert judge("reagent_low", window(track(*segments))) is expected


# --- DPF ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("overrides, direction", [
    ({"dpf_pressure_drop": 30}, "high"),
    ({"dpf_pressure_drop": 0.1, "intake_air_flow": 800}, "low"),
])
def test_dpf_pressure_abnormal(overrides, direction):
    decision = judge("dpf_pressure_abnormal", window(track((400, overrides))))
    assert decision.evidence["directions"] == [direction]


@pytest.mark.parametrize("overrides", [{"dpf_pressure_drop": 5},
                                       {"dpf_pressure_drop": 0.1, "intake_air_flow": 100}])
def test_dpf_pressure_normal(overrides):
    assert judge("dpf_pressure_abnormal", window(track((400, overrides)))) is None


# --- stuck NOx sensor ---------------------------------------------------------------------------
def _varying_rpm(n, **values):
    """rpm 800-1790 and an upstream sensor that moves, as on a healthy engine."""
    return [record(k, **{"engine_speed": 800 + (k % 100) * 10, "nox_upstream": 300 + k % 50, **values})
            for k in range(n)]


def test_nox_sensor_constant_while_engine_varies_is_stuck():
    decision = judge("nox_sensor_stuck", window(_varying_rpm(700, nox_downstream=123.4)))
    assert decision.evidence["sensor"] == "nox_downstream" and decision.evidence["value_ppm"] == 123.4


@pytest.mark.parametrize("records", [
    [record(k, nox_upstream=300 + k % 50, nox_downstream=123.4) for k in range(700)],  # rpm constant
    [record(k, engine_speed=800 + (k % 100) * 10, nox_upstream=300 + k % 50, nox_downstream=100 + k % 7)
     for k in range(700)],
    _varying_rpm(500, nox_downstream=123.4),                                    # shorter than 600 s
    _varying_rpm(700, nox_downstream=-200),                                     # not ready: suspect
], ids=["rpm_constant", "values_vary", "too_short", "not_ready"])
def test_nox_sensor_not_stuck(records):
    assert not isinstance(judge("nox_sensor_stuck", window(records)), AlarmDecision)
    assert RULES_BY_ID["nox_sensor_stuck"].evaluate(window(records)) is None


def test_stuck_sensor_clears_only_once_the_reading_moves():
    assert judge("nox_sensor_stuck", window(_varying_rpm(300, nox_downstream=50 + 0))) is NO_DATA
    moving = [record(k, engine_speed=800 + k, nox_upstream=300 + k % 50, nox_downstream=50 + k % 9)
              for k in range(300)]
    assert judge("nox_sensor_stuck", window(moving)) is None


# --- VIN, calibration ------------------------------------------------------------------------------
def test_records_sent_under_another_header_vin_are_a_mismatch():
    foreign = stream_record("LGDCHA1G8MA127733", ReportKind.REALTIME, Layout.HJ,
                            EngineStream.from_values(T0, None, engine_speed=800))
    decision = judge("vin_mismatch", window([foreign]))
    assert decision.evidence["header_vins"] == ["LGDCHA1G8MA127733"]


def test_stream_records_alone_cannot_clear_a_vin_mismatch():
    assert judge("vin_mismatch", window(track((10, {})))) is NO_DATA


@pytest.mark.parametrize("obd_vin, expected", [
    ("LGDCHA1G8MA127733", True), (VIN, False), ("0" * 17, None), ("\x00" * 17, None)])
def test_vin_mismatch(obd_vin, expected):
    result = judge("vin_mismatch", window(obd=[obd(0, vin=obd_vin)]))
    assert (result is NO_DATA) if expected is None else (isinstance(result, AlarmDecision) is expected)


@pytest.mark.parametrize("known, blocks, expected", [
    (("CAL0001", "12345678" + "00" * 14), [("CAL0002", "12345678")], True),      # CAL ID changed
    (("CAL0001", "12345678" + "00" * 14), [("CAL0001", "87654321")], True),      # CVN changed
    ((None, None), [("CAL0001", "12345678"), ("CAL0001", "ABCDEF01")], True),     # inside window
    (("CAL0001", "12345678" + "00" * 14), [("CAL0001", "12345678")], False),
    ((None, None), [("CAL0001", "12345678")], False),                            # first sight
    (("CAL0001", None), [("CAL0001", "12345678")], False),                       # CVN unknown
    (("CAL0001", "12345678" + "00" * 14), [("CAL0002", "00000000")], None),      # blank CVN
])
def test_calibration_change(known, blocks, expected):
    records = [obd(i, cal=cal.encode(), cvn=bytes.fromhex(cvn)) for i, (cal, cvn) in enumerate(blocks)]
    result = judge("calibration_changed", window(obd=records, known_cal_id=known[0], known_cvn_hex=known[1]))
    assert (result is NO_DATA) if expected is None else (isinstance(result, AlarmDecision) is expected)


# --- offline ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("silent, expected", [(timedelta(hours=25), True), (timedelta(hours=1), False)])
def test_terminal_offline(silent, expected):
    w = window(now=T0 + silent, last_seen_at=T0)
    assert isinstance(judge("terminal_offline", w), AlarmDecision) is expected


def test_offline_without_last_seen_cannot_be_judged():
    assert judge("terminal_offline", window()) is NO_DATA


# --- terminal removed (0x06) -------------------------------------------------------------------------
def removed(*seconds, fix=(106.71, 26.57)):
    return tuple(RemovalReport(T0 + timedelta(seconds=s), *fix, True) for s in seconds)


def test_a_removal_report_alone_is_a_removed_terminal_with_where_it_was():
    result = judge("terminal_removed", window(removals=removed(0, 60, 120), now=T0 + timedelta(minutes=5)))
    assert isinstance(result, AlarmDecision) and result.kind is AlarmKind.TERMINAL_REMOVED
    assert (result.first_at, result.last_at) == (T0, T0 + timedelta(seconds=120))
    assert result.evidence["reports"] == 3
    assert result.evidence["position"] == {"longitude": 106.71, "latitude": 26.57, "reported_at": T0.isoformat()}


def test_engine_data_beside_repeated_removal_reports_keeps_the_sign():
    """Power cut, terminal on its battery: it still reports, and repeats 0x06 every 60 s."""
    w = window(track((300, {})), removals=removed(*range(0, 300, 60)))
    assert isinstance(judge("terminal_removed", w), AlarmDecision)


@pytest.mark.parametrize("after_last_s, expected", [(170, True), (190, False)])
def test_engine_data_past_the_clear_period_after_the_last_report_clears_it(after_last_s, expected):
    streams = track((after_last_s + 1, {}))         # 1 Hz from T0: the last sample at after_last_s
    result = judge("terminal_removed", window(streams, removals=removed(0)))
    assert isinstance(result, AlarmDecision) is expected
    assert expected or result is None


def test_only_the_latest_run_of_reports_is_the_finding():
    result = judge("terminal_removed", window(removals=removed(0, 60, 7200, 7260), now=T0 + timedelta(hours=3)))
    assert result.first_at == T0 + timedelta(seconds=7200) and result.evidence["reports"] == 2


def test_no_removal_report_is_clear_with_engine_data_and_unjudged_without():
    assert judge("terminal_removed", window(track((10, {})))) is None
    assert judge("terminal_removed", window()) is NO_DATA


def test_a_removal_report_without_a_valid_fix_names_no_position():
    w = window(removals=(RemovalReport(T0, None, None, False),), now=T0 + timedelta(minutes=1))
    assert judge("terminal_removed", w).evidence["position"] is None


# --- rules as data -----------------------------------------------------------------------------------
def test_every_rule_documents_its_thresholds():
    assert len({rule.id for rule in RULES}) == len(RULES) == len(AlarmKind)
    for rule in RULES:
        assert rule.description and rule.thresholds
        assert all(t.source for t in rule.thresholds)
        assert rule.params() == rule.defaults


def test_evaluate_rules_reports_only_judgeable_rules():
    judged = evaluate_rules(window(track((400, HIGH_NOX))))
    assert judged[(VIN, AlarmKind.NOX_EXCEEDANCE)] is not None
    assert judged[(VIN, AlarmKind.REAGENT_LOW)] is None
    assert (VIN, AlarmKind.MIL_ON) not in judged and (VIN, AlarmKind.TERMINAL_OFFLINE) not in judged


# --- lifecycle ---------------------------------------------------------------------------------------
def _decision(kind=AlarmKind.MIL_ON):
    return AlarmDecision("mil_on", kind, VIN, T0, T0, {"x": 1})


def test_advance_opens_new_alarms_once():
    key = (VIN, AlarmKind.MIL_ON)
    to_open, to_close = advance_alarms([], {key: _decision()}, T0)
    assert [a.key for a in to_open] == [key] and to_close == ()
    assert to_open[0].opened_at == T0 and to_open[0].evidence == {"x": 1}
    assert advance_alarms(to_open, {key: _decision()}, T0 + timedelta(minutes=1)) == ((), ())


def test_advance_closes_cleared_and_leaves_unjudged_alarms():
    mil = OpenAlarm(VIN, AlarmKind.MIL_ON, "mil_on", T0, T0, T0)
    nox = OpenAlarm(VIN, AlarmKind.NOX_EXCEEDANCE, "nox_exceedance", T0, T0, T0)
    to_open, to_close = advance_alarms([mil, nox], {(VIN, AlarmKind.MIL_ON): None}, T0)
    assert to_open == () and [c.alarm for c in to_close] == [mil]


def _run_lifecycle(records, span_s=600, step_s=60):
    """Evaluate a sliding window every step; return (opened at, closed at) events."""
    open_alarms, events = {}, []
    for end in range(step_s, int((records[-1].collected_at - T0).total_seconds()) + 2, step_s):
        now = T0 + timedelta(seconds=end)
        streams = [r for r in records if now - timedelta(seconds=span_s) <= r.collected_at < now]
        decisions = evaluate_rules(window(streams, now=now), rules=[RULES_BY_ID["nox_exceedance"]])
        to_open, to_close = advance_alarms(open_alarms.values(), decisions, now)
        for alarm in to_open:
            open_alarms[alarm.key] = alarm
            events.append(("open", end))
        for closure in to_close:
            del open_alarms[closure.alarm.key]
            events.append(("close", end))
    return events


def test_sustained_exceedance_opens_exactly_one_alarm_and_closes_when_it_clears():
    events = _run_lifecycle(track((600, {}), (900, HIGH_NOX), (1500, {})))
    assert [e[0] for e in events] == ["open", "close"]
    opened, closed = events[0][1], events[1][1]
    assert 600 + 300 <= opened <= 600 + 300 + 60
    assert 1500 <= closed <= 1500 + 600 + 60


def test_engine_off_after_exceedance_keeps_the_alarm_open():
    events = _run_lifecycle(track((400, HIGH_NOX), (1800, OFF)))
    assert [e[0] for e in events] == ["open"]


# --- simulated trips -------------------------------------------------------------------------------
def _trip_window(plan):
    streams, obd_rows = [], []
    for timed in simulate_trip(plan, 5):
        rows = flatten_frame(timed.frame)
        streams += rows.streams
        obd_rows += rows.obd
    return VehicleWindow(plan.vin, plan.start + timedelta(seconds=plan.duration_s + 5), tuple(streams),
                         tuple(obd_rows), last_seen_at=plan.start + timedelta(seconds=plan.duration_s))


def test_simulated_cold_start_of_a_healthy_truck_raises_no_alarm():
    judged = evaluate_rules(_trip_window(TruckPlan(duration_s=1800)))
    assert set(judged.values()) == {None}


def test_simulated_failed_scr_raises_nox_and_efficiency_alarms_only_after_warm_up():
    plan = TruckPlan(duration_s=1800, tailpipe_nox_ppm=800)
    judged = evaluate_rules(_trip_window(plan))
    raised = {kind for (_, kind), decision in judged.items() if decision}
    assert raised == {AlarmKind.NOX_EXCEEDANCE, AlarmKind.LOW_SCR_EFFICIENCY}
    nox = judged[(plan.vin, AlarmKind.NOX_EXCEEDANCE)]
    assert nox.first_at - plan.start > timedelta(minutes=2)      # SCR cold before

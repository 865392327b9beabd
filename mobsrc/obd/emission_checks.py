"""Checks over engine-stream records (type 0x02, DPF/SCR diesel): NOx exceedance, SCR
conversion efficiency, reagent level, DPF differential pressure, stuck NOx sensor.

Practice from standards-enforcement.md 6.2 [SECONDARY]; every threshold is UNCONFIRMED and
arrives in `p` (see alarms.RULES for defaults).  Only VALID values count: invalid, error,
out-of-range and suspect values (NOx -200 ppm = sensor not ready) never trigger or clear.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from mobsrc.obd.alarm_model import NO_DATA, Finding, NoData, VehicleWindow
from mobsrc.obd.hj1239.records import StreamRecord
from mobsrc.obd.hj1239.tables import InfoType

Params = Mapping[str, float]
CheckResult = Finding | None | NoData


def engine_records(window: VehicleWindow) -> list[StreamRecord]:
    return [r for r in window.streams if r.info_type == InfoType.ENGINE]


def is_engine_running(record: StreamRecord, p: Params) -> bool:
    rpm = record.valid_value("engine_speed")
    return rpm is not None and rpm >= p["min_rpm"]


def scr_temperature(record: StreamRecord) -> float | None:
    """SCR inlet temperature, the outlet one when the inlet is not available."""
    inlet = record.valid_value("scr_inlet_temperature")
    return inlet if inlet is not None else record.valid_value("scr_outlet_temperature")


def is_valid_operating_condition(record: StreamRecord, p: Params) -> bool:
    """Engine running, after-treatment warm, not idling — all judged on valid values."""
    if not is_engine_running(record, p):
        return False
    temperature = scr_temperature(record)
    if temperature is None or temperature < p["min_scr_temp_c"]:
        return False
    speed = record.valid_value("vehicle_speed")
    torque = record.valid_value("engine_net_torque")
    if speed is None or torque is None:
        return False
    return not (speed < p["idle_speed_kmh"] and torque < p["idle_torque_pct"])


def find_runs(records: Sequence[StreamRecord], exceeds: Callable[[StreamRecord], bool],
              max_gap_s: float) -> list[list[StreamRecord]]:
    """Maximal runs of exceeding records; a compliant record or a gap > max_gap_s ends one."""
    runs: list[list[StreamRecord]] = []
    current: list[StreamRecord] = []
    for record in records:
        hit = exceeds(record)
        if current and (not hit or _seconds(current[-1], record) > max_gap_s):
            runs.append(current)
            current = []
        if hit:
            current.append(record)
    if current:
        runs.append(current)
    return runs


def _seconds(first: StreamRecord, last: StreamRecord) -> float:
    return (last.collected_at - first.collected_at).total_seconds()


def latest_sustained(runs: list[list[StreamRecord]], sustain_s: float) -> list[StreamRecord] | None:
    lasting = [run for run in runs if _seconds(run[0], run[-1]) >= sustain_s]
    return lasting[-1] if lasting else None


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _sustained_finding(qualifying: list[StreamRecord], exceeds, p: Params, describe) -> CheckResult:
    """Finding for the latest sustained run; None (clear) only when the latest qualifying
    sample complies; NO_DATA when nothing qualifies or an exceedance is still building up
    (so a window holding only the tail of a run, or an engine-off period, closes nothing)."""
    if not qualifying:
        return NO_DATA
    run = latest_sustained(find_runs(qualifying, exceeds, p["max_gap_s"]), p["sustain_s"])
    if run is None:
        return NO_DATA if exceeds(qualifying[-1]) else None
    evidence = {"samples": len(run), "duration_s": _seconds(run[0], run[-1]), **describe(run)}
    return Finding(run[0].collected_at, run[-1].collected_at, evidence)


def check_nox_exceedance(window: VehicleWindow, p: Params) -> CheckResult:
    qualifying = [r for r in engine_records(window) if is_valid_operating_condition(r, p)
                  and r.valid_value("nox_downstream") is not None]
    return _sustained_finding(
        qualifying, lambda r: r.values["nox_downstream"] > p["nox_ppm"], p,
        lambda run: {"nox_downstream_max_ppm": max(r.values["nox_downstream"] for r in run),
                     "nox_downstream_mean_ppm": _mean([r.values["nox_downstream"] for r in run]),
                     "threshold_ppm": p["nox_ppm"]})


def conversion_efficiency(record: StreamRecord) -> float:
    return 1 - record.values["nox_downstream"] / record.values["nox_upstream"]


def check_scr_efficiency(window: VehicleWindow, p: Params) -> CheckResult:
    qualifying = [r for r in engine_records(window) if is_valid_operating_condition(r, p)
                  and r.valid_value("nox_downstream") is not None
                  and (r.valid_value("nox_upstream") or 0) >= max(p["min_upstream_ppm"], 1e-9)]
    return _sustained_finding(
        qualifying, lambda r: conversion_efficiency(r) < p["min_efficiency"], p,
        lambda run: {"efficiency_mean": _mean([conversion_efficiency(r) for r in run]),
                     "nox_upstream_mean_ppm": _mean([r.values["nox_upstream"] for r in run]),
                     "nox_downstream_mean_ppm": _mean([r.values["nox_downstream"] for r in run]),
                     "threshold": p["min_efficiency"]})


def check_reagent_low(window: VehicleWindow, p: Params) -> CheckResult:
    qualifying = [r for r in engine_records(window)
                  if is_engine_running(r, p) and r.valid_value("reagent_level") is not None]
    return _sustained_finding(
        qualifying, lambda r: r.values["reagent_level"] <= p["low_pct"], p,
        lambda run: {"reagent_min_pct": min(r.values["reagent_level"] for r in run),
                     "reagent_last_pct": run[-1].values["reagent_level"],
                     "empty": min(r.values["reagent_level"] for r in run) <= p["empty_pct"],
                     "threshold_pct": p["low_pct"]})


def _dpf_direction(record: StreamRecord, p: Params) -> str | None:
    drop = record.values["dpf_pressure_drop"]
    if drop > p["max_kpa"]:
        return "high"
    flow = record.valid_value("intake_air_flow")
    if flow is not None and flow >= p["low_check_min_flow_kg_h"] and drop < p["min_kpa"]:
        return "low"
    return None


def check_dpf_pressure(window: VehicleWindow, p: Params) -> CheckResult:
    qualifying = [r for r in engine_records(window)
                  if is_engine_running(r, p) and r.valid_value("dpf_pressure_drop") is not None]
    return _sustained_finding(
        qualifying, lambda r: _dpf_direction(r, p) is not None, p,
        lambda run: {"directions": sorted({_dpf_direction(r, p) for r in run}),
                     "dpf_max_kpa": max(r.values["dpf_pressure_drop"] for r in run),
                     "dpf_min_kpa": min(r.values["dpf_pressure_drop"] for r in run),
                     "max_kpa": p["max_kpa"], "min_kpa": p["min_kpa"]})


NOX_SENSORS = ("nox_upstream", "nox_downstream")


def constant_runs(records: Sequence[StreamRecord], name: str, tolerance: float,
                  max_gap_s: float) -> list[list[StreamRecord]]:
    """Maximal runs whose `name` values stay within `tolerance` (max - min)."""
    runs: list[list[StreamRecord]] = []
    current: list[StreamRecord] = []
    low = high = 0.0
    for record in records:
        value = record.values[name]
        if current and _seconds(current[-1], record) <= max_gap_s \
                and max(high, value) - min(low, value) <= tolerance:
            current.append(record)
            low, high = min(low, value), max(high, value)
            continue
        if current:
            runs.append(current)
        current, low, high = [record], value, value
    if current:
        runs.append(current)
    return runs


def _rpm_span(run: list[StreamRecord]) -> float:
    rpms = [r.values["engine_speed"] for r in run]
    return max(rpms) - min(rpms)


def check_nox_sensor_stuck(window: VehicleWindow, p: Params) -> CheckResult:
    """Finding when a sensor stays constant for sustain_s while the rpm varies; None (clear)
    only when every judged sensor's latest reading moved from its previous one."""
    running = [r for r in engine_records(window) if is_engine_running(r, p)]
    judged = still = False
    for name in NOX_SENSORS:
        samples = [r for r in running if r.valid_value(name) is not None]
        runs = constant_runs(samples, name, p["tolerance_ppm"], p["max_gap_s"])
        varying = [r for r in runs if _rpm_span(r) >= p["min_rpm_span"]]
        run = latest_sustained(varying, p["sustain_s"])
        if run is not None:
            return Finding(run[0].collected_at, run[-1].collected_at, {
                "sensor": name, "value_ppm": run[0].values[name], "samples": len(run),
                "duration_s": _seconds(run[0], run[-1]), "rpm_span": _rpm_span(run)})
        judged = judged or bool(samples)
        still = still or bool(runs and len(runs[-1]) > 1)
    return None if judged and not still else NO_DATA

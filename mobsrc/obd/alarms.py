"""OBD remote-monitoring alarm rules as data, and the alarm lifecycle.

Each rule: id, kind, description, thresholds (default + unit + source tag), and
`evaluate(window, params) -> AlarmDecision | None` over one vehicle's time-ordered window.
standards-enforcement.md 6.2 lists the alarms platforms practise [SECONDARY]; its section 7
leaves every `obd_remote.*` threshold unset and UNCONFIRMED — so are all defaults below.
Config keys for an admin table: f"obd_remote.{rule.id}.{threshold.name}".

Three outcomes (`judge`): a decision (the condition occurred in the window), None (judged
clear: e.g. the latest qualifying sample complies), NO_DATA (nothing to judge: engine off,
no OBD block, an exceedance still building up).  `advance_alarms` opens one alarm per
(vin, kind) while decisions come, closes it on None and ignores NO_DATA, so an engine-off
period or a window holding only the tail of a run neither opens nor closes anything.
Windows must span more than the longest sustain period (600 s by default): evaluate e.g.
the last 15 minutes on every batch.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from mobsrc.obd import emission_checks as emission
from mobsrc.obd import integrity_checks as integrity
from mobsrc.obd.alarm_model import (
    NO_DATA,
    AlarmClosure,
    AlarmDecision,
    AlarmKey,
    AlarmKind,
    Finding,
    NoData,
    OpenAlarm,
    Threshold,
    VehicleWindow,
)

__all__ = ["RULES", "RULES_BY_ID", "AlarmRule", "AlarmDecision", "AlarmKind", "Threshold",
           "VehicleWindow", "OpenAlarm", "AlarmClosure", "NO_DATA", "evaluate_rules",
           "advance_alarms"]

_U = "UNCONFIRMED — obd_remote.* thresholds unset (standards-enforcement.md 7)"
_Check = Callable[[VehicleWindow, Mapping[str, float]], "Finding | None | NoData"]


@dataclass(frozen=True, slots=True)
class AlarmRule:
    id: str
    kind: AlarmKind
    description: str
    thresholds: tuple[Threshold, ...]
    check: _Check = field(repr=False)

    @property
    def defaults(self) -> dict[str, float]:
        return {t.name: t.default for t in self.thresholds}

    def params(self, overrides: Mapping[str, float] | None = None) -> dict[str, float]:
        """Defaults overlaid with configured values; unknown names are an error."""
        unknown = set(overrides or ()) - {t.name for t in self.thresholds}
        if unknown:
            raise ValueError(f"rule {self.id}: unknown thresholds {sorted(unknown)}")
        return {**self.defaults, **(overrides or {})}

    def judge(self, window: VehicleWindow,
              params: Mapping[str, float] | None = None) -> AlarmDecision | None | NoData:
        """Decision, None (condition absent) or NO_DATA (nothing to judge)."""
        found = self.check(window, self.params(params))
        if not isinstance(found, Finding):
            return found
        return AlarmDecision(self.id, self.kind, window.vin, found.first_at, found.last_at,
                             found.evidence)

    def evaluate(self, window: VehicleWindow,
                 params: Mapping[str, float] | None = None) -> AlarmDecision | None:
        decision = self.judge(window, params)
        return None if decision is NO_DATA else decision


def _t(name: str, default: float, unit: str, why: str) -> Threshold:
    """An UNCONFIRMED threshold with the reason for its default."""
    return Threshold(name, default, unit, f"{why}; {_U}" if why else _U)


def _operating() -> tuple[Threshold, ...]:
    """Valid operating conditions shared by the NOx rules."""
    return (
        _t("min_rpm", 500.0, "rpm", "engine running"),
        _t("min_scr_temp_c", 250.0, "degC", "SCR warm (inlet, else outlet); urea-SCR light-off"),
        _t("idle_speed_kmh", 3.0, "km/h", "idle = below this speed and the idle torque"),
        _t("idle_torque_pct", 15.0, "%", "idle = below this net torque and the idle speed"),
        _t("sustain_s", 300.0, "s", "the condition must last this long"),
        _t("max_gap_s", 30.0, "s", "a longer gap between qualifying samples splits a run"),
    )


def _running(sustain_s: float, max_gap_s: float) -> tuple[Threshold, ...]:
    return (
        _t("min_rpm", 500.0, "rpm", "engine running"),
        _t("sustain_s", sustain_s, "s", "the condition must last this long"),
        _t("max_gap_s", max_gap_s, "s", "a longer gap splits a run"),
    )


def _rule(rule_id: str, description: str, thresholds: tuple[Threshold, ...],
          check: _Check) -> AlarmRule:
    return AlarmRule(rule_id, AlarmKind(rule_id), description, thresholds, check)


RULES: tuple[AlarmRule, ...] = (
    _rule("nox_exceedance",
          "SCR-downstream NOx above the threshold, sustained, under valid operating conditions",
          (_t("nox_ppm", 500.0, "ppm", "no remote-OBD NOx limit in the sources"),)
          + _operating(), emission.check_nox_exceedance),
    _rule("low_scr_efficiency",
          "SCR conversion efficiency 1 - down/up below the threshold, sustained, valid conditions",
          (_t("min_efficiency", 0.5, "1", "enforcement 6.2: downstream high relative to upstream"),
           _t("min_upstream_ppm", 100.0, "ppm", "low engine-out NOx makes the ratio noise"))
          + _operating(), emission.check_scr_efficiency),
    _rule("mil_on", "the latest OBD block reports the malfunction indicator lamp on",
          (_t("require_dtc", 0.0, "bool", "enforcement 6.2: 'MIL on with emission DTC'"),),
          integrity.check_mil_on),
    _rule("reagent_low", "reagent (urea) level at or below the threshold while the engine runs",
          (_t("low_pct", 10.0, "%", "enforcement 6.2: 'urea level 0 or persistently low'"),
           _t("empty_pct", 0.0, "%", "sets the evidence flag 'empty'"))
          + _running(60.0, 300.0), emission.check_reagent_low),
    _rule("dpf_pressure_abnormal",
          "DPF differential pressure too high (clogged) or too low at high flow (removed)",
          (_t("max_kpa", 20.0, "kPa", "enforcement 6.2: 'DPF pressure abnormal'"),
           _t("min_kpa", 0.3, "kPa", ""),
           _t("low_check_min_flow_kg_h", 500.0, "kg/h", "low-side check only above this flow"))
          + _running(300.0, 30.0), emission.check_dpf_pressure),
    _rule("nox_sensor_stuck",
          "a NOx sensor reports a constant valid value while the engine operating point varies",
          (_t("tolerance_ppm", 0.0, "ppm", "0 = identical readings"),
           _t("min_rpm_span", 300.0, "rpm", "the engine must vary meanwhile"))
          + _running(600.0, 30.0), emission.check_nox_sensor_stuck),
    _rule("vin_mismatch", "the VIN read from the ECU (OBD block) differs from the logged-in VIN",
          (Threshold("ignore_blank_obd_vin", 1.0, "bool", "telemetry 7.13 [SECONDARY]"),),
          integrity.check_vin_mismatch),
    _rule("calibration_changed",
          "CAL ID or CVN differs from the last known value (possible re-flash / tampering)",
          (Threshold("ignore_blank", 1.0, "bool", "blank values are fillers, telemetry 7.14"),),
          integrity.check_calibration_changed),
    _rule("terminal_offline", "no frame received from the terminal for longer than the period",
          (_t("offline_after_s", 86_400.0, "s",
              "HJ 1239.1 5.5.1: OBD data at least every 24 h [CONFIRMED]; as an alarm period"),),
          integrity.check_terminal_offline),
    _rule("terminal_removed", "the terminal reported its own removal (0x06 removal alarm)",
          (_t("clear_after_s", 180.0, "s",
              "terminals repeat 0x06 every 60 s (telemetry 1.7 [SECONDARY]); three periods of "
              "engine data without one mean the terminal is back"),),
          integrity.check_terminal_removed),
)

RULES_BY_ID: dict[str, AlarmRule] = {rule.id: rule for rule in RULES}


def evaluate_rules(window: VehicleWindow,
                   config: Mapping[str, Mapping[str, float]] | None = None,
                   rules: Iterable[AlarmRule] = RULES) -> dict[AlarmKey, AlarmDecision | None]:
    """(vin, kind) -> decision or None for every rule that could judge the window."""
    judged: dict[AlarmKey, AlarmDecision | None] = {}
    for rule in rules:
        decision = rule.judge(window, (config or {}).get(rule.id))
        if decision is not NO_DATA:
            judged[(window.vin, rule.kind)] = decision
    return judged


def advance_alarms(open_alarms: Iterable[OpenAlarm],
                   decisions: Mapping[AlarmKey, AlarmDecision | None],
                   at: datetime) -> tuple[tuple[OpenAlarm, ...], tuple[AlarmClosure, ...]]:
    """(to_open, to_close): open where a decision holds and no alarm is open for its key;
    close open alarms whose key was judged clear (None).  Keys absent from `decisions`
    (not judged) are left as they are."""
    current = {alarm.key: alarm for alarm in open_alarms}
    to_open, to_close = [], []
    for key, decision in decisions.items():
        if decision is not None and key not in current:
            to_open.append(OpenAlarm(decision.vin, decision.kind, decision.rule_id, at,
                                     decision.first_at, decision.last_at, decision.evidence))
        elif decision is None and key in current:
            to_close.append(AlarmClosure(current[key], at))
    return tuple(to_open), tuple(to_close)

"""The I/M parameter registry: every number the loop and the station supervision use, with its
default, bounds, confidence tag and source (standards-enforcement.md 7: configuration owned by
the ecology bureau). Pure.

The bureau stores overrides only (`im_parameters` table, admin API); `build_config(overrides)`
merges them onto the defaults of the pure modules and returns the one `ImConfig` the services
use. A default therefore lives in exactly one place: the pure module that decides with it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from types import MappingProxyType
from typing import Any

from mobsrc.im.cases import DEFAULT_POLICY, CasePolicy, TriggerKind
from mobsrc.im.deadlines import DEFAULT_DEADLINE_CONFIG, DeadlineConfig
from mobsrc.im.fraud import (
    AtLimitConfig,
    CurveReuseConfig,
    FraudConfig,
    PassRateConfig,
    QuickRetestConfig,
    ShortTestConfig,
)
from mobsrc.im.inspection import MIN_TEST_DURATIONS
from mobsrc.im.limits import LimitTier
from mobsrc.im.webhooks import DEFAULT_WEBHOOK_POLICY, WebhookPolicy


class InvalidParameter(ValueError):
    def __init__(self, key: str, reason: str):
        self.key, self.reason = key, reason
        super().__init__(f"{key}: {reason}")


@dataclass(frozen=True)
class Parameter:
    key: str
    kind: str  # "int" | "float" | "bool" | "choice"
    default: Any
    description: str
    tag: str = "UNCONFIRMED"
    source: str = "design default"
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    def problem(self, value: Any) -> str | None:
        """Why `value` cannot be this parameter's value, or None."""
        if value is None:
            return "may not be null"
        if self.kind == "bool":
            return None if isinstance(value, bool) else "must be true or false"
        if self.kind == "choice":
            return None if value in self.choices else f"must be one of {', '.join(self.choices)}"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be a number ({self.kind})"
        if self.kind == "int" and not float(value).is_integer():
            return "must be a whole number"
        if not math.isfinite(value):
            return "must be finite"
        if self.minimum is not None and value < self.minimum:
            return f"must be at least {self.minimum:g}"
        if self.maximum is not None and value > self.maximum:
            return f"must be at most {self.maximum:g}"
        return None

    def normalise(self, value: Any) -> Any:
        if self.kind in ("bool", "choice"):
            return value
        return int(value) if self.kind == "int" else float(value)


def _deadline_parameters() -> list[Parameter]:
    rules = DEFAULT_DEADLINE_CONFIG.triggers
    return [Parameter(f"deadline_days.{kind.value}", "int", rules[kind].deadline_days,
                      f"days an owner has to repair and pass a re-test after a {kind.value} case "
                      f"opens (parameter {rules[kind].key})", rules[kind].tag, rules[kind].source,
                      0, 365) for kind in TriggerKind]


def _short_test_parameters() -> list[Parameter]:
    return [Parameter(f"fraud.short_tests.min_seconds.{method.value}", "float", minimum.seconds,
                      f"shortest plausible {method.value} test: {minimum.reasoning}", minimum.tag,
                      "im/inspection.py MIN_TEST_DURATIONS", 0, 3600)
            for method, minimum in MIN_TEST_DURATIONS.items()]


_CURVES, _AT, _RATE, _QUICK = (CurveReuseConfig(), AtLimitConfig(), PassRateConfig(),
                               QuickRetestConfig())
_HOOK = DEFAULT_WEBHOOK_POLICY
PARAMETERS: Mapping[str, Parameter] = MappingProxyType({p.key: p for p in [
    *_deadline_parameters(),
    Parameter("escalate_after_days", "int", DEFAULT_DEADLINE_CONFIG.escalate_after_days,
              "days after a missed deadline before the case is referred to traffic police",
              "SECONDARY", "doc 5.2: Guizhou, 'otherwise the case goes to traffic police'", 0, 365),
    Parameter("deadline_end_of_local_day", "bool", DEFAULT_DEADLINE_CONFIG.end_of_local_day,
              "deadlines end at 24:00 Asia/Shanghai of the last day (else opened_at + days)",
              "UNCONFIRMED", "Civil Code Arts. 201/203 as recalled"),
    Parameter("retest_without_repair_record", "bool", DEFAULT_POLICY.retest_without_repair_record,
              "a re-test counts without an M station repair record", "UNCONFIRMED",
              "doc 4.3: varies locally"),
    Parameter("repeated_failure_review_after", "int", DEFAULT_POLICY.repeated_failure_review_after or 0,
              "failed re-tests after which the case is flagged for bureau review (0: never)",
              "UNCONFIRMED", "Air Law Art. 60 (wording UNCONFIRMED)", 0, 100),
    Parameter("auto_close_on_pass", "bool", True,
              "close a case as soon as its re-test passes (false: the bureau closes after review)"),
    Parameter("limit_tier", "choice", LimitTier.A.value,
              "limit tier (a / b) posted results are checked against (GB 3847 / GB 18285 cl. 11)",
              "UNCONFIRMED", "doc 2.3: local decision, 'a' until configured",
              choices=tuple(t.value for t in LimitTier)),
    Parameter("fraud.window_days", "int", 30,
              "days of stored inspections each supervision run analyses", minimum=1, maximum=366),
    Parameter("fraud.curves.correlation_threshold", "float", _CURVES.correlation_threshold,
              "correlation above which two emission curves are the same curve", "UNCONFIRMED",
              "doc 4.5 detector 1 (0.98 suggested; stricter default)", 0.9, 1.0),
    Parameter("fraud.curves.min_samples", "int", _CURVES.min_samples,
              "shortest curve compared", minimum=2, maximum=3600),
    *_short_test_parameters(),
    Parameter("fraud.short_tests.min_count", "int", ShortTestConfig().min_count,
              "short tests at one station before it is flagged", minimum=1, maximum=10_000),
    Parameter("fraud.at_limit.relative_margin", "float", _AT.relative_margin,
              "a passing value within this fraction of its limit is 'at the limit'",
              minimum=0.0, maximum=0.2),
    Parameter("fraud.at_limit.min_count", "int", _AT.min_count,
              "values at the limit before a station is judged", minimum=1, maximum=10_000),
    Parameter("fraud.at_limit.min_ratio", "float", _AT.min_ratio,
              "observed / expected-from-peers ratio that flags", minimum=1.0, maximum=1000.0),
    Parameter("fraud.at_limit.alpha", "float", _AT.alpha,
              "family-wise significance (Bonferroni over stations)", minimum=1e-12, maximum=0.1),
    Parameter("fraud.pass_rate.min_sample", "int", _RATE.min_sample,
              "station tests in a peer group before it is judged", minimum=1, maximum=100_000),
    Parameter("fraud.pass_rate.min_peer_tests", "int", _RATE.min_peer_tests,
              "peer tests in the group before a comparison is made", minimum=1, maximum=1_000_000),
    Parameter("fraud.pass_rate.max_fail_ratio", "float", _RATE.max_fail_ratio,
              "flag only when the station's fail rate is at most this share of its peers'",
              minimum=0.0, maximum=1.0),
    Parameter("fraud.pass_rate.alpha", "float", _RATE.alpha,
              "family-wise significance (Bonferroni over station groups)", minimum=1e-12, maximum=0.1),
    Parameter("fraud.quick_retest.window_minutes", "float", _QUICK.window.total_seconds() / 60,
              "a failure passed within this many minutes is too soon for a repair",
              minimum=1, maximum=7 * 24 * 60),
    Parameter("fraud.quick_retest.other_station_only", "bool", _QUICK.other_station_only,
              "only passes at another station count (doc 4.3 also names same-station passes)"),
    Parameter("webhook.max_attempts", "int", _HOOK.max_attempts,
              "delivery attempts before a webhook delivery is given up", minimum=1, maximum=50),
    Parameter("webhook.backoff_base_s", "float", _HOOK.backoff_base_s,
              "wait after the first failed attempt; doubles per attempt", minimum=1, maximum=86_400),
    Parameter("webhook.backoff_cap_s", "float", _HOOK.backoff_cap_s,
              "longest wait between attempts", minimum=1, maximum=7 * 86_400),
    Parameter("webhook.timeout_s", "float", _HOOK.timeout_s,
              "seconds to wait for the receiver's answer", minimum=0.5, maximum=60),
]})


@dataclass(frozen=True)
class ImConfig:
    deadlines: DeadlineConfig = DEFAULT_DEADLINE_CONFIG
    policy: CasePolicy = DEFAULT_POLICY
    fraud: FraudConfig = field(default_factory=FraudConfig)
    webhooks: WebhookPolicy = DEFAULT_WEBHOOK_POLICY
    limit_tier: LimitTier = LimitTier.A
    auto_close_on_pass: bool = True
    fraud_window_days: int = 30


def check_overrides(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Validated, normalised overrides. Raises InvalidParameter naming the first bad key."""
    clean = {}
    for key, value in changes.items():
        parameter = PARAMETERS.get(key)
        if parameter is None:
            raise InvalidParameter(key, "no such parameter")
        problem = parameter.problem(value)
        if problem:
            raise InvalidParameter(key, problem)
        clean[key] = parameter.normalise(value)
    return clean


def effective_values(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter's value: the override when there is one, else the default."""
    return {key: overrides.get(key, p.default) for key, p in PARAMETERS.items()}


def build_config(overrides: Mapping[str, Any] = MappingProxyType({})) -> ImConfig:
    """The configuration the services use: overrides (already checked) over the defaults."""
    values = effective_values(check_overrides(overrides))
    return ImConfig(
        deadlines=_deadlines(values), policy=_policy(values), fraud=_fraud(values),
        webhooks=WebhookPolicy(values["webhook.max_attempts"], values["webhook.backoff_base_s"],
                               values["webhook.backoff_cap_s"], values["webhook.timeout_s"]),
        limit_tier=LimitTier(values["limit_tier"]),
        auto_close_on_pass=values["auto_close_on_pass"],
        fraud_window_days=values["fraud.window_days"])


def _deadlines(values: Mapping[str, Any]) -> DeadlineConfig:
    config = replace(DEFAULT_DEADLINE_CONFIG, escalate_after_days=values["escalate_after_days"],
                     end_of_local_day=values["deadline_end_of_local_day"])
    for kind in TriggerKind:
        config = config.with_deadline_days(kind, values[f"deadline_days.{kind.value}"])
    return config


def _policy(values: Mapping[str, Any]) -> CasePolicy:
    return replace(DEFAULT_POLICY,
                   retest_without_repair_record=values["retest_without_repair_record"],
                   repeated_failure_review_after=values["repeated_failure_review_after"] or None)


def _fraud(values: Mapping[str, Any]) -> FraudConfig:
    minimums = {method: replace(minimum, seconds=values[
        f"fraud.short_tests.min_seconds.{method.value}"])
        for method, minimum in MIN_TEST_DURATIONS.items()}
    return FraudConfig(
        curves=replace(_CURVES, correlation_threshold=values["fraud.curves.correlation_threshold"],
                       min_samples=values["fraud.curves.min_samples"]),
        short_tests=ShortTestConfig(MappingProxyType(minimums),
                                    values["fraud.short_tests.min_count"]),
        at_limit=replace(_AT, relative_margin=values["fraud.at_limit.relative_margin"],
                         min_count=values["fraud.at_limit.min_count"],
                         min_ratio=values["fraud.at_limit.min_ratio"],
                         alpha=values["fraud.at_limit.alpha"]),
        pass_rate=replace(_RATE, min_sample=values["fraud.pass_rate.min_sample"],
                          min_peer_tests=values["fraud.pass_rate.min_peer_tests"],
                          max_fail_ratio=values["fraud.pass_rate.max_fail_ratio"],
                          alpha=values["fraud.pass_rate.alpha"]),
        quick_retest=replace(_QUICK, window=timedelta(
            minutes=values["fraud.quick_retest.window_minutes"]),
            other_station_only=values["fraud.quick_retest.other_station_only"]))


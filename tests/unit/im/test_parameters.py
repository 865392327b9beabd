"""The parameter registry: every default comes from the pure module that decides with it, bad
values are refused naming the key, and overrides reach the configuration the services use."""
from __future__ import annotations

from datetime import timedelta

import pytest

from mobsrc.im.cases import DEFAULT_POLICY, TriggerKind
from mobsrc.im.deadlines import DEFAULT_DEADLINE_CONFIG
from mobsrc.im.fraud import FraudConfig
from mobsrc.im.inspection import MIN_TEST_DURATIONS
from mobsrc.im.limits import InspectionMethod, LimitTier
from mobsrc.im.parameters import PARAMETERS, ImConfig, InvalidParameter, build_config, check_overrides
from mobsrc.im.webhooks import DEFAULT_WEBHOOK_POLICY


def test_no_override_gives_the_pure_modules_defaults():
    config = build_config()
    assert config == ImConfig(fraud=FraudConfig())
    assert config.deadlines == DEFAULT_DEADLINE_CONFIG and config.policy == DEFAULT_POLICY
    assert config.webhooks == DEFAULT_WEBHOOK_POLICY and config.limit_tier is LimitTier.A


@pytest.mark.parametrize("kind", list(TriggerKind))
def test_every_trigger_has_a_deadline_parameter_with_its_default_and_source(kind):
    parameter = PARAMETERS[f"deadline_days.{kind.value}"]
    rule = DEFAULT_DEADLINE_CONFIG.triggers[kind]
    assert (parameter.default, parameter.tag, parameter.source) == (rule.deadline_days, rule.tag, rule.source)
    assert build_config({parameter.key: 3}).deadlines.triggers[kind].deadline_days == 3


@pytest.mark.parametrize("method", list(MIN_TEST_DURATIONS))
def test_every_method_minimum_is_a_parameter(method):
    key = f"fraud.short_tests.min_seconds.{method.value}"
    assert PARAMETERS[key].default == MIN_TEST_DURATIONS[method].seconds
    assert build_config({key: 7}).fraud.short_tests.minimums[method].seconds == 7


def test_overrides_reach_each_part_of_the_configuration():
    config = build_config({"escalate_after_days": 2, "retest_without_repair_record": True,
                           "repeated_failure_review_after": 0, "limit_tier": "b", "auto_close_on_pass": False,
                           "fraud.quick_retest.window_minutes": 45, "fraud.pass_rate.alpha": 0.01,
                           "webhook.max_attempts": 3, "fraud.window_days": 7})
    assert config.deadlines.escalate_after_days == 2
    assert config.policy.retest_without_repair_record is True
    assert config.policy.repeated_failure_review_after is None  # 0 switches the review off
    assert config.limit_tier is LimitTier.B and config.auto_close_on_pass is False
    assert config.fraud.quick_retest.window == timedelta(minutes=45)
    assert config.fraud.pass_rate.alpha == 0.01 and config.webhooks.max_attempts == 3
    assert config.fraud_window_days == 7
    assert config.fraud.short_tests.minimums[InspectionMethod.ASM] == MIN_TEST_DURATIONS[InspectionMethod.ASM]


@pytest.mark.parametrize("key, value, reason", [
    ("deadline_days.spot_check", -1, "at least 0"), ("deadline_days.spot_check", 2.5, "whole number"),
    ("deadline_days.spot_check", True, "number"), ("deadline_days.spot_check", "15", "number"),
    ("escalate_after_days", 400, "at most 365"), ("limit_tier", "c", "one of a, b"),
    ("auto_close_on_pass", 1, "true or false"), ("fraud.curves.correlation_threshold", 0.5, "at least 0.9"),
    ("webhook.timeout_s", float("nan"), "finite"), ("no.such.key", 1, "no such parameter"),
    ("escalate_after_days", None, "null"),
])
def test_bad_values_are_refused_naming_the_key(key, value, reason):
    with pytest.raises(InvalidParameter) as raised:
        check_overrides({key: value})
    assert raised.value.key == key and reason in raised.value.reason


def test_numbers_are_normalised_to_their_kind():
    assert check_overrides({"deadline_days.obd_alarm": 10.0, "webhook.timeout_s": 3}) == {
        "deadline_days.obd_alarm": 10, "webhook.timeout_s": 3.0}
    assert isinstance(check_overrides({"deadline_days.obd_alarm": 10.0})["deadline_days.obd_alarm"], int)


def test_every_default_is_a_valid_value_of_its_parameter():
    for parameter in PARAMETERS.values():
        assert parameter.problem(parameter.default) is None, parameter.key

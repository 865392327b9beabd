"""Station data-quality and fraud signs (standards-enforcement.md 4.5), pure.

`detect_fraud_signs` runs every detector over one period's inspections; each detector is also
usable alone. Input: plain iterables of `Inspection`; output: `FraudSign`s naming their
evidence. Thresholds are configuration (`FraudConfig`), all design defaults.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from mobsrc.im.fraud.curves import CurveReuseConfig, find_reused_curves, fingerprint_curve
from mobsrc.im.fraud.rates import (
    AtLimitConfig,
    PassRateConfig,
    binomial_upper_tail,
    find_pass_rate_outliers,
    find_values_at_limits,
    margin_to_limit,
)
from mobsrc.im.fraud.signs import EvidenceItem, FraudKind, FraudSign
from mobsrc.im.fraud.timing import (
    QuickRetestConfig,
    ShortTestConfig,
    find_quick_retest_passes,
    find_short_tests,
)
from mobsrc.im.inspection import Inspection

__all__ = [
    "AtLimitConfig", "CurveReuseConfig", "EvidenceItem", "FraudConfig", "FraudKind",
    "FraudSign", "PassRateConfig", "QuickRetestConfig", "ShortTestConfig",
    "binomial_upper_tail", "detect_fraud_signs", "find_pass_rate_outliers",
    "find_quick_retest_passes", "find_reused_curves", "find_short_tests",
    "find_values_at_limits", "fingerprint_curve", "margin_to_limit",
]


@dataclass(frozen=True)
class FraudConfig:
    curves: CurveReuseConfig = field(default_factory=CurveReuseConfig)
    short_tests: ShortTestConfig = field(default_factory=ShortTestConfig)
    at_limit: AtLimitConfig = field(default_factory=AtLimitConfig)
    pass_rate: PassRateConfig = field(default_factory=PassRateConfig)
    quick_retest: QuickRetestConfig = field(default_factory=QuickRetestConfig)


def detect_fraud_signs(inspections: Iterable[Inspection],
                       config: FraudConfig = FraudConfig()) -> list[FraudSign]:
    """Every sign over these inspections, ordered by kind then station."""
    tests = list(inspections)
    signs = (find_reused_curves(tests, config.curves)
             + find_short_tests(tests, config.short_tests)
             + find_values_at_limits(tests, config.at_limit)
             + find_pass_rate_outliers(tests, config.pass_rate)
             + find_quick_retest_passes(tests, config.quick_retest))
    order = list(FraudKind)
    return sorted(signs, key=lambda s: (order.index(s.kind), s.station_code))

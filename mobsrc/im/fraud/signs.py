"""What a fraud detector reports: the sign, the station, and the evidence it rests on.

Source: standards-enforcement.md 4.5 (known fraud patterns and the recommended detectors). A sign
is a lead for the supervisor, not a finding: doc 4.4 routes it to a station case, never to the
vehicle loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FraudKind(StrEnum):
    CURVE_IDENTICAL = "curve_identical"  # the same process curve on different vehicles
    CURVE_NEAR_IDENTICAL = "curve_near_identical"  # same shape: scaled, shifted or re-noised
    SHORT_TEST = "short_test"  # shorter than the method's minimum duration
    VALUES_AT_LIMIT = "values_at_limit"  # passing values repeatedly just inside the limit
    PASS_RATE_OUTLIER = "pass_rate_outlier"  # pass rate far above same-group peers
    QUICK_RETEST_PASS = "quick_retest_pass"  # failed, then passed elsewhere within minutes


@dataclass(frozen=True)
class EvidenceItem:
    label: str
    report_numbers: tuple[str, ...] = ()
    values: tuple[tuple[str, float], ...] = ()

    def value(self, name: str) -> float:
        return dict(self.values)[name]


@dataclass(frozen=True)
class FraudSign:
    kind: FraudKind
    station_code: str
    evidence: tuple[EvidenceItem, ...]
    score: float  # higher = stronger; the unit depends on the kind (see the explanation)
    explanation: str

    @property
    def report_numbers(self) -> frozenset[str]:
        return frozenset(n for item in self.evidence for n in item.report_numbers)

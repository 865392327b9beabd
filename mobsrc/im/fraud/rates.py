"""Rate-based station signs: passing values piled up at the limit; pass rates above peers.

Source: standards-enforcement.md 4.5: Zhangzhou 99 % pass rate found by comparison with peers;
Jiaozhou "many old diesel trucks with high pass rate"; supervisors compare pass rates by size
class x fuel x inspection nature [SECONDARY]; recommended detectors 2 and 4 (design).

Both detectors compare a station with its pooled peers (every other station, leave-one-out) by
a one-sided binomial test, Bonferroni-corrected over the stations tested, AND require an effect
size, because with thousands of tests a trivial difference is "significant" while real stations
differ in vehicle mix. All thresholds are design defaults (not sourced rules), configurable.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from mobsrc.im.fraud.signs import EvidenceItem, FraudKind, FraudSign
from mobsrc.im.inspection import Inspection, ItemResult, Outcome


def binomial_upper_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed in log space."""
    if k <= 0:
        return 1.0
    if k > n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    log_n = math.lgamma(n + 1)
    terms = []
    for i in range(k, n + 1):
        term = log_n - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q
        terms.append(term)
        if i > n * p and term < terms[0] - 40:  # past the mode and negligible (e^-40)
            break
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


@dataclass(frozen=True)
class AtLimitConfig:
    relative_margin: float = 0.01  # "at the limit": within 1 % of it on the passing side
    min_count: int = 5
    min_ratio: float = 3.0  # observed at least 3x the count expected from peers
    alpha: float = 1e-4  # family-wise, Bonferroni over the stations tested
    baseline_floor: float = 0.002  # never assume peers put fewer than 0.2 % at the limit
    max_evidence: int = 50


def margin_to_limit(item: ItemResult) -> float | None:
    """Relative distance from the value to the nearest limit, inside the pass region."""
    if not item.is_within_limits():
        return None
    margins = [(bound - item.measured) / max(abs(bound), 1e-12)
               for bound in (item.upper_limit,) if bound is not None]
    margins += [(item.measured - bound) / max(abs(bound), 1e-12)
                for bound in (item.lower_limit,) if bound is not None]
    return max(0.0, min(margins)) if margins else None


def find_values_at_limits(inspections: Iterable[Inspection],
                          config: AtLimitConfig = AtLimitConfig()) -> list[FraudSign]:
    candidates = _passing_items_by_station(inspections, config)
    totals, hits = Counter(), Counter()  # per (method, phase, quantity), all stations
    for items in candidates.values():
        for inspection, item, hit in items:
            totals[_item_key(inspection, item)] += 1
            hits[_item_key(inspection, item)] += hit
    tested = {s: items for s, items in candidates.items() if len(items) >= config.min_count}
    signs = []
    for station, items in sorted(tested.items()):
        expected = _expected_at_limit(items, totals, hits, config)
        sign = _at_limit_sign(station, items, expected, len(tested), config)
        if sign is not None:
            signs.append(sign)
    return signs


def _item_key(inspection: Inspection, item: ItemResult) -> tuple:
    return inspection.method, item.phase, item.quantity


def _passing_items_by_station(inspections, config: AtLimitConfig) -> dict[str, list]:
    """station -> [(inspection, item, is_at_limit)] for passing items with a limit."""
    by_station: dict[str, list] = defaultdict(list)
    for inspection in inspections:
        for item in inspection.items:
            margin = margin_to_limit(item) if item.outcome is Outcome.PASS else None
            if margin is not None:
                hit = margin <= config.relative_margin + 1e-12  # float slack
                by_station[inspection.station_code].append((inspection, item, hit))
    return by_station


def _expected_at_limit(items, totals: Counter, hits: Counter, config: AtLimitConfig) -> float:
    """Expected count at the limit if the station behaved like its peers, item kind by kind."""
    own_totals, own_hits = Counter(), Counter()
    for inspection, item, hit in items:
        own_totals[_item_key(inspection, item)] += 1
        own_hits[_item_key(inspection, item)] += hit
    expected = 0.0
    for key, own in own_totals.items():
        peer_total, peer_hits = totals[key] - own, hits[key] - own_hits[key]
        rate = peer_hits / peer_total if peer_total else 0.0
        expected += own * max(rate, config.baseline_floor)
    return expected


def _at_limit_sign(station, items, expected, stations_tested,
                   config: AtLimitConfig) -> FraudSign | None:
    hits = [(inspection, item) for inspection, item, hit in items if hit]
    n, k = len(items), len(hits)
    if k < config.min_count or k < config.min_ratio * expected:
        return None
    p_value = binomial_upper_tail(k, n, expected / n)
    if p_value >= config.alpha / stations_tested:
        return None
    evidence = tuple(
        EvidenceItem(f"{item.label} at the limit", (inspection.report_number,),
                     (("measured", item.measured),
                      ("limit", item.upper_limit if item.upper_limit is not None
                       else item.lower_limit)))
        for inspection, item in hits[:config.max_evidence])
    summary = EvidenceItem("station vs peers", (), (
        ("passing_items", n), ("at_limit", k), ("expected_from_peers", round(expected, 3)),
        ("p_value", p_value)))
    ratio = k / expected
    explanation = (f"{k} of {n} passing values within {config.relative_margin:.1%} of their "
                   f"limit, {ratio:.1f}x the {expected:.1f} expected from peer stations "
                   f"(binomial p={p_value:.2e}); score = observed / expected")
    return FraudSign(FraudKind.VALUES_AT_LIMIT, station, (summary, *evidence), ratio,
                     explanation)


@dataclass(frozen=True)
class PassRateConfig:
    peer_key: tuple[str, ...] = ("method", "kind", "vehicle_class")  # Inspection attributes
    min_sample: int = 30  # station tests in the group before it is judged
    min_peer_tests: int = 100
    max_fail_ratio: float = 0.5  # station fail rate at most half the peers' fail rate
    alpha: float = 1e-3  # family-wise, Bonferroni over the (station, group) pairs tested


def find_pass_rate_outliers(inspections: Iterable[Inspection],
                            config: PassRateConfig = PassRateConfig()) -> list[FraudSign]:
    counts: dict[tuple, Counter] = defaultdict(Counter)  # group -> station -> tests / passes
    for inspection in inspections:
        group = tuple(str(getattr(inspection, name)) for name in config.peer_key)
        counts[group][inspection.station_code, "tests"] += 1
        counts[group][inspection.station_code, "passes"] += inspection.overall is Outcome.PASS
    tested = [(group, station) for group, c in counts.items()
              for station in _stations(c) if c[station, "tests"] >= config.min_sample]
    signs = []
    for group, station in sorted(tested):
        sign = _pass_rate_sign(group, station, counts[group], len(tested), config)
        if sign is not None:
            signs.append(sign)
    return signs


def _stations(counter: Counter) -> set[str]:
    return {station for station, _ in counter}


def _pass_rate_sign(group, station, counter, tests_done, config) -> FraudSign | None:
    n, x = counter[station, "tests"], counter[station, "passes"]
    peer_n = sum(v for (s, what), v in counter.items() if what == "tests" and s != station)
    peer_x = sum(v for (s, what), v in counter.items() if what == "passes" and s != station)
    if peer_n < config.min_peer_tests or peer_x == peer_n:
        return None
    p0 = peer_x / peer_n
    if (n - x) / n > config.max_fail_ratio * (1 - p0):
        return None
    p_value = binomial_upper_tail(x, n, p0)
    if p_value >= config.alpha / tests_done:
        return None
    z = (x - n * p0) / math.sqrt(n * p0 * (1 - p0))
    label = " / ".join(f"{k}={v}" for k, v in zip(config.peer_key, group))
    evidence = (EvidenceItem(f"pass rate in group {label}", (), (
        ("tests", n), ("passes", x), ("peer_tests", peer_n), ("peer_passes", peer_x),
        ("p_value", p_value))),)
    explanation = (f"passed {x}/{n} ({x / n:.1%}) against {p0:.1%} at peer stations in group "
                   f"{label} (binomial p={p_value:.2e}); score = z-score")
    return FraudSign(FraudKind.PASS_RATE_OUTLIER, station, evidence, z, explanation)

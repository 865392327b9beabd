"""Reused process curves: the same second-by-second test data on different vehicles (雷同数据).

Source: standards-enforcement.md 4.5, recommended detector 1 ("correlation > 0.98 or identical
value sequences"; design, not a sourced rule) and the supervisors' "identical/similar data"
counts by method [SECONDARY].

Two fingerprints, documented here because they decide what counts as "the same curve":

- **Exact**: SHA-256 over the informative channels' values rounded to `hash_decimals`. Catches a
  copied file even after a float round-trip. Compared across all stations and dates.
- **Near**: each informative channel is z-normalised (mean 0, standard deviation 1) and the
  channels are concatenated into one unit vector; the dot product of two vectors is the mean of
  their per-channel Pearson correlations. Curves of the same station, method and length whose
  correlation is >= `correlation_threshold` are near-identical. z-normalisation makes the test
  blind to scaling and offsets, so a copied curve replayed through a "gear" that scales readings
  (doc 4.5, Zhuji) still matches.

Only measured emission channels are compared (`similarity_channels`). Speed, load and engine
speed follow the prescribed driving cycle, so honest tests share them; comparing them would flag
every honest pair. A channel with fewer than `min_distinct_values` distinct rounded values
(e.g. CO flat at 0.00 on a clean car) carries no identity and is left out; a curve left with no
informative channel is not compared. Doc 4.5 suggests 0.98: honest tests sharing the cycle's
emission peaks can approach that, so the default is the stricter 0.999.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from mobsrc.im.fraud.signs import EvidenceItem, FraudKind, FraudSign
from mobsrc.im.inspection import Inspection


@dataclass(frozen=True)
class CurveReuseConfig:
    similarity_channels: tuple[str, ...] = ("co_pct", "hc_ppm", "no_ppm", "nox_ppm", "k_m1")
    correlation_threshold: float = 0.999  # design default, see module docstring
    hash_decimals: int = 3
    min_samples: int = 10
    min_distinct_values: int = 5
    block_rows: int = 1024  # rows per matrix block; bounds memory, not the result


@dataclass(frozen=True)
class CurvePrint:
    inspection: Inspection
    channels: tuple[str, ...]
    digest: str  # exact fingerprint
    vector: np.ndarray  # unit vector of z-normalised channels


def fingerprint_curve(inspection: Inspection,
                      config: CurveReuseConfig = CurveReuseConfig()) -> CurvePrint | None:
    """The curve's fingerprints, or None when it has nothing informative to compare."""
    curve = inspection.curve
    if curve is None or curve.samples < config.min_samples:
        return None
    names, rows = [], []
    for name in config.similarity_channels:
        channel = curve.channel(name)
        if channel is None or len(channel.values) != curve.samples:
            continue
        values = np.round(np.asarray(channel.values, dtype=float), config.hash_decimals)
        if len(np.unique(values)) >= config.min_distinct_values:
            names.append(name)
            rows.append(values)
    if not rows:
        return None
    return CurvePrint(inspection, tuple(names), _digest(names, rows), _unit_vector(rows))


def _digest(names: Sequence[str], rows: Sequence[np.ndarray]) -> str:
    sha = hashlib.sha256()
    for name, values in zip(names, rows):
        sha.update(name.encode() + b"\0")
        sha.update(np.ascontiguousarray(values + 0.0).tobytes())  # + 0.0 folds -0.0 into 0.0
    return sha.hexdigest()


def _unit_vector(rows: Sequence[np.ndarray]) -> np.ndarray:
    z = [(v - v.mean()) / v.std() for v in rows]
    joined = np.concatenate(z)
    return joined / np.linalg.norm(joined)


def find_reused_curves(inspections: Iterable[Inspection],
                       config: CurveReuseConfig = CurveReuseConfig()) -> list[FraudSign]:
    prints = [p for p in (fingerprint_curve(i, config) for i in inspections) if p is not None]
    links = _UnionFind(len(prints))
    correlations: dict[int, float] = defaultdict(float)
    for a, b, corr in _similar_pairs(prints, config):
        links.union(a, b)
        correlations[a] = max(correlations[a], corr)
        correlations[b] = max(correlations[b], corr)
    signs = []  # a cluster counts only when it spans two or more vehicles
    for members in links.groups():
        if len({prints[m].inspection.vehicle_id for m in members}) >= 2:
            signs += _cluster_signs([prints[m] for m in members],
                                    [correlations[m] for m in members], config)
    return signs


def _similar_pairs(prints: list[CurvePrint], config: CurveReuseConfig):
    """(index, index, correlation) for exact and near-identical pairs."""
    by_digest: dict[str, list[int]] = defaultdict(list)
    groups: dict[tuple, list[int]] = defaultdict(list)
    for index, p in enumerate(prints):
        by_digest[p.digest].append(index)
        groups[p.inspection.station_code, p.inspection.method, p.channels,
               len(p.vector)].append(index)
    for same in by_digest.values():
        yield from ((same[0], other, 1.0) for other in same[1:])
    for members in groups.values():
        if len(members) > 1:
            yield from _correlated_pairs(prints, members, config)


def _correlated_pairs(prints, members: list[int], config: CurveReuseConfig):
    matrix = np.stack([prints[m].vector for m in members])
    for start in range(0, len(members), config.block_rows):
        block = matrix[start:start + config.block_rows] @ matrix.T
        rows, cols = np.nonzero(block >= config.correlation_threshold)
        for row, col in zip(rows.tolist(), cols.tolist()):
            if start + row < col:
                yield members[start + row], members[col], float(block[row, col])


def _cluster_signs(cluster: list[CurvePrint], correlations: list[float],
                   config: CurveReuseConfig) -> list[FraudSign]:
    exact = len({p.digest for p in cluster}) == 1
    kind = FraudKind.CURVE_IDENTICAL if exact else FraudKind.CURVE_NEAR_IDENTICAL
    evidence = tuple(
        EvidenceItem(f"{p.inspection.vehicle_id} at {p.inspection.station_code}",
                     (p.inspection.report_number,), (("max_correlation", round(c, 6)),))
        for p, c in sorted(zip(cluster, correlations),
                           key=lambda pc: pc[0].inspection.report_number))
    vehicles = len({p.inspection.vehicle_id for p in cluster})
    how = ("identical values" if exact else
           f"correlation >= {config.correlation_threshold} after z-normalisation")
    explanation = (f"{len(cluster)} tests of {vehicles} different vehicles share one process "
                   f"curve ({how}, channels {', '.join(cluster[0].channels)}); "
                   f"score = number of vehicles")
    stations = sorted({p.inspection.station_code for p in cluster})
    return [FraudSign(kind, station, evidence, float(vehicles), explanation)
            for station in stations]


class _UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)

    def groups(self) -> list[list[int]]:
        members: dict[int, list[int]] = defaultdict(list)
        for item in range(len(self.parent)):
            members[self.find(item)].append(item)
        return [m for m in members.values() if len(m) > 1]

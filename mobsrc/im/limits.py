"""Periodic-inspection limit tables (GB 3847-2018 diesel, GB 18285-2018 gasoline) as data.

Source: standards-enforcement.md 2.1, 2.2, 7. The clause texts were not retrievable; **every value
here is UNCONFIRMED** (well-known trade values, doc 2.1/2.2) and must be signed off by the product
owner (doc 7: gb3847.*, gb18285.*). A table is versioned; a consistency check names the version
it used. Which tier (limit a / limit b) applies is a local decision (doc 2.3, UNCONFIRMED): the
caller passes it, default 'a' until configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class InspectionMethod(StrEnum):
    FREE_ACCELERATION = "free_acceleration"  # 自由加速法, GB 3847 Annex A
    LUG_DOWN = "lug_down"  # 加载减速法, GB 3847 Annex B
    RINGELMANN = "ringelmann"  # 林格曼烟度法, GB 3847 Annex D
    TWO_SPEED_IDLE = "two_speed_idle"  # 双怠速法, GB 18285 Annex A
    ASM = "asm"  # 稳态工况法, GB 18285 Annex B
    SIMPLE_TRANSIENT = "simple_transient"  # 简易瞬态工况法 (VMAS)
    TRANSIENT = "transient"  # 瞬态工况法
    OBD_CHECK = "obd_check"  # GB 3847 / GB 18285 clause 7, HJ 1237


class LimitTier(StrEnum):
    A = "a"
    B = "b"


ANY_PHASE = ""


@dataclass(frozen=True)
class LimitEntry:
    method: InspectionMethod
    phase: str  # e.g. "idle", "high_idle", "asm5025"; ANY_PHASE matches every phase
    quantity: str
    tier: LimitTier
    upper: float | None
    lower: float | None = None
    unit: str = ""
    clause: str = ""
    tag: str = "UNCONFIRMED"


@dataclass(frozen=True)
class LimitTable:
    version: str
    entries: tuple[LimitEntry, ...]

    def find(self, method: InspectionMethod, phase: str, quantity: str,
             tier: LimitTier) -> LimitEntry | None:
        """The entry for this phase, else the phase-independent one, else None."""
        fallback = None
        for entry in self.entries:
            if (entry.method, entry.quantity, entry.tier) != (method, quantity, tier):
                continue
            if entry.phase == phase:
                return entry
            if entry.phase == ANY_PHASE:
                fallback = entry
        return fallback


def _tiered(method, phase, quantity, unit, clause, a, b, lower=(None, None)):
    return (LimitEntry(method, phase, quantity, LimitTier.A, a, lower[0], unit, clause),
            LimitEntry(method, phase, quantity, LimitTier.B, b, lower[1], unit, clause))


_M = InspectionMethod
_GB3847 = "GB 3847-2018 cl. 8 table (doc 2.1), UNCONFIRMED"
_GB18285 = "GB 18285-2018 cl. 8 tables (doc 2.2), UNCONFIRMED"

# Lug-down k is measured at the 100/90/80 % VelMaxHP points (points UNCONFIRMED): one limit for
# every phase. Ringelmann grade 1 for both tiers (doc 2.1 table).
GB3847_2018 = (
    *_tiered(_M.FREE_ACCELERATION, ANY_PHASE, "k_m1", "m-1", _GB3847, 1.2, 0.7),
    *_tiered(_M.LUG_DOWN, ANY_PHASE, "k_m1", "m-1", _GB3847, 1.2, 0.7),
    *_tiered(_M.LUG_DOWN, ANY_PHASE, "nox_ppm", "ppm", _GB3847, 1500, 900),
    *_tiered(_M.RINGELMANN, ANY_PHASE, "ringelmann_grade", "grade", _GB3847, 1, 1),
)

# λ at high idle 1.00 ± 0.05 (or the manufacturer's range) — UNCONFIRMED (doc 2.2).
# Transient values are of lower confidence than the other tables (doc 2.2).
GB18285_2018 = (
    *_tiered(_M.TWO_SPEED_IDLE, "idle", "co_pct", "%", _GB18285, 0.6, 0.4),
    *_tiered(_M.TWO_SPEED_IDLE, "idle", "hc_ppm", "ppm", _GB18285, 80, 40),
    *_tiered(_M.TWO_SPEED_IDLE, "high_idle", "co_pct", "%", _GB18285, 0.3, 0.3),
    *_tiered(_M.TWO_SPEED_IDLE, "high_idle", "hc_ppm", "ppm", _GB18285, 50, 30),
    *_tiered(_M.TWO_SPEED_IDLE, "high_idle", "lambda", "", _GB18285, 1.05, 1.05,
             lower=(0.95, 0.95)),
    *_tiered(_M.ASM, "asm5025", "co_pct", "%", _GB18285, 0.50, 0.35),
    *_tiered(_M.ASM, "asm5025", "hc_ppm", "ppm", _GB18285, 90, 47),
    *_tiered(_M.ASM, "asm5025", "no_ppm", "ppm", _GB18285, 700, 420),
    *_tiered(_M.ASM, "asm2540", "co_pct", "%", _GB18285, 0.40, 0.30),
    *_tiered(_M.ASM, "asm2540", "hc_ppm", "ppm", _GB18285, 80, 44),
    *_tiered(_M.ASM, "asm2540", "no_ppm", "ppm", _GB18285, 650, 390),
    *_tiered(_M.SIMPLE_TRANSIENT, ANY_PHASE, "co_g_km", "g/km", _GB18285, 8.0, 5.0),
    *_tiered(_M.SIMPLE_TRANSIENT, ANY_PHASE, "hc_g_km", "g/km", _GB18285, 1.6, 1.0),
    *_tiered(_M.SIMPLE_TRANSIENT, ANY_PHASE, "nox_g_km", "g/km", _GB18285, 1.3, 0.7),
    *_tiered(_M.TRANSIENT, ANY_PHASE, "co_g_km", "g/km", _GB18285, 3.5, 2.8),
    *_tiered(_M.TRANSIENT, ANY_PHASE, "hc_nox_g_km", "g/km", _GB18285, 1.5, 1.2),
)

REFERENCE_LIMITS = LimitTable(
    version="gb3847-2018+gb18285-2018/doc-2.1-2.2/unconfirmed-1",
    entries=GB3847_2018 + GB18285_2018,
)

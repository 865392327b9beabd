"""Remote-sensing limit tables as versioned data (standards-enforcement.md 1.3-1.6, 1.8, 7).

A `LimitTable` is one signed-off version of everything a verdict depends on: per-fuel pollutant
limits, the validity gate for a single reading, the black-smoke capture trigger and the
high-emitter confirmation rule. Verdicts record `LimitTable.version`, so a table is never edited
in place: admins store a new version (as a dict, see `limit_documents.py`).

Exceedance is **strictly greater than the limit** for every pollutant: the documents give no
"at or above" wording, and for Ringelmann they say "a reading above grade 1 exceeds" (1.3).
Validity windows are **inclusive** at both ends; a "max" is valid up to and including the max.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

# Effective dates are calendar days in Guiyang local time (= Asia/Shanghai).
LOCAL_TIMEZONE = ZoneInfo("Asia/Shanghai")


class SourceTag(StrEnum):
    """Confidence tags of standards-enforcement.md 0.1."""

    CONFIRMED = "CONFIRMED"
    SECONDARY = "SECONDARY"
    UNCONFIRMED = "UNCONFIRMED"


class Fuel(StrEnum):
    """Fuel class a verdict is judged under (doc 1.7: A gasoline, B diesel; Z unknown = None)."""

    DIESEL = "diesel"
    PETROL = "petrol"
    OTHER = "other"  # gas, electric...: judged only if an admin adds a table for it


# Registry fuels (mobsrc.registry.emissions.Fuel values) -> the class a verdict is judged under.
# Only diesel and petrol have RS limit tables in the standards; gas, electric, hybrid and "other"
# vehicles are judged under OTHER, which has no limits unless an admin adds them (doc 1.3, 1.4).
_FUEL_CLASS = {"diesel": Fuel.DIESEL, "petrol": Fuel.PETROL}


def fuel_class(registry_fuel: str | None) -> Fuel | None:
    """The judged fuel class of a registered vehicle's fuel; None for an unknown vehicle."""
    if registry_fuel is None:
        return None
    return _FUEL_CLASS.get(str(getattr(registry_fuel, "value", registry_fuel)), Fuel.OTHER)


class Pollutant(StrEnum):
    """Judged quantities; each names its unit in `POLLUTANT_UNITS`."""

    OPACITY = "opacity"
    RINGELMANN = "ringelmann"
    NO = "no"
    CO = "co"
    HC = "hc"


POLLUTANT_UNITS = {
    Pollutant.OPACITY: "%",
    Pollutant.RINGELMANN: "grade",
    Pollutant.NO: "ppm",
    Pollutant.CO: "%",
    Pollutant.HC: "ppm",
}

# Physical upper bounds, used to reject nonsense limits (opacity and CO are percentages;
# Ringelmann grades run 0-5, doc 0.4).
POLLUTANT_MAXIMA = {Pollutant.OPACITY: 100.0, Pollutant.RINGELMANN: 5.0, Pollutant.CO: 100.0}


@dataclass(frozen=True)
class PollutantLimit:
    """One limit row; `value=None` means unset: readings are not judged on it, never guessed."""

    pollutant: Pollutant
    value: float | None
    clause: str
    tag: SourceTag

    @property
    def is_set(self) -> bool:
        return self.value is not None

    def is_exceeded_by(self, measured: float) -> bool:
        """Strictly greater than the limit exceeds; equal to it passes (see module doc)."""
        if self.value is None:
            raise ValueError(f"limit for {self.pollutant} is unset")
        return measured > self.value


@dataclass(frozen=True)
class FuelLimits:
    fuel: Fuel
    limits: tuple[PollutantLimit, ...]

    @property
    def has_any_set(self) -> bool:
        return any(limit.is_set for limit in self.limits)


@dataclass(frozen=True)
class Window:
    """Inclusive interval [low, high] of valid values."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.low > self.high:
            raise ValueError(f"bad window [{self.low}, {self.high}]")

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def violated_bound(self, value: float) -> float | None:
        """The bound `value` falls outside of, or None when inside."""
        if value < self.low:
            return self.low
        if value > self.high:
            return self.high
        return None


@dataclass(frozen=True)
class ValidityConditions:
    """Validity gate for one reading (doc 1.5). `None` disables a condition; a condition that is
    set but whose quantity the reading does not report makes the reading invalid."""

    speed_kmh: Window | None
    accel_ms2: Window | None
    vsp_kw_t: Window | None
    wind_ms_max: float | None
    temp_c: Window | None
    rh_max_pct: float | None
    precipitation_must_be_none: bool
    slope_deg: Window | None
    calibration_must_be_valid: bool
    source: str
    tag: SourceTag


@dataclass(frozen=True)
class BlackSmokeTrigger:
    """When a reading is captured as black smoke for human review (doc 1.8, 1.9 item 3).

    A capture trigger, not a legal exceedance (doc 1.3 note): the legal Ringelmann judgement is
    the `Pollutant.RINGELMANN` limit under the validity gate.
    """

    ringelmann_min_grade: int  # captured when grade >= this
    k_min_m1: float | None  # captured when k > this; None = k never triggers
    source: str
    tag: SourceTag

    def is_triggered(self, ringelmann_grade: float | None, k_m1: float | None) -> bool:
        by_grade = ringelmann_grade is not None and ringelmann_grade >= self.ringelmann_min_grade
        by_k = k_m1 is not None and self.k_min_m1 is not None and k_m1 > self.k_min_m1
        return by_grade or by_k


@dataclass(frozen=True)
class ConfirmationRule:
    """High-emitter confirmation (doc 1.6): `min_exceedances` valid exceedances of the same
    pollutant by the same plate + colour within `window_days` (rolling)."""

    min_exceedances: int
    window_days: int
    require_consecutive: bool
    source: str
    tag: SourceTag

    @property
    def window(self) -> timedelta:
        return timedelta(days=self.window_days)


@dataclass(frozen=True)
class LimitTable:
    version: str
    effective_from: date
    fuels: tuple[FuelLimits, ...]
    validity: ValidityConditions
    black_smoke: BlackSmokeTrigger
    confirmation: ConfirmationRule

    def limits_for(self, fuel: Fuel) -> FuelLimits | None:
        return next((entry for entry in self.fuels if entry.fuel == fuel), None)


def limit_table_in_effect(
    tables: Sequence[LimitTable], measured_at: datetime
) -> LimitTable | None:
    """The table that applies to a reading: the latest `effective_from` on or before the
    reading's local (Asia/Shanghai) day. `tables` come in creation order; of two tables with the
    same effective date the later-created wins. None if no table was in effect yet."""
    if measured_at.utcoffset() is None:
        raise ValueError("measured_at must be timezone-aware")
    day = measured_at.astimezone(LOCAL_TIMEZONE).date()
    candidates = [(t.effective_from, i, t) for i, t in enumerate(tables) if t.effective_from <= day]
    return max(candidates, key=lambda c: c[:2])[2] if candidates else None


_HJ845_LIMITS = "HJ 845-2017 cl. 5"
_GB18285_RS = "GB 18285-2018 cl. 10 / local RS standard; value not retrieved, admin must set"

DEFAULT_DIESEL_LIMITS = FuelLimits(
    Fuel.DIESEL,
    (
        # 30 % via an Inner-Mongolia enforcement article citing HJ 845 [SECONDARY]
        PollutantLimit(Pollutant.OPACITY, 30.0, _HJ845_LIMITS, SourceTag.SECONDARY),
        # "above grade 1 exceeds" [SECONDARY]; grade 1 itself passes
        PollutantLimit(Pollutant.RINGELMANN, 1.0, _HJ845_LIMITS, SourceTag.SECONDARY),
        # value UNCONFIRMED; that HJ 845 has a diesel NO limit is SECONDARY
        PollutantLimit(Pollutant.NO, 1500.0, _HJ845_LIMITS, SourceTag.UNCONFIRMED),
    ),
)

# Doc 1.4: ship gasoline RS limits unset and refuse verdicts until signed off [UNCONFIRMED].
DEFAULT_PETROL_LIMITS = FuelLimits(
    Fuel.PETROL,
    tuple(
        PollutantLimit(pollutant, None, _GB18285_RS, SourceTag.UNCONFIRMED)
        for pollutant in (Pollutant.NO, Pollutant.CO, Pollutant.HC)  # canonical (enum) order
    ),
)

# Doc 1.5 placeholders, all UNCONFIRMED until HJ 845 Annex A is checked.
DEFAULT_VALIDITY = ValidityConditions(
    speed_kmh=Window(5.0, 100.0),  # UNCONFIRMED ("[5, 100]?")
    accel_ms2=None,  # UNCONFIRMED: "device-specific window", no default given -> unchecked
    vsp_kw_t=Window(0.0, 20.0),  # UNCONFIRMED; some methods apply it to gasoline only
    wind_ms_max=5.0,  # UNCONFIRMED
    temp_c=Window(-20.0, 45.0),  # UNCONFIRMED
    rh_max_pct=85.0,  # UNCONFIRMED
    precipitation_must_be_none=True,  # SECONDARY (vendor guidance)
    slope_deg=None,  # slope recorded [SECONDARY]; limit UNCONFIRMED -> unchecked
    calibration_must_be_valid=True,  # doc 1.5 / 1.7; interval per HJ 845 Annex D UNCONFIRMED
    source="HJ 845-2017 Annex A (windows not retrieved); doc 1.5 placeholders",
    tag=SourceTag.UNCONFIRMED,
)

DEFAULT_BLACK_SMOKE = BlackSmokeTrigger(
    # "smoke exceeding Ringelmann grade 1" (Chengde notice) -> capture from grade 2 [SECONDARY].
    # A vendor captures at grade >= 3 or k > 1.32 m^-1 (vendor-specific); k off by default.
    ringelmann_min_grade=2,
    k_min_m1=None,
    source="black-smoke definition, Chengde notice (doc 1.8)",
    tag=SourceTag.SECONDARY,
)

DEFAULT_CONFIRMATION = ConfirmationRule(
    min_exceedances=2,  # SECONDARY (Beijing / Chuzhou)
    window_days=183,  # "6 months", rolling [SECONDARY]; cycle-aligned mode not implemented
    require_consecutive=True,  # SECONDARY (Beijing / Chuzhou wording)
    source="Beijing 2022 gasoline RS standard; Chuzhou 2019 notice (doc 1.6)",
    tag=SourceTag.SECONDARY,
)

DEFAULT_LIMITS = LimitTable(
    version="default-hj845-2017-v1",
    effective_from=date(2017, 7, 27),  # HJ 845-2017 effective date [CONFIRMED]
    fuels=(DEFAULT_DIESEL_LIMITS, DEFAULT_PETROL_LIMITS),
    validity=DEFAULT_VALIDITY,
    black_smoke=DEFAULT_BLACK_SMOKE,
    confirmation=DEFAULT_CONFIRMATION,
)

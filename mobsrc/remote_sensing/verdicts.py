"""What judging one reading produces: Verdict, its reasons (stable codes) and per-pollutant results.

Outcome precedence: INVALID (validity gate failed) > NOT_JUDGED (no applicable limit or
measurement) > EXCEED (any judged pollutant strictly above its limit) > PASS. An invalid
reading never carries pollutant results, so it can never be shown as exceeding (doc 1.5).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mobsrc.remote_sensing.limits import Fuel, Pollutant, SourceTag
from mobsrc.remote_sensing.vsp import VspSource


class Outcome(StrEnum):
    PASS = "pass"
    EXCEED = "exceed"
    INVALID = "invalid"
    NOT_JUDGED = "not_judged"


class ReasonCode(StrEnum):
    """Stable reason codes; the prefix is the outcome they lead to."""

    SPEED_OUT_OF_WINDOW = "invalid.speed_out_of_window"
    ACCEL_OUT_OF_WINDOW = "invalid.accel_out_of_window"
    VSP_OUT_OF_WINDOW = "invalid.vsp_out_of_window"
    WIND_TOO_STRONG = "invalid.wind_too_strong"
    WIND_NOT_REPORTED = "invalid.wind_not_reported"
    TEMPERATURE_OUT_OF_WINDOW = "invalid.temperature_out_of_window"
    TEMPERATURE_NOT_REPORTED = "invalid.temperature_not_reported"
    HUMIDITY_TOO_HIGH = "invalid.humidity_too_high"
    HUMIDITY_NOT_REPORTED = "invalid.humidity_not_reported"
    RAIN = "invalid.rain"
    PRECIPITATION_NOT_REPORTED = "invalid.precipitation_not_reported"
    SLOPE_OUT_OF_WINDOW = "invalid.slope_out_of_window"
    SLOPE_NOT_REPORTED = "invalid.slope_not_reported"
    CALIBRATION_LAPSED = "invalid.calibration_lapsed"
    EXCEED_OPACITY = "exceed.opacity"
    EXCEED_RINGELMANN = "exceed.ringelmann"
    EXCEED_NO = "exceed.no"
    EXCEED_CO = "exceed.co"
    EXCEED_HC = "exceed.hc"
    FUEL_UNKNOWN = "not_judged.fuel_unknown"  # plate not matched to a registered vehicle
    FUEL_NOT_COVERED = "not_judged.fuel_not_covered"  # the table has no limits for this fuel
    DIESEL_LIMITS_UNSET = "not_judged.diesel_limits_unset"
    PETROL_LIMITS_UNSET = "not_judged.petrol_limits_unset"
    OTHER_LIMITS_UNSET = "not_judged.other_limits_unset"
    NOTHING_MEASURED = "not_judged.nothing_measured"  # no set limit had a measured value
    NO_LIMIT_TABLE = "not_judged.no_limit_table"  # measured before any limit table took effect

    @classmethod
    def exceed(cls, pollutant: Pollutant) -> ReasonCode:
        return cls(f"exceed.{pollutant.value}")

    @classmethod
    def limits_unset(cls, fuel: Fuel) -> ReasonCode:
        return cls(f"not_judged.{fuel.value}_limits_unset")


@dataclass(frozen=True)
class Reason:
    """Why a verdict came out as it did. `limit` is the bound that was crossed (the window end
    for out-of-window values), None where there is no number (rain, calibration, not reported)."""

    code: ReasonCode
    measured: float | bool | None = None
    limit: float | None = None
    clause: str | None = None


class PollutantStatus(StrEnum):
    PASS = "pass"
    EXCEED = "exceed"
    LIMIT_UNSET = "limit_unset"  # limit not configured: not judged, never guessed
    NOT_MEASURED = "not_measured"  # the station did not report this quantity


@dataclass(frozen=True)
class PollutantResult:
    pollutant: Pollutant
    status: PollutantStatus
    measured: float | None
    limit: float | None
    clause: str
    tag: SourceTag


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    limit_version: str
    reasons: tuple[Reason, ...]
    pollutants: tuple[PollutantResult, ...]
    black_smoke: bool  # capture trigger for human review; independent of outcome (doc 1.8)
    fuel: Fuel | None
    vsp_kw_t: float
    vsp_source: VspSource

    @property
    def is_valid(self) -> bool:
        return self.outcome != Outcome.INVALID

    @property
    def exceeded_pollutants(self) -> frozenset[Pollutant]:
        return self._with_status(PollutantStatus.EXCEED)

    @property
    def passed_pollutants(self) -> frozenset[Pollutant]:
        return self._with_status(PollutantStatus.PASS)

    def _with_status(self, status: PollutantStatus) -> frozenset[Pollutant]:
        return frozenset(result.pollutant for result in self.pollutants if result.status == status)

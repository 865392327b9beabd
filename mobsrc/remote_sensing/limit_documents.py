"""LimitTable <-> plain dict (the JSON document admins store and version through the API).

Document shape (every key required; `null` disables a validity condition or leaves a limit unset):

    {"version": "gy-2025-01", "effective_from": "2025-01-01",
     "fuels": {"diesel": {"opacity": {"value": 30, "clause": "...", "tag": "SECONDARY"}, ...},
               "petrol": {"co": {"value": null, ...}, ...}},
     "validity": {"speed_kmh": [5, 100], "accel_ms2": null, "vsp_kw_t": [0, 20],
                  "wind_ms_max": 5, "temp_c": [-20, 45], "rh_max_pct": 85,
                  "precipitation_must_be_none": true, "slope_deg": null,
                  "calibration_must_be_valid": true, "source": "...", "tag": "UNCONFIRMED"},
     "black_smoke": {"ringelmann_min_grade": 2, "k_min_m1": null, "source": "...", "tag": "..."},
     "confirmation": {"min_exceedances": 2, "window_days": 183, "require_consecutive": true,
                      "source": "...", "tag": "..."}}

A fuel lists only the pollutants it is judged on. Validity keys are all required so that a
forgotten key never silently disables a condition.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from mobsrc.remote_sensing.limits import (
    POLLUTANT_MAXIMA,
    BlackSmokeTrigger,
    ConfirmationRule,
    Fuel,
    FuelLimits,
    LimitTable,
    Pollutant,
    PollutantLimit,
    SourceTag,
    ValidityConditions,
    Window,
)


class ProblemCode(StrEnum):
    UNKNOWN_KEY = "unknown_key"
    MISSING_KEY = "missing_key"
    WRONG_TYPE = "wrong_type"
    NEGATIVE = "negative"
    OUT_OF_RANGE = "out_of_range"
    WINDOW_REVERSED = "window_reversed"
    BAD_DATE = "bad_date"
    EMPTY = "empty"


@dataclass(frozen=True)
class LimitProblem:
    """One reason a document was refused; `path` is dotted, e.g. `fuels.diesel.no.value`."""

    path: str
    code: ProblemCode
    detail: str


_MISSING = object()
_VALIDITY_WINDOWS = ("speed_kmh", "accel_ms2", "vsp_kw_t", "temp_c", "slope_deg")
_VALIDITY_MAXIMA = ("wind_ms_max", "rh_max_pct")
_VALIDITY_FLAGS = ("precipitation_must_be_none", "calibration_must_be_valid")
_SOURCED = ("source", "tag")
_WINDOW_MINIMA = {"speed_kmh": 0.0}  # other windows may be negative (cold, braking, downhill)
_MAXIMUM_MAXIMA = {"rh_max_pct": 100.0}


def limit_table_from_dict(document: Any) -> LimitTable | list[LimitProblem]:
    """Build a LimitTable from its document, or return every problem found (never raises)."""
    reader = _DocumentReader()
    table = reader.table(document)
    return reader.problems if reader.problems else table


def limit_table_to_dict(table: LimitTable) -> dict[str, Any]:
    """The JSON-ready document of `table`; `limit_table_from_dict` reads it back equal."""
    validity = table.validity
    return {
        "version": table.version,
        "effective_from": table.effective_from.isoformat(),
        "fuels": {entry.fuel.value: _fuel_to_dict(entry) for entry in table.fuels},
        "validity": {
            **{key: _window_to_list(getattr(validity, key)) for key in _VALIDITY_WINDOWS},
            **{key: getattr(validity, key) for key in _VALIDITY_MAXIMA + _VALIDITY_FLAGS},
            "source": validity.source,
            "tag": validity.tag.value,
        },
        "black_smoke": _sourced_to_dict(table.black_smoke, ("ringelmann_min_grade", "k_min_m1")),
        "confirmation": _sourced_to_dict(
            table.confirmation, ("min_exceedances", "window_days", "require_consecutive")
        ),
    }


def _fuel_to_dict(entry: FuelLimits) -> dict[str, Any]:
    return {
        limit.pollutant.value: {
            "value": limit.value, "clause": limit.clause, "tag": limit.tag.value,
        }
        for limit in entry.limits
    }


def _window_to_list(window: Window | None) -> list[float] | None:
    return None if window is None else [window.low, window.high]


def _sourced_to_dict(block: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    fields = {key: getattr(block, key) for key in keys}
    return {**fields, "source": block.source, "tag": block.tag.value}


class _DocumentReader:
    """Reads a document field by field, collecting problems instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[LimitProblem] = []

    def report(self, path: str, code: ProblemCode, detail: str) -> None:
        self.problems.append(LimitProblem(path, code, detail))

    def table(self, document: Any) -> LimitTable | None:
        keys = ("version", "effective_from", "fuels", "validity", "black_smoke", "confirmation")
        section = self.section(document, "", keys)
        if section is None:
            return None
        parts = (
            self.text(*_at(section, "", "version")),
            self.date(*_at(section, "", "effective_from")),
            self.fuels(*_at(section, "", "fuels")),
            self.validity(*_at(section, "", "validity")),
            self.black_smoke(*_at(section, "", "black_smoke")),
            self.confirmation(*_at(section, "", "confirmation")),
        )
        return None if self.problems else LimitTable(*parts)

    def section(
        self, value: Any, path: str, keys: tuple[str, ...], all_required: bool = True
    ) -> Mapping | None:
        """`value` as an object whose keys are among `keys` (and include all, if required)."""
        if value is _MISSING:
            return None
        if not isinstance(value, Mapping):
            self.report(path, ProblemCode.WRONG_TYPE, "expected an object")
            return None
        for key in value:
            if key not in keys:
                self.report(_join(path, str(key)), ProblemCode.UNKNOWN_KEY, "not a known key")
        for key in keys if all_required else ():
            if key not in value:
                self.report(_join(path, key), ProblemCode.MISSING_KEY, "required")
        return value

    def fuels(self, value: Any, path: str) -> tuple[FuelLimits, ...] | None:
        section = self.section(value, path, tuple(Fuel), all_required=False)
        if section is None:
            return None
        present = [fuel for fuel in Fuel if fuel.value in section]
        return tuple(self.fuel(fuel, *_at(section, path, fuel.value)) for fuel in present)

    def fuel(self, fuel: Fuel, value: Any, path: str) -> FuelLimits:
        section = self.section(value, path, tuple(Pollutant), all_required=False) or {}
        present = [pollutant for pollutant in Pollutant if pollutant.value in section]
        limits = tuple(self.limit(p, *_at(section, path, p.value)) for p in present)
        return FuelLimits(fuel, limits)

    def limit(self, pollutant: Pollutant, value: Any, path: str) -> PollutantLimit | None:
        section = self.section(value, path, ("value", "clause", "tag"))
        if section is None:
            return None
        maximum = POLLUTANT_MAXIMA.get(pollutant)
        return PollutantLimit(
            pollutant,
            self.number(*_at(section, path, "value"), 0.0, maximum, nullable=True),
            self.text(*_at(section, path, "clause")),
            self.tag(*_at(section, path, "tag")),
        )

    def validity(self, value: Any, path: str) -> ValidityConditions | None:
        keys = _VALIDITY_WINDOWS + _VALIDITY_MAXIMA + _VALIDITY_FLAGS + _SOURCED
        section = self.section(value, path, keys)
        if section is None:
            return None
        fields: dict[str, Any] = {}
        for key in _VALIDITY_WINDOWS:
            fields[key] = self.window(*_at(section, path, key), _WINDOW_MINIMA.get(key))
        for key in _VALIDITY_MAXIMA:
            maximum = _MAXIMUM_MAXIMA.get(key)
            fields[key] = self.number(*_at(section, path, key), 0.0, maximum, nullable=True)
        for key in _VALIDITY_FLAGS:
            fields[key] = self.boolean(*_at(section, path, key))
        return ValidityConditions(**fields, **self.sourced(section, path))

    def black_smoke(self, value: Any, path: str) -> BlackSmokeTrigger | None:
        section = self.section(value, path, ("ringelmann_min_grade", "k_min_m1") + _SOURCED)
        if section is None:
            return None
        return BlackSmokeTrigger(
            self.integer(*_at(section, path, "ringelmann_min_grade"), 0, 5),
            self.number(*_at(section, path, "k_min_m1"), 0.0, nullable=True),
            **self.sourced(section, path),
        )

    def confirmation(self, value: Any, path: str) -> ConfirmationRule | None:
        keys = ("min_exceedances", "window_days", "require_consecutive") + _SOURCED
        section = self.section(value, path, keys)
        if section is None:
            return None
        return ConfirmationRule(
            self.integer(*_at(section, path, "min_exceedances"), 1),
            self.integer(*_at(section, path, "window_days"), 1),
            self.boolean(*_at(section, path, "require_consecutive")),
            **self.sourced(section, path),
        )

    def sourced(self, section: Mapping, path: str) -> dict[str, Any]:
        return {
            "source": self.text(*_at(section, path, "source")),
            "tag": self.tag(*_at(section, path, "tag")),
        }

    def window(self, value: Any, path: str, minimum: float | None) -> Window | None:
        if value is _MISSING or value is None:
            return None
        if not isinstance(value, list | tuple) or len(value) != 2:
            self.report(path, ProblemCode.WRONG_TYPE, "expected [low, high] or null")
            return None
        low, high = (self.number(bound, path, minimum) for bound in value)
        if low is None or high is None:
            return None
        if low > high:
            self.report(path, ProblemCode.WINDOW_REVERSED, f"low {low} > high {high}")
            return None
        return Window(low, high)

    def number(
        self, value: Any, path: str, minimum: float | None = None,
        maximum: float | None = None, nullable: bool = False,
    ) -> float | None:
        if value is _MISSING or (value is None and nullable):
            return None
        if not _is_finite_number(value):
            self.report(path, ProblemCode.WRONG_TYPE, "expected a finite number")
            return None
        if minimum == 0.0 and value < 0:
            self.report(path, ProblemCode.NEGATIVE, f"{value} is negative")
        elif (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self.report(path, ProblemCode.OUT_OF_RANGE, f"{value} outside [{minimum}, {maximum}]")
        return float(value)

    def integer(
        self, value: Any, path: str, minimum: int, maximum: int | None = None
    ) -> int | None:
        if value is _MISSING:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.report(path, ProblemCode.WRONG_TYPE, "expected an integer")
            return None
        if value < minimum or (maximum is not None and value > maximum):
            self.report(path, ProblemCode.OUT_OF_RANGE, f"{value} outside [{minimum}, {maximum}]")
        return value

    def boolean(self, value: Any, path: str) -> bool | None:
        if value is _MISSING:
            return None
        if not isinstance(value, bool):
            self.report(path, ProblemCode.WRONG_TYPE, "expected true or false")
            return None
        return value

    def text(self, value: Any, path: str) -> str | None:
        if value is _MISSING:
            return None
        if not isinstance(value, str):
            self.report(path, ProblemCode.WRONG_TYPE, "expected a string")
            return None
        if not value.strip():
            self.report(path, ProblemCode.EMPTY, "must not be blank")
        return value

    def tag(self, value: Any, path: str) -> SourceTag | None:
        if value is _MISSING:
            return None
        names = [tag.value for tag in SourceTag]
        if value not in names:
            self.report(path, ProblemCode.OUT_OF_RANGE, f"expected one of {names}")
            return None
        return SourceTag(value)

    def date(self, value: Any, path: str) -> date | None:
        if value is _MISSING:
            return None
        try:
            return date.fromisoformat(value)
        except (TypeError, ValueError):
            self.report(path, ProblemCode.BAD_DATE, "expected an ISO date YYYY-MM-DD")
            return None


def _at(section: Mapping, path: str, key: str) -> tuple[Any, str]:
    """The value under `key` (or _MISSING) and its dotted path."""
    return section.get(key, _MISSING), _join(path, key)


def _is_finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key

"""Tunable settings of zones and positions, read from the MOBSRC_* environment (Settings.extra),
every default with its reason in the pure module that owns the rule (fixes.py, visits.py)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache

from mobsrc.config import Settings
from mobsrc.zones.fixes import AccuracyLimits, ScreeningPolicy
from mobsrc.zones.visits import ConfirmationRule

# name: (environment variable, default)
ENVIRONMENT = {
    "max_batch": ("MOBSRC_POSITIONS_MAX_BATCH", 5000),
    "retention_days": ("MOBSRC_POSITIONS_RETENTION_DAYS", 180),
    "partitions_ahead": ("MOBSRC_POSITIONS_PARTITIONS_AHEAD", 7),
    "max_speed_kmh": ("MOBSRC_FIX_MAX_SPEED_KMH", 150.0),
    "future_tolerance_s": ("MOBSRC_FIX_FUTURE_TOLERANCE_S", 300),
    "max_age_days": ("MOBSRC_FIX_MAX_AGE_DAYS", 7),
    "max_hdop": ("MOBSRC_FIX_MAX_HDOP", 5.0),
    "max_accuracy_m": ("MOBSRC_FIX_MAX_ACCURACY_M", 30.0),
    "visit_min_fixes": ("MOBSRC_VISIT_MIN_FIXES", 3),
    "visit_min_span_s": ("MOBSRC_VISIT_MIN_SPAN_S", 120),
    "visit_max_gap_s": ("MOBSRC_VISIT_MAX_GAP_S", 300),
    "visit_max_silence_s": ("MOBSRC_VISIT_MAX_SILENCE_S", 1800),
}


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class ZoneConfig:
    max_batch: int = 5000
    retention_days: int = 180  # positions kept; violations keep their evidence fixes themselves
    partitions_ahead: int = 7
    screening: ScreeningPolicy = field(default_factory=ScreeningPolicy)
    confirmation: ConfirmationRule = field(default_factory=ConfirmationRule)

    @property
    def lookback(self) -> timedelta:
        """How far back a fix may still be accepted and evaluated (the re-send window)."""
        return self.screening.max_age


def from_settings(settings: Settings) -> ZoneConfig:
    return _from_extra(tuple(sorted(settings.extra.items())))


@lru_cache(maxsize=8)
def _from_extra(extra: tuple) -> ZoneConfig:
    env = dict(extra)
    values = {name: _read(env, variable, default) for name, (variable, default) in ENVIRONMENT.items()}
    accuracy = AccuracyLimits(max_hdop=values["max_hdop"], max_accuracy_m=values["max_accuracy_m"])
    screening = ScreeningPolicy(future_tolerance=timedelta(seconds=values["future_tolerance_s"]),
                                max_age=timedelta(days=values["max_age_days"]), accuracy=accuracy,
                                max_speed_kmh=values["max_speed_kmh"])
    confirmation = ConfirmationRule(min_fixes=values["visit_min_fixes"],
                                    min_span=timedelta(seconds=values["visit_min_span_s"]),
                                    max_gap=timedelta(seconds=values["visit_max_gap_s"]),
                                    max_silence=timedelta(seconds=values["visit_max_silence_s"]), accuracy=accuracy)
    config = ZoneConfig(values["max_batch"], values["retention_days"], values["partitions_ahead"], screening,
                        confirmation)
    if config.retention_days <= values["max_age_days"]:
        raise ConfigError("MOBSRC_POSITIONS_RETENTION_DAYS must exceed MOBSRC_FIX_MAX_AGE_DAYS: fixes still "
                          "accepted must have a partition to go to")
    return config


def _read(env: dict, variable: str, default):
    raw = env.get(variable)
    if raw in (None, ""):
        return default
    try:
        value = type(default)(raw)
    except ValueError:
        raise ConfigError(f"{variable}={raw!r} is not a {type(default).__name__}") from None
    if value <= 0:
        raise ConfigError(f"{variable} must be positive")
    return value

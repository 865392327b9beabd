"""OBD settings, read from the app's Settings.extra (the MOBSRC_* environment) once.

| variable                          | default | meaning |
|-----------------------------------|---------|---------|
| MOBSRC_OBD_RETENTION_DAYS         | 400     | day partitions older than this are dropped (UNCONFIRMED: no source states the period) |
| MOBSRC_OBD_MAX_AGE_DAYS           | 7       | older collection times are rejected (re-send window 5 x 24 h, HJ 1239.1, + slack) |
| MOBSRC_OBD_FUTURE_TOLERANCE_S     | 300     | later collection times are rejected (bogus clocks, telemetry 7.7) |
| MOBSRC_OBD_PARTITIONS_AHEAD_DAYS  | 3       | day partitions made ahead of today |
| MOBSRC_OBD_MAX_BATCH_RECORDS      | 10000   | records (or frames' records) per HTTP request |
| MOBSRC_OBD_GATEWAY_HOST / _PORT   | 127.0.0.1 / 9210 | where `mobsrc gateway` listens |
| MOBSRC_OBD_GATEWAY_IDLE_S         | 300     | a connection silent this long is closed |
| MOBSRC_OBD_GATEWAY_BATCH_RECORDS  | 1000    | the gateway writes when it holds this many records ... |
| MOBSRC_OBD_GATEWAY_BATCH_MS       | 200     | ... or when its oldest record waited this long |
| MOBSRC_OBD_GATEWAY_STATS_S        | 60      | how often the gateway logs its counters |
| MOBSRC_OBD_ALARM_CHUNK_BATCHES    | 200     | batches the alarm job takes per transaction |
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from mobsrc.obd.rows import AcceptanceWindow

PREFIX = "MOBSRC_OBD_"


@dataclass(frozen=True, slots=True)
class ObdSettings:
    retention_days: int = 400
    max_age_days: int = 7
    future_tolerance_s: int = 300
    partitions_ahead_days: int = 3
    max_batch_records: int = 10_000
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 9210
    gateway_idle_s: float = 300.0
    gateway_batch_records: int = 1000
    gateway_batch_ms: float = 200.0
    gateway_stats_s: float = 60.0
    alarm_chunk_batches: int = 200

    def __post_init__(self) -> None:
        if self.retention_days <= self.max_age_days:
            raise ValueError(f"{PREFIX}RETENTION_DAYS ({self.retention_days}) must exceed "
                             f"{PREFIX}MAX_AGE_DAYS ({self.max_age_days}): accepted data would "
                             f"land in partitions about to be dropped")

    @property
    def acceptance(self) -> AcceptanceWindow:
        return AcceptanceWindow(timedelta(days=self.max_age_days),
                                timedelta(seconds=self.future_tolerance_s))

    @classmethod
    def from_extra(cls, extra: Mapping[str, str]) -> ObdSettings:
        defaults = cls()
        overrides = {}
        for name in cls.__dataclass_fields__:
            raw = extra.get(PREFIX + name.upper())
            if raw not in (None, ""):
                overrides[name] = type(getattr(defaults, name))(raw)
        return cls(**overrides)

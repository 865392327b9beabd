"""Zones persistence: no-use zones with every version kept, alert days, machine positions
(day-partitioned, written by COPY), last known positions, visit states and visits."""
from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    REAL,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from mobsrc.core.db import Base, enum_type, id_column


class ZoneStatus(str, enum.Enum):
    ACTIVE = "active"
    RETIRED = "retired"


class NoUseZone(Base):
    """A no-use zone: its identity and which version is current. Its content is in versions."""

    __tablename__ = "no_use_zones"
    __audited__ = True

    id: Mapped[int] = id_column()
    name: Mapped[str] = mapped_column(String(100))
    district_code: Mapped[str | None] = mapped_column(ForeignKey("districts.code"), index=True)
    status: Mapped[ZoneStatus] = mapped_column(enum_type(ZoneStatus, "zone_status"), index=True)
    current_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ZoneVersion(Base):
    """One immutable version of a zone. It is in force from `recorded_at` until the next
    version's `recorded_at` (and within its own effective dates, windows and alert days);
    a violation names the version in force when it happened. A retiring version ends the
    previous one and is itself never in force."""

    __tablename__ = "zone_versions"
    __table_args__ = (UniqueConstraint("zone_id", "version", name="uq_zone_versions_zone_version"),)

    id: Mapped[int] = id_column()
    zone_id: Mapped[int] = mapped_column(ForeignKey("no_use_zones.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[ZoneStatus] = mapped_column(enum_type(ZoneStatus, "zone_status"))
    name: Mapped[str] = mapped_column(String(100))
    district_code: Mapped[str | None] = mapped_column(String(6))
    geometry = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False)
    source_crs: Mapped[str] = mapped_column(String(8))
    source_geojson: Mapped[dict | None] = mapped_column(JSONB)  # as submitted; null when the area was unchanged
    prohibited_stages: Mapped[list] = mapped_column(JSONB)
    exempt_machine_types: Mapped[list] = mapped_column(JSONB)
    prohibit_unknown_stage: Mapped[bool] = mapped_column(Boolean)
    prohibit_unregistered: Mapped[bool] = mapped_column(Boolean)
    unknown_engine_state_is_working: Mapped[bool] = mapped_column(Boolean)
    effective_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    effective_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    daily_windows: Mapped[list] = mapped_column(JSONB)  # [{"start": "07:00", "end": "19:00"}], local time
    alert_days_only: Mapped[bool] = mapped_column(Boolean)
    changed: Mapped[list] = mapped_column(JSONB)  # names of what this version changed
    note: Mapped[str] = mapped_column(String(300))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[int | None] = mapped_column(BigInteger)
    # Random per version: with the newest id it keys the engine cache of every worker, so that
    # no two zone sets ever share a key (not even after a restore that reuses ids and times).
    token: Mapped[uuid.UUID] = mapped_column(Uuid, default=uuid.uuid4)


class AlertDay(Base):
    """A heavy-pollution alert day (local date), declared by the bureau: zones marked
    `alert_days_only` are in force on these days only."""

    __tablename__ = "alert_days"
    __audited__ = True

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    level: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(String(300), default="")
    declared_by: Mapped[int | None] = mapped_column(BigInteger)
    declared_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PositionBatch(Base):
    """One accepted POST of positions: durable before the answer, then geofenced by a job."""

    __tablename__ = "position_batches"
    __audited__ = True
    __table_args__ = (Index("ix_position_batches_unprocessed", "id", postgresql_where=text("NOT processed")),)

    id: Mapped[int] = id_column()
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    key_id: Mapped[int | None] = mapped_column(BigInteger)
    role: Mapped[str] = mapped_column(String(20))
    enterprise_id: Mapped[int | None] = mapped_column(BigInteger)  # the sender's scope
    items: Mapped[int] = mapped_column(Integer)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    first_fix_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # of accepted fixes
    last_fix_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    processed: Mapped[bool] = mapped_column(Boolean, default=False)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class MachinePosition(Base):
    """Accepted fixes, WGS-84. Range-partitioned by local day (core/partitions.py), written
    with binary COPY. No foreign keys: they would cost a trigger per row on the hot path, and
    machines and batches are never deleted."""

    __tablename__ = "machine_positions"
    __table_args__ = (
        PrimaryKeyConstraint("machine_id", "fix_time", name="pk_machine_positions"),
        Index("ix_machine_positions_batch_id", "batch_id", postgresql_using="brin"),
        {"postgresql_partition_by": "RANGE (fix_time)"},
    )

    machine_id: Mapped[int] = mapped_column(BigInteger)
    fix_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    batch_id: Mapped[int] = mapped_column(BigInteger)
    lon: Mapped[float] = mapped_column(Double)
    lat: Mapped[float] = mapped_column(Double)
    source_crs: Mapped[str] = mapped_column(String(8))
    hdop: Mapped[float | None] = mapped_column(REAL)
    accuracy_m: Mapped[float | None] = mapped_column(REAL)
    satellites: Mapped[int | None] = mapped_column(SmallInteger)
    speed_kmh: Mapped[float | None] = mapped_column(REAL)
    heading: Mapped[float | None] = mapped_column(REAL)
    engine_on: Mapped[bool | None] = mapped_column(Boolean)
    engine_rpm: Mapped[float | None] = mapped_column(REAL)
    position_valid: Mapped[bool | None] = mapped_column(Boolean)
    flags: Mapped[int] = mapped_column(SmallInteger)  # bit set of fixes.FixFlag (positions.FLAG_BITS)


class PositionReject(Base):
    """A rejected item, kept with its reason and its record as received: nothing is dropped
    silently."""

    __tablename__ = "position_rejects"

    id: Mapped[int] = id_column()
    batch_id: Mapped[int] = mapped_column(ForeignKey("position_batches.id"), index=True)
    item_index: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str] = mapped_column(String(300), default="")
    machine_id: Mapped[int | None] = mapped_column(BigInteger)
    fix_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    raw: Mapped[dict] = mapped_column(JSONB)


class MachineLastPosition(Base):
    """The last known position of each machine: its latest fix usable for geofencing."""

    __tablename__ = "machine_last_positions"

    machine_id: Mapped[int] = mapped_column(ForeignKey("machines.id"), primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(BigInteger, index=True)  # the owner when reported
    machine_code: Mapped[str] = mapped_column(String(15))
    fix_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    lon: Mapped[float] = mapped_column(Double)
    lat: Mapped[float] = mapped_column(Double)
    location = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=False)
    hdop: Mapped[float | None] = mapped_column(REAL)
    accuracy_m: Mapped[float | None] = mapped_column(REAL)
    speed_kmh: Mapped[float | None] = mapped_column(REAL)
    heading: Mapped[float | None] = mapped_column(REAL)
    engine_on: Mapped[bool | None] = mapped_column(Boolean)
    engine_rpm: Mapped[float | None] = mapped_column(REAL)
    batch_id: Mapped[int] = mapped_column(BigInteger)


class ZoneVisitState(Base):
    """Visit state machine of one machine in one zone (zones/visits.py), persisted between
    batches. `visit_id` is the open visit, if any."""

    __tablename__ = "zone_visit_states"
    __table_args__ = (PrimaryKeyConstraint("machine_id", "zone_id", name="pk_zone_visit_states"),)

    machine_id: Mapped[int] = mapped_column(ForeignKey("machines.id"))
    zone_id: Mapped[int] = mapped_column(ForeignKey("no_use_zones.id"), index=True)
    status: Mapped[str] = mapped_column(String(8))
    last_fix_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    entry_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    run: Mapped[list] = mapped_column(JSONB)  # contrary fixes awaiting confirmation
    run_length: Mapped[int] = mapped_column(Integer)
    visit_id: Mapped[int | None] = mapped_column(BigInteger)
    violating: Mapped[bool] = mapped_column(Boolean)


class ZoneVisit(Base):
    """A confirmed visit of a machine to a zone, open until it leaves (or falls silent)."""

    __tablename__ = "zone_visits"
    __table_args__ = (
        Index("ix_zone_visits_open", "zone_id", "entry_time", postgresql_where=text("exit_time IS NULL")),
        Index("ix_zone_visits_machine_time", "machine_id", "entry_time"),
        Index("ix_zone_visits_zone_time", "zone_id", "entry_time"),
        Index("ix_zone_visits_enterprise_time", "enterprise_id", "entry_time"),
    )

    id: Mapped[int] = id_column()
    machine_id: Mapped[int] = mapped_column(ForeignKey("machines.id"))
    machine_code: Mapped[str] = mapped_column(String(15))
    enterprise_id: Mapped[int] = mapped_column(BigInteger)  # the owner when it happened
    zone_id: Mapped[int] = mapped_column(ForeignKey("no_use_zones.id"))
    zone_version_id: Mapped[int] = mapped_column(ForeignKey("zone_versions.id"))
    entry_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    confirmed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    exit_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    dwell_seconds: Mapped[int | None] = mapped_column(Integer)
    ended_by: Mapped[str | None] = mapped_column(String(16))
    machine_barred: Mapped[bool] = mapped_column(Boolean)  # stage/registration barred here (engine aside)
    reasons: Mapped[list] = mapped_column(JSONB)  # the decision at confirmation
    entry_evidence: Mapped[list] = mapped_column(JSONB)
    exit_evidence: Mapped[list | None] = mapped_column(JSONB)
    violation_id: Mapped[int | None] = mapped_column(ForeignKey("violations.id"))
    violation_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

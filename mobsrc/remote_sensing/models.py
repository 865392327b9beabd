"""Remote-sensing persistence.

- `rs_station_details`, `rs_calibrations`: what the registry's station row does not say about a
  roadside site (road, lanes, direction, device) and the device's calibration / audit checks.
- `rs_limit_tables`: the versioned limit documents (never edited in place; verdicts cite them).
- `rs_batches`: one row per posted batch; `processed_at` is the judgement job's "done" flag
  (the reconciler re-queues batches accepted but not processed).
- `rs_readings`: what the station reported, immutable; `rs_verdicts`: what we concluded about a
  reading (vehicle match, calibration reference, limit version, outcome and reasons). A reading
  judged again (its plate was registered later) gets a new verdict and the old one is marked
  superseded, so every judgement ever given stays on record.
- `rs_confirmations`: confirmed high emitters, each with its evidence readings and its I/M
  hand-over state.

Readings and verdicts are range-partitioned by Asia/Shanghai day on `measured_at` (partitions
`<table>_pYYYYMMDD` made by `partitions.py`, a `<table>_default` partition catches the rest).
They carry no foreign keys: rows are moved between partitions by the maintenance job and COPY
stays at full speed; the service writes them together in one transaction.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Sequence,
    SmallInteger,
    String,
    UniqueConstraint,
    and_,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from mobsrc.core.db import Base, created_at_column, enum_type, id_column
from mobsrc.registry.identifiers import PlateColour
from mobsrc.remote_sensing.calibration import CheckKind
from mobsrc.remote_sensing.verdicts import Outcome

READING_ID_SEQ = Sequence("rs_readings_id_seq")
VERDICT_ID_SEQ = Sequence("rs_verdicts_id_seq")
PARTITION_BY = "RANGE (measured_at)"


class RsStationDetails(Base):
    """The roadside specifics of a remote-sensing station (kind 'rs' in the registry)."""

    __tablename__ = "rs_station_details"
    __audited__ = True
    __table_args__ = (CheckConstraint("lanes BETWEEN 1 AND 20", name="lanes_range"),)

    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), primary_key=True)
    road: Mapped[str] = mapped_column(String(200))
    direction: Mapped[str] = mapped_column(String(60))  # e.g. "northbound", "花溪往市区"
    lanes: Mapped[int] = mapped_column(SmallInteger)
    mounting: Mapped[str] = mapped_column(String(20))  # vertical, horizontal, mobile
    device_make: Mapped[str] = mapped_column(String(100))
    device_model: Mapped[str] = mapped_column(String(100))
    device_serial: Mapped[str] = mapped_column(String(100))
    slope_deg: Mapped[float | None] = mapped_column(Float)  # site road grade (doc 1.5, 1.7)
    updated_at: Mapped[datetime] = created_at_column()


class RsCalibration(Base):
    __tablename__ = "rs_calibrations"
    __audited__ = True
    __table_args__ = (
        CheckConstraint("valid_to >= valid_from", name="valid_range"),
        Index("ix_rs_calibrations_station_validity", "station_id", "valid_from", "valid_to"),
    )

    id: Mapped[int] = id_column()
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    kind: Mapped[CheckKind] = mapped_column(enum_type(CheckKind, "rs_check_kind"))
    performed_on: Mapped[date] = mapped_column(Date)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    passed: Mapped[bool] = mapped_column(Boolean)
    certificate_no: Mapped[str] = mapped_column(String(100), default="", server_default="")
    performed_by: Mapped[str] = mapped_column(String(200), default="", server_default="")
    device_serial: Mapped[str] = mapped_column(String(100), default="", server_default="")
    notes: Mapped[str] = mapped_column(String(500), default="", server_default="")
    recorded_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = created_at_column()


class RsLimitTable(Base):
    __tablename__ = "rs_limit_tables"
    __audited__ = True

    id: Mapped[int] = id_column()
    version: Mapped[str] = mapped_column(String(60), unique=True)
    effective_from: Mapped[date] = mapped_column(Date)
    document: Mapped[dict] = mapped_column(JSONB)
    note: Mapped[str] = mapped_column(String(500), default="", server_default="")
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = created_at_column()


class RsBatch(Base):
    __tablename__ = "rs_batches"
    __audited__ = True
    __table_args__ = (
        Index("ix_rs_batches_unprocessed", "id", postgresql_where=text("processed_at IS NULL")),
        Index("ix_rs_batches_station_received", "station_id", "received_at"),
    )

    id: Mapped[int] = id_column()
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    submitted_by: Mapped[int | None] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = created_at_column()
    received: Mapped[int] = mapped_column(Integer)
    accepted: Mapped[int] = mapped_column(Integer)
    duplicates: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    first_measured_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_measured_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcomes: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")


class RsReading(Base):
    """One pass as the station reported it (plate normalised). Never updated."""

    __tablename__ = "rs_readings"
    __table_args__ = (
        PrimaryKeyConstraint("id", "measured_at", name="pk_rs_readings"),
        # A repeated post of the same pass (same station, lane, time, plate) is stored once;
        # two unread plates at the same instant in the same lane are the same pass.
        Index("uq_rs_readings_pass", "station_id", "measured_at", "lane", "plate", unique=True,
              postgresql_nulls_not_distinct=True),
        Index("ix_rs_readings_plate_time", "plate", "plate_colour", "measured_at"),
        {"postgresql_partition_by": PARTITION_BY},
    )

    id: Mapped[int] = mapped_column(BigInteger, READING_ID_SEQ, server_default=READING_ID_SEQ.next_value())
    measured_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    station_id: Mapped[int] = mapped_column(BigInteger)
    batch_id: Mapped[int] = mapped_column(BigInteger)
    lane: Mapped[int] = mapped_column(SmallInteger)
    plate: Mapped[str | None] = mapped_column(String(10))
    plate_colour: Mapped[PlateColour | None] = mapped_column(enum_type(PlateColour, "rs_plate_colour"))
    record_id: Mapped[str | None] = mapped_column(String(64))
    speed_kmh: Mapped[float] = mapped_column(Float)
    accel_ms2: Mapped[float] = mapped_column(Float)
    vsp_kw_t: Mapped[float | None] = mapped_column(Float)
    opacity_pct: Mapped[float | None] = mapped_column(Float)
    k_m1: Mapped[float | None] = mapped_column(Float)
    ringelmann_grade: Mapped[float | None] = mapped_column(Float)
    no_ppm: Mapped[float | None] = mapped_column(Float)
    co_pct: Mapped[float | None] = mapped_column(Float)
    hc_ppm: Mapped[float | None] = mapped_column(Float)
    co2_pct: Mapped[float | None] = mapped_column(Float)
    wind_ms: Mapped[float | None] = mapped_column(Float)
    wind_dir_deg: Mapped[float | None] = mapped_column(Float)
    temp_c: Mapped[float | None] = mapped_column(Float)
    rh_pct: Mapped[float | None] = mapped_column(Float)
    pressure_kpa: Mapped[float | None] = mapped_column(Float)
    rain: Mapped[bool | None] = mapped_column(Boolean)
    slope_deg: Mapped[float | None] = mapped_column(Float)
    evidence: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")
    received_at: Mapped[datetime] = created_at_column()

    verdict: Mapped[RsVerdict | None] = relationship(
        primaryjoin=lambda: and_(foreign(RsVerdict.reading_id) == RsReading.id,
                                 foreign(RsVerdict.measured_at) == RsReading.measured_at,
                                 RsVerdict.superseded_at.is_(None)),
        viewonly=True, uselist=False, lazy="joined", innerjoin=False)


class RsVerdict(Base):
    """One judgement of one reading: which vehicle, which calibration and limit version, what
    outcome and why. The current verdict of a reading is the one not superseded."""

    __tablename__ = "rs_verdicts"
    __table_args__ = (
        PrimaryKeyConstraint("id", "measured_at", name="pk_rs_verdicts"),
        Index("uq_rs_verdicts_current", "reading_id", "measured_at", unique=True,
              postgresql_where=text("superseded_at IS NULL")),
        Index("ix_rs_verdicts_plate_time", "plate", "plate_colour", "measured_at"),
        Index("ix_rs_verdicts_station_time", "station_id", "measured_at"),
        Index("ix_rs_verdicts_vehicle_time", "vehicle_id", "measured_at",
              postgresql_where=text("vehicle_id IS NOT NULL")),
        Index("ix_rs_verdicts_enterprise_time", "enterprise_id", "measured_at",
              postgresql_where=text("enterprise_id IS NOT NULL")),
        {"postgresql_partition_by": PARTITION_BY},
    )

    id: Mapped[int] = mapped_column(BigInteger, VERDICT_ID_SEQ, server_default=VERDICT_ID_SEQ.next_value())
    measured_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reading_id: Mapped[int] = mapped_column(BigInteger)
    station_id: Mapped[int] = mapped_column(BigInteger)
    plate: Mapped[str | None] = mapped_column(String(10))
    plate_colour: Mapped[PlateColour | None] = mapped_column(enum_type(PlateColour, "rs_plate_colour"))
    vehicle_id: Mapped[int | None] = mapped_column(BigInteger)
    enterprise_id: Mapped[int | None] = mapped_column(BigInteger)  # the owner when judged
    fuel: Mapped[str | None] = mapped_column(String(10))
    calibration_id: Mapped[int | None] = mapped_column(BigInteger)
    outcome: Mapped[Outcome] = mapped_column(enum_type(Outcome, "rs_outcome"))
    limit_version: Mapped[str] = mapped_column(String(60))
    reasons: Mapped[list] = mapped_column(JSONB)
    pollutants: Mapped[list] = mapped_column(JSONB)
    exceeded: Mapped[list[str]] = mapped_column(ARRAY(String(12)))
    passed: Mapped[list[str]] = mapped_column(ARRAY(String(12)))
    black_smoke: Mapped[bool] = mapped_column(Boolean)
    vsp_kw_t: Mapped[float] = mapped_column(Float)
    vsp_source: Mapped[str] = mapped_column(String(16))
    judged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class HandoverStatus(str, enum.Enum):
    PENDING = "pending"  # waiting for the I/M loop to open a case
    HANDED_OVER = "handed_over"


class RsConfirmation(Base):
    """A confirmed high emitter (doc 1.6): `min_exceedances` valid exceedances of one pollutant."""

    __tablename__ = "rs_confirmations"
    __audited__ = True
    __table_args__ = (
        UniqueConstraint("plate", "plate_colour", "pollutant", "reading_ids", name="uq_rs_confirmations_evidence"),
        Index("ix_rs_confirmations_vehicle", "vehicle_id", "confirmed_at"),
        Index("ix_rs_confirmations_handover", "id", postgresql_where=text("handover_status = 'pending'")),
    )

    id: Mapped[int] = id_column()
    plate: Mapped[str] = mapped_column(String(10))
    plate_colour: Mapped[PlateColour] = mapped_column(enum_type(PlateColour, "rs_plate_colour"))
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"))
    enterprise_id: Mapped[int | None] = mapped_column(BigInteger)
    pollutant: Mapped[str] = mapped_column(String(12))
    reading_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    first_measured_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_measured_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    limit_version: Mapped[str] = mapped_column(String(60))
    rule: Mapped[dict] = mapped_column(JSONB)
    violation_id: Mapped[int | None] = mapped_column(ForeignKey("violations.id"))
    handover_status: Mapped[HandoverStatus] = mapped_column(enum_type(HandoverStatus, "rs_handover_status"),
                                                            default=HandoverStatus.PENDING)
    handed_over_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    handover_ref: Mapped[str | None] = mapped_column(String(60))  # e.g. the I/M case id
    confirmed_at: Mapped[datetime] = created_at_column()


class RsJobMark(Base):
    """Where a periodic job got to (the re-matching job's last run)."""

    __tablename__ = "rs_job_marks"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

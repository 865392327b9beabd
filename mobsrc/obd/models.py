"""OBD persistence: ingestion batches, the two day-partitioned record tables, the latest state
and the learnt profile of each terminal, the terminals' removal reports, alarms with their evidence, versioned rule settings
and daily online rates.

The record tables are written with binary COPY only (obd/storage.py), never through these
classes; the classes serve the read side and Alembic.  They carry no foreign keys: the ingest
service resolves every VIN to a registered vehicle before writing, and a per-row FK check
would cost a large share of the COPY rate.  Day partitions `<table>_pYYYYMMDD` (Asia/Shanghai
days) are made and dropped by obd/storage.py, never by migrations.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    REAL,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Double,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from mobsrc.core.db import Base, created_at_column, enum_type, id_column
from mobsrc.obd.alarm_model import AlarmKind


class BatchSource(str, enum.Enum):
    JSON = "json"          # POST /obd/records
    FRAMES = "frames"      # POST /obd/frames (application/octet-stream)
    GATEWAY = "gateway"    # the TCP gateway


class ObdBatch(Base):
    """One accepted submission. `processed_at` is the processed flag: the alarm job sets it in
    the transaction that applies the batch's consequences, the reconciler finds the rest."""

    __tablename__ = "obd_batches"
    __table_args__ = (
        Index("ix_obd_batches_unprocessed", "id", postgresql_where=text("processed_at IS NULL")),
    )

    id: Mapped[int] = id_column()
    source: Mapped[BatchSource] = mapped_column(enum_type(BatchSource, "obd_batch_source"))
    user_id: Mapped[int | None] = mapped_column(BigInteger)      # submitter (None: the gateway)
    key_id: Mapped[int | None] = mapped_column(BigInteger)
    enterprise_id: Mapped[int | None] = mapped_column(BigInteger)  # submitter's scope
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    submitted: Mapped[int] = mapped_column(Integer)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    vehicle_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), default=list)
    first_collected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_collected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def _real():
    """float4: 7 significant digits hold every field's resolution; NULL = not available."""
    return mapped_column(REAL)


class StreamRecord(Base):
    """A data-stream sample (info types 0x02-0x05, 0x80), one per (vehicle, time, type)."""

    __tablename__ = "obd_stream_records"
    __table_args__ = (
        PrimaryKeyConstraint("vehicle_id", "collected_at", "info_type", name="pk_obd_stream_records"),
        {"postgresql_partition_by": "RANGE (collected_at)"},
    )

    vehicle_id: Mapped[int] = mapped_column(BigInteger)
    collected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    info_type: Mapped[int] = mapped_column(SmallInteger)
    kind: Mapped[int] = mapped_column(SmallInteger)           # command: 2 real-time, 3 re-sent
    serial: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    batch_id: Mapped[int] = mapped_column(BigInteger)
    # engine data stream (type 0x02; the shared fields of 0x03/0x05), physical units
    vehicle_speed: Mapped[float | None] = _real()
    atmospheric_pressure: Mapped[float | None] = _real()
    engine_net_torque: Mapped[float | None] = _real()
    friction_torque: Mapped[float | None] = _real()
    engine_speed: Mapped[float | None] = _real()
    fuel_flow: Mapped[float | None] = _real()
    nox_upstream: Mapped[float | None] = _real()
    nox_downstream: Mapped[float | None] = _real()
    reagent_level: Mapped[float | None] = _real()
    intake_air_flow: Mapped[float | None] = _real()
    scr_inlet_temperature: Mapped[float | None] = _real()
    scr_outlet_temperature: Mapped[float | None] = _real()
    dpf_pressure_drop: Mapped[float | None] = _real()
    coolant_temperature: Mapped[float | None] = _real()
    fuel_level: Mapped[float | None] = _real()
    total_mileage: Mapped[float | None] = mapped_column(Double)   # km, up to 4.3e8
    longitude: Mapped[float | None] = mapped_column(Double)    # WGS-84, signed
    latitude: Mapped[float | None] = mapped_column(Double)
    position_valid: Mapped[bool | None] = mapped_column(Boolean)
    extra: Mapped[dict | None] = mapped_column(JSONB)           # fields of the non-engine bodies
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)      # wire body (frames only), 7.20


class InfoRecord(Base):
    """An OBD information block (type 0x01), one per (vehicle, time)."""

    __tablename__ = "obd_info_records"
    __table_args__ = (
        PrimaryKeyConstraint("vehicle_id", "collected_at", name="pk_obd_info_records"),
        {"postgresql_partition_by": "RANGE (collected_at)"},
    )

    vehicle_id: Mapped[int] = mapped_column(BigInteger)
    collected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[int] = mapped_column(SmallInteger)
    serial: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    batch_id: Mapped[int] = mapped_column(BigInteger)
    protocol: Mapped[int | None] = mapped_column(SmallInteger)   # 0 ISO 15765, 1 ISO 27145, 2 J1939
    mil_on: Mapped[bool | None] = mapped_column(Boolean)
    dtc_count: Mapped[int | None] = mapped_column(SmallInteger)
    dtcs: Mapped[list] = mapped_column(JSONB)                    # [{"raw": "145600AF", "code": ...}]
    cal_id: Mapped[str] = mapped_column(String(18))
    cvn: Mapped[str] = mapped_column(String(36))
    cvn_hex: Mapped[str] = mapped_column(String(36))
    obd_vin: Mapped[str] = mapped_column(String(17))
    obd_vin_check_ok: Mapped[bool] = mapped_column(Boolean)
    support_map: Mapped[int] = mapped_column(Integer)
    readiness_map: Mapped[int] = mapped_column(Integer)
    iupr: Mapped[dict] = mapped_column(JSONB)


class VehicleState(Base):
    """The latest known state of a monitored vehicle, upserted once per vehicle per batch."""

    __tablename__ = "obd_vehicle_states"
    __table_args__ = {"postgresql_with": {"fillfactor": 70}}   # room for HOT updates

    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"), primary_key=True)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))      # server clock
    last_collected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_record: Mapped[dict | None] = mapped_column(JSONB)      # values of the latest sample
    last_obd_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_obd: Mapped[dict | None] = mapped_column(JSONB)         # the latest OBD snapshot
    evaluated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TerminalProfile(Base):
    """What a vehicle's terminal told us: login details and the learnt real-time layout."""

    __tablename__ = "obd_terminal_profiles"

    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"), primary_key=True)
    layout: Mapped[str | None] = mapped_column(String(10))       # gb17691 | hj1239
    software_version: Mapped[int | None] = mapped_column(SmallInteger)
    iccid: Mapped[str | None] = mapped_column(String(20))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_serial: Mapped[int | None] = mapped_column(Integer)
    last_logout_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TerminalRemoval(Base):
    """A 0x06 removal (tamper) alarm as the terminal sent it; stored once (a terminal repeats
    it every 60 s, and re-sends what was not answered)."""

    __tablename__ = "obd_removal_reports"
    __table_args__ = (
        UniqueConstraint("vehicle_id", "reported_at", "serial", name="uq_obd_removal_reports_report"),
        Index("ix_obd_removal_reports_vehicle_received", "vehicle_id", "received_at"),
    )

    id: Mapped[int] = id_column()
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"))
    vin: Mapped[str] = mapped_column(String(17))
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))   # terminal's time
    time_valid: Mapped[bool] = mapped_column(Boolean)       # False: reported_at is received_at
    serial: Mapped[int] = mapped_column(Integer)
    longitude: Mapped[float | None] = mapped_column(Double)  # WGS-84, None when invalid
    latitude: Mapped[float | None] = mapped_column(Double)
    position_valid: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[BatchSource] = mapped_column(enum_type(BatchSource, "obd_batch_source"))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AlarmStatus(str, enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


class HandoverStatus(str, enum.Enum):
    NONE = "none"              # not for the I/M loop (e.g. terminal offline)
    PENDING = "pending"        # waiting for the I/M case service (obd.service.hand_over_alarm)
    HANDED_OVER = "handed_over"


class Alarm(Base):
    """At most one open alarm per vehicle and kind (a partial unique index says so)."""

    __tablename__ = "obd_alarms"
    __audited__ = True
    __table_args__ = (
        Index("uq_obd_alarms_open", "vehicle_id", "kind", unique=True,
              postgresql_where=text("status = 'open'")),
        Index("ix_obd_alarms_vehicle_opened", "vehicle_id", "opened_at"),
        Index("ix_obd_alarms_enterprise_opened", "enterprise_id", "opened_at"),
        Index("ix_obd_alarms_status_kind", "status", "kind"),
    )

    id: Mapped[int] = id_column()
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"))
    vin: Mapped[str] = mapped_column(String(17))
    enterprise_id: Mapped[int | None] = mapped_column(BigInteger)   # owner when it opened
    kind: Mapped[AlarmKind] = mapped_column(enum_type(AlarmKind, "obd_alarm_kind"))
    rule_id: Mapped[str] = mapped_column(String(40))
    rule_version: Mapped[int] = mapped_column(Integer)              # settings in force (0 = code)
    status: Mapped[AlarmStatus] = mapped_column(enum_type(AlarmStatus, "obd_alarm_status"),
                                                default=AlarmStatus.OPEN)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))   # condition span
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    evidence: Mapped[dict] = mapped_column(JSONB, default=dict)     # the rule's finding
    window: Mapped[list] = mapped_column(JSONB, default=list)       # the records that prove it
    params: Mapped[dict] = mapped_column(JSONB, default=dict)       # thresholds applied
    handover_status: Mapped[HandoverStatus] = mapped_column(
        enum_type(HandoverStatus, "obd_handover_status"), default=HandoverStatus.NONE)
    handover_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    handover_ref: Mapped[str | None] = mapped_column(String(60))   # e.g. "im_case:12"
    violation_id: Mapped[int | None] = mapped_column(ForeignKey("violations.id"))
    created_at: Mapped[datetime] = created_at_column()


class RuleSetting(Base):
    """A version of one alarm rule's settings. The highest version is in force; versions are
    never changed (a change is a new row), so every alarm names the settings it was judged by."""

    __tablename__ = "obd_rule_settings"
    __audited__ = True
    __table_args__ = (UniqueConstraint("rule_id", "version", name="uq_obd_rule_settings_version"),)

    id: Mapped[int] = id_column()
    rule_id: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    thresholds: Mapped[dict] = mapped_column(JSONB)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    violation_after_h: Mapped[float | None] = mapped_column(Float)   # None: never a violation
    note: Mapped[str] = mapped_column(String(300), default="", server_default="")
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = created_at_column()


class OnlineDay(Base):
    """Daily online rate of one vehicle (obd/online_rate.py defines it)."""

    __tablename__ = "obd_online_days"
    __table_args__ = (PrimaryKeyConstraint("vehicle_id", "day", name="pk_obd_online_days"),
                      Index("ix_obd_online_days_day", "day"))

    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"))
    day: Mapped[date] = mapped_column(Date)                   # Asia/Shanghai calendar day
    slot_s: Mapped[int] = mapped_column(Integer)
    slots_with_data: Mapped[int] = mapped_column(Integer)
    span_slots: Mapped[int] = mapped_column(Integer)
    slots_in_day: Mapped[int] = mapped_column(Integer)
    rate: Mapped[float] = mapped_column(Float)
    coverage: Mapped[float] = mapped_column(Float)
    first_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

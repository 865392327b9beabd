"""The one violation register, every kind, with its history; district boundaries for locating.

Indexes serve the police queries (benchmarks/violations.py measures them on 5 M rows): every
filter column leads a B-tree that ends in (occurred_at, id), the register's one stable order, so
a filter plus the keyset cursor is one ordered index range. The area query is served by one GiST
over (location, occurred_at) (btree_gist): a polygon and a time window are searched together
instead of AND-ing two bitmaps; when the area holds a large share of the window, the planner
walks (occurred_at, id) backwards and stops after a page instead.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from mobsrc.core.db import Base, created_at_column, enum_type, id_column
from mobsrc.enforcement.actions import AppealStatus
from mobsrc.enforcement.register import SubjectType, ViolationKind, ViolationStatus


class LegalBasis(Base):
    __tablename__ = "legal_bases"
    __audited__ = True

    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    instrument: Mapped[str] = mapped_column(String(200))
    article: Mapped[str] = mapped_column(String(10))
    paragraph: Mapped[str | None] = mapped_column(String(10))
    authority: Mapped[str] = mapped_column(String(100))
    summary: Mapped[str] = mapped_column(String(300))
    fine_min: Mapped[int | None] = mapped_column(Integer)
    fine_max: Mapped[int | None] = mapped_column(Integer)
    fine_unit: Mapped[str | None] = mapped_column(String(20))
    points: Mapped[int | None] = mapped_column(Integer)
    confidence: Mapped[str] = mapped_column(String(12))
    effective_from: Mapped[date | None] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)


class Violation(Base):
    __tablename__ = "violations"
    __audited__ = True
    __table_args__ = (
        UniqueConstraint("source", "source_ref", name="uq_violations_source_ref"),
        UniqueConstraint("decision_number", name="uq_violations_decision_number"),
        Index("ix_violations_time", "occurred_at", "id"),
        Index("ix_violations_plate_time", "plate", "occurred_at", "id"),
        Index("ix_violations_vin_time", "vin", "occurred_at", "id"),
        Index("ix_violations_machine_code_time", "machine_code", "occurred_at", "id"),
        Index("ix_violations_kind_time", "kind", "occurred_at", "id"),
        Index("ix_violations_status_time", "status", "occurred_at", "id"),
        Index("ix_violations_district_time", "district_code", "occurred_at", "id"),
        Index("ix_violations_enterprise_time", "enterprise_id", "occurred_at", "id"),
        Index("ix_violations_location_time", "location", "occurred_at", postgresql_using="gist"),
        Index("ix_violations_vehicle_id", "vehicle_id", postgresql_where="vehicle_id IS NOT NULL"),
        Index("ix_violations_machine_id", "machine_id", postgresql_where="machine_id IS NOT NULL"),
    )

    id: Mapped[int] = id_column()
    kind: Mapped[ViolationKind] = mapped_column(enum_type(ViolationKind, "violation_kind"))
    status: Mapped[ViolationStatus] = mapped_column(enum_type(ViolationStatus, "violation_status"),
                                                    default=ViolationStatus.OPEN)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    subject_type: Mapped[SubjectType] = mapped_column(enum_type(SubjectType, "subject_type"))
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"))
    machine_id: Mapped[int | None] = mapped_column(ForeignKey("machines.id"))
    plate: Mapped[str | None] = mapped_column(String(10))
    plate_colour: Mapped[str | None] = mapped_column(String(16))
    vin: Mapped[str | None] = mapped_column(String(17))
    machine_code: Mapped[str | None] = mapped_column(String(15))
    enterprise_id: Mapped[int | None] = mapped_column(BigInteger)  # the owner when it happened
    location = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=True)  # GiST above
    district_code: Mapped[str | None] = mapped_column(String(6))
    source: Mapped[str] = mapped_column(String(30))
    source_ref: Mapped[str] = mapped_column(String(120))
    evidence: Mapped[list] = mapped_column(JSONB, default=list)
    details: Mapped[dict] = mapped_column(JSONB, default=dict)
    legal_basis_code: Mapped[str] = mapped_column(ForeignKey("legal_bases.code"))
    created_at: Mapped[datetime] = created_at_column()
    # The current enforcement state; every change is also a ViolationEvent (the history).
    status_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status_reason: Mapped[str | None] = mapped_column(String(500))   # why dismissed / reviewed / reopened
    decision_number: Mapped[str | None] = mapped_column(String(60))  # 处罚决定书编号, unique
    penalty_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    officer: Mapped[str | None] = mapped_column(String(60))          # who decided (name / badge number)
    decided_on: Mapped[date | None] = mapped_column(Date)
    appeal_status: Mapped[AppealStatus | None] = mapped_column(enum_type(AppealStatus, "appeal_status"))


class ViolationEvent(Base):
    """History of a violation: status changes and enforcement actions, with who and when."""

    __tablename__ = "violation_events"

    id: Mapped[int] = id_column()
    violation_id: Mapped[int] = mapped_column(ForeignKey("violations.id"), index=True)
    at: Mapped[datetime] = created_at_column()
    actor_user_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(30))       # recorded, ended, status, penalty, appeal, note
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(500))
    decision_number: Mapped[str | None] = mapped_column(String(60))
    penalty_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    officer: Mapped[str | None] = mapped_column(String(60))
    decided_on: Mapped[date | None] = mapped_column(Date)
    details: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")  # appeal channel, outcome...


class _DayKey:
    """A Beijing day, kind, status, subject type and district ('' when unknown)."""

    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[ViolationKind] = mapped_column(enum_type(ViolationKind, "violation_kind"))
    status: Mapped[ViolationStatus] = mapped_column(enum_type(ViolationStatus, "violation_status"))
    subject_type: Mapped[SubjectType] = mapped_column(enum_type(SubjectType, "subject_type"))
    district_code: Mapped[str] = mapped_column(String(6))
    violations: Mapped[int] = mapped_column(BigInteger)


class ViolationDayCount(_DayKey, Base):
    """How many violations each Beijing day has, per kind, status, subject type and district:
    what dashboards read instead of scanning the register (a year: ~3 s from violations, a few
    ms from here). Changes arrive through ViolationDayCountChange (migration 0007b)."""

    __tablename__ = "violation_day_counts"
    __table_args__ = (PrimaryKeyConstraint("day", "kind", "status", "subject_type", "district_code"),)


class ViolationDayCountChange(_DayKey, Base):
    """Net changes of the counts, appended by a statement-level trigger on `violations` in the
    writer's transaction (inserts only: writers never wait for one another), folded into
    ViolationDayCount every minute by `statistics.fold_day_count_changes`."""

    __tablename__ = "violation_day_count_changes"

    id: Mapped[int] = id_column()


class DistrictBoundary(Base):
    """Where each district (`districts`, GB/T 2260) lies, in WGS-84: a violation recorded without
    a district code gets the one its location falls in. Loaded by migration 0007 from
    core/geo/data (core/geo/districts.py)."""

    __tablename__ = "district_boundaries"

    code: Mapped[str] = mapped_column(ForeignKey("districts.code"), primary_key=True)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False)
    source: Mapped[str] = mapped_column(String(200))

"""I/M persistence: inspections (with their process curves), repairs, cases with their triggers,
history and the stations that worked on them, the owners' notification outbox and webhooks,
fraud flags and the bureau's parameter overrides.

Other features' tables are referenced by name (stations, vehicles, enterprises, violations).
"""
from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from mobsrc.core.db import Base, created_at_column, enum_type, id_column
from mobsrc.im.cases import CaseState, TriggerKind
from mobsrc.im.fraud import FraudKind
from mobsrc.im.inspection import InspectionKind, Outcome
from mobsrc.im.limits import InspectionMethod, LimitTier

_AWARE = DateTime(timezone=True)
_ACTIVE = "state NOT IN ('closed', 'cancelled')"


class Case(Base):
    """One vehicle's trip round the loop. At most one active case per vehicle (`subject_key`):
    a further trigger while it is active is added to it (`CaseTrigger`), not a second loop."""

    __tablename__ = "im_cases"
    __audited__ = True
    __table_args__ = (
        Index("uq_im_cases_active_subject", "subject_key", unique=True, postgresql_where=text(_ACTIVE)),
        Index("ix_im_cases_deadline_due", "deadline", postgresql_where=text("overdue_at IS NULL")),
        Index("ix_im_cases_escalation_due", "overdue_at",
              postgresql_where=text("escalated_at IS NULL AND overdue_at IS NOT NULL")),
        Index("ix_im_cases_opened", "opened_at", "id"),
        Index("ix_im_cases_vin", "vin"),
        Index("ix_im_cases_plate", "plate"),
    )

    id: Mapped[int] = id_column()
    state: Mapped[CaseState] = mapped_column(enum_type(CaseState, "im_case_state"), index=True)
    trigger: Mapped[TriggerKind] = mapped_column(enum_type(TriggerKind, "im_trigger_kind"))
    subject_key: Mapped[str] = mapped_column(String(40))  # "vin:<VIN>" or "plate:<plate>/<colour>"
    vin: Mapped[str | None] = mapped_column(String(17))
    plate: Mapped[str | None] = mapped_column(String(10))
    plate_colour: Mapped[str | None] = mapped_column(String(16))
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    opened_at: Mapped[datetime] = mapped_column(_AWARE)
    deadline: Mapped[datetime] = mapped_column(_AWARE)
    repair_round: Mapped[int] = mapped_column(Integer, default=0)
    overdue_at: Mapped[datetime | None] = mapped_column(_AWARE)
    escalated_at: Mapped[datetime | None] = mapped_column(_AWARE)
    referred_at: Mapped[datetime | None] = mapped_column(_AWARE)
    closed_at: Mapped[datetime | None] = mapped_column(_AWARE)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    review_reason: Mapped[str | None] = mapped_column(String(300))
    violation_id: Mapped[int | None] = mapped_column(ForeignKey("violations.id"))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = created_at_column()

    # Compare-and-set: every UPDATE carries "WHERE version = <the version read>"; the service sets
    # the next version from the pure transition (CaseSnapshot.version).
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class CaseTrigger(Base):
    """What opened a case, or was added to it: idempotent on (source, source_ref)."""

    __tablename__ = "im_case_triggers"
    __table_args__ = (UniqueConstraint("source", "source_ref", name="uq_im_case_triggers_source_ref"),)

    id: Mapped[int] = id_column()
    case_id: Mapped[int] = mapped_column(ForeignKey("im_cases.id"), index=True)
    kind: Mapped[TriggerKind] = mapped_column(enum_type(TriggerKind, "im_trigger_kind"))
    source: Mapped[str] = mapped_column(String(30))
    source_ref: Mapped[str] = mapped_column(String(120))
    evidence: Mapped[list] = mapped_column(JSONB)
    details: Mapped[dict] = mapped_column(JSONB, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(_AWARE)
    reported_by: Mapped[str] = mapped_column(String(80))  # role:actor id
    opened_case: Mapped[bool] = mapped_column(Boolean)
    recorded_at: Mapped[datetime] = created_at_column()


class CaseHistory(Base):
    """Every change of a case: who (role, station code / user / job), when, from and to."""

    __tablename__ = "im_case_history"

    id: Mapped[int] = id_column()
    case_id: Mapped[int] = mapped_column(ForeignKey("im_cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(_AWARE)
    actor_role: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str] = mapped_column(String(80))
    actor_user_id: Mapped[int | None] = mapped_column(BigInteger)
    event: Mapped[str] = mapped_column(String(30))  # a CaseEventKind, "opened" or "trigger_added"
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(500), default="")
    reference: Mapped[str] = mapped_column(String(500), default="")
    recorded_at: Mapped[datetime] = created_at_column()


class CaseStation(Base):
    """Stations that worked on a case (inspected or repaired the vehicle for it): their scope."""

    __tablename__ = "im_case_stations"

    case_id: Mapped[int] = mapped_column(ForeignKey("im_cases.id"), primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), primary_key=True, index=True)
    since: Mapped[datetime] = created_at_column()


class Inspection(Base):
    """One I station test result, as posted (the per-second curve is in `InspectionCurve`)."""

    __tablename__ = "im_inspections"
    __audited__ = True
    __table_args__ = (
        UniqueConstraint("station_id", "report_number", name="uq_im_inspections_station_report"),
        Index("ix_im_inspections_vin_time", "vin", "started_at"),
        Index("ix_im_inspections_station_time", "station_id", "started_at"),
        Index("ix_im_inspections_started", "started_at", "id"),
    )

    id: Mapped[int] = id_column()
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    report_number: Mapped[str] = mapped_column(String(60))
    payload_sha256: Mapped[str] = mapped_column(String(64))
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"), index=True)
    vin: Mapped[str] = mapped_column(String(17))
    plate: Mapped[str] = mapped_column(String(10))
    plate_colour: Mapped[str] = mapped_column(String(16))
    kind: Mapped[InspectionKind] = mapped_column(enum_type(InspectionKind, "im_inspection_kind"))
    method: Mapped[InspectionMethod] = mapped_column(enum_type(InspectionMethod, "im_inspection_method"))
    limit_tier: Mapped[LimitTier] = mapped_column(enum_type(LimitTier, "im_limit_tier"))
    limits_version: Mapped[str] = mapped_column(String(80))  # reference table checked against
    vehicle_class: Mapped[str] = mapped_column(String(20), default="")
    overall: Mapped[Outcome] = mapped_column(enum_type(Outcome, "im_outcome"))
    items: Mapped[list] = mapped_column(JSONB)
    obd: Mapped[dict | None] = mapped_column(JSONB(none_as_null=True))
    appearance_passed: Mapped[bool] = mapped_column(Boolean)
    started_at: Mapped[datetime] = mapped_column(_AWARE)
    ended_at: Mapped[datetime] = mapped_column(_AWARE)
    inspector: Mapped[str] = mapped_column(String(60))
    test_line: Mapped[str] = mapped_column(String(20), default="")
    repair_order: Mapped[str] = mapped_column(String(60), default="")
    curve_summary: Mapped[dict | None] = mapped_column(JSONB(none_as_null=True))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("im_cases.id"), index=True)
    case_action: Mapped[str] = mapped_column(String(20), default="none")
    posted_by: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = created_at_column()


class InspectionCurve(Base):
    """The second-by-second process data of one test (HJ 1238), kept for audit and the
    curve-reuse detector: {channel: [values]} at `period_s`."""

    __tablename__ = "im_inspection_curves"

    inspection_id: Mapped[int] = mapped_column(ForeignKey("im_inspections.id", ondelete="CASCADE"),
                                               primary_key=True)
    period_s: Mapped[float] = mapped_column(Float)
    channels: Mapped[dict] = mapped_column(JSONB)
    digest: Mapped[str | None] = mapped_column(String(64), index=True)  # exact fingerprint


class Repair(Base):
    """An M station's diagnosis and repair for a case (doc 4.2, M -> I)."""

    __tablename__ = "im_repairs"
    __audited__ = True
    __table_args__ = (UniqueConstraint("station_id", "repair_order", name="uq_im_repairs_station_order"),)

    id: Mapped[int] = id_column()
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), index=True)
    repair_order: Mapped[str] = mapped_column(String(60))
    case_id: Mapped[int] = mapped_column(ForeignKey("im_cases.id"), index=True)
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"), index=True)
    vin: Mapped[str | None] = mapped_column(String(17))
    plate: Mapped[str | None] = mapped_column(String(10))
    plate_colour: Mapped[str | None] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(_AWARE)
    completed_at: Mapped[datetime | None] = mapped_column(_AWARE)
    faults: Mapped[list] = mapped_column(JSONB, default=list)
    work_done: Mapped[list] = mapped_column(JSONB, default=list)
    parts: Mapped[list] = mapped_column(JSONB, default=list)
    cost_yuan: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    technician: Mapped[str | None] = mapped_column(String(60))
    self_check: Mapped[dict | None] = mapped_column(JSONB(none_as_null=True))
    opened_sha256: Mapped[str] = mapped_column(String(64))
    completed_sha256: Mapped[str | None] = mapped_column(String(64))
    posted_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = created_at_column()


class Webhook(Base):
    """An enterprise's endpoint for case notifications. The secret is kept as bytes so the audit
    log (which skips binary columns) never copies it."""

    __tablename__ = "im_webhooks"
    __audited__ = True

    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[bytes] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(_AWARE)


class Notification(Base):
    """The outbox: one record per notice to an owner, written in the transaction that made the
    change; delivery (if the owner has a webhook) is a separate, retried row."""

    __tablename__ = "im_notifications"
    __table_args__ = (Index("ix_im_notifications_enterprise", "enterprise_id", "id"),)

    id: Mapped[int] = id_column()
    uuid: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True, default=uuid.uuid4)
    case_id: Mapped[int] = mapped_column(ForeignKey("im_cases.id"), index=True)
    history_id: Mapped[int] = mapped_column(ForeignKey("im_case_history.id"), unique=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    event: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(_AWARE)


class DeliveryStatus(str, enum.Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # given up after the configured attempts (can be re-armed)


class WebhookDelivery(Base):
    __tablename__ = "im_webhook_deliveries"
    __table_args__ = (Index("ix_im_webhook_deliveries_due", "next_attempt_at",
                            postgresql_where=text("status = 'pending'")),)

    id: Mapped[int] = id_column()
    notification_id: Mapped[int] = mapped_column(ForeignKey("im_notifications.id"), unique=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    status: Mapped[DeliveryStatus] = mapped_column(enum_type(DeliveryStatus, "im_delivery_status"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(_AWARE)
    claimed_until: Mapped[datetime | None] = mapped_column(_AWARE)
    last_attempt_at: Mapped[datetime | None] = mapped_column(_AWARE)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(300))
    delivered_at: Mapped[datetime | None] = mapped_column(_AWARE)
    created_at: Mapped[datetime] = created_at_column()


class FlagStatus(str, enum.Enum):
    OPEN = "open"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


class FraudFlag(Base):
    """A station data-quality or fraud sign for the bureau, with its evidence. One open flag per
    (kind, station): a later run adds evidence to it; after review, only new evidence opens
    a new flag."""

    __tablename__ = "im_fraud_flags"
    __audited__ = True
    __table_args__ = (Index("uq_im_fraud_flags_open", "kind", "station_code", unique=True,
                            postgresql_where=text("status = 'open'")),)

    id: Mapped[int] = id_column()
    kind: Mapped[FraudKind] = mapped_column(enum_type(FraudKind, "im_fraud_kind"), index=True)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"), index=True)
    station_code: Mapped[str] = mapped_column(String(40))
    status: Mapped[FlagStatus] = mapped_column(enum_type(FlagStatus, "im_flag_status"), index=True)
    score: Mapped[float] = mapped_column(Float)
    explanation: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list] = mapped_column(JSONB)
    evidence_keys: Mapped[list] = mapped_column(JSONB)  # report numbers, or labels of aggregates
    window_from: Mapped[datetime] = mapped_column(_AWARE)
    window_to: Mapped[datetime] = mapped_column(_AWARE)
    first_detected_at: Mapped[datetime] = mapped_column(_AWARE)
    last_detected_at: Mapped[datetime] = mapped_column(_AWARE)
    reviewed_at: Mapped[datetime | None] = mapped_column(_AWARE)
    reviewed_by: Mapped[int | None] = mapped_column(BigInteger)
    review_note: Mapped[str | None] = mapped_column(String(500))


class ParameterOverride(Base):
    """The bureau's value for one parameter of `im/parameters.py` (absent: the default)."""

    __tablename__ = "im_parameters"
    __audited__ = True

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value = mapped_column(JSONB, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(_AWARE)
    updated_by: Mapped[int | None] = mapped_column(BigInteger)


"""Registry persistence: districts, enterprises, stations, machines, vehicles, CSV imports."""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mobsrc.core.db import Base, created_at_column, enum_type, id_column
from mobsrc.registry.coding import MachineType
from mobsrc.registry.emissions import EmissionStage, Fuel, VehicleStandard
from mobsrc.registry.identifiers import PlateColour
from mobsrc.registry.lifecycle import DeregistrationReason, MachineStatus


class StationKind(str, enum.Enum):
    INSPECTION = "i"       # I station: emission inspection
    MAINTENANCE = "m"      # M station: emission repair
    REMOTE_SENSING = "rs"  # roadside remote-sensing station


class District(Base):
    """GB/T 2260 administrative divisions the platform serves (seeded for Guiyang)."""

    __tablename__ = "districts"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    parent_code: Mapped[str | None] = mapped_column(String(6))
    level: Mapped[str] = mapped_column(String(20))  # province, city, district, county


class Enterprise(Base):
    __tablename__ = "enterprises"
    __audited__ = True

    id: Mapped[int] = id_column()
    name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    contact_name: Mapped[str] = mapped_column(String(60), default="", server_default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="", server_default="")
    address: Mapped[str] = mapped_column(String(300), default="", server_default="")
    district_code: Mapped[str | None] = mapped_column(ForeignKey("districts.code"))
    created_at: Mapped[datetime] = created_at_column()


class Station(Base):
    __tablename__ = "stations"
    __audited__ = True

    id: Mapped[int] = id_column()
    code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[StationKind] = mapped_column(enum_type(StationKind, "station_kind"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    district_code: Mapped[str | None] = mapped_column(ForeignKey("districts.code"))
    address: Mapped[str] = mapped_column(String(300), default="", server_default="")
    location = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[datetime] = created_at_column()


class CodeCounter(Base):
    """The last serial issued per (district, machine type): serials only ever go up."""

    __tablename__ = "registration_code_counters"

    district_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    type_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    last_serial: Mapped[int] = mapped_column(Integer)


class Machine(Base):
    """A registered non-road mobile machine (NRMM)."""

    __tablename__ = "machines"
    __audited__ = True
    __table_args__ = (
        # The same engine cannot be registered twice, even after scrapping (§6.5 "one machine, one code").
        UniqueConstraint("engine_key", name="uq_machines_engine_key"),
        CheckConstraint("rated_power_kw > 0", name="rated_power_positive"),
    )

    id: Mapped[int] = id_column()
    code: Mapped[str] = mapped_column(String(15), unique=True)
    machine_type: Mapped[MachineType] = mapped_column(enum_type(MachineType, "machine_type"), index=True)
    brand: Mapped[str] = mapped_column(String(100))
    model: Mapped[str] = mapped_column(String(100))
    machine_serial: Mapped[str] = mapped_column(String(60), default="", server_default="")
    engine_manufacturer: Mapped[str] = mapped_column(String(100))
    engine_model: Mapped[str] = mapped_column(String(100))
    engine_serial: Mapped[str] = mapped_column(String(60))
    engine_key: Mapped[str] = mapped_column(String(170))  # normalised manufacturer | serial
    rated_power_kw: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    fuel: Mapped[Fuel] = mapped_column(enum_type(Fuel, "fuel"))
    emission_stage: Mapped[EmissionStage] = mapped_column(enum_type(EmissionStage, "emission_stage"), index=True)
    manufactured_on: Mapped[date | None] = mapped_column(Date)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    terminal_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    status: Mapped[MachineStatus] = mapped_column(enum_type(MachineStatus, "machine_status"),
                                                  default=MachineStatus.REGISTERED)
    registered_at: Mapped[datetime] = created_at_column()
    deregistered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deregistration_reason: Mapped[DeregistrationReason | None] = mapped_column(
        enum_type(DeregistrationReason, "deregistration_reason"))

    enterprise: Mapped[Enterprise] = relationship(lazy="joined")
    history: Mapped[list[MachineHistory]] = relationship(order_by="MachineHistory.id", viewonly=True)


class MachineHistory(Base):
    """One line per lifecycle event: registered, updated, transferred, deregistered."""

    __tablename__ = "machine_history"

    id: Mapped[int] = id_column()
    machine_id: Mapped[int] = mapped_column(ForeignKey("machines.id"), index=True)
    at: Mapped[datetime] = created_at_column()
    event: Mapped[str] = mapped_column(String(20))
    from_enterprise_id: Mapped[int | None] = mapped_column(BigInteger)
    to_enterprise_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_user_id: Mapped[int | None] = mapped_column(BigInteger)
    details: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")


class Vehicle(Base):
    """A heavy-duty vehicle (truck) known to OBD monitoring and the I/M loop."""

    __tablename__ = "vehicles"
    __audited__ = True
    __table_args__ = (UniqueConstraint("plate", "plate_colour", name="uq_vehicles_plate_colour"),)

    id: Mapped[int] = id_column()
    vin: Mapped[str] = mapped_column(String(17), unique=True)
    plate: Mapped[str] = mapped_column(String(10), index=True)
    plate_colour: Mapped[PlateColour] = mapped_column(enum_type(PlateColour, "plate_colour"))
    fuel: Mapped[Fuel] = mapped_column(enum_type(Fuel, "fuel"))
    emission_standard: Mapped[VehicleStandard] = mapped_column(enum_type(VehicleStandard, "vehicle_standard"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    obd_terminal_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    registered_at: Mapped[datetime] = created_at_column()

    enterprise: Mapped[Enterprise] = relationship(lazy="joined")


class ImportStatus(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class RowOutcome(str, enum.Enum):
    REGISTERED = "registered"
    ALREADY_REGISTERED = "already_registered"  # the same engine, same owner: nothing new
    REJECTED = "rejected"


class MachineImport(Base):
    """An uploaded CSV of machines; processed by a job, answered per row."""

    __tablename__ = "machine_imports"
    __audited__ = True
    __table_args__ = (UniqueConstraint("enterprise_id", "sha256", name="uq_machine_imports_file"),)

    id: Mapped[int] = id_column()
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    uploaded_by: Mapped[int] = mapped_column(BigInteger)
    filename: Mapped[str] = mapped_column(String(200), default="", server_default="")
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    status: Mapped[ImportStatus] = mapped_column(enum_type(ImportStatus, "import_status"),
                                                 default=ImportStatus.QUEUED, index=True)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    registered: Mapped[int] = mapped_column(Integer, default=0)
    already_registered: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = created_at_column()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class MachineImportRow(Base):
    __tablename__ = "machine_import_rows"

    import_id: Mapped[int] = mapped_column(ForeignKey("machine_imports.id", ondelete="CASCADE"), primary_key=True)
    row_number: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1 = first data row
    outcome: Mapped[RowOutcome] = mapped_column(enum_type(RowOutcome, "row_outcome"))
    machine_id: Mapped[int | None] = mapped_column(BigInteger)
    code: Mapped[str | None] = mapped_column(String(15))
    errors: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")

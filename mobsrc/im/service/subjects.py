"""Which vehicle a case, inspection or repair is about: a registry id, a VIN, or a plate and its
colour, completed from the registry when the vehicle is registered there. The registry's tables
are read by name (a feature never imports another's models)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import column, select, table
from sqlalchemy.orm import Session

from mobsrc.core.errors import invalid
from mobsrc.registry.identifiers import PlateColour, normalize_plate, normalize_vin

_vehicles = table("vehicles", column("id"), column("vin"), column("plate"), column("plate_colour"),
                  column("enterprise_id"))
COLOURS = frozenset(c.value for c in PlateColour)


@dataclass(frozen=True)
class Subject:
    """The vehicle as the caller knows it. Give at least a VIN, a plate, or a registry id;
    a plate should come with its colour (the same number exists in two colours)."""

    vin: str | None = None
    plate: str | None = None
    plate_colour: str | None = None
    vehicle_id: int | None = None


@dataclass(frozen=True)
class ResolvedSubject:
    vin: str | None
    plate: str | None
    plate_colour: str | None
    vehicle_id: int | None
    enterprise_id: int | None

    @property
    def key(self) -> str:
        """One key per vehicle: its VIN when known, else its plate and colour."""
        if self.vin:
            return f"vin:{self.vin}"
        return f"plate:{self.plate}/{self.plate_colour or ''}"


def _find_vehicle(session: Session, subject: Subject, vin: str | None, plate: str | None):
    columns = select(_vehicles)
    if subject.vehicle_id is not None:
        row = session.execute(columns.where(_vehicles.c.id == subject.vehicle_id)).first()
        if row is None:
            raise invalid("vehicle_id", "no such vehicle in the registry")
        return row
    if vin:
        return session.execute(columns.where(_vehicles.c.vin == vin)).first()
    if plate and subject.plate_colour:
        return session.execute(columns.where(_vehicles.c.plate == plate,
                                             _vehicles.c.plate_colour == subject.plate_colour)).first()
    return None


def resolve_subject(session: Session, subject: Subject) -> ResolvedSubject:
    """The subject completed from the registry. A VIN that contradicts the registered vehicle of
    the given id is refused: the evidence would be about another vehicle."""
    vin = normalize_vin(subject.vin) if subject.vin else None
    plate = normalize_plate(subject.plate) if subject.plate else None
    if subject.plate_colour is not None and subject.plate_colour not in COLOURS:
        raise invalid("plate_colour", f"one of {', '.join(sorted(COLOURS))}")
    if not (vin or plate or subject.vehicle_id is not None):
        raise invalid("vin", "name the vehicle: its VIN, or its plate and plate colour")
    row = _find_vehicle(session, subject, vin, plate)
    if row is None:
        return ResolvedSubject(vin, plate, subject.plate_colour, None, None)
    if vin and vin != row.vin:
        raise invalid("vin", f"the registered vehicle has VIN {row.vin}")
    return ResolvedSubject(row.vin, row.plate, row.plate_colour, row.id, row.enterprise_id)


def vehicles_of(enterprise_id: int):
    """Registry ids of an enterprise's vehicles (a subquery)."""
    return select(_vehicles.c.id).where(_vehicles.c.enterprise_id == enterprise_id)

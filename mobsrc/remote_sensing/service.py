"""Remote-sensing use cases of the bureau: station details, calibration / audit records, limit
tables as versioned data, and the hand-over of confirmed high emitters to the I/M loop.

Ingestion is in `ingest.py`, the judgement job in `judging.py`, the read side in `queries.py`.
Services take the session and the principal, apply scope, raise DomainErrors, never commit.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mobsrc.core import clock
from mobsrc.core.auth.principals import Principal
from mobsrc.core.errors import Conflict, DomainError, FieldError, NotFound, NotInScope, Unprocessable, invalid
from mobsrc.im import service as im
from mobsrc.registry import service as registry
from mobsrc.remote_sensing.calibration import CalibrationRecord, CalibrationStatus, calibration_status
from mobsrc.remote_sensing.limit_documents import limit_table_from_dict, limit_table_to_dict
from mobsrc.remote_sensing.limits import LimitTable, limit_table_in_effect
from mobsrc.remote_sensing.models import (
    HandoverStatus,
    RsCalibration,
    RsConfirmation,
    RsLimitTable,
    RsStationDetails,
)

# --- stations and their devices -----------------------------------------------------------------


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StationView:
    """A remote-sensing station: the registry's row, its roadside details, its calibration today."""

    station: object  # the registry's Station
    details: RsStationDetails | None
    calibration: CalibrationStatus


RS_KIND = "rs"  # registry StationKind.REMOTE_SENSING


def is_rs_station(station) -> bool:
    return station is not None and getattr(station.kind, "value", station.kind) == RS_KIND


def rs_station(session: Session, principal: Principal, station_id: int):
    """A remote-sensing station the principal may see (404 otherwise, also for I/M stations)."""
    station = registry.get_station(session, principal, station_id)
    if not is_rs_station(station):
        raise NotInScope("No such remote-sensing station.")
    return station


def calibration_records(session: Session, station_id: int) -> list[CalibrationRecord]:
    rows = session.scalars(select(RsCalibration).where(RsCalibration.station_id == station_id))
    return [CalibrationRecord(r.id, r.kind, r.valid_from, r.valid_to, r.passed) for r in rows]


def _view(session: Session, station) -> StationView:
    status = calibration_status(calibration_records(session, station.id), clock.now())
    return StationView(station, session.get(RsStationDetails, station.id), status)


def get_station(session: Session, principal: Principal, station_id: int) -> StationView:
    return _view(session, rs_station(session, principal, station_id))


def list_stations(session: Session, principal: Principal) -> list[StationView]:
    return [_view(session, station) for station in registry.list_stations(session, principal, RS_KIND)]


def set_station_details(session: Session, principal: Principal, station_id: int, data: dict) -> StationView:
    """Create or replace the roadside details of a remote-sensing station."""
    station = rs_station(session, principal, station_id)
    details = session.get(RsStationDetails, station_id) or RsStationDetails(station_id=station_id)
    for name, value in data.items():
        setattr(details, name, value)
    details.updated_at = clock.now()
    session.add(details)
    session.flush()
    return _view(session, station)


def record_calibration(session: Session, principal: Principal, station_id: int, data: dict) -> RsCalibration:
    rs_station(session, principal, station_id)
    if data["valid_to"] < data["valid_from"]:
        raise invalid("valid_to", "lies before valid_from")
    if data["performed_on"] > clock.as_local(clock.now()).date():
        raise invalid("performed_on", "lies in the future")
    record = RsCalibration(station_id=station_id, recorded_by=principal.user_id, **data)
    session.add(record)
    session.flush()
    return record


def list_calibrations(session: Session, principal: Principal, station_id: int) -> list[RsCalibration]:
    rs_station(session, principal, station_id)
    stmt = select(RsCalibration).where(RsCalibration.station_id == station_id)
    return list(session.scalars(stmt.order_by(RsCalibration.valid_from.desc(), RsCalibration.id.desc())))


# --- limit tables (versioned data) -------------------------------------------------------------


def limit_tables(session: Session) -> list[LimitTable]:
    """Every stored table in creation order (what `limit_table_in_effect` expects)."""
    documents = session.scalars(select(RsLimitTable.document).order_by(RsLimitTable.id))
    tables = [limit_table_from_dict(document) for document in documents]
    broken = [t for t in tables if not isinstance(t, LimitTable)]
    if broken:  # stored documents were validated on the way in; this is corruption
        raise RuntimeError(f"a stored limit table no longer reads: {broken[0]}")
    return tables


def table_in_effect_now(session: Session) -> str | None:
    table = limit_table_in_effect(limit_tables(session), clock.now())
    return None if table is None else table.version


def list_limit_tables(session: Session) -> list[RsLimitTable]:
    return list(session.scalars(select(RsLimitTable).order_by(RsLimitTable.id.desc())))


def get_limit_table(session: Session, version: str) -> RsLimitTable:
    row = session.scalar(select(RsLimitTable).where(RsLimitTable.version == version))
    if row is None:
        raise NotFound(f"No limit table has version {version!r}.")
    return row


def create_limit_table(session: Session, principal: Principal, document: dict, note: str = "") -> RsLimitTable:
    """Store a new version. Tables are never edited: verdicts cite the version they used.
    A new table takes effect today or later, so no verdict already given is contradicted."""
    table = limit_table_from_dict(document)
    if not isinstance(table, LimitTable):
        errors = [FieldError(f"document.{p.path}" if p.path else "document", p.detail, p.code.value) for p in table]
        raise Unprocessable("The limit table has problems; see errors for each field.", errors)
    if table.effective_from < clock.as_local(clock.now()).date():
        raise invalid("document.effective_from", "a new limit table takes effect today or later")
    if session.scalar(select(RsLimitTable.id).where(RsLimitTable.version == table.version)) is not None:
        raise Conflict(f"Limit table version {table.version!r} exists; tables are never changed, "
                       "store a new version.")
    row = RsLimitTable(version=table.version, effective_from=table.effective_from,
                       document=limit_table_to_dict(table), note=note, created_by=principal.user_id)
    session.add(row)
    session.flush()
    return row


# --- hand-over of confirmed high emitters to the I/M loop ---------------------------------------


def hand_over_high_emitter(session: Session, confirmation: RsConfirmation) -> None:
    """THE one place where a confirmed high emitter leaves remote sensing for the I/M loop
    (issue: "opens an I/M case (a notice to repair and re-test by a deadline)"): a case with the
    confirming readings as evidence, idempotent on the confirmation. When the I/M service cannot
    take it (an unregistered plate it cannot resolve, say), the confirmation stays pending
    hand-over (`GET /api/v1/remote-sensing/confirmations?handover_status=pending`) and the reason
    is logged; `retry_pending_handovers` tries again later. Called inside the judgement job's
    transaction."""
    try:
        with session.begin_nested():
            case, _ = im.open_case(
                session, im.TriggerKind.REMOTE_SENSING_HIGH_EMITTER,
                im.Subject(plate=confirmation.plate, plate_colour=confirmation.plate_colour.value,
                           vehicle_id=confirmation.vehicle_id),
                [f"rs_reading:{i}" for i in confirmation.reading_ids], at=confirmation.last_measured_at,
                source="remote_sensing", source_ref=f"rs_confirmation:{confirmation.id}",
                details={"pollutant": confirmation.pollutant, "violation_id": confirmation.violation_id})
    except DomainError as exc:
        log.warning("confirmation %s not handed over to I/M yet: %s", confirmation.id, exc.detail)
        confirmation.handover_status = HandoverStatus.PENDING
        session.flush()
        return
    confirmation.handover_status = HandoverStatus.HANDED_OVER
    confirmation.handed_over_at = clock.now()
    confirmation.handover_ref = f"im_case:{case.id}"
    session.flush()


def retry_pending_handovers(session: Session) -> int:
    """Hand over confirmations the I/M service could not take before; returns how many went."""
    pending = pending_handovers(session)
    for confirmation in pending:
        hand_over_high_emitter(session, confirmation)
    return sum(c.handover_status is HandoverStatus.HANDED_OVER for c in pending)


def pending_handovers(session: Session) -> list[RsConfirmation]:
    stmt = select(RsConfirmation).where(RsConfirmation.handover_status == HandoverStatus.PENDING)
    return list(session.scalars(stmt.order_by(RsConfirmation.id)))

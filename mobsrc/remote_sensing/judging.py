"""The judgement job and what follows a verdict.

`judge_batch(session, batch_id)` (job `remote_sensing.judge_batch`, one per posted batch, in one
transaction): match each reading's plate + colour to a registered vehicle, find the calibration
record in force on its day and the limit table in effect at its time, `judge_reading`, COPY the
verdicts, record a BLACK_SMOKE violation for each capture, confirm high emitters among the
plates that exceeded, and mark the batch processed. Re-running it is a no-op (the batch row is
locked and its `processed_at` checked), so the reconciler may re-queue freely.

`rejudge_for_calibrations(session)` (periodic job): a calibration or audit record entered after
readings of its days were judged (a certificate filed late; an audit that found the analyser
out of tolerance) changes the check in force for them: those readings are judged again (the new
verdict supersedes the old) and new exceedances count for confirmation.  Black smoke does not
depend on validity, so no capture appears or goes.  A confirmation or violation that rested on
verdicts now invalid stays in the register for the officers to review (the enforcement status
machine dismisses with a reason); the superseded verdict and the new one show why.

`rematch_readings(session)` (periodic job): readings whose plate was not registered when they
were judged are matched again once the vehicle is registered (or its plate corrected), judged
again with its fuel (the new verdict supersedes the old), and counted for confirmation. The
registry does not know remote sensing: this job reads the vehicles' entries in the audit log
(every vehicle insert/update is logged there in the same transaction) since its last run, with
an overlap so that a registration committed late is not missed.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ARRAY, String, any_, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from mobsrc.core import clock, partitions
from mobsrc.core.audit import AuditEntry
from mobsrc.core.auth.principals import SYSTEM
from mobsrc.core.geo_schemas import lonlat_of
from mobsrc.core.jobs import PendingJob, job_id_for
from mobsrc.enforcement import service as enforcement
from mobsrc.enforcement.register import Evidence, SubjectType, ViolationDraft, ViolationKind
from mobsrc.registry import service as registry
from mobsrc.remote_sensing import service
from mobsrc.remote_sensing.bulk import copy_rows
from mobsrc.remote_sensing.calibration import calibration_status
from mobsrc.remote_sensing.confirming import confirm_high_emitters
from mobsrc.remote_sensing.ingest import JUDGE_JOB
from mobsrc.remote_sensing.judgement import judge_reading, judge_without_table
from mobsrc.remote_sensing.limits import LimitTable, fuel_class, limit_table_in_effect
from mobsrc.remote_sensing.models import (
    RsBatch,
    RsCalibration,
    RsJobMark,
    RsReading,
    RsStationDetails,
    RsVerdict,
)
from mobsrc.remote_sensing.readings import Reading
from mobsrc.remote_sensing.verdicts import Outcome, Verdict

SOURCE = "remote_sensing"
REMATCH_MARK = "rematch"
RECALIBRATE_MARK = "recalibrate"
REMATCH_OVERLAP = timedelta(minutes=15)
REMATCH_CHUNK = 1000  # vehicles per query
VERDICT_COLUMNS = ("reading_id", "measured_at", "station_id", "plate", "plate_colour", "vehicle_id",
                   "enterprise_id", "fuel", "calibration_id", "outcome", "limit_version", "reasons",
                   "pollutants", "exceeded", "passed", "black_smoke", "vsp_kw_t", "vsp_source", "judged_at")
VERDICT_TYPES = ("int8", "timestamptz", "int8", "varchar", "varchar", "int8", "int8", "varchar", "int8",
                 "varchar", "varchar", "jsonb", "jsonb", "varchar[]", "varchar[]", "bool", "float8", "varchar",
                 "timestamptz")
_READING_FIELDS = ("speed_kmh", "accel_ms2", "vsp_kw_t", "opacity_pct", "k_m1", "ringelmann_grade", "no_ppm",
                   "co_pct", "hc_ppm", "co2_pct", "wind_ms", "temp_c", "rh_pct", "rain")


@dataclass(frozen=True)
class Judged:
    row: object  # a row of rs_readings
    verdict: Verdict
    vehicle: object | None  # the registry's Vehicle, when the plate matched
    calibration_id: int | None

    @property
    def plate_key(self) -> tuple[str, str] | None:
        colour = self.row.plate_colour
        return (self.row.plate, colour.value) if self.row.plate and colour else None


# --- the batch job ----------------------------------------------------------------------------------


def judge_batch(session: Session, batch_id: int) -> int:
    """Judge every reading of a batch; returns how many were judged (0 if already done)."""
    batch = session.get(RsBatch, batch_id, with_for_update=True)
    if batch is None or batch.processed_at is not None:
        return 0
    station = registry.get_station(session, SYSTEM, batch.station_id)
    rows = session.execute(select(RsReading.__table__).where(
        RsReading.station_id == batch.station_id, RsReading.batch_id == batch.id,
        RsReading.measured_at.between(batch.first_measured_at, batch.last_measured_at))).all()
    tables = service.limit_tables(session)
    judged = judge_rows(session, station, rows, tables)
    store_verdicts(session, judged)
    smoke = record_black_smoke(session, station, judged)
    confirmations = confirm_high_emitters(session, exceedances(judged), tables)
    session.execute(update(RsBatch).where(RsBatch.id == batch.id).values(
        processed_at=clock.now(), outcomes=_tally(judged) | smoke | {"confirmations": confirmations}))
    return len(judged)


def judge_rows(session: Session, station, rows: list, tables: list[LimitTable]) -> list[Judged]:
    """Verdicts for readings of one station (matching, calibration and limits looked up here)."""
    details = session.get(RsStationDetails, station.id)
    site_slope = details.slope_deg if details else None
    records = service.calibration_records(session, station.id)
    plates = [(r.plate, r.plate_colour.value) for r in rows if r.plate and r.plate_colour]
    vehicles = registry.vehicles_by_plate(session, plates)
    judged = []
    for row in rows:
        vehicle = vehicles.get((row.plate, row.plate_colour.value)) if row.plate and row.plate_colour else None
        fuel = fuel_class(vehicle.fuel) if vehicle else None
        reading = _reading(row, station.code, site_slope)
        table = limit_table_in_effect(tables, row.measured_at)
        calibration = calibration_status(records, row.measured_at)
        verdict = (judge_reading(reading, fuel, table, calibration.ok) if table
                   else judge_without_table(reading, fuel))
        judged.append(Judged(row, verdict, vehicle, calibration.record_id))
    return judged


def _reading(row, station_code: str, site_slope: float | None) -> Reading:
    """The pure reading of a stored row; the site's slope when the device reports none."""
    slope = row.slope_deg if row.slope_deg is not None else site_slope
    return Reading(station_code=station_code, measured_at=row.measured_at, lane=row.lane, plate=row.plate,
                   plate_colour=row.plate_colour, slope_deg=slope,
                   **{name: getattr(row, name) for name in _READING_FIELDS})


def store_verdicts(session: Session, judged: list[Judged]) -> None:
    now = clock.now()
    copy_rows(session, "rs_verdicts", VERDICT_COLUMNS, VERDICT_TYPES, (_verdict_row(j, now) for j in judged))


def _verdict_row(j: Judged, judged_at: datetime) -> tuple:
    v, row, vehicle = j.verdict, j.row, j.vehicle
    reasons = [{k: val for k, val in (("code", r.code.value), ("measured", r.measured), ("limit", r.limit),
                                      ("clause", r.clause)) if val is not None} for r in v.reasons]
    pollutants = [{"pollutant": p.pollutant.value, "status": p.status.value, "measured": p.measured,
                   "limit": p.limit, "clause": p.clause, "tag": p.tag.value} for p in v.pollutants]
    return (row.id, row.measured_at, row.station_id, row.plate, row.plate_colour.value if row.plate_colour else None,
            vehicle.id if vehicle else None, vehicle.enterprise_id if vehicle else None,
            v.fuel.value if v.fuel else None, j.calibration_id, v.outcome.value, v.limit_version, reasons,
            pollutants, sorted(p.value for p in v.exceeded_pollutants), sorted(p.value for p in v.passed_pollutants),
            v.black_smoke, v.vsp_kw_t, v.vsp_source.value, judged_at)


def exceedances(judged: list[Judged]) -> dict[tuple[str, str], list[datetime]]:
    """Times of the new exceedances, per plate + colour (unread plates cannot be confirmed)."""
    found: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for j in judged:
        if j.verdict.outcome is Outcome.EXCEED and j.plate_key is not None:
            found[j.plate_key].append(j.row.measured_at)
    return found


def _tally(judged: list[Judged]) -> dict:
    counts = {outcome.value: 0 for outcome in Outcome}
    for j in judged:
        counts[j.verdict.outcome.value] += 1
    return counts


# --- black smoke ------------------------------------------------------------------------------------


def record_black_smoke(session: Session, station, judged: list[Judged]) -> dict:
    """A BLACK_SMOKE violation per capture with a plate, evidence = the reading and its files.
    A capture without a readable plate has no subject to charge: it stays on the reading
    (verdict black_smoke, queryable) for review. Returns counts for the batch row."""
    captured = [j for j in judged if j.verdict.black_smoke]
    plated = [j for j in captured if j.row.plate is not None]
    lonlat = lonlat_of(station.location)
    for j in plated:
        enforcement.record_violation(session, _smoke_draft(j, station, lonlat))
    return {"black_smoke": len(plated), "black_smoke_unplated": len(captured) - len(plated)}


def _smoke_draft(j: Judged, station, lonlat) -> ViolationDraft:
    row, v, vehicle = j.row, j.verdict, j.vehicle
    details = {"station_code": station.code, "lane": row.lane, "ringelmann_grade": row.ringelmann_grade,
               "k_m1": row.k_m1, "limit_version": v.limit_version, "outcome": v.outcome.value,
               "reasons": [r.code.value for r in v.reasons], "calibration_id": j.calibration_id}
    return ViolationDraft(
        kind=ViolationKind.BLACK_SMOKE, occurred_at=row.measured_at, source=SOURCE,
        source_ref=f"rs_reading:{row.id}", subject_type=SubjectType.VEHICLE,
        vehicle_id=vehicle.id if vehicle else None, plate=row.plate,
        plate_colour=row.plate_colour.value if row.plate_colour else None,
        vin=vehicle.vin if vehicle else None, enterprise_id=vehicle.enterprise_id if vehicle else None,
        lon=lonlat[0] if lonlat else None, lat=lonlat[1] if lonlat else None,
        district_code=station.district_code, evidence=_evidence([row]), details=details)


def _evidence(rows: list) -> tuple[Evidence, ...]:
    found = []
    for row in rows:
        found.append(Evidence("rs_reading", str(row.id)))
        found.extend(Evidence(e["type"], e["id"], e.get("sha256"), e.get("role")) for e in row.evidence)
    return tuple(found)


# --- plates registered later --------------------------------------------------------------------


def rematch_readings(session: Session) -> int:
    """Judge again the unmatched readings of vehicles registered (or re-plated) since the last
    run; returns how many readings were matched."""
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext('rs-rematch'))"))  # one run at a time
    started = clock.now()
    since = _since_last_run(session, REMATCH_MARK)
    ids = _changed_vehicle_ids(session, since) if since is not None else []
    matched = 0
    for chunk in range(0, len(ids), REMATCH_CHUNK):
        vehicles = registry.vehicles_by_id(session, ids[chunk:chunk + REMATCH_CHUNK])
        stale = _unmatched_verdicts(session, {(v.plate, v.plate_colour.value) for v in vehicles})
        matched += len(_judge_again(session, stale))
    _set_mark(session, REMATCH_MARK, started)
    return matched


def _set_mark(session: Session, name: str, at: datetime) -> None:
    session.execute(pg_insert(RsJobMark).values(name=name, at=at).on_conflict_do_update(
        index_elements=["name"], set_={"at": at}))


def _since_last_run(session: Session, mark_name: str) -> datetime | None:
    """From the last run (less the overlap); on the first run, from the first verdict ever given
    (what changed before it was known at judgement). None: nothing was judged yet."""
    mark = session.get(RsJobMark, mark_name)
    if mark is not None:
        return mark.at - REMATCH_OVERLAP
    first = session.scalar(select(func.min(RsVerdict.judged_at)))
    return None if first is None else first - REMATCH_OVERLAP


def _changed_vehicle_ids(session: Session, since: datetime) -> list[int]:
    stmt = select(AuditEntry.entity_id).distinct().where(AuditEntry.entity == "vehicles", AuditEntry.at >= since)
    return sorted(int(value) for value in session.scalars(stmt) if value and value.isdigit())


def _unmatched_verdicts(session: Session, plates: set[tuple[str, str]]) -> list:
    """Current verdicts without a vehicle, of these plates + colours (one array parameter)."""
    if not plates:
        return []
    numbers = bindparam("plates", sorted({plate for plate, _ in plates}), type_=ARRAY(String))
    stmt = select(RsVerdict.id, RsVerdict.reading_id, RsVerdict.measured_at, RsVerdict.station_id,
                  RsVerdict.plate, RsVerdict.plate_colour).where(
        RsVerdict.superseded_at.is_(None), RsVerdict.vehicle_id.is_(None), RsVerdict.plate == any_(numbers))
    return [row for row in session.execute(stmt)
            if row.plate_colour is not None and (row.plate, row.plate_colour.value) in plates]


def _judge_again(session: Session, stale: list) -> list[Judged]:
    """New verdicts for the readings of `stale` verdicts, which they supersede."""
    if not stale:
        return []
    tables = service.limit_tables(session)
    by_station: dict[int, list] = defaultdict(list)
    for verdict in stale:
        by_station[verdict.station_id].append(verdict)
    judged: list[Judged] = []
    for station_id, verdicts in by_station.items():
        station = registry.get_station(session, SYSTEM, station_id)
        judged.extend(judge_rows(session, station, _rows_of(session, verdicts), tables))
    now = clock.now()
    for verdict in stale:
        session.execute(update(RsVerdict).where(RsVerdict.id == verdict.id,
                                                RsVerdict.measured_at == verdict.measured_at)
                        .values(superseded_at=now))
    store_verdicts(session, judged)
    confirm_high_emitters(session, exceedances(judged), tables)
    return judged


# --- calibration records entered late ---------------------------------------------------------------


def rejudge_for_calibrations(session: Session) -> int:
    """Judge again the readings whose check in force changed with the calibration / audit
    records entered since the last run; returns how many readings were judged again."""
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext('rs-recalibrate'))"))  # one run at a time
    started = clock.now()
    since = _since_last_run(session, RECALIBRATE_MARK)
    records = [] if since is None else session.scalars(
        select(RsCalibration).where(RsCalibration.created_at >= since).order_by(RsCalibration.id)).all()
    judged = 0
    for record in records:
        judged += len(_judge_again(session, _verdicts_changed_by(session, record)))
    _set_mark(session, RECALIBRATE_MARK, started)
    return judged


def _verdicts_changed_by(session: Session, record: RsCalibration) -> list:
    """Current verdicts of the record's station and days that cite another check than the one
    now in force (calibration.check_in_force)."""
    in_force = service.calibration_records(session, record.station_id)
    start, end = partitions.day_bounds(record.valid_from)[0], partitions.day_bounds(record.valid_to)[1]
    stmt = select(RsVerdict.id, RsVerdict.reading_id, RsVerdict.measured_at, RsVerdict.station_id,
                  RsVerdict.plate, RsVerdict.plate_colour, RsVerdict.calibration_id).where(
        RsVerdict.station_id == record.station_id, RsVerdict.superseded_at.is_(None),
        RsVerdict.measured_at >= start, RsVerdict.measured_at < end)
    return [row for row in session.execute(stmt)
            if calibration_status(in_force, row.measured_at).record_id != row.calibration_id]


def _rows_of(session: Session, verdicts: list) -> list:
    times = [v.measured_at for v in verdicts]
    return session.execute(select(RsReading.__table__).where(
        RsReading.id.in_([v.reading_id for v in verdicts]),
        RsReading.measured_at.between(min(times), max(times)))).all()


# --- the reconciler -----------------------------------------------------------------------------


def pending_batches(session: Session) -> list[PendingJob]:
    """Batches accepted but not judged (Redis was down at enqueue, or a worker died)."""
    ids = session.scalars(select(RsBatch.id).where(RsBatch.processed_at.is_(None)).order_by(RsBatch.id))
    return [PendingJob(JUDGE_JOB, (batch_id,), job_id_for(JUDGE_JOB, batch_id)) for batch_id in ids]

"""Batch ingestion of roadside readings: a station posts a JSON batch, each reading is answered
(accepted / duplicate / rejected with reasons), the accepted ones are durable in PostgreSQL
before the 2xx (binary COPY in the request's transaction, with the batch row), and the judgement
job is queued after the commit (the reconciler re-queues it if Redis was down).

A repeated pass (same station, lane, time, plate) is stored once: within the batch it is
answered `duplicate` of the first; against stored readings the fast path (straight COPY) fails
on the unique index and the batch falls back to a temp table + INSERT ... ON CONFLICT DO NOTHING,
answering `duplicate` with the id already stored.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from psycopg.errors import UniqueViolation
from sqlalchemy import text
from sqlalchemy.orm import Session

from mobsrc.core import clock
from mobsrc.core.auth.principals import Principal
from mobsrc.core.errors import Conflict, Forbidden, invalid
from mobsrc.core.jobs import enqueue_after_commit
from mobsrc.registry import service as registry
from mobsrc.remote_sensing import service
from mobsrc.remote_sensing.bulk import copy_rows, take_ids
from mobsrc.remote_sensing.calibration import check_in_force
from mobsrc.remote_sensing.models import RsBatch, RsStationDetails
from mobsrc.remote_sensing.payloads import (
    MEASURED_FIELDS,
    BatchError,
    ItemProblem,
    ReadingDraft,
    RejectedItem,
    decode_envelope,
    decode_reading,
)
from mobsrc.remote_sensing.statistics import local_day
from mobsrc.remote_sensing.verdicts import ReasonCode

JUDGE_JOB = "remote_sensing.judge_batch"
COLUMNS = ("id", "measured_at", "station_id", "batch_id", "lane", "plate", "plate_colour", "record_id",
           *MEASURED_FIELDS, "wind_dir_deg", "pressure_kpa", "evidence")
TYPES = ("int8", "timestamptz", "int8", "int8", "int2", "varchar", "varchar", "varchar",
         *("bool" if name == "rain" else "float8" for name in MEASURED_FIELDS), "float8", "float8", "jsonb")


@dataclass(frozen=True)
class ItemAnswer:
    index: int
    status: str  # accepted | duplicate | rejected
    reading_id: int | None = None
    errors: tuple[ItemProblem, ...] = ()


@dataclass
class BatchAnswer:
    batch_id: int
    station_code: str
    items: list[ItemAnswer]
    notices: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for item in self.items if item.status == status)

    @property
    def received(self) -> int:
        return len(self.items)

    @property
    def accepted(self) -> int:
        return self.count("accepted")

    @property
    def duplicates(self) -> int:
        return self.count("duplicate")

    @property
    def rejected(self) -> int:
        return self.count("rejected")


def posting_station(session: Session, principal: Principal, claimed_code: str | None):
    """The registry's station the key belongs to; a station posts only as itself."""
    station = registry.own_station(session, principal)
    if not service.is_rs_station(station):
        raise Forbidden("Only a remote-sensing station's own key may post readings.")
    if claimed_code is not None and claimed_code != station.code:
        raise Forbidden(f"This key belongs to station {station.code}; a station posts only as itself.")
    if not station.active:
        raise Conflict(f"Station {station.code} is deactivated; its readings are not accepted.")
    return station


def ingest_readings(session: Session, principal: Principal, body: bytes) -> BatchAnswer:
    """Store a posted batch and answer each reading; the judgement job follows the commit."""
    try:
        envelope = decode_envelope(body)
    except BatchError as exc:
        raise invalid(exc.field, exc.reason) from exc
    station = posting_station(session, principal, envelope.station_code)
    details = session.get(RsStationDetails, station.id)
    answers, fresh = _decode_items(envelope.items, station.code, details.lanes if details else None)
    batch_id = take_ids(session, "rs_batches_id_seq", 1)[0]
    for index, reading_id, is_new in _store_fresh(session, station.id, batch_id, fresh):
        answers[index] = ItemAnswer(index, "accepted" if is_new else "duplicate", reading_id)
    for index, answer in enumerate(answers):
        if isinstance(answer, int):  # the same pass as an earlier item of this batch
            answers[index] = ItemAnswer(index, "duplicate", answers[answer].reading_id)
    accepted = [draft for index, draft in fresh if answers[index].status == "accepted"]
    notices = _calibration_notices(session, station.id, accepted)
    answer = BatchAnswer(batch_id, station.code, answers, notices)
    _record_batch(session, principal, station.id, answer, accepted)
    return answer


def _decode_items(items, station_code: str, lanes: int | None) -> tuple[list, list[tuple[int, ReadingDraft]]]:
    """Answers so far (rejected, or the index of an earlier item of the same pass) and the
    fresh drafts with their index."""
    now = clock.now()
    answers: list = [None] * len(items)
    first_of: dict[tuple, int] = {}
    fresh: list[tuple[int, ReadingDraft]] = []
    for index, raw in enumerate(items):
        result = decode_reading(raw, station_code, now, lanes)
        if isinstance(result, RejectedItem):
            answers[index] = ItemAnswer(index, "rejected", errors=result.problems)
        elif result.key in first_of:
            answers[index] = first_of[result.key]
        else:
            first_of[result.key] = index
            fresh.append((index, result))
    return answers, fresh


def _store_fresh(session: Session, station_id: int, batch_id: int,
                 fresh: list[tuple[int, ReadingDraft]]) -> list[tuple[int, int, bool]]:
    """(item index, stored reading id, newly stored?) for each fresh draft."""
    ids = take_ids(session, "rs_readings_id_seq", len(fresh))
    rows = [_row(reading_id, station_id, batch_id, draft) for reading_id, (_, draft) in zip(ids, fresh)]
    existing = _store(session, rows)
    return [(index, existing.get(reading_id, reading_id), reading_id not in existing)
            for reading_id, (index, _) in zip(ids, fresh)]


def _row(reading_id: int, station_id: int, batch_id: int, draft: ReadingDraft) -> tuple:
    reading = draft.reading
    colour = reading.plate_colour.value if reading.plate_colour else None
    return (reading_id, reading.measured_at, station_id, batch_id, reading.lane, reading.plate, colour,
            draft.record_id, *(getattr(reading, name) for name in MEASURED_FIELDS),
            draft.wind_dir_deg, draft.pressure_kpa, [e.as_dict() for e in draft.evidence])


def _store(session: Session, rows: list[tuple]) -> dict[int, int]:
    """COPY the rows; {offered id: id already stored} for those that repeat a stored pass."""
    if not rows:
        return {}
    try:
        with session.begin_nested():
            copy_rows(session, "rs_readings", COLUMNS, TYPES, rows)
        return {}
    except UniqueViolation:
        return _store_deduplicated(session, rows)


def _store_deduplicated(session: Session, rows: list[tuple]) -> dict[int, int]:
    """The slow path, taken only when a pass is already stored (a station re-sending)."""
    session.execute(text("CREATE TEMP TABLE IF NOT EXISTS rs_readings_incoming "
                         "(LIKE rs_readings INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"))
    session.execute(text("TRUNCATE rs_readings_incoming"))
    copy_rows(session, "rs_readings_incoming", COLUMNS, TYPES, rows)
    inserted = set(session.scalars(text(
        "INSERT INTO rs_readings SELECT * FROM rs_readings_incoming ON CONFLICT DO NOTHING RETURNING id")))
    repeated = [row[0] for row in rows if row[0] not in inserted]
    pairs = session.execute(text(
        "SELECT t.id, r.id FROM rs_readings_incoming t JOIN rs_readings r ON r.station_id = t.station_id "
        "AND r.measured_at = t.measured_at AND r.lane = t.lane "
        "AND (r.plate = t.plate OR (r.plate IS NULL AND t.plate IS NULL)) WHERE t.id = ANY(:ids)"),
        {"ids": repeated})
    return dict(pairs.all())


def _calibration_notices(session: Session, station_id: int, accepted: list[ReadingDraft]) -> list[str]:
    """Tell the station at once when its calibration has lapsed for days it posted."""
    records = service.calibration_records(session, station_id)
    days = sorted({local_day(draft.reading.measured_at) for draft in accepted})
    lapsed = [day for day in days if not _covered(records, day)]
    if not lapsed:
        return []
    listed = ", ".join(day.isoformat() for day in lapsed[:10]) + (" ..." if len(lapsed) > 10 else "")
    return [f"No passed calibration is in force on {listed}: these readings are stored but invalid "
            f"for judgement ({ReasonCode.CALIBRATION_LAPSED.value})."]


def _covered(records, day) -> bool:
    record = check_in_force(records, day)
    return record is not None and record.passed


def _record_batch(session: Session, principal: Principal, station_id: int, answer: BatchAnswer,
                  accepted: list[ReadingDraft]) -> None:
    times = [draft.reading.measured_at for draft in accepted]
    batch = RsBatch(id=answer.batch_id, station_id=station_id, submitted_by=principal.user_id,
                    received=answer.received, accepted=answer.accepted, duplicates=answer.duplicates,
                    rejected=answer.rejected, first_measured_at=min(times, default=None),
                    last_measured_at=max(times, default=None), processed_at=None if times else clock.now())
    session.add(batch)
    session.flush()
    if times:
        enqueue_after_commit(session, JUDGE_JOB, batch.id)

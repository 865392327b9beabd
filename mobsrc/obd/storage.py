"""Writing OBD batches: binary COPY into the day-partitioned record tables on the session's own
connection and transaction, deduplication, the per-vehicle latest state, the batch row, and
the day partitions themselves.

Deduplication (architecture.md): the fast path is a straight COPY inside a savepoint; only
when the primary key refuses a row (a re-sent or repeated record) does the batch go again
through a temporary table and `INSERT ... ON CONFLICT DO NOTHING RETURNING`, which also says
which rows were new.  A COPY that finds no partition for a row creates the missing day
partitions and runs again (the maintenance job normally made them ahead of time).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

import msgspec
import psycopg
from psycopg import errors as pg_errors
from sqlalchemy import text
from sqlalchemy.orm import Session

from mobsrc.core import partitions
from mobsrc.obd.intake import Intake
from mobsrc.obd.models import BatchSource
from mobsrc.obd.partition_plan import (
    PARTITIONED_TABLES,
    local_day,
)
from mobsrc.obd.rows import (
    INFO_COLUMNS,
    INFO_TYPES,
    STREAM_COLUMNS,
    STREAM_TYPES,
    latest_obd_state,
    latest_stream_state,
)

log = logging.getLogger(__name__)
_ENCODE = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[str, ...]
    types: tuple[str, ...]
    key_width: int                 # the primary key is the first `key_width` columns

    @property
    def column_list(self) -> str:
        return ", ".join(self.columns)

    @property
    def key_list(self) -> str:
        return ", ".join(self.columns[:self.key_width])

    @property
    def stage(self) -> str:
        return f"{self.name}_stage"


STREAMS = Table("obd_stream_records", STREAM_COLUMNS, STREAM_TYPES, 3)
INFOS = Table("obd_info_records", INFO_COLUMNS, INFO_TYPES, 2)


def driver_connection(session: Session) -> psycopg.Connection:
    """The psycopg connection under the session, inside the session's transaction."""
    return session.connection().connection.driver_connection


# --- records -----------------------------------------------------------------------------------
def _copy(raw: psycopg.Connection, table: str, spec: Table, rows, tail: tuple) -> None:
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({spec.column_list}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(spec.types)
            write = copy.write_row
            for row in rows:
                write(row + tail)


def _is_missing_partition(error: Exception) -> bool:
    return isinstance(error, pg_errors.CheckViolation) and "no partition" in str(error)


def write_rows(session: Session, spec: Table, rows: list[tuple], tail: tuple) -> set[tuple]:
    """Store `rows` (+ `tail` = received_at, batch_id); return the keys that were already stored."""
    if not rows:
        return set()
    raw = driver_connection(session)
    for attempt in (1, 2):
        raw.execute("SAVEPOINT obd_copy")
        try:
            _copy(raw, spec.name, spec, rows, tail)
        except (pg_errors.UniqueViolation, pg_errors.CheckViolation) as error:
            raw.execute("ROLLBACK TO SAVEPOINT obd_copy")
            raw.execute("RELEASE SAVEPOINT obd_copy")
            if _is_missing_partition(error) and attempt == 1:
                ensure_partitions(session, {local_day(row[1]) for row in rows}, (spec.name,))
                continue
            if isinstance(error, pg_errors.UniqueViolation):
                return _write_deduplicated(raw, spec, rows, tail)
            raise
        raw.execute("RELEASE SAVEPOINT obd_copy")
        return set()
    raise AssertionError("unreachable")


def _write_deduplicated(raw: psycopg.Connection, spec: Table, rows: list[tuple], tail: tuple) -> set[tuple]:
    """The slow path: stage the rows, insert those whose key is new, report the others."""
    raw.execute(f"CREATE TEMP TABLE IF NOT EXISTS {spec.stage} "
                f"(LIKE {spec.name} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
    raw.execute(f"TRUNCATE {spec.stage}")
    _copy(raw, spec.stage, spec, rows, tail)
    inserted = raw.execute(
        f"INSERT INTO {spec.name} ({spec.column_list}) SELECT {spec.column_list} FROM {spec.stage} "
        f"ON CONFLICT DO NOTHING RETURNING {spec.key_list}").fetchall()
    width = spec.key_width
    return {row[:width] for row in rows} - set(inserted)


# --- batches and states ----------------------------------------------------------------------------
_INSERT_BATCH = text(
    "INSERT INTO obd_batches (source, user_id, key_id, enterprise_id, received_at, submitted, accepted,"
    " duplicates, rejected, vehicle_ids, first_collected_at, last_collected_at, processed_at)"
    " VALUES (:source, :user_id, :key_id, :enterprise_id, :received_at, :submitted, :accepted, 0, :rejected,"
    " :vehicle_ids, :first, :last, :processed_at) RETURNING id")


@dataclass(frozen=True, slots=True)
class Submitter:
    source: BatchSource
    user_id: int | None = None
    key_id: int | None = None
    enterprise_id: int | None = None


def open_batch(session: Session, submitter: Submitter, intake: Intake, received_at: datetime) -> int:
    """The batch row (counts provisional until duplicates are known). A batch with nothing to
    store is processed at once: no job needs to look at it."""
    counts = intake.counts()
    first, last = intake.collected_span
    nothing = not intake.streams and not intake.infos
    return session.execute(_INSERT_BATCH, dict(
        source=submitter.source.value, user_id=submitter.user_id, key_id=submitter.key_id,
        enterprise_id=submitter.enterprise_id, received_at=received_at, submitted=len(intake.answers),
        accepted=counts["accepted"], rejected=counts["rejected"], vehicle_ids=intake.vehicle_ids,
        first=first, last=last, processed_at=received_at if nothing else None)).scalar_one()


def open_event_batch(session: Session, submitter: Submitter, vehicle_id: int, at: datetime,
                     received_at: datetime) -> int:
    """A batch for one terminal event that is not a record (a removal alarm): it brings the
    vehicle to the alarm job like any batch of records."""
    return session.execute(_INSERT_BATCH, dict(
        source=submitter.source.value, user_id=submitter.user_id, key_id=submitter.key_id,
        enterprise_id=submitter.enterprise_id, received_at=received_at, submitted=1, accepted=1,
        rejected=0, vehicle_ids=[vehicle_id], first=at, last=at, processed_at=None)).scalar_one()


def record_duplicates(session: Session, batch_id: int, intake: Intake, received_at: datetime) -> None:
    """Final counts; a batch that brought nothing new needs no processing."""
    counts = intake.counts()
    session.execute(text("UPDATE obd_batches SET accepted = :a, duplicates = :d,"
                         " processed_at = CASE WHEN :a = 0 THEN :at END WHERE id = :id"),
                    dict(a=counts["accepted"], d=counts["duplicate"], at=received_at, id=batch_id))


def _latest(rows: list[tuple]) -> dict[int, tuple]:
    latest: dict[int, tuple] = {}
    for row in rows:
        seen = latest.get(row[0])
        if seen is None or row[1] > seen[1]:
            latest[row[0]] = row
    return latest


_UPSERT_STATES = (
    "INSERT INTO obd_vehicle_states AS s (vehicle_id, last_seen_at, last_collected_at, last_record,"
    " last_obd_at, last_obd)"
    " SELECT v, %(seen)b, c, r::jsonb, o, ob::jsonb"
    " FROM unnest(%(ids)b::bigint[], %(collected)b::timestamptz[], %(records)b::text[],"
    " %(obd_at)b::timestamptz[], %(obds)b::text[]) AS t(v, c, r, o, ob) ORDER BY v"
    " ON CONFLICT (vehicle_id) DO UPDATE SET"
    " last_seen_at = GREATEST(s.last_seen_at, EXCLUDED.last_seen_at),"
    " last_record = CASE WHEN EXCLUDED.last_collected_at > s.last_collected_at"
    "   OR s.last_collected_at IS NULL THEN COALESCE(EXCLUDED.last_record, s.last_record)"
    "   ELSE s.last_record END,"
    " last_collected_at = GREATEST(s.last_collected_at, EXCLUDED.last_collected_at),"
    " last_obd = CASE WHEN EXCLUDED.last_obd_at > s.last_obd_at OR s.last_obd_at IS NULL"
    "   THEN COALESCE(EXCLUDED.last_obd, s.last_obd) ELSE s.last_obd END,"
    " last_obd_at = GREATEST(s.last_obd_at, EXCLUDED.last_obd_at)")


def _json(value: dict) -> str:
    return _ENCODE(value).decode()


def upsert_states(session: Session, intake: Intake, received_at: datetime) -> None:
    """One row per vehicle of the batch: seen now, its latest sample and OBD snapshot if newer
    than what the state holds (re-sent data never rolls the state back). Rows are written in
    vehicle order so that concurrent batches lock them in the same order.  Parameters go in
    binary (%b): psycopg's text array escaping costs far more than the upsert itself."""
    streams, infos = _latest(intake.streams), _latest(intake.infos)
    ids = sorted(streams.keys() | infos.keys())
    if not ids:
        return
    stream_of, info_of = streams.get, infos.get
    params = dict(
        seen=received_at, ids=ids,
        collected=[row[1] if (row := stream_of(v)) else None for v in ids],
        records=[_json(latest_stream_state(row)) if (row := stream_of(v)) else None for v in ids],
        obd_at=[row[1] if (row := info_of(v)) else None for v in ids],
        obds=[_json(latest_obd_state(row)) if (row := info_of(v)) else None for v in ids])
    with driver_connection(session).cursor() as cursor:
        cursor.execute(_UPSERT_STATES, params)


def store_intake(session: Session, submitter: Submitter, intake: Intake, received_at: datetime) -> int:
    """Write a filled Intake in the session's transaction; its answers then say which records
    were already stored. Returns the batch id."""
    batch_id = open_batch(session, submitter, intake, received_at)
    tail = (received_at, batch_id)
    duplicate_streams = write_rows(session, STREAMS, intake.streams, tail)
    duplicate_infos = write_rows(session, INFOS, intake.infos, tail)
    if duplicate_streams or duplicate_infos:
        intake.mark_stored_duplicates(duplicate_streams, duplicate_infos)
        record_duplicates(session, batch_id, intake, received_at)
    upsert_states(session, intake, received_at)
    return batch_id


# --- day partitions (core.partitions: create by ATTACH without blocking writers, drop by DETACH) ------
def existing_partition_days(session: Session, table: str) -> set[date]:
    return set(partitions.existing_partitions(session.connection(), table))


def ensure_partitions(session: Session, days, tables=PARTITIONED_TABLES) -> list[str]:
    """Create the missing day partitions; returns the names created."""
    created = [name for table in tables for name in partitions.ensure_day_partitions(session.connection(), table, days)]
    if created:
        log.info("created partitions %s", ", ".join(created))
    return created


def drop_partitions_before(session: Session, table: str, first_kept: date) -> list[str]:
    dropped = partitions.drop_partitions_before(session.connection(), table, first_kept)
    if dropped:
        log.info("dropped expired partitions %s", ", ".join(dropped))
    return dropped

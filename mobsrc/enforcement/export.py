"""CSV export of any violation query, streamed.

The rows come from a server-side cursor (`yield_per`) on a session of the export's own, opened
when the response starts streaming (the request's session has committed the access-log entry by
then), so memory stays flat however many rows match. Columns are chosen for a clerk with a
spreadsheet: times in Beijing time, Chinese labels next to the codes, the district's name,
coordinates in WGS-84. core/csv.py adds the BOM and guards every text cell against formulas.
"""
from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import column, func, table

from mobsrc.core import clock
from mobsrc.core.auth.principals import Principal
from mobsrc.core.csv import csv_document
from mobsrc.core.db import Database
from mobsrc.enforcement.models import Violation
from mobsrc.enforcement.queries import ViolationFilters
from mobsrc.enforcement.register import KIND_LABELS, STATUS_LABELS
from mobsrc.enforcement.service import ORDER, visible_violations

BATCH_ROWS = 2_000
DISTRICTS = table("districts", column("code"), column("name"))  # registry's table, by name

HEADER = ("id", "kind", "kind_label", "status", "status_label", "occurred_at", "ended_at", "subject_type",
          "plate", "plate_colour", "vin", "machine_code", "enterprise_id", "district_code", "district_name",
          "lon", "lat", "legal_basis_code", "decision_number", "penalty_amount", "officer", "decided_on",
          "appeal_status", "source", "source_ref", "evidence")

_COLUMNS = (Violation.id, Violation.kind, Violation.status, Violation.occurred_at, Violation.ended_at,
            Violation.subject_type, Violation.plate, Violation.plate_colour, Violation.vin, Violation.machine_code,
            Violation.enterprise_id, Violation.district_code, DISTRICTS.c.name,
            func.ST_X(Violation.location), func.ST_Y(Violation.location), Violation.legal_basis_code,
            Violation.decision_number, Violation.penalty_amount, Violation.officer, Violation.decided_on,
            Violation.appeal_status, Violation.source, Violation.source_ref, Violation.evidence)


def export_statement(principal: Principal, filters: ViolationFilters):
    stmt = visible_violations(principal, filters, _COLUMNS)
    stmt = stmt.outerjoin(DISTRICTS, DISTRICTS.c.code == Violation.district_code)
    return stmt.order_by(*(c.desc() for c in ORDER))


def _local(value):
    return clock.as_local(value).isoformat() if value is not None else None


def _evidence(items: list) -> str:
    return " | ".join(f"{e.get('type')}:{e.get('ref')}" for e in items or [])


def csv_row(row) -> tuple:
    (vid, kind, status, occurred, ended, subject_type, plate, colour, vin, code, enterprise, district,
     district_name, lon, lat, basis, decision, amount, officer, decided, appeal, source, ref, evidence) = row
    return (vid, kind.value, KIND_LABELS[kind], status.value, STATUS_LABELS[status], _local(occurred), _local(ended),
            subject_type.value, plate, colour, vin, code, enterprise, district, district_name,
            None if lon is None else round(lon, 7), None if lat is None else round(lat, 7), basis, decision,
            amount, officer, decided, appeal.value if appeal else None, source, ref, _evidence(evidence))


def _batches(database: Database, stmt) -> Iterator[list[tuple]]:
    with database.sessionmaker() as session:
        result = session.execute(stmt.execution_options(yield_per=BATCH_ROWS))
        for partition in result.partitions():
            yield [csv_row(row) for row in partition]


def stream_csv(database: Database, principal: Principal, filters: ViolationFilters) -> Iterator[bytes]:
    """The whole document, chunk by chunk; the query runs when the first chunk is asked for."""
    return csv_document(HEADER, _batches(database, export_statement(principal, filters)))


def filename() -> str:
    stamp = clock.as_local(clock.now()).strftime("%Y%m%d-%H%M%S")
    return f"violations-{stamp}.csv"

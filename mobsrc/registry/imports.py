"""Bulk registration from CSV: upload (durable, answered at once), then a job registers the rows
in chunks, committing progress; each row answers registered / already registered / rejected.

Idempotent at every level: the same file for the same owner is the same import; a row already
answered is skipped when the job runs again; an engine already registered to this owner is
"already registered" with its code, so re-uploading a corrected file registers nothing twice.
"""
from __future__ import annotations

import hashlib

from marshmallow import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from mobsrc.core import clock
from mobsrc.core.auth.principals import SYSTEM, Principal
from mobsrc.core.auth.scope import ensure_visible, scoped
from mobsrc.core.errors import DomainError, field_errors, invalid
from mobsrc.core.jobs import PendingJob, enqueue_after_commit, job_id_for
from mobsrc.registry import coding, importing, service
from mobsrc.registry.models import (
    District,
    Enterprise,
    ImportStatus,
    Machine,
    MachineImport,
    MachineImportRow,
    RowOutcome,
)
from mobsrc.registry.schemas import MachineCreateSchema

JOB = "registry.import_machines_csv"
CHUNK_ROWS = 1000


def start_import(session: Session, principal: Principal, enterprise_id: int | None, filename: str,
                 content: bytes) -> tuple[MachineImport, bool]:
    """Store the upload and queue its job. Returns (import, created); a repeat upload of the
    same file returns the first import and queues nothing."""
    owner = service._owner_for(session, principal, enterprise_id)
    digest = hashlib.sha256(content).hexdigest()
    existing = session.scalar(select(MachineImport).where(MachineImport.enterprise_id == owner.id,
                                                          MachineImport.sha256 == digest))
    if existing is not None:
        return existing, False
    try:
        total = importing.count_rows(content)
    except importing.UnreadableFile as exc:
        raise invalid("file", str(exc)) from exc
    upload = MachineImport(enterprise_id=owner.id, uploaded_by=principal.user_id, filename=filename,
                           sha256=digest, content=content, rows_total=total)
    session.add(upload)
    session.flush()
    enqueue_after_commit(session, JOB, upload.id)
    return upload, True


def get_import(session: Session, principal: Principal, import_id: int) -> MachineImport:
    upload = session.get(MachineImport, import_id)
    return ensure_visible(principal, upload, "import", enterprise_id=upload.enterprise_id if upload else None)


def import_rows(session: Session, principal: Principal, import_id: int, outcome=None) -> list[MachineImportRow]:
    get_import(session, principal, import_id)
    stmt = select(MachineImportRow).where(MachineImportRow.import_id == import_id)
    if outcome is not None:
        stmt = stmt.where(MachineImportRow.outcome == outcome)
    return list(session.scalars(stmt.order_by(MachineImportRow.row_number)))


def list_imports(session: Session, principal: Principal) -> list[MachineImport]:
    stmt = scoped(select(MachineImport), principal, enterprise_col=MachineImport.enterprise_id)
    return list(session.scalars(stmt.order_by(MachineImport.id.desc()).limit(100)))


def _draft(upload: MachineImport, row: importing.SheetRow) -> dict | list[dict]:
    """The row validated by the API's own schema, or its field errors."""
    try:
        return MachineCreateSchema().load(row.values | {"enterprise_id": upload.enterprise_id})
    except ValidationError as exc:
        return [e.as_dict() for e in field_errors(exc.messages)]


Answer = tuple  # (outcome, machine_id, code, errors)


def _check_row(session: Session, upload: MachineImport, draft: dict, known: dict, terminals: set,
               default_district: str) -> service.CheckedDraft | Answer | int:
    """A checked draft to register, an answer (already registered / rejected), or the row number
    of an earlier row of this chunk with the same engine."""
    key = service.engine_key(draft["engine_manufacturer"], draft["engine_serial"])
    same = known.get(key)
    if isinstance(same, int):
        return same
    if same is not None and same.enterprise_id == upload.enterprise_id:
        return RowOutcome.ALREADY_REGISTERED, same.id, same.code, []
    terminal = draft.get("terminal_id")
    if terminal and terminal in terminals:
        return RowOutcome.REJECTED, None, None, [{"field": "terminal_id", "reason": "fitted to another machine of "
                                                  "this file", "code": "conflict"}]
    try:
        checked = service.check_registration(session, SYSTEM, draft, default_district, same)
    except DomainError as exc:
        errors = [e.as_dict() for e in exc.errors] or [{"field": "_row", "reason": exc.detail, "code": "conflict"}]
        return RowOutcome.REJECTED, None, None, errors
    terminals.add(terminal)
    return checked


def _issue_codes(session: Session, checked: dict[int, service.CheckedDraft]) -> dict[int, Machine]:
    """Serials taken a range at a time per (district, type): one statement per group, not per row."""
    groups: dict[tuple, list[int]] = {}
    for number, item in checked.items():
        groups.setdefault((item.district, coding.MACHINE_TYPE_CODES[item.machine_type]), []).append(number)
    machines = {}
    for (district, type_code), numbers in groups.items():
        for number, serial in zip(numbers, service.next_serials(session, district, type_code, len(numbers))):
            machines[number] = service.new_machine(checked[number], serial)
    return machines


def import_next_chunk(session: Session, import_id: int, default_district: str, size: int = CHUNK_ROWS) -> bool:
    """Answer up to `size` unanswered rows and record progress, in one transaction (a failure
    rolls the whole chunk back for the retry). True while rows remain."""
    upload = session.get(MachineImport, import_id, with_for_update=True)
    if upload is None or upload.status in (ImportStatus.DONE, ImportStatus.FAILED):
        return False
    done = set(session.scalars(select(MachineImportRow.row_number).where(MachineImportRow.import_id == import_id)))
    pending = [r for r in importing.read_rows(upload.content) if r.number not in done][:size]
    drafts = {row.number: _draft(upload, row) for row in pending}
    known: dict = service.find_engines(session, [service.engine_key(d["engine_manufacturer"], d["engine_serial"])
                                                 for d in drafts.values() if isinstance(d, dict)])
    # Strong references: the identity map holds objects weakly, and the owner and districts are
    # read for every row (without this, each read is a query).
    anchors = [session.get(Enterprise, upload.enterprise_id), *session.scalars(select(District))]  # noqa: F841
    answers: dict[int, Answer | int] = {}
    checked: dict[int, service.CheckedDraft] = {}
    terminals: set = set()
    with session.no_autoflush:
        for number, draft in drafts.items():
            result = ((RowOutcome.REJECTED, None, None, draft) if isinstance(draft, list)
                      else _check_row(session, upload, draft, known, terminals, default_district))
            if isinstance(result, service.CheckedDraft):
                checked[number] = result
                known[result.engine_key] = number
            else:
                answers[number] = result
    machines = _issue_codes(session, checked)
    session.add_all(machines.values())
    service.record_registrations(session, SYSTEM, list(machines.values()))
    for number, machine in machines.items():
        answers[number] = (RowOutcome.REGISTERED, machine.id, machine.code, [])
    for number, answer in answers.items():
        if isinstance(answer, int):  # the same engine as an earlier row of this file
            first = machines[answer]
            answers[number] = (RowOutcome.ALREADY_REGISTERED, first.id, first.code, [])
    session.add_all(MachineImportRow(import_id=import_id, row_number=n, outcome=a[0], machine_id=a[1], code=a[2],
                                     errors=a[3]) for n, a in answers.items())
    session.flush()
    _record_progress(session, upload, finished=len(pending) < size)
    return len(pending) == size


def _record_progress(session: Session, upload: MachineImport, finished: bool) -> None:
    counts = dict(session.execute(select(MachineImportRow.outcome, func.count())
                                  .where(MachineImportRow.import_id == upload.id)
                                  .group_by(MachineImportRow.outcome)).all())
    values = dict(rows_done=sum(counts.values()), registered=counts.get(RowOutcome.REGISTERED, 0),
                  already_registered=counts.get(RowOutcome.ALREADY_REGISTERED, 0),
                  rejected=counts.get(RowOutcome.REJECTED, 0),
                  status=ImportStatus.DONE if finished else ImportStatus.RUNNING)
    if finished:
        values["finished_at"] = clock.now()
    # A Core update: progress ticks are not audited changes.
    session.execute(update(MachineImport).where(MachineImport.id == upload.id).values(**values)
                    .execution_options(synchronize_session="fetch"))


def pending_imports(session: Session) -> list[PendingJob]:
    """Reconciler: imports accepted but not finished (Redis was down, a worker died)."""
    ids = session.scalars(select(MachineImport.id).where(
        MachineImport.status.in_([ImportStatus.QUEUED, ImportStatus.RUNNING])))
    return [PendingJob(JOB, (i,), job_id_for(JOB, i)) for i in ids]

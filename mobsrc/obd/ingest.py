"""Ingestion use cases: JSON batches, raw frames (HTTP), gateway batches, terminal logins,
removal (tamper) alarms.

Every way in ends in `storage.store_intake` inside the caller's transaction: the records are
durable when the caller commits, and only then is anything answered (the HTTP 2xx, the
gateway's ACK frame).  The follow-up (alarms) is one job for all unprocessed batches, queued
after the commit (`queue_evaluation`); the reconciler re-queues it when Redis was away.

Who may send what:
- HTTP: role `terminal`.  A terminal user bound to an enterprise may send its enterprise's
  vehicles only; an unbound one is a city-level platform (forwarder) and may send any
  registered vehicle.  Records of other VINs are rejected one by one as `unknown_vehicle`
  (the same answer for an unregistered and for someone else's vehicle: nothing leaks).
- Gateway: HJ 1239 frames carry no secret a city platform can check (the SM2 signature needs
  keys only the MEE holds, standards-telemetry.md 1.12), so a terminal is admitted by its
  login: the login VIN must be a registered vehicle.  Unregistered VINs are refused (no
  answer, connection closed) and nothing of theirs is stored; data frames are taken only
  for VINs logged in on that connection.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import msgspec
from sqlalchemy import column, select, table, text
from sqlalchemy.orm import Session

from mobsrc.core import clock
from mobsrc.core.auth.principals import Principal
from mobsrc.core.errors import DomainError, invalid
from mobsrc.core.geo.crs import bd09_to_wgs84, gcj02_to_wgs84
from mobsrc.core.jobs import enqueue_after_commit
from mobsrc.obd import record_specs as specs
from mobsrc.obd.hj1239.codec import decode_frame, encode_reply
from mobsrc.obd.hj1239.framing import FrameError, FrameSplitter, Garbage, RawFrame, vin_check_ok
from mobsrc.obd.hj1239.info_blocks import describe_dtc
from mobsrc.obd.hj1239.messages import (
    EncryptedDataUnit,
    FrameHeader,
    Layout,
    LayoutSource,
    Login,
    Logout,
    RemovalAlarm,
    Report,
    TimeCalibrationRequest,
)
from mobsrc.obd.hj1239.records import FrameRecords, RecordRejectReason, flatten_frame
from mobsrc.obd.hj1239.tables import InfoType
from mobsrc.obd.hj1239.times import GMT8
from mobsrc.obd.intake import Answer, Intake
from mobsrc.obd.models import BatchSource
from mobsrc.obd.rows import KIND_CODES, ItemStatus, RejectReason, info_candidate, stream_candidate
from mobsrc.obd.settings import ObdSettings
from mobsrc.obd.storage import Submitter, open_event_batch, store_intake

log = logging.getLogger(__name__)
EVALUATE_JOB = "obd.evaluate_pending_batches"

_vehicles = table("vehicles", column("id"), column("vin"), column("enterprise_id"),
                  column("obd_terminal_id"))


class BatchTooLarge(DomainError):
    status, title = 413, "Batch too large"


class UnsupportedMediaType(DomainError):
    status, title = 415, "Unsupported media type"


@dataclass(frozen=True, slots=True)
class VehicleRef:
    id: int
    vin: str
    enterprise_id: int


def submitter_of(principal: Principal, source: BatchSource) -> Submitter:
    return Submitter(source, principal.user_id, principal.key_id, principal.enterprise_id)


def find_vehicles(session: Session, vins: Iterable[str], enterprise_id: int | None = None) -> dict[str, VehicleRef]:
    """Registered vehicles by VIN, limited to an enterprise when the submitter is bound to one."""
    vins = list(set(vins))
    if not vins:
        return {}
    stmt = select(_vehicles.c.id, _vehicles.c.vin, _vehicles.c.enterprise_id).where(_vehicles.c.vin.in_(vins))
    if enterprise_id is not None:
        stmt = stmt.where(_vehicles.c.enterprise_id == enterprise_id)
    return {vin: VehicleRef(vid, vin, owner) for vid, vin, owner in session.execute(stmt)}


def queue_evaluation(session: Session) -> None:
    """After the commit: one coalescing alarm job per 5 s bucket (core/jobs skips an id that is
    still waiting), so ingest rates far above the job rate cost one Redis round trip each."""
    bucket = int(clock.now().timestamp()) // 5
    enqueue_after_commit(session, EVALUATE_JOB, job_id=f"obd-evaluate-{bucket}")


def _store(session: Session, submitter: Submitter, intake: Intake, now: datetime) -> int:
    batch_id = store_intake(session, submitter, intake, now)
    if intake.accepted:
        queue_evaluation(session)
    return batch_id


# --- JSON batches ------------------------------------------------------------------------------
_TYPED = msgspec.json.Decoder(specs.RecordBatchIn)
_RAW = msgspec.json.Decoder(specs.RawBatchIn)
_STREAM = msgspec.json.Decoder(specs.StreamRecordIn)
_INFO = msgspec.json.Decoder(specs.InfoRecordIn)
_NAMES = [r.name for r in specs.STREAM_RULES]
_ENGINE = slice(_NAMES.index("serial") + 1, _NAMES.index("longitude"))
_LON = _NAMES.index("longitude")
_TO_WGS84 = {"gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}
_ENGINE_TYPE = int(InfoType.ENGINE)
_KIND_CODES = {kind.value: code for kind, code in KIND_CODES.items()}


def decode_json_batch(body: bytes) -> tuple[list, list]:
    """(stream items, info items): each a decoded record or the Answer rejecting it.  One typed
    decode when everything is valid; record by record otherwise, so one bad record sinks
    nothing else.  A body that is not a JSON object of two lists is a 400/422."""
    try:
        batch = _TYPED.decode(body)
        return batch.records, batch.obd_info
    except msgspec.ValidationError:
        pass
    except msgspec.DecodeError as exc:
        raise DomainError(f"The body is not valid JSON: {exc}") from None
    try:
        raw = _RAW.decode(body)
    except msgspec.ValidationError as exc:
        message = str(exc)
        field = specs.error_field(message)
        raise invalid(field if field in ("records", "obd_info") else "body", specs.error_reason(message)) from None
    return [_decode_one(_STREAM, r) for r in raw.records], [_decode_one(_INFO, r) for r in raw.obd_info]


def _decode_one(decoder: msgspec.json.Decoder, raw: msgspec.Raw):
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError as exc:
        message = str(exc)
        return Answer(ItemStatus.REJECTED, RejectReason.INVALID, specs.error_field(message),
                      specs.error_reason(message))


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=GMT8)


def json_stream_candidate(vehicle_id: int, record) -> tuple:
    values = msgspec.structs.astuple(record)
    lon, lat, position_valid, crs = values[_LON:_LON + 4]
    if crs != "wgs84" and lon is not None:
        lon, lat = _TO_WGS84[crs](lon, lat)
    at = values[1]
    return (vehicle_id, at if at.tzinfo is not None else at.replace(tzinfo=GMT8), _ENGINE_TYPE,
            _KIND_CODES[values[2]], values[3], *values[_ENGINE], lon, lat, position_valid, None, None)


def json_info_candidate(vehicle_id: int, r) -> tuple:
    protocol = 0xFE if r.protocol is None else r.protocol
    dtcs = [{"raw": code.upper(), "code": describe_dtc(int(code, 16), protocol)} for code in r.dtcs]
    return (vehicle_id, _aware(r.collected_at), KIND_CODES[r.kind], r.serial, r.protocol, r.mil_on,
            r.dtc_count, dtcs, r.cal_id, r.cvn.upper(), r.cvn.upper().ljust(36, "0"), r.obd_vin,
            vin_check_ok(r.obd_vin), r.support_map, r.readiness_map, msgspec.structs.asdict(r.iupr))


def _offer_json(intake: Intake, items: list, vehicles: dict, candidate, offer) -> None:
    for item in items:
        if isinstance(item, Answer):
            intake.add(item)
            continue
        vehicle = vehicles.get(item.vin)
        if vehicle is None:
            intake.reject(RejectReason.UNKNOWN_VEHICLE, "no registered vehicle of yours has this VIN", "vin")
            continue
        offer(candidate(vehicle.id, item))


def ingest_json(session: Session, principal: Principal, body: bytes, settings: ObdSettings) -> dict:
    """A JSON batch: one answer per record, in order; durable once the caller commits."""
    streams, infos = decode_json_batch(body)
    if len(streams) + len(infos) > settings.max_batch_records:
        raise BatchTooLarge(f"At most {settings.max_batch_records} records per request; split the batch.")
    vins = [i.vin for i in streams if not isinstance(i, Answer)] + [i.vin for i in infos if not isinstance(i, Answer)]
    vehicles = find_vehicles(session, vins, principal.enterprise_id)
    now = clock.now()
    intake = Intake(now, settings.acceptance)
    _offer_json(intake, streams, vehicles, json_stream_candidate, intake.offer_stream)
    _offer_json(intake, infos, vehicles, json_info_candidate, intake.offer_info)
    batch_id = _store(session, submitter_of(principal, BatchSource.JSON), intake, now)
    answers = intake.answers
    return {"batch_id": batch_id, **intake.counts(), "records": answers[:len(streams)],
            "obd_info": answers[len(streams):]}


# --- frames ------------------------------------------------------------------------------------------
_RECORD_REJECTS = {RecordRejectReason.NO_COLLECTION_TIME: RejectReason.NO_COLLECTION_TIME,
                   RecordRejectReason.UNKNOWN_INFO_TYPE: RejectReason.UNKNOWN_INFO_TYPE}


def offer_frame_records(intake: Intake, vehicle_id: int, records: FrameRecords) -> list[tuple]:
    """Offer the rows of one decoded report; returns (info_type, collected_at, answer) each."""
    out = []
    for record in records.streams:
        out.append((record.info_type, record.collected_at, intake.offer_stream(stream_candidate(vehicle_id, record))))
    for record in records.obd:
        out.append((InfoType.OBD, record.collected_at, intake.offer_info(info_candidate(vehicle_id, record))))
    for rejected in records.rejected:
        out.append((rejected.info_type, None, intake.reject(_RECORD_REJECTS[rejected.reason], field="info_type")))
    return out


@dataclass(slots=True)
class _FrameAnswer:
    offset: int
    command: int
    vin: str
    status: str
    reason: str | None = None
    detail: str | None = None
    reply: str | None = None
    records: list = field(default_factory=list)

    def as_dict(self) -> dict:
        out = {k: v for k, v in (("offset", self.offset), ("command", self.command), ("vin", self.vin),
                                 ("status", self.status), ("reason", self.reason),
                                 ("detail", self.detail), ("reply", self.reply)) if v is not None}
        out["records"] = [_record_answer(*r) for r in self.records]
        return out


def _record_answer(info_type: int, at: datetime | None, answer: Answer) -> dict:
    out = msgspec.structs.asdict(answer)
    out = {k: v for k, v in out.items() if v is not None}
    out["info_type"] = int(info_type)
    if at is not None:
        out["collected_at"] = clock.as_local(at).isoformat()
    return out


def _layout_hints(session: Session, vehicle_ids: list[int]) -> dict[int, Layout]:
    if not vehicle_ids:
        return {}
    rows = session.execute(text("SELECT vehicle_id, layout FROM obd_terminal_profiles WHERE vehicle_id = ANY(:ids)"
                                " AND layout IS NOT NULL"), {"ids": vehicle_ids})
    return {vid: Layout(layout) for vid, layout in rows}


def ingest_frames(session: Session, principal: Principal, body: bytes, settings: ObdSettings) -> dict:
    """Raw HJ 1239 frames (one or more, back to back): one answer per frame and per record."""
    splitter = FrameSplitter()
    events = splitter.feed(body) + splitter.close()
    frames = [e for e in events if isinstance(e, RawFrame)]
    if not frames:
        raise invalid("body", "no HJ 1239 frame found (a frame starts with ## and ends with its check code)")
    vehicles = find_vehicles(session, [f.data[3:20].decode("latin-1") for f in frames], principal.enterprise_id)
    hints = _layout_hints(session, [v.id for v in vehicles.values()])
    now = clock.now()
    intake = Intake(now, settings.acceptance)
    submitter = submitter_of(principal, BatchSource.FRAMES)
    answers = [_take_frame(session, intake, raw, vehicles, hints, submitter, now) for raw in frames]
    if sum(len(a.records) for a in answers) > settings.max_batch_records:
        raise BatchTooLarge(f"At most {settings.max_batch_records} records per request; split the frames.")
    batch_id = _store(session, submitter, intake, now)
    garbage = [{"offset": g.offset, "length": g.nbytes, "reason": g.reason.value}
               for g in events if isinstance(g, Garbage)]
    return {"batch_id": batch_id, **intake.counts(), "frames": [a.as_dict() for a in answers], "garbage": garbage}


def _take_frame(session: Session, intake: Intake, raw: RawFrame, vehicles: dict, hints: dict,
                submitter: Submitter, now: datetime) -> _FrameAnswer:
    vin = raw.data[3:20].decode("latin-1")
    answer = _FrameAnswer(raw.offset, raw.data[2], vin, "accepted")
    vehicle = vehicles.get(vin)
    if vehicle is None:
        answer.status, answer.reason = "rejected", RejectReason.UNKNOWN_VEHICLE.value
        return answer
    try:
        frame = decode_frame(raw.data, layout=hints.get(vehicle.id))
    except FrameError as error:
        answer.status, answer.reason, answer.detail = "rejected", RejectReason.UNDECODABLE.value, str(error)
        return answer
    message = frame.message
    if isinstance(message, Report):
        answer.records = offer_frame_records(intake, vehicle.id, flatten_frame(frame, received_at=now))
        learn_layout(session, vehicle.id, message, hints.get(vehicle.id))
    elif isinstance(message, Login):
        record_login(session, vehicle, frame.header, message, now)
    elif isinstance(message, Logout):
        record_logout(session, vehicle, now)
    elif isinstance(message, RemovalAlarm):
        if not record_removal(session, vehicle, message, submitter, now):
            answer.status = "duplicate"
    elif isinstance(message, EncryptedDataUnit):
        answer.status, answer.reason = "rejected", RejectReason.ENCRYPTED.value
        return answer
    elif not isinstance(message, TimeCalibrationRequest):
        answer.status = "ignored"
        return answer
    reply = encode_reply(frame, now=now)
    answer.reply = reply.hex().upper() if reply else None
    return answer


# --- terminal profile ----------------------------------------------------------------------------------
_LOGIN = text(
    "INSERT INTO obd_terminal_profiles AS p (vehicle_id, software_version, iccid, last_login_at,"
    " last_login_serial, logins, updated_at) VALUES (:v, :version, :iccid, :at, :serial, 1, :at)"
    " ON CONFLICT (vehicle_id) DO UPDATE SET software_version = EXCLUDED.software_version,"
    " iccid = EXCLUDED.iccid, last_login_at = EXCLUDED.last_login_at,"
    " last_login_serial = EXCLUDED.last_login_serial, logins = p.logins + 1, updated_at = EXCLUDED.updated_at")
_SEEN = text(
    "INSERT INTO obd_vehicle_states AS s (vehicle_id, last_seen_at) VALUES (:v, :at)"
    " ON CONFLICT (vehicle_id) DO UPDATE SET last_seen_at = GREATEST(s.last_seen_at, EXCLUDED.last_seen_at)")


def record_login(session: Session, vehicle: VehicleRef, header: FrameHeader, login: Login, now: datetime) -> None:
    """A terminal logged in: its profile (ICCID, software version, serial) and 'seen now'."""
    session.execute(_LOGIN, dict(v=vehicle.id, version=header.software_version,
                                 iccid=login.iccid.replace("\x00", "")[:20], at=now, serial=login.serial))
    session.execute(_SEEN, dict(v=vehicle.id, at=now))


def record_logout(session: Session, vehicle: VehicleRef, now: datetime) -> None:
    session.execute(text("UPDATE obd_terminal_profiles SET last_logout_at = :at, updated_at = :at"
                         " WHERE vehicle_id = :v"), dict(v=vehicle.id, at=now))
    session.execute(_SEEN, dict(v=vehicle.id, at=now))


_REMOVAL = text(
    "INSERT INTO obd_removal_reports (vehicle_id, vin, reported_at, time_valid, serial, longitude, latitude,"
    " position_valid, source, received_at) VALUES (:v, :vin, :at, :time_valid, :serial, :lon, :lat,"
    " :fix_valid, :source, :received_at) ON CONFLICT ON CONSTRAINT uq_obd_removal_reports_report DO NOTHING"
    " RETURNING id")


def record_removal(session: Session, vehicle: VehicleRef, removal: RemovalAlarm, submitter: Submitter,
                   now: datetime) -> bool:
    """A 0x06 removal alarm from a logged-in terminal: stored once (terminals repeat it every
    60 s and re-send what was not answered) and brought to the alarm job, which opens or keeps
    the vehicle's `terminal_removed` alarm.  Returns False for a report already stored."""
    position = removal.position
    stored = session.execute(_REMOVAL, dict(
        v=vehicle.id, vin=vehicle.vin, at=removal.at or now, time_valid=removal.at is not None,
        serial=removal.serial, lon=position.longitude, lat=position.latitude,
        fix_valid=position.is_fix_valid and position.longitude is not None and position.latitude is not None,
        source=submitter.source.value, received_at=now)).scalar_one_or_none()
    session.execute(_SEEN, dict(v=vehicle.id, at=now))
    if stored is None:
        return False
    open_event_batch(session, submitter, vehicle.id, removal.at or now, now)
    queue_evaluation(session)
    log.warning("terminal removal alarm from %s at %s", vehicle.vin, removal.at or now)
    return True


def learn_layout(session: Session, vehicle_id: int, report: Report, known: Layout | None) -> None:
    """Keep the layout a complete report was detected in (standards-telemetry.md 1.16 step 5)."""
    if report.layout_source is LayoutSource.DETECTED and report.is_complete and report.layout is not known:
        session.execute(text("INSERT INTO obd_terminal_profiles (vehicle_id, layout, updated_at)"
                             " VALUES (:v, :layout, now()) ON CONFLICT (vehicle_id) DO UPDATE"
                             " SET layout = EXCLUDED.layout, updated_at = now()"),
                        dict(v=vehicle_id, layout=report.layout.value))


def login_terminal(session: Session, header: FrameHeader, login: Login, now: datetime) -> tuple[VehicleRef, Layout | None] | None:
    """The gateway's check of a login: the vehicle and its learnt layout, or None (refused)."""
    vehicle = find_vehicles(session, [header.vin]).get(header.vin)
    if vehicle is None:
        return None
    record_login(session, vehicle, header, login, now)
    return vehicle, _layout_hints(session, [vehicle.id]).get(vehicle.id)


# --- gateway batches ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class GatewayItem:
    vehicle: VehicleRef
    records: FrameRecords


def store_gateway_batch(session: Session, items: list[GatewayItem], settings: ObdSettings) -> dict:
    """Records the gateway decoded from frames of logged-in terminals, in one batch."""
    now = clock.now()
    intake = Intake(now, settings.acceptance)
    for item in items:
        offer_frame_records(intake, item.vehicle.id, item.records)
    batch_id = _store(session, Submitter(BatchSource.GATEWAY), intake, now)
    return {"batch_id": batch_id, **intake.counts()}

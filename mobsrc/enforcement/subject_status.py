""""What is the status of this plate / this machine?" for an officer at the roadside: everything
still open against the subject, its record in numbers, and what other features know about it
(its I/M state...), gathered from STATUS_PROVIDERS.

Enforcement imports none of the producers (architecture.md): a feature that can say something
about a subject registers a provider here by dotted path, resolved at call time (as
core/jobs.RECONCILERS):

    STATUS_PROVIDERS["im"] = "mobsrc.im.service:subject_im_status"

A provider is `provider(session, subject: SubjectKey) -> dict | None` (JSON-able; None when it
knows nothing of the subject). It runs in a savepoint: a provider that fails is reported as
unavailable and logged, and the rest of the answer stands (the officer still sees the open
violations).

The subject part shows police what identifies the subject and its emission class, not the
owner's registry internals (terminal ids, engine serials, contacts).
"""
from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mobsrc.core.auth.principals import Principal
from mobsrc.core.errors import invalid
from mobsrc.enforcement.models import Violation
from mobsrc.enforcement.queries import plan_interactively, subject_conditions
from mobsrc.enforcement.register import SubjectType, ViolationStatus
from mobsrc.enforcement.service import ORDER, log_query
from mobsrc.registry import service as registry
from mobsrc.registry.coding import canonical
from mobsrc.registry.identifiers import normalize_plate, normalize_vin

log = logging.getLogger(__name__)

# name -> "module:function"; features append theirs under a `# --- <feature>` comment.
STATUS_PROVIDERS: dict[str, str] = {
    # --- im: the vehicle's active case, case record and last inspection
    "im": "mobsrc.im.service.status:subject_im_status",
}

OPEN_STATUSES = (ViolationStatus.OPEN, ViolationStatus.UNDER_REVIEW)
MAX_OPEN_LISTED = 200


@dataclass(frozen=True)
class SubjectKey:
    """One vehicle or machine as asked for, completed from the registry where it is known."""

    subject_type: SubjectType
    plate: str | None = None
    plate_colour: str | None = None
    vin: str | None = None
    machine_code: str | None = None
    vehicle_ids: tuple[int, ...] = ()
    machine_ids: tuple[int, ...] = ()


def resolve_provider(path: str) -> Callable:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def _provider_result(session: Session, name: str, path: str, subject: SubjectKey) -> dict:
    try:
        with session.begin_nested():
            result = resolve_provider(path)(session, subject)
    except Exception:  # one feature's failure must not hide the violations
        log.exception("status provider %s (%s) failed", name, path)
        return {"available": False, "reason": "this source could not answer; try again later"}
    return {"available": True, "status": result}


def provider_statuses(session: Session, subject: SubjectKey) -> dict[str, dict]:
    return {name: _provider_result(session, name, path, subject) for name, path in sorted(STATUS_PROVIDERS.items())}


def _vehicle_view(vehicle) -> dict:
    return dict(id=vehicle.id, plate=vehicle.plate, plate_colour=vehicle.plate_colour.value, vin=vehicle.vin,
                fuel=vehicle.fuel.value, emission_standard=vehicle.emission_standard.value)


def _machine_view(machine) -> dict:
    return dict(id=machine.id, code=machine.code, machine_type=machine.machine_type.value,
                emission_stage=machine.emission_stage.value, status=machine.status.value)


def _vehicle_subject(session: Session, principal: Principal, args: dict) -> tuple[SubjectKey, list[dict]]:
    plate = normalize_plate(args["plate"]) if args.get("plate") else None
    vin = normalize_vin(args["vin"]) if args.get("vin") else None
    colour = args.get("plate_colour")
    found = registry.list_vehicles(session, principal, {"plate": plate} if plate else {"vin": vin}, None, 20).items
    if plate and colour:
        found = [v for v in found if v.plate_colour.value == colour]
    vins = {v.vin for v in found} | ({vin} if vin else set())
    subject = SubjectKey(SubjectType.VEHICLE, plate=plate, plate_colour=colour,
                         vin=next(iter(vins)) if len(vins) == 1 else vin, vehicle_ids=tuple(v.id for v in found))
    return subject, [_vehicle_view(v) for v in found]


def _machine_subject(session: Session, principal: Principal, args: dict) -> tuple[SubjectKey, list[dict]]:
    code = canonical(args["machine_code"])
    found = [m for m in registry.list_machines(session, principal, {"q": code}, None, 5).items if m.code == code]
    return SubjectKey(SubjectType.MACHINE, machine_code=code, machine_ids=tuple(m.id for m in found)), \
        [_machine_view(m) for m in found]


def _subject(session: Session, principal: Principal, args: dict) -> tuple[SubjectKey, list[dict]]:
    if sum(bool(args.get(k)) for k in ("plate", "vin", "machine_code")) != 1:
        raise invalid("plate", "give exactly one of plate (with plate_colour if known), vin or machine_code")
    if args.get("machine_code"):
        return _machine_subject(session, principal, args)
    return _vehicle_subject(session, principal, args)


def _matching(subject: SubjectKey):
    return subject_conditions(subject.plate, subject.plate_colour, subject.vin, subject.machine_code,
                              subject.vehicle_ids, subject.machine_ids)


def subject_status(session: Session, principal: Principal, args: dict) -> dict:
    """Open violations, counts by status, the last violation and every provider's status."""
    subject, registered = _subject(session, principal, args)
    plan_interactively(session)
    match = _matching(subject)
    counts = dict(session.execute(select(Violation.status, func.count()).where(match).group_by(Violation.status)).all())
    last = session.scalar(select(func.max(Violation.occurred_at)).where(match))
    open_items = session.scalars(select(Violation).where(match, Violation.status.in_(OPEN_STATUSES))
                                 .order_by(*(c.desc() for c in ORDER)).limit(MAX_OPEN_LISTED)).all()
    log_query(session, principal, "violations.subject_status",
              subject=subject.plate or subject.vin or subject.machine_code, subject_type=subject.subject_type.value)
    return dict(subject_type=subject.subject_type, plate=subject.plate, plate_colour=subject.plate_colour,
                vin=subject.vin, machine_code=subject.machine_code, registered=registered,
                counts={s.value: counts.get(s, 0) for s in ViolationStatus}, last_violation_at=last,
                open_violations=list(open_items), providers=provider_statuses(session, subject))

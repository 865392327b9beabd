"""Visit state machine of one machine in one zone, robust to GPS jitter.

A machine is OUTSIDE or INSIDE a zone. It changes side only after a confirming run of
consecutive *contrary* fixes (inside while OUTSIDE, outside while INSIDE): at least
`min_fixes` fixes spanning at least `min_span`, no two further apart than `max_gap`, all with
acceptable accuracy. One fix on the current side cancels the run, so a track jittering along a
boundary never flips. Entering yields `VisitConfirmed(entry_time = first fix of the run)`,
leaving yields `VisitEnded(exit_time = first fix of the run, dwell = exit - entry)`.

"Inside" means inside an *active* zone (the engine's answer): a zone whose daily window ends
ends the visit by the same rule.

Ordering policy: fixes are applied in fix-time order (`advance_visit_many` sorts). A fix at or
before the state's last processed fix time changes nothing — late (re-sent) fixes are stored
as positions by the caller but do not rewrite visit history, and re-processing the same fixes
is idempotent. Fixes with unacceptable accuracy are ignored entirely (no state change, not
counted as processed).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from mobsrc.zones.fixes import AccuracyLimits, PositionFix


class VisitError(ValueError):
    """A fix of another machine, or a naive time."""


class VisitStatus(StrEnum):
    OUTSIDE = "outside"
    INSIDE = "inside"


class EndReason(StrEnum):
    LEFT_ZONE = "left_zone"
    SIGNAL_LOST = "signal_lost"


@dataclass(frozen=True)
class ConfirmationRule:
    min_fixes: int = 3  # UNCONFIRMED: project default from the issue
    min_span: timedelta = timedelta(seconds=120)  # UNCONFIRMED: two NRMM reporting periods of 60 s (telemetry 2.3 [SECONDARY])
    max_gap: timedelta = timedelta(minutes=5)  # UNCONFIRMED: a longer silence restarts the run
    accuracy: AccuracyLimits = field(default_factory=AccuracyLimits)
    max_silence: timedelta = timedelta(minutes=30)  # UNCONFIRMED: for end_visit_on_silence
    max_evidence: int = 20  # fixes kept per run: the first and the latest ones


@dataclass(frozen=True)
class VisitState:
    machine_id: Hashable
    zone_id: Hashable
    status: VisitStatus = VisitStatus.OUTSIDE
    last_fix_time: datetime | None = None  # latest processed fix
    entry_time: datetime | None = None  # of the open visit
    run: tuple[PositionFix, ...] = ()  # contrary fixes awaiting confirmation (capped)
    run_length: int = 0


@dataclass(frozen=True)
class VisitConfirmed:
    machine_id: Hashable
    zone_id: Hashable
    entry_time: datetime
    confirmed_at: datetime  # fix time of the confirming fix
    evidence: tuple[PositionFix, ...]


@dataclass(frozen=True)
class VisitEnded:
    machine_id: Hashable
    zone_id: Hashable
    entry_time: datetime
    exit_time: datetime
    dwell: timedelta
    ended_by: EndReason
    evidence: tuple[PositionFix, ...]


VisitEvent = VisitConfirmed | VisitEnded


def advance_visit(state: VisitState, fix: PositionFix, inside: bool,
                  rule: ConfirmationRule = ConfirmationRule()) -> tuple[VisitState, tuple[VisitEvent, ...]]:
    """Apply one fix (`inside`: the fix lies in the active zone)."""
    if fix.machine_id != state.machine_id:
        raise VisitError(f"fix of {fix.machine_id!r} applied to the visit of {state.machine_id!r}")
    if state.last_fix_time is not None and fix.fix_time <= state.last_fix_time:
        return state, ()
    if not rule.accuracy.accepts(fix):
        return state, ()
    if inside == (state.status is VisitStatus.INSIDE):
        return replace(state, last_fix_time=fix.fix_time, run=(), run_length=0), ()
    state = _extend_run(state, fix, rule)
    if not _is_confirmed(state, rule):
        return state, ()
    return _flip(state)


def advance_visit_many(state: VisitState, observations: Iterable[tuple[PositionFix, bool]],
                       rule: ConfirmationRule = ConfirmationRule()) -> tuple[VisitState, tuple[VisitEvent, ...]]:
    """Apply (fix, inside) pairs in fix-time order; events in the order they happened."""
    events: list[VisitEvent] = []
    for fix, inside in sorted(observations, key=lambda o: o[0].fix_time):
        state, new = advance_visit(state, fix, inside, rule)
        events += new
    return state, tuple(events)


def end_visit_on_silence(state: VisitState, now: datetime,
                         rule: ConfirmationRule = ConfirmationRule()) -> tuple[VisitState, tuple[VisitEvent, ...]]:
    """Close an open visit when no fix arrived for `max_silence` (terminal off or out of
    coverage). Exit time: the first fix of a pending outside run, else the last fix."""
    if now.tzinfo is None:
        raise VisitError("now must be timezone-aware")
    if state.status is not VisitStatus.INSIDE or now - state.last_fix_time <= rule.max_silence:
        return state, ()
    exit_time = state.run[0].fix_time if state.run else state.last_fix_time
    ended = VisitEnded(state.machine_id, state.zone_id, state.entry_time, exit_time,
                       exit_time - state.entry_time, EndReason.SIGNAL_LOST, state.run)
    return replace(state, status=VisitStatus.OUTSIDE, entry_time=None, run=(), run_length=0), (ended,)


def _extend_run(state: VisitState, fix: PositionFix, rule: ConfirmationRule) -> VisitState:
    if state.run and fix.fix_time - state.run[-1].fix_time > rule.max_gap:
        run, length = (fix,), 1
    else:
        run, length = state.run + (fix,), state.run_length + 1
    if len(run) > rule.max_evidence:
        run = (run[0],) + run[len(run) - rule.max_evidence + 1:]
    return replace(state, last_fix_time=fix.fix_time, run=run, run_length=length)


def _is_confirmed(state: VisitState, rule: ConfirmationRule) -> bool:
    span = state.run[-1].fix_time - state.run[0].fix_time
    return state.run_length >= rule.min_fixes and span >= rule.min_span


def _flip(state: VisitState) -> tuple[VisitState, tuple[VisitEvent, ...]]:
    first, last = state.run[0], state.run[-1]
    cleared = replace(state, run=(), run_length=0)
    if state.status is VisitStatus.OUTSIDE:
        event = VisitConfirmed(state.machine_id, state.zone_id, first.fix_time, last.fix_time, state.run)
        return replace(cleared, status=VisitStatus.INSIDE, entry_time=first.fix_time), (event,)
    event = VisitEnded(state.machine_id, state.zone_id, state.entry_time, first.fix_time,
                       first.fix_time - state.entry_time, EndReason.LEFT_ZONE, state.run)
    return replace(cleared, status=VisitStatus.OUTSIDE, entry_time=None), (event,)

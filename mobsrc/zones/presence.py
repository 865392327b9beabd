"""Presence of one machine in one no-use zone: its visits and the violation within a visit.

Input is the machine's fixes in time order, each with the version of the zone that covers it at
its time (the engine's answer; None = outside, or the zone not in force then). Visits follow the
jitter-proof state machine of visits.py. Within a confirmed visit a violation opens at the first
moment the machine is barred there *and working* (rules.judge_presence, with the rule of the
zone version in force at that fix):

* at confirmation — the violation occurred at the visit's entry time; or
* when the engine was off then, at the first later inside fix with the engine working.

A visit has at most one violation; it ends with the visit (exit time and dwell). A visit of a
permitted machine (a China IV loader, an exempt fire engine) is recorded and opens nothing.
Fixes the visit state machine ignores (late, inaccurate) are not judged either, so re-applying
fixes already applied changes nothing.
"""
from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from mobsrc.zones.fixes import PositionFix
from mobsrc.zones.rules import Decision, Machine, ZoneRule, judge_presence
from mobsrc.zones.visits import (
    ConfirmationRule,
    EndReason,
    VisitConfirmed,
    VisitEnded,
    VisitState,
    VisitStatus,
    advance_visit,
    end_visit_on_silence,
)

DEFAULT_CONFIRMATION = ConfirmationRule()


class PresenceError(ValueError):
    """An observation names a zone version without a rule."""


@dataclass(frozen=True)
class Observation:
    fix: PositionFix
    version: Hashable | None  # zone version covering the fix at its time; None = outside


@dataclass(frozen=True)
class PresenceState:
    visit: VisitState
    violating: bool = False  # the open visit has an open violation


@dataclass(frozen=True)
class VisitOpened:
    entry_time: datetime
    confirmed_at: datetime
    version: Hashable
    decision: Decision  # at confirmation
    barred: bool  # the machine would be prohibited here if working (stage, registration, exemptions)
    evidence: tuple[PositionFix, ...]


@dataclass(frozen=True)
class ViolationOpened:
    occurred_at: datetime
    fix: PositionFix  # the fix that showed the machine barred and working
    version: Hashable
    decision: Decision
    evidence: tuple[PositionFix, ...]


@dataclass(frozen=True)
class VisitClosed:
    exit_time: datetime
    dwell: timedelta
    ended_by: EndReason
    had_violation: bool
    evidence: tuple[PositionFix, ...]


PresenceAction = VisitOpened | ViolationOpened | VisitClosed


def advance_presence(state: PresenceState, observations: Iterable[Observation], machine: Machine,
                     rules: Mapping[Hashable, ZoneRule], confirmation: ConfirmationRule = DEFAULT_CONFIRMATION,
                     ) -> tuple[PresenceState, tuple[PresenceAction, ...]]:
    """Apply observations (any order; applied by fix time); actions in the order they happened."""
    actions: list[PresenceAction] = []
    for observation in sorted(observations, key=lambda o: o.fix.fix_time):
        state, new = _step(state, observation, machine, rules, confirmation)
        actions += new
    return state, tuple(actions)


def close_silent_presence(state: PresenceState, now: datetime, confirmation: ConfirmationRule = DEFAULT_CONFIRMATION,
                          ) -> tuple[PresenceState, tuple[PresenceAction, ...]]:
    """End an open visit whose machine has been silent for `confirmation.max_silence`."""
    visit, events = end_visit_on_silence(state.visit, now, confirmation)
    actions = tuple(_closed(e, state.violating) for e in events)
    return PresenceState(visit, state.violating and not actions), actions


def _step(state, observation, machine, rules, confirmation):
    fix, inside = observation.fix, observation.version is not None
    if inside and observation.version not in rules:
        raise PresenceError(f"zone version {observation.version!r} has no rule")
    visit, events = advance_visit(state.visit, fix, inside, confirmation)
    if not _consumed(state.visit, visit, fix):
        return state, ()
    actions: list[PresenceAction] = []
    violating = state.violating
    for event in events:
        if isinstance(event, VisitConfirmed):
            rule = rules[observation.version]
            decision = judge_presence(machine, rule, event.confirmed_at, fix)
            barred = judge_presence(machine, rule, event.confirmed_at, _working(fix)).prohibited
            actions.append(VisitOpened(event.entry_time, event.confirmed_at, observation.version, decision, barred,
                                       event.evidence))
            if decision.prohibited:
                actions.append(ViolationOpened(event.entry_time, fix, observation.version, decision, event.evidence))
                violating = True
        elif isinstance(event, VisitEnded):
            actions.append(_closed(event, violating))
            violating = False
    if not events and inside and visit.status is VisitStatus.INSIDE and not violating:
        decision = judge_presence(machine, rules[observation.version], fix.fix_time, fix)
        if decision.prohibited:
            actions.append(ViolationOpened(fix.fix_time, fix, observation.version, decision, (fix,)))
            violating = True
    return replace(state, visit=visit, violating=violating), tuple(actions)


def _consumed(before: VisitState, after: VisitState, fix: PositionFix) -> bool:
    """Did the visit state machine take this fix (not late, accuracy acceptable)?"""
    return after.last_fix_time == fix.fix_time and (before.last_fix_time is None
                                                    or fix.fix_time > before.last_fix_time)


def _working(fix: PositionFix) -> PositionFix:
    return replace(fix, engine_on=True, engine_rpm=None)


def _closed(event: VisitEnded, had_violation: bool) -> VisitClosed:
    return VisitClosed(event.exit_time, event.dwell, event.ended_by, had_violation, event.evidence)

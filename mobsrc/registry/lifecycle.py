"""A machine's registration lifecycle: registered -> transferred (new owner, any number of
times) -> deregistered (scrapped, exported). Pure; the table is the rule."""
from __future__ import annotations

import enum

from mobsrc.core.errors import IllegalTransition


class MachineStatus(str, enum.Enum):
    REGISTERED = "registered"
    TRANSFERRED = "transferred"      # in use under a later owner
    DEREGISTERED = "deregistered"    # final: the code is never reused


class MachineEvent(str, enum.Enum):
    TRANSFER = "transfer"
    DEREGISTER = "deregister"


TRANSITIONS: dict[tuple[MachineStatus, MachineEvent], MachineStatus] = {
    (MachineStatus.REGISTERED, MachineEvent.TRANSFER): MachineStatus.TRANSFERRED,
    (MachineStatus.TRANSFERRED, MachineEvent.TRANSFER): MachineStatus.TRANSFERRED,
    (MachineStatus.REGISTERED, MachineEvent.DEREGISTER): MachineStatus.DEREGISTERED,
    (MachineStatus.TRANSFERRED, MachineEvent.DEREGISTER): MachineStatus.DEREGISTERED,
}


_PAST = {MachineEvent.TRANSFER: "transferred", MachineEvent.DEREGISTER: "deregistered"}


def allowed_events(status: MachineStatus) -> list[MachineEvent]:
    return [event for (state, event) in TRANSITIONS if state is status]


def next_status(status: MachineStatus, event: MachineEvent) -> MachineStatus:
    try:
        return TRANSITIONS[(status, event)]
    except KeyError:
        allowed = [e.value for e in allowed_events(status)]
        raise IllegalTransition(
            f"A {status.value} machine cannot be {_PAST[event]}"
            f"{'; allowed: ' + ', '.join(allowed) if allowed else ' (no further changes allowed)'}.",
            allowed_events=allowed) from None


class DeregistrationReason(str, enum.Enum):
    SCRAPPED = "scrapped"
    EXPORTED = "exported"        # moved out of the city's jurisdiction
    OTHER = "other"

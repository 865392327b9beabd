"""The violation register's vocabulary: kinds, subjects, statuses and what a producer hands in.
Pure. Producers (zones, remote sensing, OBD, I/M) build a `ViolationDraft` and call
`enforcement.service.record_violation`; enforcement imports none of them."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from mobsrc.core.errors import IllegalTransition


class ViolationKind(str, enum.Enum):
    NRMM_IN_NO_USE_ZONE = "nrmm_in_no_use_zone"          # high-emission machine working in a no-use zone
    BLACK_SMOKE = "black_smoke"                          # black-smoke capture (Ringelmann at/over threshold)
    RS_HIGH_EMITTER = "rs_high_emitter"                  # confirmed high emitter by remote sensing
    OBD_ALARM_UNRESOLVED = "obd_alarm_unresolved"        # OBD alarm not resolved in time
    IM_CASE_OVERDUE = "im_case_overdue"                  # I/M case past its deadline, escalated
    FAILED_INSPECTION_DRIVING = "failed_inspection_driving"  # driving after a failed inspection
    SPOT_CHECK_FAILURE = "spot_check_failure"            # roadside / site spot check failed


class SubjectType(str, enum.Enum):
    VEHICLE = "vehicle"
    MACHINE = "machine"


class ViolationStatus(str, enum.Enum):
    OPEN = "open"
    UNDER_REVIEW = "under_review"
    PENALISED = "penalised"
    DISMISSED = "dismissed"


# What a clerk reads in a spreadsheet export (CSV column kind_label).
KIND_LABELS: dict[ViolationKind, str] = {
    ViolationKind.NRMM_IN_NO_USE_ZONE: "高排放非道路移动机械进入禁用区",
    ViolationKind.BLACK_SMOKE: "黑烟车",
    ViolationKind.RS_HIGH_EMITTER: "遥感监测超标车",
    ViolationKind.OBD_ALARM_UNRESOLVED: "OBD报警未处置",
    ViolationKind.IM_CASE_OVERDUE: "I/M闭环逾期",
    ViolationKind.FAILED_INSPECTION_DRIVING: "驾驶排放检验不合格车辆上路",
    ViolationKind.SPOT_CHECK_FAILURE: "路检路查/抽检不合格",
}

STATUS_LABELS: dict[ViolationStatus, str] = {
    ViolationStatus.OPEN: "待处理", ViolationStatus.UNDER_REVIEW: "审核中",
    ViolationStatus.PENALISED: "已处罚", ViolationStatus.DISMISSED: "已撤销",
}

# Legal basis of each kind (rows of the legal_bases table, standards-enforcement.md §5.1/§5.3).
DEFAULT_LEGAL_BASIS: dict[ViolationKind, str] = {
    ViolationKind.NRMM_IN_NO_USE_ZONE: "APPCL-114-2",
    ViolationKind.BLACK_SMOKE: "APPCL-113",
    ViolationKind.RS_HIGH_EMITTER: "APPCL-113",
    ViolationKind.OBD_ALARM_UNRESOLVED: "APPCL-113",
    ViolationKind.IM_CASE_OVERDUE: "APPCL-113",
    ViolationKind.FAILED_INSPECTION_DRIVING: "APPCL-113",
    ViolationKind.SPOT_CHECK_FAILURE: "APPCL-53-2",
}

STATUS_TRANSITIONS: dict[ViolationStatus, frozenset[ViolationStatus]] = {
    ViolationStatus.OPEN: frozenset({ViolationStatus.UNDER_REVIEW, ViolationStatus.DISMISSED}),
    ViolationStatus.UNDER_REVIEW: frozenset({ViolationStatus.PENALISED, ViolationStatus.DISMISSED,
                                             ViolationStatus.OPEN}),
    ViolationStatus.PENALISED: frozenset(),
    ViolationStatus.DISMISSED: frozenset(),
}


def check_status_change(current: ViolationStatus, target: ViolationStatus) -> None:
    if target not in STATUS_TRANSITIONS[current]:
        allowed = sorted(s.value for s in STATUS_TRANSITIONS[current])
        raise IllegalTransition(f"A violation that is {current.value} cannot become {target.value}"
                                f"{'; allowed: ' + ', '.join(allowed) if allowed else ''}.", allowed_statuses=allowed)


@dataclass(frozen=True)
class Evidence:
    """A link to what proves the violation: a record of ours or an external file."""

    type: str              # e.g. "position_fix", "rs_reading", "image", "video", "obd_alarm", "im_case"
    ref: str               # our id, or the external id / URL
    sha256: str | None = None
    note: str | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class ViolationDraft:
    """What a producer knows about one violation. (source, source_ref) identifies it: recording
    the same draft twice yields the one violation (jobs run at least once)."""

    kind: ViolationKind
    occurred_at: datetime
    source: str                       # producing feature: "zones", "remote_sensing", "obd", "im", "police"
    source_ref: str                   # the producer's key, e.g. "visit:1234"
    subject_type: SubjectType
    vehicle_id: int | None = None
    machine_id: int | None = None
    plate: str | None = None
    plate_colour: str | None = None
    vin: str | None = None
    machine_code: str | None = None
    enterprise_id: int | None = None
    lon: float | None = None          # WGS-84
    lat: float | None = None
    district_code: str | None = None
    evidence: tuple[Evidence, ...] = ()
    details: dict = field(default_factory=dict)
    legal_basis_code: str | None = None  # default: DEFAULT_LEGAL_BASIS[kind]

    def __post_init__(self):
        if self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at must be timezone-aware")
        if self.subject_type is SubjectType.VEHICLE and not (self.vehicle_id or self.plate or self.vin):
            raise ValueError("a vehicle violation needs the vehicle id, plate or VIN")
        if self.subject_type is SubjectType.MACHINE and not (self.machine_id or self.machine_code):
            raise ValueError("a machine violation needs the machine id or code")
        if (self.lon is None) != (self.lat is None):
            raise ValueError("give both lon and lat, or neither")

"""One batch on its way in: which records are stored, which are duplicates, which are rejected
and why, in submission order.  Pure: the HTTP endpoints and the gateway fill an Intake, the
storage writes `streams` / `infos` and reports the keys PostgreSQL already held.

An item is answered once: ACCEPTED (provisional until the storage reports a duplicate),
DUPLICATE (the same key earlier in this batch, or already stored), or REJECTED with a stable
reason code (rows.RejectReason), the field concerned and a sentence for people.
"""
from __future__ import annotations

from datetime import datetime

import msgspec

from mobsrc.obd.rows import AcceptanceWindow, ItemStatus, RejectReason


class Answer(msgspec.Struct, frozen=True, omit_defaults=True):
    status: ItemStatus
    reason: RejectReason | None = None
    field: str | None = None
    detail: str | None = None


ACCEPTED = Answer(ItemStatus.ACCEPTED)
DUPLICATE = Answer(ItemStatus.DUPLICATE)


def rejected(reason: RejectReason, detail: str | None = None, field: str | None = None) -> Answer:
    return Answer(ItemStatus.REJECTED, reason, field, detail)


_WINDOW_DETAIL = {
    RejectReason.FUTURE_TIMESTAMP: "collected later than the receiving time allows (clock wrong?)",
    RejectReason.TOO_OLD: "collected earlier than re-sent data may be (older than the maximum age)",
}


class Intake:
    """Collects the candidates of one batch (rows.py tuples) with their answers."""

    __slots__ = ("earliest", "latest", "streams", "infos", "answers", "_stream_at", "_info_at",
                 "_duplicates", "_rejected")

    def __init__(self, now: datetime, window: AcceptanceWindow):
        self.earliest, self.latest = window.bounds(now)
        self.streams: list[tuple] = []
        self.infos: list[tuple] = []
        self.answers: list[Answer] = []
        self._stream_at: dict[tuple, int] = {}   # dedup key -> index in answers
        self._info_at: dict[tuple, int] = {}
        self._duplicates = self._rejected = 0

    def reject(self, reason: RejectReason, detail: str | None = None,
               field: str | None = None) -> Answer:
        answer = rejected(reason, detail, field)
        self.answers.append(answer)
        self._rejected += 1
        return answer

    def add(self, answer: Answer) -> None:
        """An answer given before the intake (e.g. a record that failed validation)."""
        self.answers.append(answer)
        self._rejected += answer.status is ItemStatus.REJECTED

    def offer_stream(self, candidate: tuple) -> Answer:
        return self._offer(candidate, candidate[:3], self.streams, self._stream_at)

    def offer_info(self, candidate: tuple) -> Answer:
        return self._offer(candidate, candidate[:2], self.infos, self._info_at)

    def _offer(self, candidate: tuple, key: tuple, rows: list, index: dict) -> Answer:
        at = candidate[1]
        if not self.earliest <= at <= self.latest:
            reason = AcceptanceWindow.reason(at, self.earliest, self.latest)
            return self.reject(reason, _WINDOW_DETAIL[reason], "collected_at")
        answers = self.answers
        if key in index:
            self._duplicates += 1
            answers.append(DUPLICATE)
            return DUPLICATE
        index[key] = len(answers)
        rows.append(candidate)
        answers.append(ACCEPTED)
        return ACCEPTED

    def mark_stored_duplicates(self, stream_keys, info_keys) -> None:
        """Keys the storage found already stored: their items become DUPLICATE."""
        for keys, index in ((stream_keys, self._stream_at), (info_keys, self._info_at)):
            for key in keys:
                self.answers[index[key]] = DUPLICATE
                self._duplicates += 1

    def counts(self) -> dict[str, int]:
        duplicates, rejected_ = self._duplicates, self._rejected
        return {"accepted": len(self.answers) - duplicates - rejected_, "duplicate": duplicates,
                "rejected": rejected_}

    @property
    def accepted(self) -> int:
        return len(self.answers) - self._duplicates - self._rejected

    @property
    def collected_span(self) -> tuple[datetime | None, datetime | None]:
        times = [row[1] for row in self.streams] + [row[1] for row in self.infos]
        return (min(times), max(times)) if times else (None, None)

    @property
    def vehicle_ids(self) -> list[int]:
        return sorted({row[0] for row in self.streams} | {row[0] for row in self.infos})

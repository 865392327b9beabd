"""The deadline sweep: cases past their deadline are marked overdue, and overdue long enough,
escalated to a violation for the police. Run by cron; safe to run at any time, any number of
times, in parallel: due cases are locked with SKIP LOCKED (two sweeps never take the same case),
and the pure sweep never marks a deadline or escalates a case twice (im/deadlines.py)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mobsrc.core import audit, clock, jobs
from mobsrc.core.auth.principals import SYSTEM
from mobsrc.core.db import Database
from mobsrc.im.deadlines import sweep_deadlines
from mobsrc.im.models import Case
from mobsrc.im.service import cases
from mobsrc.im.service.configuration import load_config

JOB = "im.deadline_sweep"


def sweep_case_deadlines(session: Session, now: datetime | None = None, batch: int = 200) -> tuple[int, int]:
    """One batch: (cases looked at, transitions made). Call again while both are non-zero."""
    now = now or clock.now()
    config = load_config(session)
    due = list(session.scalars(select(Case).where(cases.due_clause(now, config))
                               .order_by(Case.id).limit(batch).with_for_update(skip_locked=True)))
    made = 0
    for case in due:
        for transition in sweep_deadlines([cases.snapshot_of(case)], now, config.deadlines, config.policy):
            cases.apply_transition(session, case, transition, cases.system(JOB), config)
            made += 1
    return len(due), made


def run_sweep(database: Database, redis=None) -> int:
    """Sweep until nothing is due, one committed batch at a time (the job and the CLI).
    Returns the transitions made. Notices' deliveries are queued after each commit."""
    made_total = 0
    while True:
        with database.session_scope() as session:
            if redis is not None:
                jobs.bind_redis(session, redis)
            audit.act_as(session, SYSTEM, JOB)
            seen, made = sweep_case_deadlines(session)
        made_total += made
        if not (seen and made):
            return made_total

"""`python -m workers`: one RQ worker for all queues (or those named), with RQ's scheduler.

The app is created once per process and its context pushed, so jobs get the database and Redis
from `mobsrc.extensions.state()`. SimpleWorker runs jobs in this process (no fork per job:
~9 ms instead of ~30 ms per job here), keeping the database pool warm; jobs are per batch, so
a crash costs one batch, which the reconciler re-queues.
"""
from __future__ import annotations

import argparse
import logging

from rq import Queue, SimpleWorker

from mobsrc import create_app
from mobsrc.core.collector import tune_for_batches
from mobsrc.core.jobs import QUEUES
from mobsrc.extensions import state


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m workers", description=__doc__.splitlines()[0])
    parser.add_argument("queues", nargs="*", default=list(QUEUES), help=f"queues to serve (default: {' '.join(QUEUES)})")
    parser.add_argument("--burst", action="store_true", help="stop when the queues are empty")
    parser.add_argument("--no-scheduler", action="store_true", help="do not run RQ's scheduler in this worker")
    args = parser.parse_args(argv)
    app = create_app()
    app.app_context().push()
    tune_for_batches()
    redis = state().redis
    worker = SimpleWorker([Queue(name, connection=redis) for name in args.queues], connection=redis)
    logging.getLogger("rq.worker").setLevel(logging.INFO)
    worker.work(burst=args.burst, with_scheduler=not args.no_scheduler)


if __name__ == "__main__":
    main()

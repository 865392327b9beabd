"""A private, throw-away PostgreSQL + Redis for a benchmark run (like the test suite's)."""
from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

from alembic import command

from mobsrc.cli import alembic_config
from mobsrc.devstack.servers import PostgresServer, RedisServer, free_port, postgres_root

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def private_stack():
    root = ROOT / "var" / f"bench-{os.getpid()}"
    postgres = PostgresServer(postgres_root(root / "pg"), free_port()).start()
    redis = RedisServer(root / "redis", free_port()).start()
    try:
        command.upgrade(alembic_config(postgres.url), "head")
        yield postgres, redis
    finally:
        redis.stop()
        postgres.stop()
        shutil.rmtree(postgres.root, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)

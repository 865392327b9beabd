"""Real servers for the tests that need them: a private PostgreSQL + PostGIS and a private Redis,
started once per test session under var/test-<pid>/ (unit tests never ask, so they start none).
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from mobsrc.devstack.servers import PostgresServer, RedisServer, free_port, postgres_root

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Stack:
    postgres: PostgresServer | None
    redis_server: RedisServer | None
    redis_url: str

    def database(self, name: str) -> str:
        """A fresh, empty database on the test server."""
        self.postgres.drop_database(name)
        return self.postgres.create_database(name)


@pytest.fixture(scope="session")
def stack():
    root = PROJECT_ROOT / "var" / f"test-{os.getpid()}"
    postgres = PostgresServer(postgres_root(root / "pg"), free_port()).start()
    redis = RedisServer(root / "redis", free_port()).start()
    try:
        yield Stack(postgres, redis, redis.url)
    finally:
        redis.stop()
        postgres.stop()
        shutil.rmtree(postgres.root, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)

"""Private PostgreSQL + PostGIS and Redis servers under a directory of the project (./var),
for the run command and the test suite. Real servers, started and stopped by us.

PostgreSQL refuses to run as root; as root we run it as the `postgres` system user that the
Debian packages create. Everything listens on 127.0.0.1 only.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

OS_PACKAGES_HINT = ("postgresql (15 or newer), postgresql-<major>-postgis-3 and redis-server; on Debian/Ubuntu: "
                    "sudo apt-get install postgresql postgresql-15-postgis-3 redis-server")


class MissingSoftware(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def postgres_bin_dir() -> Path | None:
    """Newest installed PostgreSQL whose share dir has PostGIS, else the newest at all."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True)
    with_postgis = [c for c in candidates if glob.glob(f"/usr/share/postgresql/{c.split('/')[-2]}/extension/postgis.control")]
    chosen = (with_postgis or candidates or [None])[0]
    if chosen is None and shutil.which("initdb"):
        return Path(shutil.which("initdb")).parent
    return Path(chosen) if chosen else None


def has_postgis(bin_dir: Path) -> bool:
    major = bin_dir.parent.name
    return bool(glob.glob(f"/usr/share/postgresql/{major}/extension/postgis.control"))


def _as_postgres_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


def _chown_for_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(path, entry.pw_uid, entry.pw_gid)


def postgres_root(preferred: Path) -> Path:
    """`preferred`, unless we are root and the postgres user cannot reach it (a checkout under
    /root, say): then a private directory under /var/tmp named after the project path."""
    if os.geteuid() != 0:
        return preferred
    probe = preferred
    while not probe.exists():
        probe = probe.parent
    reachable = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(probe)]).returncode == 0
    if reachable:
        return preferred
    digest = abs(hash(str(preferred.resolve()))) % 10**8
    return Path(f"/var/tmp/mobsrc-pg-{digest}") / preferred.name


def _wait(predicate, timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    tail = log.read_text()[-2000:] if log and log.exists() else ""
    raise RuntimeError(f"{what} did not start within {timeout:.0f} s.\n{tail}")


@dataclass
class PostgresServer:
    root: Path
    port: int
    database: str = "mobsrc"
    user: str = "mobsrc"
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.root / "pgdata"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def _bin(self, name: str) -> str:
        bin_dir = postgres_bin_dir()
        if bin_dir is None or not has_postgis(bin_dir):
            raise MissingSoftware(f"PostgreSQL with PostGIS is not installed. Install {OS_PACKAGES_HINT}")
        return str(bin_dir / name)

    def _initdb(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        _chown_for_postgres(self.root)
        _chown_for_postgres(self.data_dir)
        subprocess.run([*_as_postgres_user(), self._bin("initdb"), "-D", str(self.data_dir), "-U", self.user,
                        "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> PostgresServer:
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        log = self.root / "postgres.log"
        log.touch()
        _chown_for_postgres(log)
        # Tuned for a development box: durability on (fsync) but no need for many connections.
        options = ["-c", f"port={self.port}", "-c", "listen_addresses=127.0.0.1",
                   "-c", f"unix_socket_directories={self.root}", "-c", "max_connections=200",
                   "-c", "shared_buffers=256MB", "-c", "max_wal_size=2GB", "-c", "synchronous_commit=on"]
        self.process = subprocess.Popen([*_as_postgres_user(), self._bin("postgres"), "-D", str(self.data_dir),
                                         *options], stdout=log.open("ab"), stderr=subprocess.STDOUT,
                                        start_new_session=True)
        _wait(lambda: self._ready(), 30, "PostgreSQL", log)
        self._create_database()
        return self

    def _ready(self) -> bool:
        if self.process and self.process.poll() is not None:
            raise RuntimeError(f"PostgreSQL exited: {(self.root / 'postgres.log').read_text()[-2000:]}")
        result = subprocess.run([self._bin("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return result.returncode == 0

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run([self._bin("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user,
                                 "-d", database, "-tAc", sql], check=True, capture_output=True, text=True)
        return result.stdout.strip()

    def create_database(self, name: str) -> str:
        if not self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'"):
            self.psql(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{name}"

    def drop_database(self, name: str) -> None:
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _create_database(self) -> None:
        self.create_database(self.database)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: "smart" shutdown would wait for clients; use fast
            subprocess.run([*_as_postgres_user(), self._bin("pg_ctl"), "stop", "-D", str(self.data_dir),
                            "-m", "fast", "-w"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


@dataclass
class RedisServer:
    root: Path
    port: int
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise MissingSoftware(f"redis-server is not installed. Install {OS_PACKAGES_HINT}")
        self.root.mkdir(parents=True, exist_ok=True)
        log = self.root / "redis.log"
        # Append-only file: queued jobs survive a Redis restart (PostgreSQL still holds the truth).
        self.process = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1",
                                         "--dir", str(self.root), "--appendonly", "yes", "--save", "",
                                         "--logfile", str(log), "--daemonize", "no"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
        _wait(lambda: port_open(self.port), 15, "Redis", log)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def kill(self) -> None:
        """Hard stop, for fault tests (an outage, not a shutdown)."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

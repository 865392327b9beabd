"""`mobsrc up` (what `make run` calls): start everything, leave it serving, stop it on Ctrl-C.

Without DATABASE_URL / REDIS_URL, a private PostgreSQL + PostGIS and a private Redis are started
under ./var (data kept between runs). Then: migrations, the demo data (once), the API under
gunicorn, one RQ worker with the scheduler, and RQ's cron scheduler.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mobsrc.devstack.servers import MissingSoftware, PostgresServer, RedisServer, port_open, postgres_root

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VAR = PROJECT_ROOT / "var"
PG_PORT, REDIS_PORT = 54329, 63799


def say(text: str) -> None:
    print(f"[mobsrc] {text}", flush=True)


def _private_servers(env: dict) -> list:
    started = []
    if not env.get("DATABASE_URL"):
        if port_open(PG_PORT):
            raise RuntimeError(f"port {PG_PORT} is busy: is another `make run` still running?")
        say("starting PostgreSQL + PostGIS under ./var ...")
        pg = PostgresServer(postgres_root(VAR / "pg"), PG_PORT).start()
        env["DATABASE_URL"] = pg.url
        started.append(pg)
    if not env.get("REDIS_URL"):
        if port_open(REDIS_PORT):
            raise RuntimeError(f"port {REDIS_PORT} is busy: is another `make run` still running?")
        say("starting Redis under ./var ...")
        redis = RedisServer(VAR / "redis", REDIS_PORT).start()
        env["REDIS_URL"] = redis.url
        started.append(redis)
    return started


def _prepare(env: dict, load_demo: bool) -> None:
    say("applying migrations ...")
    python = sys.executable
    subprocess.run([python, "-m", "alembic", "upgrade", "head"], cwd=PROJECT_ROOT, env=env, check=True)
    if load_demo:
        subprocess.run([python, "-m", "mobsrc.cli", "demo"], cwd=PROJECT_ROOT, env=env, check=True)


def _start_processes(env: dict, port: int, api_workers: int) -> dict[str, subprocess.Popen]:
    python = sys.executable
    commands = {
        "api": [python, "-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{port}", "--workers", str(api_workers),
                "--access-logfile", "-", "--timeout", "120"],
        "worker": [python, "-m", "workers"],
        "cron": [python, "-m", "workers.cron"],
    }
    # --- obd: the HJ 1239 TCP gateway beside the API (port: MOBSRC_OBD_GATEWAY_PORT, default 9210)
    commands["gateway"] = [python, "-m", "mobsrc.cli", "gateway"]
    return {name: subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, start_new_session=True)
            for name, cmd in commands.items()}


def _stop(processes: dict[str, subprocess.Popen], servers: list) -> None:
    for name, process in reversed(list(processes.items())):
        if process.poll() is None:
            say(f"stopping {name} ...")
            process.terminate()
    for process in processes.values():
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
    for server in reversed(servers):
        say(f"stopping {type(server).__name__.replace('Server', '')} ...")
        server.stop()


def _announce(port: int) -> None:
    base = f"http://127.0.0.1:{port}"
    say("serving. Press Ctrl-C to stop everything.")
    say(f"  API      {base}/api/v1/")
    say(f"  Docs     {base}/api/v1/docs")
    say(f"  OpenAPI  {base}/api/v1/openapi.json")
    say(f"  Health   {base}/api/v1/health")
    say(f"  Demo API keys: {VAR / 'demo-keys.txt'}")
    # --- obd
    say(f"  OBD gateway (HJ 1239, TCP) 127.0.0.1:{os.environ.get('MOBSRC_OBD_GATEWAY_PORT', '9210')}"
        f"  (try: mobsrc simulate --registered 4)")


def main(port: int = 8000, api_workers: int = 2, load_demo: bool = True) -> int:
    env = dict(os.environ)
    env.setdefault("MOBSRC_PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
    servers: list = []
    processes: dict[str, subprocess.Popen] = {}
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        servers = _private_servers(env)
        _prepare(env, load_demo)
        processes = _start_processes(env, port, api_workers)
        _announce(port)
        while not stopping:
            dead = [name for name, p in processes.items() if p.poll() is not None]
            if dead:
                say(f"{', '.join(dead)} exited unexpectedly; stopping everything.")
                return 1
            time.sleep(0.5)
        return 0
    except MissingSoftware as exc:
        say(str(exc))
        return 2
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        say(f"could not start: {exc}")
        return 1
    finally:
        _stop(processes, servers)

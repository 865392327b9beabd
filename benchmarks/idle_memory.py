"""Idle memory of everything `mobsrc up` starts (target: under 1 GiB together).

    python -m benchmarks idle_memory

Starts the stack (private PostgreSQL and Redis too, unless DATABASE_URL / REDIS_URL are set) on
port 8765, waits until /api/v1/health answers and the demo is loaded, lets it idle, then sums
RSS and PSS (proportional: shared pages divided among their users, so PostgreSQL's shared
buffers are counted once) over the whole process tree.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PORT = 8765


def _children(pid: int) -> list[int]:
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        path = Path(f"/proc/{current}/task/{current}/children")
        kids = [int(k) for k in path.read_text().split()] if path.exists() else []
        found += kids
        frontier += kids
    return found


def _memory_kb(pid: int, field: str, source: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/{source}").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")[:60]
    except FileNotFoundError:
        return "?"


def _wait_healthy(timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/api/v1/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise RuntimeError("the stack did not become healthy")


def main() -> None:
    stack = subprocess.Popen([sys.executable, "-m", "mobsrc.cli", "up", "--port", str(PORT)], cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_healthy()
        time.sleep(20)   # idle: workers waiting, cron ticking
        pids = [stack.pid, *_children(stack.pid)]
        rows = [(pid, _memory_kb(pid, "VmRSS", "status"), _memory_kb(pid, "Pss", "smaps_rollup")) for pid in pids]
        for pid, rss, pss in sorted(rows, key=lambda r: -r[2]):
            print(f"{pid:>8} rss {rss / 1024:7.1f} MiB  pss {pss / 1024:7.1f} MiB  {_command(pid)}")
        total_rss, total_pss = sum(r[1] for r in rows) / 1024, sum(r[2] for r in rows) / 1024
        print(f"processes: {len(rows)}; total RSS {total_rss:.0f} MiB (shared pages counted per process); "
              f"total PSS {total_pss:.0f} MiB; target < 1024 MiB")
    finally:
        os.killpg(stack.pid, signal.SIGINT)
        stack.wait(timeout=60)


if __name__ == "__main__":
    main()

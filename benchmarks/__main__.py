"""`python -m benchmarks [name ...]`: run the named benchmarks (default: all)."""
from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def available() -> list[str]:
    here = Path(__file__).parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))


def main(names: list[str]) -> None:
    for name in names or available():
        print(f"\n=== benchmarks.{name} ===", flush=True)
        started = time.perf_counter()
        sys.argv = [f"benchmarks.{name}"]  # scripts with their own options run with their defaults
        importlib.import_module(f"benchmarks.{name}").main()
        print(f"--- {name}: {time.perf_counter() - started:.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

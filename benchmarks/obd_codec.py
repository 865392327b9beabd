"""HJ 1239 codec throughput: decode / encode frames/s and records/s.

    python benchmarks/obd_codec.py [--hours 1] [--repeat 5]

Frames come from the deterministic simulated truck (10 one-second samples per real-time
frame, no OBD block).  "records/s" counts stream records (samples): decode alone, and
decode + flatten into canonical rows (what the HTTP endpoint and the gateway do).
Best of --repeat runs; one process, one core.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mobsrc.obd.hj1239.codec import decode_frame, encode_frame  # noqa: E402
from mobsrc.obd.hj1239.framing import FrameSplitter  # noqa: E402
from mobsrc.obd.hj1239.messages import Layout, Report  # noqa: E402
from mobsrc.obd.hj1239.records import flatten_frame  # noqa: E402
from mobsrc.obd.hj1239.simulate import TruckPlan, simulate_trip  # noqa: E402


def report_frames(layout: Layout, seconds: int, signed: bool):
    plan = TruckPlan(layout=layout, duration_s=seconds, obd_every_s=0, signed=signed)
    frames = [t.frame for t in simulate_trip(plan, seed=1) if isinstance(t.frame.message, Report)]
    frames = [f for f in frames if sum(1 for _ in f.message.blocks) == 10]
    return frames, [encode_frame(f) for f in frames]


def best_rate(work, count: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return count / best


def measure(name: str, layout: Layout, seconds: int, repeat: int, signed: bool = False) -> None:
    frames, wires = report_frames(layout, seconds, signed)
    n, samples = len(wires), 10 * len(wires)

    def decode_hint():
        for wire in wires:
            decode_frame(wire, layout=layout)

    def decode_detect():
        for wire in wires:
            decode_frame(wire)

    def decode_flatten():
        for wire in wires:
            flatten_frame(decode_frame(wire, layout=layout))

    def encode():
        for frame in frames:
            encode_frame(frame)

    def split():
        splitter = FrameSplitter()
        for at in range(0, len(stream), 4096):
            splitter.feed(stream[at:at + 4096])

    stream = b"".join(wires)
    rows = [
        ("decode, layout hint", best_rate(decode_hint, n, repeat)),
        ("decode, layout detected", best_rate(decode_detect, n, repeat)),
        ("decode + flatten to rows", best_rate(decode_flatten, n, repeat)),
        ("encode", best_rate(encode, n, repeat)),
        ("split 4 KiB TCP reads", best_rate(split, n, repeat)),
    ]
    size = len(wires[0])
    print(f"\n{name}: {n} frames of {size} bytes, {samples} records")
    for label, frames_per_s in rows:
        print(f"  {label:26s} {frames_per_s:>10,.0f} frames/s {frames_per_s * 10:>12,.0f} records/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=1.0, help="simulated driving per case")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    seconds = int(args.hours * 3600)
    print(f"Python {sys.version.split()[0]}, best of {args.repeat}")
    measure("HJ 1239 layout, unsigned", Layout.HJ, seconds, args.repeat)
    measure("HJ 1239 layout, SM2 signature (R, S 32 B)", Layout.HJ, seconds, args.repeat, signed=True)
    measure("GB 17691 layout", Layout.GB, seconds, args.repeat)


if __name__ == "__main__":
    main()

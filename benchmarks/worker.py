"""One implementation, alone in this process: time it and print the result as one JSON line.

benchmarks/run.py starts one of these per implementation and repetition, so no library shares
its process (and its thread pools) with another. Run one by hand to try a single case:

    python benchmarks/worker.py --workload W2 --impl PyTorch --min-seconds 1
    python benchmarks/worker.py --scaling --impl deltaprop --widths 64,256 --batches 128

After one warm-up run (caches, first calls, compilation), the run is repeated until
``--min-seconds`` of timed runs have passed (at least one, at most ``--max-samples``).
"""

from __future__ import annotations

import argparse
import gc
import json
import time
import tracemalloc

import workloads as wl  # benchmarks/ is on the path: this file runs as a script


def timed_runs(fn, min_seconds, max_samples):
    fn()  # warm-up
    samples = []
    while len(samples) < max_samples and (not samples or sum(samples) < min_seconds):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return samples


def traced_peak(fn):
    """Peak bytes allocated during one run, seen by tracemalloc (NumPy reports its buffers to it,
    PyTorch's allocator does not). A separate run: tracing slows every allocation."""
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--impl", required=True, choices=sorted(wl.IMPLEMENTATIONS))
    parser.add_argument("--workload", choices=sorted(wl.WORKLOADS))
    parser.add_argument("--scaling", action="store_true", help="the scaling study of W1 instead of one workload")
    parser.add_argument("--widths", default=",".join(map(str, wl.WIDTHS)))
    parser.add_argument("--batches", default=",".join(map(str, wl.BATCHES)))
    parser.add_argument("--min-seconds", type=float, default=1.0)
    parser.add_argument("--max-samples", type=int, default=25)
    parser.add_argument("--memory", action="store_true", help="also trace the peak memory of one more run")
    args = parser.parse_args()
    make = wl.IMPLEMENTATIONS[args.impl]
    if args.scaling:
        base = wl.WORKLOADS["W1"]()
        widths = [int(v) for v in args.widths.split(",") if v]
        batches = [int(v) for v in args.batches.split(",") if v]
        result = []
        for axis, value, w in wl.scaling_variants(base, widths, batches):
            samples = timed_runs(make(w), args.min_seconds, args.max_samples)
            result.append({"axis": axis, "value": value, "sizes": w.sizes, "batch": w.batch, "m": w.m,
                           "flops": w.flops, "samples": samples})
        print(json.dumps({"impl": args.impl, "scaling": result}))
        return
    if args.workload is None:
        parser.error("give --workload or --scaling")
    w = wl.WORKLOADS[args.workload]()
    samples = timed_runs(make(w), args.min_seconds, args.max_samples)
    peak = None
    if args.memory and not args.impl.startswith("PyTorch"):
        peak = traced_peak(make(w))  # fresh objects, so buffers made once per batch size are counted
    print(json.dumps({"impl": args.impl, "workload": args.workload, "flops": w.flops, "samples": samples,
                      "peak_bytes": peak}))


if __name__ == "__main__":
    main()

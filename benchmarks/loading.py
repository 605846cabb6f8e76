"""Reading a large CSV: deltaprop against pandas, each in a fresh process (issue 14).

    python benchmarks/loading.py [--rows 200000] [--cols 100] [--reps 3]

Writes (once) a CSV of ``rows`` x ``cols`` random numbers with 6 significant digits plus an
integer label column (about 184 MB for 200000 x 100) into benchmarks/.cache/, then times, in a
fresh process per reading and alternating the readers rep by rep:

* deltaprop: ``deltaprop.io.read_data(path, "y")``, the numbers as a float64 matrix;
* deltaprop table: ``deltaprop.io.data.read_table(path)``, the columns as read;
* pandas: ``pandas.read_csv(path)`` (its default C engine) and ``.to_numpy()`` of the features.

Each process first reads a three-row file (so lazy imports are not timed: pyarrow imports pandas
on first use where it is installed), then reports the big read's wall time and its peak resident
memory (ru_maxrss) minus its memory before that read, beside the size of the final float32
feature array. A Markdown table goes to
standard output.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

CHILD = r"""
import json, resource, sys, time
which, path = sys.argv[1], sys.argv[2]
import numpy as np
if which == "pandas":
    import pandas as pd
else:
    import deltaprop.io.data as d
    import pyarrow.csv  # noqa: F401  (imported before the baseline, as pandas is)
import os, tempfile
tiny = os.path.join(tempfile.mkdtemp(), "tiny.csv")
with open(tiny, "w") as f:
    f.write("a,y\n1,0\n2,1\n")
# one tiny read first, so that neither reader's timing holds its lazy imports (pyarrow imports pandas on first use)
if which == "pandas":
    pd.read_csv(tiny)
elif which == "deltaprop":
    d.read_data(tiny, "y")
else:
    d.read_table(tiny)
def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) * 1024
base = rss()
t = time.perf_counter()
if which == "pandas":
    df = pd.read_csv(path)
    X = df.drop(columns="y").to_numpy()
elif which == "deltaprop":
    X = d.read_data(path, "y").X
else:
    X = d.read_table(path)
seconds = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "extra": peak - base}))
"""


def make(rows: int, cols: int) -> str:
    os.makedirs(os.path.join(HERE, ".cache"), exist_ok=True)
    path = os.path.join(HERE, ".cache", f"wide_{rows}x{cols}.csv")
    if not os.path.exists(path):
        import numpy as np

        rng = np.random.default_rng(0)
        with open(path + ".tmp", "w") as f:
            f.write(",".join([f"x{j}" for j in range(cols)] + ["y"]) + "\n")
            for start in range(0, rows, 10000):
                block = rng.normal(size=(min(10000, rows - start), cols))
                labels = rng.integers(0, 10, size=len(block))
                f.write("".join(",".join(f"{v:.6g}" for v in r) + f",{k}\n" for r, k in zip(block, labels)))
        os.replace(path + ".tmp", path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200000)
    parser.add_argument("--cols", type=int, default=100)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    path = make(args.rows, args.cols)
    results = {w: [] for w in ("deltaprop", "table", "pandas")}
    for rep in range(args.reps):
        for which in (list(results) if rep % 2 == 0 else list(results)[::-1]):
            out = subprocess.run([sys.executable, "-c", CHILD, which, path], capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            results[which].append(r)
            print(f"rep {rep + 1} {which}: {r['seconds']:.2f} s, {r['extra'] / 2**20:.0f} MiB", file=sys.stderr)
    final32 = args.rows * args.cols * 4
    size = os.path.getsize(path)
    print(f"{args.rows} x {args.cols} CSV ({size / 1e6:.0f} MB); final float32 feature array {final32 / 2**20:.0f} MiB\n")
    print("| reader | seconds, median (min-max) | peak memory beyond the start, MiB, median | / pandas time |")
    print("|---|---|---|---|")
    pandas_t = statistics.median(r["seconds"] for r in results["pandas"])
    names = {"deltaprop": "deltaprop `read_data` (float64 matrix)", "table": "deltaprop `read_table` (columns)",
             "pandas": "pandas `read_csv` + `to_numpy`"}
    for which, rs in results.items():
        ts = [r["seconds"] for r in rs]
        mem = statistics.median(r["extra"] for r in rs) / 2**20
        print(f"| {names[which]} | {statistics.median(ts):.2f} ({min(ts):.2f}-{max(ts):.2f}) | {mem:.0f} | "
              f"{statistics.median(ts) / pandas_t:.2f}x |")


if __name__ == "__main__":
    main()

"""deltaprop's speed against scikit-learn, PyTorch and the GEMM-only bound, each alone (issue 16).

    python benchmarks/run.py                  # everything: W1-W4 and the scaling study
    python benchmarks/run.py --quick          # a short check: 2 reps, 0.3 s per process, 3 + 3 scaling points
    python benchmarks/run.py --workloads W2 --reps 3 --no-scaling

Method. Every implementation runs in its own fresh Python process (benchmarks/worker.py), so no
library shares its process or its thread pools with another, at its own documented defaults:
NumPy's OpenBLAS and PyTorch with their default thread counts and PyTorch's default OpenMP wait
policy (OMP_WAIT_POLICY, OMP_NUM_THREADS and OPENBLAS_NUM_THREADS are removed from the workers'
environment), plus PyTorch with torch.set_num_threads(1), its best setting for small networks.
The repetitions are interleaved across implementations (rep 1 of each, then rep 2 of each, in a
rotating order), so slow drift of the machine is shared. In each process one warm-up run is
followed by timed runs until --min-seconds have passed; the tables give the median over all
timed runs of all processes, with min-max. The GEMM-only bound is the exact sequence of matrix
products of the workload (forward, dW, delta propagation) into preallocated outputs, nothing
else. Peak memory is what tracemalloc sees during one more run in the first repetition's process
(NumPy reports its buffers to it; PyTorch's allocator does not, so n/a).

The scaling study times W1 on its first 10000 rows while the hidden widths (h-h/2 for h in
64 ... 2048, batch 128) or the batch size (16 ... 1024, widths 256-128) change: deltaprop,
PyTorch and the bound, written as a chart (--chart) and a Markdown table.

The Markdown for benchmarks/RESULTS.md goes to standard output and to --out.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import workloads as wl  # noqa: E402

MAIN_IMPLS = ["deltaprop", "GEMM-only bound", "scikit-learn", "PyTorch", "PyTorch, 1 thread"]
SCALING_IMPLS = ["deltaprop", "PyTorch", "GEMM-only bound"]
THREAD_VARS = ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
GOALS = {  # workload: (deltaprop / bound at most, PyTorch / deltaprop at least)
    "W1": (1.20, 1.4),
    "W2": (2.5, 8.0),
    "W4": (1.10, None),
}


def worker_env(one_thread: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    if one_thread:
        env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    return env


def run_worker(args: list, env: dict) -> dict:
    cmd = [sys.executable, os.path.join(HERE, "worker.py"), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"error": tail[0]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def machine_info(env: dict) -> list[str]:
    """Machine, CPU features, versions and thread settings, as Markdown lines."""
    model, flags = "unknown", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model == "unknown":
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    wanted = ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile"]
    features = ", ".join(f for f in wanted if f in flags) or "unknown"
    mem = ""
    try:
        mem = f", {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB"
    except (ValueError, OSError):
        pass
    probe = (
        "import json, numpy, scipy, threadpoolctl, deltaprop\n"
        "from deltaprop.core import compiled\n"
        "v = {'python': __import__('platform').python_version(), 'numpy': numpy.__version__, "
        "'scipy': scipy.__version__, 'deltaprop': deltaprop.__version__, 'compiled': compiled.available()}\n"
        "for name in ('numba', 'sklearn', 'torch'):\n"
        "    try: v[name] = __import__(name).__version__\n"
        "    except ImportError: v[name] = 'not installed'\n"
        "v['blas'] = [f\"{i['internal_api']} {i['version']} ({i['num_threads']} threads, {i['filepath'].rsplit('/', 1)[-1]})\" "
        "for i in threadpoolctl.threadpool_info() if i['user_api'] == 'blas']\n"
        "try:\n    import torch; v['torch_threads'] = torch.get_num_threads()\nexcept ImportError: pass\n"
        "print(json.dumps(v))\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env)
    v = json.loads(proc.stdout) if proc.returncode == 0 else {}
    threads = ", ".join(f"{k}={env.get(k, 'unset')}" for k in THREAD_VARS)
    return [
        f"- date: {datetime.date.today()}; machine: {model}, {os.cpu_count()} cores{mem}, {platform.machine()}, "
        f"{platform.system()} {platform.release()}",
        f"- CPU features: {features}",
        f"- versions: python {v.get('python')}, numpy {v.get('numpy')}, scipy {v.get('scipy')}, "
        f"deltaprop {v.get('deltaprop')} (compiled kernels: {'yes' if v.get('compiled') else 'no'}, "
        f"numba {v.get('numba')}), scikit-learn {v.get('sklearn')}, torch {v.get('torch')} "
        f"(default {v.get('torch_threads', 'n/a')} threads)",
        f"- BLAS: {'; '.join(v.get('blas', [])) or 'unknown'}",
        f"- workers' environment: {threads}",
    ]


def summarise(samples: list) -> tuple[float, float, float]:
    return statistics.median(samples), min(samples), max(samples)


def main_suite(args, env, log) -> dict:
    names = [n.strip() for n in args.workloads.split(",") if n.strip()]
    impls = {n: list(MAIN_IMPLS) + (["deltaprop, NumPy only"] if n == "W3" else []) for n in names}
    results = {n: {k: {"samples": [], "processes": 0, "peak": None, "errors": []} for k in impls[n]} for n in names}
    flops = {}
    for rep in range(args.reps):
        for n in names:
            order = impls[n][rep % len(impls[n]):] + impls[n][:rep % len(impls[n])]  # rotate who goes first
            for impl in order:
                cmd = ["--workload", n, "--impl", impl, "--min-seconds", str(args.min_seconds)]
                if rep == 0:
                    cmd.append("--memory")
                t0 = time.perf_counter()
                out = run_worker(cmd, env)
                slot = results[n][impl]
                if "error" in out:
                    slot["errors"].append(out["error"])
                    log(f"rep {rep + 1} {n} {impl}: failed: {out['error']}")
                    continue
                slot["samples"] += out["samples"]
                slot["processes"] += 1
                if out.get("peak_bytes") is not None:
                    slot["peak"] = out["peak_bytes"]
                flops[n] = out["flops"]
                log(f"rep {rep + 1} {n} {impl}: {statistics.median(out['samples']) * 1e3:.1f} ms "
                    f"({len(out['samples'])} runs, {time.perf_counter() - t0:.0f} s with start-up)")
    return {"results": results, "flops": flops}


def workload_table(name, res, flops) -> list[str]:
    rows = ["| implementation | median ms (min-max) | processes x runs | / GEMM bound | deltaprop faster by | "
            "GEMM GFLOP/s | peak MiB traced |", "|---|---|---|---|---|---|---|"]
    med = {k: summarise(v["samples"])[0] for k, v in res.items() if v["samples"]}
    bound, mine = med.get("GEMM-only bound"), med.get("deltaprop")
    for impl, v in res.items():
        if not v["samples"]:
            rows.append(f"| {impl} | n/a ({v['errors'][0] if v['errors'] else 'not run'}) | | | | | |")
            continue
        m, lo, hi = summarise(v["samples"])
        peak = "n/a" if v["peak"] is None else f"{v['peak'] / 2**20:.1f}"
        rows.append(f"| {impl} | {m * 1e3:.1f} ({lo * 1e3:.1f}-{hi * 1e3:.1f}) | {v['processes']} x "
                    f"{len(v['samples']) / max(v['processes'], 1):.0f} | "
                    f"{f'{m / bound:.2f}x' if bound else 'n/a'} | {f'{m / mine:.1f}x' if mine else 'n/a'} | "
                    f"{flops / m / 1e9:.1f} | {peak} |")
    return rows


def goals_table(suite) -> list[str]:
    res = suite["results"]
    med = {n: {k: summarise(v["samples"])[0] for k, v in r.items() if v["samples"]} for n, r in res.items()}
    rows = ["| goal | measured | met? |", "|---|---|---|"]

    def fmt(x):
        return f"{x * 1e3:.1f} ms" if x >= 1e-3 else f"{x * 1e6:.0f} us"

    for n, (max_bound, min_torch) in GOALS.items():
        m = med.get(n, {})
        if "deltaprop" not in m or "GEMM-only bound" not in m:
            continue
        r = m["deltaprop"] / m["GEMM-only bound"]
        rows.append(f"| {n}: deltaprop <= {max_bound:.2f}x the GEMM-only bound | {r:.2f}x ({fmt(m['deltaprop'])} vs "
                    f"{fmt(m['GEMM-only bound'])}) | {'yes' if r <= max_bound else 'no'} |")
        if min_torch and "PyTorch" in m:
            s = m["PyTorch"] / m["deltaprop"]
            one = m.get("PyTorch, 1 thread")
            extra = f"; PyTorch at 1 thread {fmt(one)}, {one / m['deltaprop']:.2f}x" if one else ""
            rows.append(f"| {n}: >= {min_torch:g}x faster than PyTorch (default threads) | {s:.2f}x "
                        f"({fmt(m['PyTorch'])}{extra}) | {'yes' if s >= min_torch else 'no'} |")
        if n == "W4":
            peak = res[n]["deltaprop"]["peak"]
            if peak is not None:
                rows.append(f"| W4: extra memory <= 64 MiB | {peak / 2**20:.1f} MiB traced | "
                            f"{'yes' if peak <= 64 * 2**20 else 'no'} |")
    m = med.get("W3", {})
    if "deltaprop" in m and "scikit-learn" in m:
        s = m["scikit-learn"] / m["deltaprop"]
        rows.append(f"| W3: >= 100x faster than scikit-learn, default install | {s:.0f}x ({fmt(m['deltaprop'])} vs "
                    f"{fmt(m['scikit-learn'])}) | {'yes' if s >= 100 else 'no'} |")
    return rows


def scaling_suite(args, env, log) -> dict:
    data = {}  # impl -> (axis, value) -> samples
    for rep in range(args.reps):
        order = SCALING_IMPLS[rep % 3:] + SCALING_IMPLS[:rep % 3]
        for impl in order:
            t0 = time.perf_counter()
            out = run_worker(["--scaling", "--impl", impl, "--widths", args.widths, "--batches", args.batches,
                              "--min-seconds", str(args.scaling_seconds)], env)
            if "error" in out:
                log(f"scaling rep {rep + 1} {impl}: failed: {out['error']}")
                continue
            for point in out["scaling"]:
                key = (point["axis"], point["value"])
                data.setdefault(impl, {}).setdefault(key, {"samples": [], "sizes": point["sizes"],
                                                           "batch": point["batch"], "flops": point["flops"]})
                data[impl][key]["samples"] += point["samples"]
            log(f"scaling rep {rep + 1} {impl}: {time.perf_counter() - t0:.0f} s")
    return data


def scaling_table(data) -> list[str]:
    impls = [i for i in SCALING_IMPLS if i in data]
    rows = [f"| axis | network | batch | {' | '.join(f'{i} ms' for i in impls)} | deltaprop / bound | "
            "PyTorch / deltaprop |", "|---|---|---|" + "---|" * (len(impls) + 2)]
    keys = list(next(iter(data.values())).keys()) if data else []
    for key in keys:
        meds = {i: statistics.median(data[i][key]["samples"]) for i in impls if key in data[i]}
        info = next(data[i][key] for i in impls if key in data[i])
        cells = " | ".join(f"{meds[i] * 1e3:.1f}" if i in meds else "n/a" for i in impls)
        rb = f"{meds['deltaprop'] / meds['GEMM-only bound']:.2f}x" if {"deltaprop", "GEMM-only bound"} <= set(meds) else "n/a"
        rt = f"{meds['PyTorch'] / meds['deltaprop']:.2f}x" if {"deltaprop", "PyTorch"} <= set(meds) else "n/a"
        rows.append(f"| {key[0]} | {'-'.join(map(str, info['sizes']))} | {info['batch']} | {cells} | {rb} | {rt} |")
    return rows


def scaling_chart(data, path) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: no chart"
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    styles = {"deltaprop": "o-", "PyTorch": "s--", "GEMM-only bound": "^:"}
    for ax, axis, label in ((axes[0], "width", "first hidden width h (network 784-h-h/2-10, batch 128)"),
                            (axes[1], "batch", "batch size (network 784-256-128-10)")):
        for impl, points in data.items():
            keys = [k for k in points if k[0] == axis]
            xs = [k[1] for k in keys]
            ys = [statistics.median(points[k]["samples"]) * 1e3 for k in keys]
            lo = [min(points[k]["samples"]) * 1e3 for k in keys]
            hi = [max(points[k]["samples"]) * 1e3 for k in keys]
            ax.plot(xs, ys, styles.get(impl, "o-"), label=impl)
            ax.fill_between(xs, lo, hi, alpha=0.15)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel(f"ms per epoch of {wl.SCALING_ROWS} rows (median, min-max band)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle("W1's epoch time as the work grows (each library alone in its process)")
    fig.tight_layout(rect=(0, 0, 1, 0.94))  # room for the title above both panels
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workloads", default="W1,W2,W3,W4")
    parser.add_argument("--reps", type=int, default=3, help="processes per implementation and workload")
    parser.add_argument("--min-seconds", type=float, default=1.0, help="timed seconds per process (at least one run)")
    parser.add_argument("--widths", default=",".join(map(str, wl.WIDTHS)))
    parser.add_argument("--batches", default=",".join(map(str, wl.BATCHES)))
    parser.add_argument("--scaling-seconds", type=float, default=0.3, help="timed seconds per scaling point and process")
    parser.add_argument("--no-scaling", action="store_true")
    parser.add_argument("--scaling-only", action="store_true")
    parser.add_argument("--one-thread", action="store_true",
                        help="every worker with OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS=1 (the single-core comparison)")
    parser.add_argument("--quick", action="store_true",
                        help="2 reps, 0.3 s per process, widths 64,256,1024 and batches 16,128,1024")
    parser.add_argument("--out", default=os.path.join(HERE, "latest.md"), help="where the Markdown is written")
    parser.add_argument("--chart", default=os.path.join(HERE, "scaling.png"), help="the scaling chart (PNG)")
    args = parser.parse_args()
    if args.quick:
        args.reps, args.min_seconds, args.scaling_seconds = 2, 0.3, 0.0
        args.widths, args.batches = "64,256,1024", "16,128,1024"
    env = worker_env(args.one_thread)
    t_start = time.perf_counter()

    def log(msg):
        print(f"[{time.perf_counter() - t_start:6.0f} s] {msg}", file=sys.stderr, flush=True)

    lines = ["Command: `python " + " ".join(["benchmarks/run.py", *sys.argv[1:]]) + "`", ""]
    lines += machine_info(env) + [""]
    if not args.scaling_only:
        suite = main_suite(args, env, log)
        lines += ["### Goals", ""] + goals_table(suite) + [""]
        for n, res in suite["results"].items():
            w = n + " " + {"W1": "784-256-128-10 relu, batch 128, 60000 rows, one epoch",
                           "W2": "digits 64-32-10 tanh, batch 32, 1797 rows, one epoch",
                           "W3": "20-16-1 sigmoid, online (batch 1), 10000 rows, one epoch",
                           "W4": "784-256-10 sigmoid, squared + weight decay, one J and gradient on 60000 rows"}[n]
            lines += [f"### {w}", ""] + workload_table(n, res, suite["flops"].get(n, 0)) + [""]
    if not args.no_scaling:
        data = scaling_suite(args, env, log)
        problem = scaling_chart(data, args.chart)
        lines += ["### Scaling: W1's epoch time against the hidden width and the batch size", "",
                  f"Each point: one epoch over the first {wl.SCALING_ROWS} rows of W1, median ms over "
                  f"{args.reps} processes per implementation. "
                  + (problem or f"Chart: `{args.chart}`."), ""]
        lines += scaling_table(data) + [""]
    lines.append(f"Total time of this run: {(time.perf_counter() - t_start) / 60:.1f} min.")
    text = "\n".join(lines)
    print(text)
    with open(args.out, "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()

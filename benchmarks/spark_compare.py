"""A 30-iteration L-BFGS fit: deltaprop (one process, and Dask with 2 workers) against Spark MLlib's
MultilayerPerceptronClassifier on the same data and network (issue 15).

    python benchmarks/spark_compare.py [--rows 200000,800000] [--spark-python PATH]

Data: ``rows`` x 100 float64 features and 10 classes (a random teacher's argmax, seed 0), written
once as a directory of 8 Parquet files into benchmarks/.cache/ (Dask makes one partition per
file). Network: 100-64-10, sigmoid hidden, softmax output with
cross-entropy (Spark's MLP has only sigmoid hidden layers), no weight decay (Spark's MLP has
none). Each implementation runs alone, in its own fresh process, at its documented defaults
otherwise:

* Spark: ``local[2]``, ``MultilayerPerceptronClassifier(layers=[100, 64, 10], maxIter=30,
  solver="l-bfgs", seed=0)`` on the Parquet file (VectorAssembler, cached and counted before the
  timed fit); needs pyspark and a Java runtime, in the Python given by ``--spark-python``.
* deltaprop, one process: ``dp.train(net, X, Y, optimizer="lbfgs", epochs=30)`` on the arrays, at
  its default BLAS threads.
* deltaprop, Dask: the same through ``deltaprop.distributed.read`` and ``dp.train(..., client=...)``
  on deltaprop's embedded cluster (``connect("local:2")``: 2 worker processes of 1 thread); cluster
  start-up and reading not timed (the data is read and held on the workers first, as Spark's is
  cached), loading the partitions into the workers' networks is.
* each deltaprop configuration in float64 and in float32 (the command line's default precision;
  Spark's MLP computes in float64 only).

Before the timed runs, one small untimed fit per configuration fills Numba's on-disk cache (a
fresh install compiles its kernels once, on first use). Reported: the fit's wall time, the number
of J-and-gradient evaluations (deltaprop's; L-BFGS's line search may take more than one per
iteration) and the time per iteration (fit / iterations run: 30, unless a solver converged
sooner; Spark's count from its training summary).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

SPARK = r"""
import json, sys, time
from pyspark.sql import SparkSession
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.classification import MultilayerPerceptronClassifier
path = sys.argv[1]
spark = SparkSession.builder.master("local[2]").config("spark.driver.memory", "8g") \
    .config("spark.ui.enabled", "false").getOrCreate()
spark.sparkContext.setLogLevel("ERROR")
df = spark.read.parquet(path)
cols = [c for c in df.columns if c != "y"]
data = VectorAssembler(inputCols=cols, outputCol="features").transform(df).select("features", "y").cache()
data.count()
mlp = MultilayerPerceptronClassifier(layers=[len(cols), 64, 10], maxIter=30, solver="l-bfgs", seed=0,
                                     labelCol="y", featuresCol="features")
t = time.perf_counter()
model = mlp.fit(data)
seconds = time.perf_counter() - t
try:  # the iterations Spark's L-BFGS ran (fewer than maxIter when it converged)
    iterations = int(model.summary.totalIterations)
except Exception:  # no training summary in this Spark version
    iterations = 30
print(json.dumps({"seconds": seconds, "iterations": iterations, "evaluations": None}))
spark.stop()
"""

DELTAPROP = r"""
import json, sys, time
import numpy as np
import deltaprop as dp
path, mode, dtype = sys.argv[1], sys.argv[2], np.dtype(sys.argv[3])
net = dp.Network.layered([100, 64, 10], hidden="sigmoid", output="softmax", cost="cross_entropy", seed=0,
                         dtype=dtype)
if mode == "single":
    import glob
    from deltaprop.io.data import read_table
    parts = [read_table(p) for p in sorted(glob.glob(path + "/*.parquet"))]
    X = np.vstack([np.column_stack([t.columns[f"x{i}"] for i in range(100)]) for t in parts]).astype(dtype)
    Y = np.eye(10, dtype=dtype)[np.concatenate([t.columns["y"] for t in parts]).astype(int)]
    counted = dp.Network
else:
    from distributed import wait
    from deltaprop.distributed import DaskObjective, connect, read
    client, close = connect("local:2")  # deltaprop's embedded cluster: 2 worker processes of 1 thread
    data = read(path, target="y", task="classification", scale=False, client=client)
    X, Y = data.X.persist(), data.Y.persist()
    wait([X, Y])  # read and held on the workers before the clock starts, as Spark's cached and counted data
    counted = DaskObjective
calls = [0]
inner = counted.loss_and_grad


def loss_and_grad(self, *args, **kwargs):  # counts J-and-gradient evaluations (L-BFGS's line search may add some)
    calls[0] += 1
    return inner(self, *args, **kwargs)


counted.loss_and_grad = loss_and_grad
s = time.perf_counter()
if mode == "single":
    h = dp.train(net, X, Y, optimizer="lbfgs", epochs=30, metric=None)
else:
    h = dp.train(net, X, Y, optimizer="lbfgs", epochs=30, metric=None, client=client)
seconds = time.perf_counter() - s
if mode != "single":
    close()
print(json.dumps({"seconds": seconds, "iterations": len(h), "evaluations": calls[0],
                  "cost": float(h["cost"][-1])}))
"""


def make(rows: int) -> str:
    path = os.path.join(HERE, ".cache", f"spark_{rows}")
    if not os.path.exists(path):
        import numpy as np
        import pyarrow as pa
        import pyarrow.parquet as pq

        os.makedirs(os.path.dirname(path), exist_ok=True)
        rng = np.random.default_rng(0)
        X = rng.normal(size=(rows, 100))
        W = rng.normal(size=(100, 10))
        y = np.argmax(X @ W + rng.normal(size=(rows, 10)), axis=1)
        table = pa.table({**{f"x{i}": X[:, i] for i in range(100)}, "y": y.astype(np.float64)})
        os.makedirs(path + ".tmp", exist_ok=True)  # 8 files: Dask reads one partition per file
        for k in range(8):
            lo, hi = k * rows // 8, (k + 1) * rows // 8
            pq.write_table(table.slice(lo, hi - lo), os.path.join(path + ".tmp", f"part-{k}.parquet"))
        os.replace(path + ".tmp", path)
    return path


def run(python: str, code: str, *args) -> dict:
    env = dict(os.environ)
    for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.pop(k, None)
    out = subprocess.run([python, "-c", code, *args], capture_output=True, text=True, env=env, timeout=3600)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="200000,800000")
    parser.add_argument("--spark-python", default=None, help="a Python with pyspark (and java on PATH)")
    args = parser.parse_args()
    print("| rows | implementation | 30-iteration fit, s | J+gradient evaluations | per iteration, ms |")
    print("|---:|---|---:|---:|---:|")
    small = make(4000)
    for mode in ("single", "dask"):  # Numba's cache, filled once per machine (untimed)
        for dtype in ("float64", "float32"):
            run(sys.executable, DELTAPROP, small, mode, dtype)
    for rows in [int(r) for r in args.rows.split(",")]:
        path = make(rows)
        results = [(f"deltaprop, {where}, {dtype}", run(sys.executable, DELTAPROP, path, mode, dtype))
                   for mode, where in (("single", "one process"), ("dask", "Dask 2 workers"))
                   for dtype in ("float64", "float32")]
        if args.spark_python:
            results.append(("Spark MLlib MLP, local[2]", run(args.spark_python, SPARK, path)))
        for name, r in results:
            per = 1000 * r["seconds"] / max(1, r["iterations"])
            evaluations = "-" if r.get("evaluations") is None else r["evaluations"]
            print(f"| {rows:,} | {name} | {r['seconds']:.2f} | {evaluations} | {per:.1f} |", flush=True)


if __name__ == "__main__":
    main()

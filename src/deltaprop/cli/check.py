"""Looking inside backprop: ``gradcheck`` (against finite differences) and ``explain`` (every number of one example)."""

from __future__ import annotations

import json
import sys

import numpy as np

from ..core import Network
from ..io import atomic_write_bytes, check_writable
from .common import (EXIT_CHECK_FAILED, EXIT_OK, UsageError, console, guard_outputs, int_list, load_model,
                     safe_text)
from .data import model_inputs
from .flags import random_net_flags


def random_problem(args, rows: int):
    """``--layers 2,3,1``: a random layered network (float64) and random data it can be scored on."""
    if args.model:
        raise UsageError("give either MODEL DATA or --layers, not both")
    sizes = int_list(args.layers, "--layers")
    if len(sizes) < 2:
        raise UsageError("--layers needs at least an input and an output size, such as 2,3,1")
    cost = args.cost.replace("-", "_")
    try:
        net = Network.layered(sizes, hidden=args.activation, output=args.output, cost=cost,
                              weight_decay=args.weight_decay, dtype="float64", seed=args.seed)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    rng = np.random.default_rng(args.seed)
    X = np.round(rng.normal(size=(rows, sizes[0])), 2)
    if cost == "cross_entropy" and args.output == "softmax":
        Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], rows)]
    elif cost == "cross_entropy":
        Y = rng.integers(0, 2, size=(rows, sizes[-1])).astype(float)
    else:
        Y = np.round(rng.uniform(size=(rows, sizes[-1])), 2)
    return net, X, Y


def cmd_gradcheck(args) -> int:
    from ..gradcheck import gradcheck

    random_net_flags(args, seed_used=True)  # --seed also draws the --max-checks sample
    if args.layers:
        net, X, Y = random_problem(args, args.rows)
        what = f"random {args.activation}/{args.output} network {args.layers}, {args.rows} random examples"
    else:
        if not (args.model and args.data):
            raise UsageError("give MODEL DATA --target COLUMN, or --layers 2,3,1")
        model = load_model(args.model)
        if not args.target:
            raise UsageError("--target COLUMN is required with MODEL DATA")
        ds = model_inputs(model, args, need_target=True)
        rows = np.arange(min(args.rows, len(ds.X)))
        X = model.inputs(ds.X[rows])
        Y = model.targets(ds.y[rows])
        net = model.network
        what = f"{args.model} on the first {len(rows)} rows of {args.data}"
    report = gradcheck(net, X, Y, max_checks=args.max_checks, order=args.order, tol=args.tol, seed=args.seed)
    if args.json:
        print(json.dumps({"passed": report.passed, "max_error": report.max_error,
                          "W_errors": [None if np.isnan(e) else e for e in report.W_errors],
                          "b_errors": [None if np.isnan(e) else e for e in report.b_errors],
                          "checked": int(report.checked.sum()), "near_kinks": report.near_kinks}))
    else:
        out = console()
        out.print(what)
        out.print(str(report))
    return EXIT_OK if report.passed else EXIT_CHECK_FAILED


def cmd_explain(args) -> int:
    from ..explain import explain

    guard_outputs({"--out": args.out}, {"MODEL": args.model, "DATA": args.data})
    random_net_flags(args)
    if args.layers and args.row is not None:
        raise UsageError("--row picks rows of DATA; the one example of --layers is random (--seed changes it)")
    if args.layers:
        net, x, y = random_problem(args, 1)
    else:
        if not (args.model and args.data):
            raise UsageError("give MODEL DATA --row N (with --target COL), or --layers 2,3,2")
        if not args.target:
            raise UsageError("--target COLUMN is required with MODEL DATA: backprop needs the true value")
        try:
            rows = [int(r) for r in str(args.row or "1").split(",")]
        except ValueError:
            raise UsageError(f"--row takes row numbers such as 3 or 1,2; got {args.row!r}") from None
        model = load_model(args.model)
        ds = model_inputs(model, args, need_target=True)
        bad = [r for r in rows if not 1 <= r <= len(ds.X)]
        if bad:
            raise UsageError(f"--row {bad[0]}: {args.data} has data rows 1..{len(ds.X)}")
        idx = np.array(rows) - 1
        net, x, y = model, ds.X[idx], ds.y[idx]  # the raw rows and labels: the page states them, then scales
    ex = explain(net, x, y, notation=args.notation)
    text = {"text": ex.to_text, "markdown": ex.to_markdown, "html": ex.to_html}[args.format]()
    if args.out:
        check_writable(args.out, "--out")
        atomic_write_bytes(args.out, text.encode("utf-8"))
        if not args.quiet:
            console(stderr=True).print(f"wrote {args.out}")
    else:
        sys.stdout.write(safe_text(text, keep_newlines=True))  # unit and class names come from files
    return EXIT_OK

"""The ``deltaprop`` command's arguments: one subcommand per verb, each with its flags and help."""

from __future__ import annotations

import argparse

from ..io import builtin_datasets
from ..version import __version__
from .check import cmd_explain, cmd_gradcheck
from .common import Parser, fraction, nonneg_float, positive_float, positive_int
from .train import cmd_train
from .use import cmd_datasets, cmd_evaluate, cmd_export, cmd_info, cmd_plot, cmd_predict


def build_parser() -> argparse.ArgumentParser:
    common = Parser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    common.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")

    data = Parser(add_help=False)
    data.add_argument("--drop-missing", action="store_true",
                      help="skip rows with a missing cell (empty, NA, nan, ?) instead of refusing the file; predict then "
                           "writes a first column, row, with the row number in DATA of each prediction")
    data.add_argument("--delimiter", metavar="CHAR",
                      help="a CSV's delimiter: one character, or tab, comma, semicolon, pipe (default: sniffed "
                           "from the first lines)")
    data.add_argument("--labels", help="IDX labels file (default: the MNIST name next to the images file)")

    random_net = Parser(add_help=False)  # the --layers problem that check.random_problem builds
    random_net.add_argument("--activation", default="sigmoid", help="hidden activation with --layers (default sigmoid)")
    random_net.add_argument("--output", default="sigmoid", help="output activation with --layers (default sigmoid)")
    random_net.add_argument("--cost", default="squared", help="cost with --layers (default squared)")
    random_net.add_argument("--weight-decay", type=nonneg_float, default=0.0)
    random_net.add_argument("--seed", type=int, default=0)

    parser = Parser(
        prog="deltaprop",
        description="Train feed-forward networks by backpropagation, exactly as the textbooks teach it.",
    )
    parser.add_argument("--version", action="version", version=f"deltaprop {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("train", parents=[common, data], help="train a network on a CSV, .npz, IDX or built-in data",
                       description="Train a network; by default ReLU hidden layers, softmax + cross-entropy for "
                                   "labels, identity + squared cost for real values, Adam.")
    p.add_argument("data", nargs="*", metavar="DATA", help="CSV with a header, .npz (X, y) or IDX images; "
                   "with --scheduler, Parquet or CSV files (several, a directory or a glob)")
    p.add_argument("--dataset", metavar="NAME", help="built-in data: " + ", ".join(builtin_datasets()))
    p.add_argument("--target", metavar="COL", help="the target column of a CSV (or array of an .npz)")
    p.add_argument("--task", choices=["classification", "regression"], help="override the guess from the target")
    p.add_argument("--features", type=lambda t: [c.strip() for c in t.split(",")], metavar="COL,...",
                   help="use only these columns as features (default: every column but the target)")
    p.add_argument("--ignore", type=lambda t: [c.strip() for c in t.split(",")], metavar="COL,...",
                   help="leave these columns out (default: none)")
    p.add_argument("--impute", choices=["none", "mean", "median", "most-frequent"], default="none",
                   help="fill missing numbers with this statistic of the training rows, stored for predict "
                        "(default none: a missing number is refused)")
    p.add_argument("--max-categories", type=positive_int, default=20, metavar="N",
                   help="one-hot encode a text column with at most N distinct values (default 20)")
    p.add_argument("--hidden", default="64", metavar="SIZES", help="hidden layer sizes, e.g. 128,64 (default 64)")
    p.add_argument("--activation", default="relu", help="hidden activation, or one per layer (default relu)")
    p.add_argument("--cost", choices=["cross-entropy", "squared"], help="default: cross-entropy for labels, "
                                                                         "squared for real values")
    p.add_argument("--optimizer", default=None,
                   help="sgd, momentum, nesterov, adam, adamw, rprop, lbfgs (default adam; lbfgs with --scheduler)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="train on a Dask cluster: local:N (an embedded cluster "
                   "of N worker processes) or tcp://HOST:PORT (a running `dask scheduler`); needs deltaprop[distributed]")
    p.add_argument("--lr", type=positive_float, default=None,
                   help="learning rate (default 0.003 for adam and adamw, else the optimizer's own)")
    p.add_argument("--batch-size", type=int, default=32, help="examples per step; 0 for the full batch (default 32)")
    p.add_argument("--epochs", type=positive_int, default=50, help="at most this many epochs (default 50)")
    p.add_argument("--weight-decay", type=nonneg_float, default=1e-4, help="lambda of lambda/2 sum W^2")
    p.add_argument("--schedule", default=None, help="constant, step, exponential, invscaling, plateau")
    p.add_argument("--validation-split", type=fraction, default=0.1)
    p.add_argument("--early-stopping", type=positive_int, default=5, metavar="PATIENCE",
                   help="epochs without a lower validation cost before stopping (default 5)")
    p.add_argument("--test-split", type=fraction, default=0.2,
                   help="held out for the final accuracy, never trained on (default 0.2)")
    p.add_argument("--no-scale", action="store_true",
                   help="do not standardise the inputs (nor, for regression, the targets)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--out", default="model.safetensors", help="model file to write (default model.safetensors)")
    p.add_argument("--checkpoint-dir", metavar="DIR", help="save the training state after every epoch")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --checkpoint-dir")
    p.add_argument("--overwrite-checkpoints", action="store_true",
                   help="start afresh in a --checkpoint-dir that holds an earlier run's checkpoints, deleting them "
                        "(without it such a run is refused)")
    p.add_argument("--plot", metavar="FILE.png", help="write the learning curve (needs matplotlib)")
    p.add_argument("--log-jsonl", metavar="FILE", help="append one JSON object per epoch to FILE")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("predict", parents=[common, data], help="predict with a model file")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("data", metavar="DATA")
    p.add_argument("--proba", action="store_true", help="add one probability column per class")
    p.add_argument("--out", help="CSV to write (default: standard output)")
    p.add_argument("--target", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("evaluate", parents=[common, data], help="score a model file on labelled data")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("data", metavar="DATA")
    p.add_argument("--target", metavar="COL")
    p.add_argument("--json", action="store_true", help='print one JSON object, e.g. {"accuracy": 0.97, "cost": 0.08}')
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("gradcheck", parents=[common, data, random_net],
                       help="check backprop against finite differences")
    p.add_argument("model", nargs="?", metavar="MODEL")
    p.add_argument("data", nargs="?", metavar="DATA")
    p.add_argument("--target", metavar="COL")
    p.add_argument("--layers", metavar="SIZES", help="check a random layered network instead, e.g. 2,3,1")
    p.add_argument("--rows", type=positive_int, default=10, help="examples to check on (default 10)")
    p.add_argument("--max-checks", type=positive_int, default=None, help="check a random sample of parameters")
    p.add_argument("--order", type=int, choices=[2, 4], default=2, help="central difference of order 2 or 4")
    p.add_argument("--tol", type=positive_float, default=1e-7)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_gradcheck)

    p = sub.add_parser("info", parents=[common], help="what a model or checkpoint file holds")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("datasets", parents=[common], help="list the built-in data sets")
    p.set_defaults(func=cmd_datasets)

    p = sub.add_parser("explain", parents=[common, data, random_net],
                       help="every z, a, delta and gradient of one example, checked")
    p.add_argument("model", nargs="?", metavar="MODEL")
    p.add_argument("data", nargs="?", metavar="DATA")
    p.add_argument("--target", metavar="COL")
    p.add_argument("--row", default="1", help="data row(s) to explain, 1 = the first after the header (e.g. 3 or 1,2)")
    p.add_argument("--layers", metavar="SIZES", help="explain a random layered network instead, e.g. 2,3,2")
    p.add_argument("--notation", choices=["ufldl", "aima"], default="ufldl")
    p.add_argument("--format", choices=["text", "markdown", "html"], default="text")
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of the terminal")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("export", parents=[common], help="write a model as ONNX (needs the onnx extra)")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--onnx", metavar="PATH", required=True, help="the .onnx file to write")
    p.add_argument("--opset", type=int, default=17)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("plot", parents=[common], help="learning curve of a model file or a --log-jsonl log")
    p.add_argument("history", metavar="HISTORY", help="a model file or a .jsonl log")
    p.add_argument("--out", metavar="FILE.png")
    p.set_defaults(func=cmd_plot)
    return parser

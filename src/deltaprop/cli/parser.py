"""The ``deltaprop`` command's arguments: one subcommand per verb, each with its flags, their defaults,
and examples at the end of its ``--help``."""

from __future__ import annotations

import argparse

from ..io import builtin_datasets
from ..version import __version__
from .check import cmd_explain, cmd_gradcheck
from .common import Parser, checked, fraction, nonneg_float, positive_float, positive_int
from .flags import column_names, delimiter
from .train import cmd_train
from .use import INFO_KEYS, cmd_datasets, cmd_evaluate, cmd_export, cmd_info, cmd_plot, cmd_predict

# Each command's --help ends with these; tests/test_cli_help.py runs every "deltaprop ..." line, in order,
# in a folder holding iris.csv (examples/data/iris.csv), so keep them cheap and keep them true.
EXAMPLES = {
    "deltaprop": """
  deltaprop train iris.csv --target species --out iris.safetensors
  deltaprop evaluate iris.safetensors iris.csv --target species
  deltaprop explain --layers 2,3,2 --seed 0
Every command has its own --help with examples: deltaprop train --help.""",
    "train": """
  deltaprop train iris.csv --target species --out iris.safetensors
      a CSV with a header row; labels in the target column mean classification
  deltaprop train --dataset diabetes --hidden 8 --epochs 200 --validation-split 0.2 --out diabetes.safetensors
      built-in data (see deltaprop datasets): real values mean regression; stops early on the validation cost
  deltaprop train --dataset xor --hidden 3 --activation sigmoid --optimizer lbfgs --out xor.safetensors
      UFLDL's tutorial's 2-3-1 sigmoid network on XOR, by L-BFGS on the full batch
To continue a stopped run, repeat its command with --checkpoint-dir DIR --resume.""",
    "predict": """
  deltaprop predict iris.safetensors iris.csv --out predictions.csv
  deltaprop predict iris.safetensors iris.csv --proba
      one probability column per class after the prediction""",
    "evaluate": """
  deltaprop evaluate iris.safetensors iris.csv --target species
  deltaprop evaluate iris.safetensors iris.csv --target species --json""",
    "gradcheck": """
  deltaprop gradcheck --layers 2,3,1
      UFLDL's tutorial's check on a random 2-3-1 sigmoid network
  deltaprop gradcheck --layers 4,5,3 --output softmax --cost cross-entropy --order 4
  deltaprop gradcheck iris.safetensors iris.csv --target species --rows 5""",
    "info": """
  deltaprop info iris.safetensors
  deltaprop info iris.safetensors --json""",
    "datasets": """
  deltaprop datasets
  deltaprop train --dataset wine --out wine.safetensors""",
    "explain": """
  deltaprop explain --layers 2,3,2 --seed 0
  deltaprop explain --layers 2,2,1 --notation aima
      AIMA's textbook's names: in_j, a_j, Delta_j
  deltaprop explain iris.safetensors iris.csv --target species --row 3 --format html --out row3.html""",
    "export": """
  deltaprop export iris.safetensors --onnx iris.onnx
  deltaprop export iris.safetensors --onnx iris-13.onnx --opset 13""",
    "plot": """
  deltaprop plot iris.safetensors --out iris-curve.png
  deltaprop train --dataset wine --log-jsonl wine.jsonl --out wine.safetensors
  deltaprop plot wine.jsonl""",
}


class HelpParser(Parser):
    """:class:`~deltaprop.cli.common.Parser` whose flags say their default (``(default: 32)``) unless
    their help already does, and whose epilog (the examples) is printed as written."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def add_argument(self, *args, **kwargs):
        action = super().add_argument(*args, **kwargs)
        says = action.help is not None and "default" in action.help
        if (action.option_strings and action.nargs != 0 and action.help != argparse.SUPPRESS and not says
                and action.default is not None):
            action.help = (action.help or "").rstrip() + " (default: %(default)s)"
        return action


patience = checked(int, lambda v: v >= 0, "a whole number of epochs >= 0 (0 turns early stopping off)")


def examples(command: str) -> str:
    return "examples:" + EXAMPLES[command]


def build_parser() -> argparse.ArgumentParser:
    common = HelpParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    common.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")

    data = HelpParser(add_help=False)
    data.add_argument("--drop-missing", action="store_true",
                      help="skip rows with a missing cell (empty, NA, nan, ?) instead of refusing the file; predict "
                           "then writes a first column, row, with the row number in DATA of each prediction")
    data.add_argument("--labels", help="IDX labels file (default: the MNIST name next to the images file)")
    data.add_argument("--delimiter", type=delimiter, metavar="CHAR",
                      help="a CSV's delimiter: one character, or tab (also \\t), comma, semicolon, pipe, space "
                           "(default: sniffed from the first lines)")

    random_net = HelpParser(add_help=False)  # the --layers problem that check.random_problem builds
    random_net.add_argument("--activation", help="hidden activation with --layers (default: sigmoid)")
    random_net.add_argument("--output", help="output activation with --layers (default: sigmoid)")
    random_net.add_argument("--cost", help="cost with --layers: squared or cross-entropy (default: squared)")
    random_net.add_argument("--weight-decay", type=nonneg_float, help="lambda with --layers (default: 0)")
    random_net.add_argument("--seed", type=int, help="seed of the random network and data of --layers, and of "
                                                     "gradcheck's --max-checks sample (default: 0)")

    parser = HelpParser(
        prog="deltaprop",
        description="Train feed-forward networks by backpropagation, exactly as UFLDL's tutorial and AIMA's "
                    "textbook teach it.",
        epilog=examples("deltaprop"),
    )
    parser.add_argument("--version", action="version", version=f"deltaprop {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def command(name, parents, help, **kwargs):
        return sub.add_parser(name, parents=parents, help=help, description=kwargs.pop("description", help[:1].upper()
                              + help[1:] + "."), epilog=examples(name), **kwargs)

    p = command("train", [common, data], "train a network on a CSV, .npz, IDX or built-in data",
                description="Train a network; by default ReLU hidden layers, softmax + cross-entropy for labels, "
                            "identity + squared cost for real values, Adam.")
    p.add_argument("data", nargs="*", metavar="DATA", help="CSV with a header, .npz (X, y) or IDX images; "
                   "with --scheduler, Parquet or CSV files (several, a directory or a glob)")
    p.add_argument("--dataset", metavar="NAME",
                   help="built-in data instead of DATA: " + ", ".join(builtin_datasets()) + " (default: none)")
    p.add_argument("--target", metavar="COL",
                   help="the target column of a CSV, required there (default for an .npz: its array y)")
    p.add_argument("--task", choices=["classification", "regression"],
                   help="override the guess (default: classification for labels, regression for real values)")
    p.add_argument("--hidden", default="64", metavar="SIZES", help="hidden layer sizes, e.g. 128,64; 0 for none")
    p.add_argument("--activation", default="relu", help="hidden activation, or one per layer, e.g. relu,tanh")
    p.add_argument("--cost", choices=["cross-entropy", "squared"],
                   help="default: cross-entropy for labels, squared for real values")
    p.add_argument("--optimizer",
                   help="sgd, momentum, nesterov, adam, adamw; gd (UFLDL's batch gradient descent: sgd on the "
                        "full batch); or the full-batch methods rprop, lbfgs (default: adam; lbfgs with --scheduler)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="train on a Dask cluster: local:N (an embedded cluster "
                   "of N worker processes) or tcp://HOST:PORT (a running `dask scheduler`); needs "
                   "deltaprop[distributed] (default: none, in memory)")
    p.add_argument("--lr", type=positive_float, metavar="ETA",
                   help="learning rate eta (default: 0.003 for adam and adamw; 0.1 for sgd, momentum and nesterov; "
                        "0.01 for rprop, its initial step; lbfgs takes none)")
    p.add_argument("--batch-size", type=int, metavar="N",
                   help="examples per step; 0 for the full batch (default: 32, or the full batch for gd, rprop and "
                        "lbfgs)")
    p.add_argument("--epochs", type=positive_int, default=50, metavar="N", help="at most this many epochs")
    p.add_argument("--weight-decay", type=nonneg_float, default=1e-4, metavar="LAMBDA",
                   help="lambda of the (lambda/2) sum W^2 term of the cost")
    p.add_argument("--schedule", help="learning-rate schedule: constant, step, exponential, invscaling, plateau "
                                      "(default: constant)")
    p.add_argument("--validation-split", type=fraction, default=0.1, metavar="FRACTION",
                   help="share of the training rows held out to watch the validation cost; 0 for none")
    p.add_argument("--early-stopping", type=patience, metavar="PATIENCE",
                   help="stop after this many epochs without a lower validation cost and keep the best epoch; "
                        "0 turns it off, as does a validation split under 50 rows (default: 5)")
    p.add_argument("--test-split", type=fraction, metavar="FRACTION",
                   help="share of the rows held out for the final score, never trained on (default: 0.2; "
                        "in memory only: --scheduler refuses it)")
    p.add_argument("--no-scale", action="store_true",
                   help="do not standardise the inputs (nor, for regression, the targets)")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights and of every split and shuffle")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32", help="precision of the network")
    p.add_argument("--out", default="model.safetensors", metavar="FILE", help="model file to write")
    p.add_argument("--checkpoint-dir", metavar="DIR", help="save the training state after every epoch (default: none)")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --checkpoint-dir")
    p.add_argument("--overwrite-checkpoints", action="store_true",
                   help="start afresh in a --checkpoint-dir that holds an earlier run's checkpoints, deleting them "
                        "(without it such a run is refused)")
    p.add_argument("--plot", metavar="FILE.png", help="write the learning curve (needs matplotlib; default: none)")
    p.add_argument("--log-jsonl", metavar="FILE", help="append one JSON object per epoch to FILE (default: none)")
    # the columns of a table (read by the data layer)
    p.add_argument("--features", type=column_names, metavar="COL,...",
                   help="use only these columns as inputs (default: every column but the target)")
    p.add_argument("--ignore", type=column_names, metavar="COL,...",
                   help="leave these columns out, such as an ID (default: none)")
    p.add_argument("--impute", choices=["none", "mean", "median", "most-frequent"], default="none",
                   help="fill missing numbers with the training rows' mean, median or most frequent value; "
                        "none refuses them, naming the column")
    p.add_argument("--max-categories", type=positive_int, default=20, metavar="N",
                   help="a text column with at most N distinct values is one-hot encoded; one with more is "
                        "refused")
    p.set_defaults(func=cmd_train)

    p = command("predict", [common, data], "predict with a model file")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("data", metavar="DATA")
    p.add_argument("--proba", action="store_true", help="add one probability column per class")
    p.add_argument("--out", metavar="FILE", help="CSV to write (default: standard output)")
    p.add_argument("--target", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_predict)

    p = command("evaluate", [common, data], "score a model file on labelled data",
                description="Score a model file on labelled data: the cost, accuracy with a confusion matrix, "
                            "per-class precision, recall and F1 and the majority-class baseline (classification), "
                            "or R^2, RMSE and MAE with the mean predictor's (regression).")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("data", metavar="DATA")
    p.add_argument("--target", metavar="COL", help="the column of true values (required: no default)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object: cost, accuracy or r2, rmse, mae, rows, baseline; for classification "
                        "also classes, confusion_matrix (rows true, columns predicted), per_class, macro")
    p.set_defaults(func=cmd_evaluate)

    p = command("gradcheck", [common, data, random_net], "check backprop against finite differences")
    p.add_argument("model", nargs="?", metavar="MODEL")
    p.add_argument("data", nargs="?", metavar="DATA")
    p.add_argument("--target", metavar="COL", help="the target column, required with MODEL DATA (no default)")
    p.add_argument("--layers", metavar="SIZES", help="check a random layered network instead, e.g. 2,3,1 (default: none)")
    p.add_argument("--rows", type=positive_int, default=10, metavar="N", help="examples to check on")
    p.add_argument("--max-checks", type=positive_int, metavar="N",
                   help="check a random sample of this many parameters (default: all)")
    p.add_argument("--order", type=int, choices=[2, 4], default=2, help="central difference of order 2 or 4")
    p.add_argument("--tol", type=positive_float, default=1e-7, help="largest relative error that passes")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_gradcheck)

    p = command("info", [common], "what a model or checkpoint file holds")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object with snake_case keys: " + ", ".join(INFO_KEYS)
                        + "; settings and metrics are objects of their own (early_stopping 0 means off)")
    p.set_defaults(func=cmd_info)

    p = command("datasets", [common], "list the built-in data sets")
    p.set_defaults(func=cmd_datasets)

    p = command("explain", [common, data, random_net], "every z, a, delta and gradient of one example, checked")
    p.add_argument("model", nargs="?", metavar="MODEL")
    p.add_argument("data", nargs="?", metavar="DATA")
    p.add_argument("--target", metavar="COL", help="the target column, required with MODEL DATA (no default)")
    p.add_argument("--row", metavar="N", help="data row(s) to explain, 1 = the first after the header, e.g. 3 or "
                                              "1,2 (default: 1)")
    p.add_argument("--layers", metavar="SIZES", help="explain a random layered network instead, e.g. 2,3,2 (default: none)")
    p.add_argument("--notation", choices=["ufldl", "aima"], default="ufldl",
                   help="the symbols of UFLDL's tutorial or of AIMA's textbook")
    p.add_argument("--format", choices=["text", "markdown", "html"], default="text", help="how to write it")
    p.add_argument("--out", metavar="FILE", help="write to FILE (default: the terminal)")
    p.set_defaults(func=cmd_explain)

    p = command("export", [common], "write a model as ONNX (needs the onnx extra)")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--onnx", metavar="PATH", required=True, help="the .onnx file to write")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset version")
    p.set_defaults(func=cmd_export)

    p = command("plot", [common], "learning curve of a model file or a --log-jsonl log")
    p.add_argument("history", metavar="HISTORY", help="a model file or a .jsonl log")
    p.add_argument("--out", metavar="FILE.png", help="the image to write (default: HISTORY with .png)")
    p.set_defaults(func=cmd_plot)
    parser.commands = sub.choices  # name -> its parser, for tests and tools
    return parser


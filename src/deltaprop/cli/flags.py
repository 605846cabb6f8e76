"""What flags mean together: parsers for list and delimiter values, the defaults that depend on other
flags, and the combinations refused because one flag would contradict, or be silently ignored by, another."""

from __future__ import annotations

import argparse

from ..core import get_activation
from ..train import get_optimizer, get_schedule
from .common import UsageError, int_list

DEFAULT_BATCH_SIZE = 32  # for the minibatch optimizers; full-batch ones (rprop, lbfgs) see every row each step
DEFAULT_PATIENCE = 5  # --early-stopping
CLI_LEARNING_RATES = {"adam": 3e-3, "adamw": 3e-3}  # tuned on the built-in data sets (see the README)
RANDOM_NET = {"activation": "sigmoid", "output": "sigmoid", "cost": "squared", "weight_decay": 0.0, "seed": 0}


# --- values ----------------------------------------------------------------------------------------------


def column_names(text: str) -> list[str]:
    """``"age, income"`` as ``["age", "income"]`` (an argparse type): split on commas, spaces
    stripped; an empty or repeated name is refused."""
    names = [t.strip() for t in text.split(",")]
    if any(not n for n in names):
        raise argparse.ArgumentTypeError(f"expected column names separated by commas, such as age,income; "
                                         f"got an empty name in {text!r}")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise argparse.ArgumentTypeError(f"column {twice[0]!r} is listed twice in {text!r}")
    return names


DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}


def delimiter(text: str) -> str:
    """One character, or a name: ``tab`` (or ``\\t`` as typed), ``comma``, ``semicolon``, ``pipe``,
    ``space`` (an argparse type); returns the character."""
    d = DELIMITER_NAMES.get(text.lower(), text)
    if len(d) != 1 or d in "\"\r\n":
        raise argparse.ArgumentTypeError(f"expected one character, or tab, comma, semicolon, pipe, space; "
                                         f"got {text!r}")
    return d


# --- train ---------------------------------------------------------------------------------------------------


def train_flags(args) -> tuple[list, list, int | None]:
    """``(hidden sizes, hidden activations, batch size)`` from ``train``'s flags, after refusing flags
    that contradict each other; fills in the defaults that depend on other flags (``--lr``,
    ``--batch-size``, ``--early-stopping``). A batch size of None is the full batch."""
    hidden = int_list(args.hidden, "--hidden")
    acts = [a.strip() for a in args.activation.split(",")]
    try:  # unknown names are usage errors (exit 2), caught before any data is touched
        for a in acts:
            if get_activation(a).output_only:
                raise ValueError(f"activation {a!r} may only be used on outputs, not hidden layers")
        optimizer = get_optimizer(args.optimizer)
        get_schedule(args.schedule)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    refuse_train_conflicts(args, optimizer)
    if args.lr is None and optimizer.name in CLI_LEARNING_RATES:
        args.lr = CLI_LEARNING_RATES[optimizer.name]
    if args.batch_size is None:  # "gd" is UFLDL's batch gradient descent: plain SGD on the full batch
        full = optimizer.full_batch or args.optimizer.strip().lower() == "gd"
        args.batch_size = 0 if full else DEFAULT_BATCH_SIZE
    if args.early_stopping is None:
        args.early_stopping = DEFAULT_PATIENCE
    if len(acts) == 1:
        acts = acts * len(hidden)
    if len(acts) != len(hidden):
        raise UsageError(f"--activation lists {len(acts)} activations for {len(hidden)} hidden layers")
    return hidden, acts, None if args.batch_size == 0 else args.batch_size


def refuse_train_conflicts(args, optimizer) -> None:
    """Flags that contradict each other, or one the others would silently ignore: a usage error."""
    name = optimizer.name
    if args.batch_size is not None and args.batch_size < 0:
        raise UsageError(f"--batch-size must be >= 0 (0 for the full batch), got {args.batch_size}")
    if optimizer.full_batch and args.batch_size:
        raise UsageError(f"--optimizer {name} is a full-batch method (every step uses all the training rows); "
                         f"leave out --batch-size {args.batch_size}")
    if name == "lbfgs" and args.lr is not None:
        raise UsageError("--optimizer lbfgs chooses every step by a line search; leave out --lr")
    if optimizer.full_batch and args.schedule is not None:
        raise UsageError(f"--optimizer {name} sets its own step sizes, so --schedule would have no effect; "
                         "leave it out")
    if args.validation_split == 0 and args.early_stopping:
        raise UsageError(f"--early-stopping {args.early_stopping} watches the validation cost, but "
                         "--validation-split 0 holds no rows out for it; drop one of the two")
    if args.resume and not args.checkpoint_dir:
        raise UsageError("--resume needs --checkpoint-dir DIR (where the checkpoints are)")
    if args.overwrite_checkpoints and not args.checkpoint_dir:
        raise UsageError("--overwrite-checkpoints needs --checkpoint-dir DIR (whose checkpoints to replace)")
    if args.overwrite_checkpoints and args.resume:
        raise UsageError("--resume continues the checkpoints that --overwrite-checkpoints would delete; give one")


# --- gradcheck and explain -----------------------------------------------------------------------------------


def random_net_flags(args, *, seed_used: bool = False) -> None:
    """``--activation``, ``--output``, ``--cost``, ``--weight-decay`` and ``--seed`` describe the random
    network of ``--layers``: refused with a MODEL (which has its own; ``--seed`` is kept where
    ``seed_used`` says the command draws something else with it), then filled with their defaults."""
    given = [k for k in RANDOM_NET if getattr(args, k) is not None and not (k == "seed" and seed_used)]
    if not args.layers and given:
        flag = "--" + given[0].replace("_", "-")
        raise UsageError(f"{flag} describes the random network of --layers; a MODEL has its own, so leave it out")
    for k, default in RANDOM_NET.items():
        if getattr(args, k) is None:
            setattr(args, k, default)

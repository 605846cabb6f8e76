"""Training: update rules, schedules, the loop, the L-BFGS solver, state and callbacks, metrics.

Imports the engine (:mod:`deltaprop.core`) and nothing above it: no files, no faces.
"""

from . import metrics, optimizers, schedules
from .callbacks import Callback, History, Run
from .lbfgs import LBFGS
from .loop import MIN_REMOTE_BATCH, DivergenceError, Plan, finish_run, train
from .objective import InProcess, Objective, OpenedData, PartitionedObjective, register_source, source_for
from .optimizers import Optimizer, available_optimizers, get_optimizer
from .schedules import Schedule, get_schedule
from .state import Best, Pending, TrainingState, capture_state, restore_state

__all__ = [
    "MIN_REMOTE_BATCH",
    "Best",
    "Callback",
    "DivergenceError",
    "History",
    "InProcess",
    "LBFGS",
    "Objective",
    "PartitionedObjective",
    "OpenedData",
    "Optimizer",
    "Pending",
    "Plan",
    "Run",
    "Schedule",
    "TrainingState",
    "available_optimizers",
    "capture_state",
    "finish_run",
    "get_optimizer",
    "get_schedule",
    "metrics",
    "optimizers",
    "register_source",
    "restore_state",
    "schedules",
    "source_for",
    "train",
]

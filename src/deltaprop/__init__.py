"""deltaprop: backpropagation exactly as the textbooks teach it.

The layered network of UFLDL (seed 000) and the general network of units of AIMA
(seed 001) run on one engine: a DAG of dense blocks whose parameters live in one
flat vector.

>>> import deltaprop as dp
>>> net = dp.Network.layered([2, 3, 1], seed=0)
>>> net
Network(layered 2-3-1 [sigmoid,sigmoid], cost=squared, weight_decay=0, dtype=float64, n_params=13)
"""

from .activations import Activation, available_activations, get_activation, register_activation
from .costs import Cost, available_costs, get_cost
from .graph import Graph, Unit
from .gradcheck import GradcheckReport, gradcheck, relative_error
from .network import Block, Edge, Network, Trace
from .optimizers import Optimizer, available_optimizers, get_optimizer
from .schedules import Schedule, get_schedule
from .training import Callback, DivergenceError, History, Run, capture_state, finish_run, restore_state, train
from . import optimizers, schedules
from .io import load, save
from .io.modelfile import FileFormatError
from .model import Model
from .export import export_onnx
from .explain import explain

__version__ = "0.1.0"

__all__ = [
    "Activation",
    "Block",
    "Callback",
    "DivergenceError",
    "History",
    "Run",
    "Optimizer",
    "Schedule",
    "available_optimizers",
    "capture_state",
    "finish_run",
    "get_optimizer",
    "get_schedule",
    "optimizers",
    "restore_state",
    "schedules",
    "train",
    "Cost",
    "Edge",
    "FileFormatError",
    "Model",
    "explain",
    "export_onnx",
    "load",
    "save",
    "GradcheckReport",
    "Graph",
    "Unit",
    "Network",
    "Trace",
    "available_activations",
    "available_costs",
    "get_activation",
    "get_cost",
    "gradcheck",
    "register_activation",
    "relative_error",
    "__version__",
]

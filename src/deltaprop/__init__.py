"""deltaprop: backpropagation exactly as the textbooks teach it.

The layered network of UFLDL's tutorial and the general network of units of AIMA's
textbook run on one engine: a DAG of dense blocks whose parameters live in one flat vector.

The package is layered, and imports run one way only (checked by import-linter):
``core`` (the engine) <- ``train`` <- ``model``, ``gradcheck``, ``explain``, ``io`` <-
``export``, ``plot``, ``sklearn`` <- ``cli``.

>>> import deltaprop as dp
>>> net = dp.Network.layered([2, 3, 1], seed=0)
>>> net
Network(layered 2-3-1 [sigmoid,sigmoid], cost=squared, weight_decay=0, dtype=float64, n_params=13)
"""

from .core import (Activation, Block, Cost, Edge, Graph, Layout, Network, Trace, Unit, available_activations,
                   available_costs, get_activation, get_cost, register_activation, register_cost)
from .gradcheck import GradcheckReport, gradcheck, relative_error
from .train import (Callback, DivergenceError, History, Optimizer, Run, Schedule, available_optimizers,
                    capture_state, finish_run, get_optimizer, get_schedule, optimizers, register_source, restore_state,
                    schedules, train)
from .io import FileFormatError, declare_kind, load, save
from .model import Model
from .export import export_onnx
from .explain import explain

from .version import __version__  # noqa: E402


def _import_estimators() -> None:
    import importlib

    importlib.import_module("deltaprop.sklearn")  # registers the "estimator" record kind with deltaprop.io


# The composition root: the file format learns that "estimator" files belong to the scikit-learn face,
# which registers itself when first needed (io never names it).
declare_kind("estimator", {"network", "estimator"}, _import_estimators)


def _is_dask(X) -> bool:
    return hasattr(X, "__dask_graph__") and hasattr(X, "to_delayed")


def _open_on_dask(*args, **kwargs):
    import importlib

    return importlib.import_module("deltaprop.distributed").open_data(*args, **kwargs)


# ... and training learns that dask collections are opened by deltaprop.distributed (imported only then,
# so that dask stays an optional extra).
register_source(_is_dask, _open_on_dask)

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
    "Layout",
    "register_cost",
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

"""The engine: activations, costs, the layout, backprop, the network and AIMA's graphs of units.

Nothing here knows about training, files or faces; everything above imports from here.
"""

from .activations import Activation, available_activations, get_activation, register_activation
from .costs import Cost, CrossEntropy, SquaredError, available_costs, get_cost, register_cost
from .graph import Graph, Unit
from .layout import Block, Edge, Layout
from .network import Network, PerBlock, Trace
from .units import NamedUnit, UnitMap

__all__ = [
    "Activation",
    "Block",
    "Cost",
    "CrossEntropy",
    "Edge",
    "Graph",
    "Layout",
    "NamedUnit",
    "Network",
    "PerBlock",
    "SquaredError",
    "Trace",
    "Unit",
    "UnitMap",
    "available_activations",
    "available_costs",
    "get_activation",
    "get_cost",
    "register_activation",
    "register_cost",
]

"""Costs J: the per-example loss and the output delta it starts backprop with.

Both built-in costs are summed over the output units and averaged over the m examples,
exactly like UFLDL's J (weight decay is added by the network, not here):

* ``squared``:        J = (1/m) sum_i 1/2 ||h(x_i) - y_i||^2
* ``cross_entropy``:  with softmax outputs  J = -(1/m) sum_i sum_k y_ik log h_ik;
                      with sigmoid outputs  J = -(1/m) sum_i sum_k [y log h + (1-y) log(1-h)]_ik

Each loss is computed from the output block's net input z, never from log(a),
so it stays finite when a saturates at 0 or 1.

The output delta is delta(nl) = dJ_i/dz(nl) for one example (UFLDL:
delta(nl) = -(y - a) .* f'(z)). Three pairings make it exactly h - y, and each cost
says which (:meth:`Cost.exact_delta`): identity + squared, sigmoid + cross-entropy,
softmax + cross-entropy.

A cost is a class: everything about it (its loss and delta, the output activations and
targets it accepts, the metric that suits it, how explanations write it) lives here.
:func:`register_cost` adds a user-defined one.
"""

from __future__ import annotations

import numpy as np

from .activations import Activation

__all__ = ["Cost", "SquaredError", "CrossEntropy", "get_cost", "available_costs", "register_cost"]


class Cost:
    """A cost function, evaluated block by block over the output blocks.

    Subclasses set ``name`` and implement :meth:`loss_and_delta_into`; the other
    methods have defaults a user-defined cost may keep.

    Attributes
    ----------
    name : str
        The name it is registered and saved under.
    label : str
        How people write it ("squared error", "cross-entropy").
    formula : str
        The data term of J as text, for explanations.
    default_metric : {"r2", "accuracy"}
        What ``metric="auto"`` reports when training with this cost.
    """

    name = "cost"
    label = "cost"
    formula = "(1/m) sum_x loss(h(x), y)"
    default_metric = "r2"

    # -- compatibility ------------------------------------------------------------

    def check_activation(self, act: Activation) -> None:
        """Raise ValueError if ``act`` cannot be an output activation for this cost."""

    def check_targets(self, y: np.ndarray, act: Activation, name: str = "Y") -> None:
        """Raise ValueError if targets ``y`` of shape (m, units) are impossible for this cost."""

    # -- facts other modules ask for -------------------------------------------------

    def exact_delta(self, act: Activation) -> bool:
        """True when delta(nl) is exactly h - y for output units of ``act``."""
        return False

    def output_rule(self, act: Activation) -> str | None:
        """The name of the output-delta rule explanations write for ``act`` outputs
        (``"squared-identity"``, ``"squared"``, ``"squared-softmax"``, ``"cross-entropy"``),
        or None when explanations do not know how to write it."""
        return None

    def kernel_kind(self, act: Activation) -> int | None:
        """Its number in the compiled online kernel for ``act`` outputs, or None (NumPy path)."""
        return None

    # -- value and delta ------------------------------------------------------------

    def loss_and_delta_into(self, z: np.ndarray, a: np.ndarray, y: np.ndarray, act: Activation,
                            delta: np.ndarray, scratch: np.ndarray) -> np.ndarray:
        """Per-example loss of one output block, shape (m,), summed over its units; writes
        delta(nl) = dJ_x/dz(nl) per example (not yet averaged over m) into ``delta``.

        ``scratch`` is a buffer of z's shape. Nothing of z's size need be allocated.
        """
        raise NotImplementedError(f"cost {self.name!r} does not implement loss_and_delta_into")

    def loss(self, z: np.ndarray, a: np.ndarray, y: np.ndarray, act: Activation) -> np.ndarray:
        """Per-example loss of one output block, shape (m,), summed over its units."""
        return self.loss_and_delta_into(z, a, y, act, np.empty_like(z), np.empty_like(z))

    def output_delta(self, z: np.ndarray, a: np.ndarray, y: np.ndarray, act: Activation) -> np.ndarray:
        """delta(nl) = dJ_x/dz(nl) per example, shape (m, units); not yet averaged over m."""
        delta = np.empty_like(z)
        self.loss_and_delta_into(z, a, y, act, delta, np.empty_like(z))
        return delta

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.name == other.name

    def __hash__(self) -> int:
        return hash((type(self), self.name))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class SquaredError(Cost):
    """UFLDL's J = (1/m) sum_x 1/2 ||h(x) - y||^2; delta(nl) = -(y - a) .* f'(z(nl))."""

    name = "squared"
    label = "squared"
    formula = "(1/m) sum_x 1/2 ||h(x) - y||^2"
    default_metric = "r2"

    def exact_delta(self, act):
        return act.name == "identity"  # f'(z) = 1, so -(y - a) f'(z) = h - y

    def output_rule(self, act):
        if act.name == "identity":
            return "squared-identity"
        return "squared-softmax" if act.name == "softmax" else "squared"

    def kernel_kind(self, act):
        return None if not act.elementwise else 0

    def loss_and_delta_into(self, z, a, y, act, delta, scratch):
        np.subtract(a, y, out=delta)  # h - y
        L = 0.5 * np.einsum("ij,ij->i", delta, delta)  # 1/2 ||h(x) - y||^2
        if not self.exact_delta(act):
            act.backward_into(z, a, delta, delta, scratch)  # delta(nl) = -(y - a) .* f'(z(nl))
        return L


class CrossEntropy(Cost):
    """Cross-entropy on sigmoid or softmax outputs; delta(nl) = h - y exactly."""

    name = "cross_entropy"
    label = "cross-entropy"
    formula = "-(1/m) sum_x sum_k [y_k log h_k (+ (1 - y_k) log(1 - h_k) for sigmoid outputs)]"
    default_metric = "accuracy"

    def check_activation(self, act):
        if act.name not in ("sigmoid", "softmax"):
            raise ValueError(
                f"cost 'cross_entropy' needs 'sigmoid' or 'softmax' output units (outputs in (0, 1)), "
                f"got output activation {act.name!r}; use cost='squared' for it"
            )

    def check_targets(self, y, act, name="Y"):
        if y.size == 0:
            return
        lo, hi = float(y.min()), float(y.max())
        if lo < 0 or hi > 1:
            raise ValueError(f"{name}: cross-entropy targets must lie in [0, 1], got values from {lo:g} to {hi:g}")
        if act.name == "softmax":
            sums = y.sum(axis=1)
            bad = np.flatnonzero(np.abs(sums - 1) > 1e-6 * max(1, y.shape[1]))
            if bad.size:
                raise ValueError(
                    f"{name}: softmax + cross-entropy targets must be probability rows summing to 1 "
                    f"(one-hot for labels); row {bad[0]} sums to {sums[bad[0]]:g}"
                )

    def exact_delta(self, act):
        return act.name in ("sigmoid", "softmax")

    def output_rule(self, act):
        return "cross-entropy"

    def kernel_kind(self, act):
        return 2 if act.name == "softmax" else 1

    def loss_and_delta_into(self, z, a, y, act, delta, scratch):
        if act.name == "sigmoid":
            # -[y log s(z) + (1-y) log(1-s(z))] = log(1 + e^z) - y z, stable for any z
            np.logaddexp(0.0, z, out=scratch)
            scratch -= np.multiply(y, z, out=delta)
            L = scratch.sum(axis=1)
        else:
            # softmax: -sum_k y_k log softmax(z)_k = logsumexp(z) - sum_k y_k z_k (rows of y sum to 1)
            zmax = z.max(axis=1)
            np.subtract(z, zmax[:, None], out=scratch)
            np.exp(scratch, out=scratch)
            L = zmax + np.log(scratch.sum(axis=1)) - np.einsum("ij,ij->i", y, z)
        # cross-entropy with sigmoid or softmax: the f'(z) cancels the 1/h of the log,
        # leaving delta(nl) = h - y exactly (softmax: because each row of y sums to 1)
        np.subtract(a, y, out=delta)
        return L


_COSTS: dict[str, Cost] = {"squared": SquaredError(), "cross_entropy": CrossEntropy()}
_BUILTIN = frozenset(_COSTS)
_ALIASES = {"mse": "squared", "squared_error": "squared", "ce": "cross_entropy", "log_loss": "cross_entropy"}


def _key(name: str) -> str:
    key = name.strip().lower().replace("-", "_")
    return _ALIASES.get(key, key)


def register_cost(cost: Cost, *, overwrite: bool = False) -> Cost:
    """Register a user-defined :class:`Cost` instance under its ``name``.

    Raises
    ------
    ValueError
        If the name is a built-in's, or already registered and ``overwrite`` is False.
    TypeError
        If ``cost`` is not a Cost.
    """
    if not isinstance(cost, Cost):
        raise TypeError(f"register_cost takes a deltaprop Cost instance, got {type(cost).__name__}")
    if not isinstance(cost.name, str) or not cost.name.strip():
        raise ValueError(f"a cost needs a non-empty name, got {cost.name!r}")
    key = _key(cost.name)
    if key in _BUILTIN or key in _ALIASES:
        raise ValueError(f"cost {key!r} is built in and cannot be replaced")
    if key in _COSTS and not overwrite:
        raise ValueError(f"cost {key!r} is already registered; pass overwrite=True to replace it")
    _COSTS[key] = cost
    return cost


def get_cost(name: str | Cost) -> Cost:
    """Look up a cost by name: ``"squared"``, ``"cross_entropy"`` ('-' also accepted) or a registered one."""
    if isinstance(name, Cost):
        return name
    if not isinstance(name, str):
        raise ValueError(f"cost must be 'squared' or 'cross_entropy', got {type(name).__name__} {name!r}")
    key = _key(name)
    if key not in _COSTS:
        raise ValueError(f"unknown cost {name!r}; expected one of {', '.join(sorted(_COSTS))}")
    return _COSTS[key]


def available_costs() -> list[str]:
    """Names of the costs, built-in and registered."""
    return sorted(_COSTS)

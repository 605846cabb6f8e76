"""Costs J: the per-example loss and the output delta it starts backprop with.

Both costs are summed over the output units and averaged over the m examples,
exactly like the seed's J (weight decay is added by the network, not here):

* ``squared``:        J = (1/m) sum_i 1/2 ||h(x_i) - y_i||^2
* ``cross_entropy``:  with softmax outputs  J = -(1/m) sum_i sum_k y_ik log h_ik;
                      with sigmoid outputs  J = -(1/m) sum_i sum_k [y log h + (1-y) log(1-h)]_ik

Each loss is computed from the output block's net input z, never from log(a),
so it stays finite when a saturates at 0 or 1.

The output delta is delta(nl) = dJ_i/dz(nl) for one example (seed 000:
delta(nl) = -(y - a) .* f'(z)). Three pairings make it exactly h - y, and the code
uses that closed form for them: identity + squared, sigmoid + cross-entropy,
softmax + cross-entropy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activations import Activation

__all__ = ["Cost", "get_cost", "available_costs"]


@dataclass(frozen=True)
class Cost:
    """A cost function, evaluated block by block over the output blocks.

    Parameters
    ----------
    name : str
        ``"squared"`` or ``"cross_entropy"``.
    """

    name: str

    # -- compatibility ------------------------------------------------------------

    def check_activation(self, act: Activation) -> None:
        """Raise ValueError if ``act`` cannot be an output activation for this cost."""
        if self.name == "cross_entropy" and act.name not in ("sigmoid", "softmax"):
            raise ValueError(
                f"cost 'cross_entropy' needs 'sigmoid' or 'softmax' output units (outputs in (0, 1)), "
                f"got output activation {act.name!r}; use cost='squared' for it"
            )

    def check_targets(self, y: np.ndarray, act: Activation, name: str = "Y") -> None:
        """Raise ValueError if targets ``y`` of shape (m, units) are impossible for this cost."""
        if self.name != "cross_entropy" or y.size == 0:
            return
        lo, hi = float(y.min()), float(y.max())
        if lo < 0 or hi > 1:
            raise ValueError(
                f"{name}: cross-entropy targets must lie in [0, 1], got values from {lo:g} to {hi:g}"
            )
        if act.name == "softmax":
            sums = y.sum(axis=1)
            bad = np.flatnonzero(np.abs(sums - 1) > 1e-6 * max(1, y.shape[1]))
            if bad.size:
                raise ValueError(
                    f"{name}: softmax + cross-entropy targets must be probability rows summing to 1 "
                    f"(one-hot for labels); row {bad[0]} sums to {sums[bad[0]]:g}"
                )

    # -- value and delta ------------------------------------------------------------

    def loss_and_delta_into(self, z: np.ndarray, a: np.ndarray, y: np.ndarray, act: Activation,
                            delta: np.ndarray, scratch: np.ndarray) -> np.ndarray:
        """Per-example loss of one output block, shape (m,), summed over its units; writes
        delta(nl) = dJ_x/dz(nl) per example (not yet averaged over m) into ``delta``.

        ``scratch`` is a buffer of z's shape. Nothing of z's size is allocated.
        """
        if self.name == "squared":
            np.subtract(a, y, out=delta)  # h - y
            L = 0.5 * np.einsum("ij,ij->i", delta, delta)  # 1/2 ||h(x) - y||^2
            if act.name != "identity":  # identity: f'(z) = 1, so -(y - a) f'(z) = h - y exactly
                act.backward_into(z, a, delta, delta, scratch)  # delta(nl) = -(y - a) .* f'(z(nl))
            return L
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

    def loss(self, z: np.ndarray, a: np.ndarray, y: np.ndarray, act: Activation) -> np.ndarray:
        """Per-example loss of one output block, shape (m,), summed over its units."""
        return self.loss_and_delta_into(z, a, y, act, np.empty_like(z), np.empty_like(z))

    def output_delta(self, z: np.ndarray, a: np.ndarray, y: np.ndarray, act: Activation) -> np.ndarray:
        """delta(nl) = dJ_x/dz(nl) per example, shape (m, units); not yet averaged over m."""
        delta = np.empty_like(z)
        self.loss_and_delta_into(z, a, y, act, delta, np.empty_like(z))
        return delta


_COSTS = {"squared": Cost("squared"), "cross_entropy": Cost("cross_entropy")}
_ALIASES = {"mse": "squared", "squared_error": "squared", "ce": "cross_entropy", "log_loss": "cross_entropy"}


def get_cost(name: str | Cost) -> Cost:
    """Look up a cost by name: ``"squared"`` or ``"cross_entropy"`` ('-' also accepted)."""
    if isinstance(name, Cost):
        return name
    if not isinstance(name, str):
        raise ValueError(f"cost must be 'squared' or 'cross_entropy', got {type(name).__name__} {name!r}")
    key = name.strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in _COSTS:
        raise ValueError(f"unknown cost {name!r}; expected one of {', '.join(sorted(_COSTS))}")
    return _COSTS[key]


def available_costs() -> list[str]:
    """Names of the costs."""
    return sorted(_COSTS)

"""Gradient checking: backprop's dJ/dparams against central finite differences in float64.

For each parameter p the numerical derivative is

    (J(p + eps) - J(p - eps)) / (2 eps)

whose truncation error is O(eps^2), against O(eps) for a one-sided difference.
A float32 network is checked through a float64 copy, so the check measures the
mathematics, not float32 rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .core import Network
from .core.checks import as_rng

__all__ = ["GradcheckReport", "gradcheck", "relative_error"]

def relative_error(analytic: np.ndarray, numeric: np.ndarray, floor: float = 1e-12) -> float:
    """max |g - n| / max(max |g|, max |n|, floor): the error relative to the tensor's scale.

    :func:`gradcheck` passes a ``floor`` of a thousandth of the whole gradient's scale:
    a unit that is off for every example has an exactly zero gradient, and its
    differences are pure rounding noise that must not count as a relative error of 1.
    """
    if analytic.size == 0:
        return 0.0
    scale = max(float(np.abs(analytic).max()), float(np.abs(numeric).max()), floor)
    return float(np.abs(analytic - numeric).max()) / scale


@dataclass
class GradcheckReport:
    """Result of :func:`gradcheck`.

    Attributes
    ----------
    W_errors : list of float
        Relative error of each ``dW[e]`` (parallel to ``net.W``): max |analytic - numeric|
        over the tensor, divided by the larger of the tensor's largest gradient and a
        thousandth of the whole gradient's largest; NaN where no entry was checked.
    b_errors : list of float
        Relative error of each ``db[l]`` (parallel to ``net.b``).
    max_error : float
        The largest of them.
    analytic, numeric : ndarray of shape (n_params,)
        Backprop's gradient and the finite differences (NaN where not checked).
    checked : ndarray of bool, shape (n_params,)
        Which parameters were checked (masked-out ones never are: they are not parameters).
    tol : float
        The threshold ``passed`` compares ``max_error`` with.
    near_kinks : int
        How many pre-activations z of relu-like units lie within 1e-4 of 0, where f'
        jumps: finite differences there straddle the kink and disagree with any
        one-sided derivative, so a failure at such a point is not a backprop bug.
    """

    W_errors: list
    b_errors: list
    max_error: float
    analytic: np.ndarray
    numeric: np.ndarray
    checked: np.ndarray
    tol: float
    eps: float
    near_kinks: int = 0
    order: int = 2

    @property
    def passed(self) -> bool:
        """True when every checked tensor's relative error is below ``tol``."""
        return bool(self.max_error < self.tol)

    def __str__(self) -> str:
        lines = [f"gradient check (central differences of order {self.order}, eps={self.eps:g}, float64)"]
        def show(err):
            return "(nothing to check)" if np.isnan(err) else f"max relative error {err:.3e}"

        for e, err in enumerate(self.W_errors):
            lines.append(f"  dW[{e}]  {show(err)}")
        for l, err in enumerate(self.b_errors):
            lines.append(f"  db[{l}]  {show(err)}")
        verdict = "PASS" if self.passed else "FAIL"
        lines.append(f"  worst {self.max_error:.3e} (tolerance {self.tol:g}): {verdict}")
        if self.near_kinks:
            lines.append(
                f"  note: {self.near_kinks} relu-like pre-activation(s) within 1e-4 of the kink at 0; "
                "differences there are not derivatives"
            )
        return "\n".join(lines)


def gradcheck(
    net: Network,
    X,
    Y,
    *,
    sample_weight=None,
    eps: float | None = None,
    tol: float = 1e-7,
    max_checks: int | None = None,
    seed=0,
    order: int = 2,
) -> GradcheckReport:
    """Compare backprop's gradient with central finite differences, in float64.

    Parameters
    ----------
    net : Network
        Left unchanged; a float32 network is checked through a float64 copy.
    X : array-like of shape (m, n_inputs)
    Y : array-like of shape (m, n_outputs)
    sample_weight : array-like of shape (m,), optional
    eps : float, optional
        Step of the central difference; default 1e-5 (order 2) or 1e-3 (order 4). For
        order 2 the error is about eps^2 |J'''| / 6 from truncation plus 1e-16 |J| / eps
        from rounding; 1e-5 balances the two in float64.
    tol : float, default 1e-7
        ``report.passed`` is ``max_error < tol``.
    max_checks : int, optional
        Check only this many parameters, drawn at random (for large networks).
    seed : int or Generator, default 0
        For the draw of ``max_checks``.
    order : {2, 4}, default 2
        2 is the textbook's (J(p+eps) - J(p-eps)) / 2eps. 4 is the fourth-order central
        stencil (-J(p+2e) + 8J(p+e) - 8J(p-e) + J(p-2e)) / 12e with e = 1e-3 unless ``eps``
        is given: twice the cost, errors near 1e-12.

    Returns
    -------
    GradcheckReport

    Examples
    --------
    >>> import numpy as np, deltaprop as dp
    >>> net = dp.Network.layered([2, 3, 1], seed=0)
    >>> X = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]]); Y = np.array([0., 1., 1., 0.])
    >>> dp.gradcheck(net, X, Y).passed
    True
    """
    if not isinstance(net, Network):
        raise ValueError(f"net must be a deltaprop Network, got {type(net).__name__}")
    if order not in (2, 4):
        raise ValueError(f"order must be 2 or 4, got {order!r}")
    if eps is None:
        eps = 1e-5 if order == 2 else 1e-3
    if not (isinstance(eps, float) and 0 < eps < 1):
        raise ValueError(f"eps must be a float in (0, 1), got {eps!r}")
    if tol <= 0:
        raise ValueError(f"tol must be > 0, got {tol!r}")
    net64 = net.copy(dtype="float64")
    X, Y, w = net64.check_data(X, Y, sample_weight)
    _, analytic = net64.loss_and_grad(X, Y, sample_weight=w)
    z, _ = net64.forward(X)
    near_kinks = sum(  # each activation says whether f' jumps (relu's kink at 0)
        int((np.abs(z[j]) < 1e-4).sum()) for j, act in enumerate(net64.layout.activations) if act is not None
        and act.kinked
    )

    idx = np.flatnonzero(net64.free)
    if max_checks is not None:
        if int(max_checks) < 1:
            raise ValueError(f"max_checks must be >= 1, got {max_checks!r}")
        if max_checks < idx.size:
            idx = np.sort(as_rng(seed).choice(idx, size=int(max_checks), replace=False))
    numeric = np.full(net64.n_params, np.nan)
    p = net64.params
    def J_at(i, value):
        p[i] = value
        return net64.loss(X, Y, sample_weight=w)

    for i in idx:
        old = p[i]
        if order == 2:
            numeric[i] = (J_at(i, old + eps) - J_at(i, old - eps)) / (2 * eps)  # central difference
        else:
            numeric[i] = (-J_at(i, old + 2 * eps) + 8 * J_at(i, old + eps) - 8 * J_at(i, old - eps)
                          + J_at(i, old - 2 * eps)) / (12 * eps)
        p[i] = old
    checked = np.zeros(net64.n_params, dtype=bool)
    checked[idx] = True

    floor = max(1e-3 * float(np.abs(analytic[checked]).max(initial=0.0)), 1e-12)

    def err(span_views_a, span_views_n, span_views_c):
        out = []
        for ga, gn, c in zip(span_views_a, span_views_n, span_views_c):
            out.append(relative_error(ga[c], gn[c], floor) if c.any() else float("nan"))
        return out

    Wa, ba = net64.views(analytic)
    Wn, bn = net64.views(numeric)
    Wc, bc = net64.views(checked)
    W_errors = err(Wa, Wn, Wc)
    b_errors = err(ba, bn, bc)
    finite = [e for e in W_errors + b_errors if not np.isnan(e)]
    return GradcheckReport(
        W_errors=W_errors,
        b_errors=b_errors,
        max_error=max(finite) if finite else 0.0,
        analytic=analytic,
        numeric=numeric,
        checked=checked,
        tol=float(tol),
        eps=eps,
        near_kinks=near_kinks,
        order=order,
    )

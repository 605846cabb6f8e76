"""Every number of one backprop pass, unit by unit and weight by weight, checked.

:func:`explain` runs the network on a float64 copy, then rebuilds each quantity from its
defining sum (not from the engine's matrices) and asserts that the two agree: every z as
sum_j W_ij a_j + b_i, every hidden delta as f'(z_i) sum_j W_ji delta_j over the units it
feeds, every gradient as the mean of a_j delta_i plus lambda W_ij, and beside each gradient
its central finite difference.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core import Network
from ..core.checks import as_matrix, as_targets
from ..gradcheck import gradcheck
from ..model import Model
from .notation import Notation

__all__ = ["Explanation", "Example", "explain", "Term", "UnitForward", "UnitDelta", "ParamGrad"]

MAX_FD_PARAMS = 5000  # larger networks are explained without finite differences


@dataclass
class Term:
    """One product of a sum: ``weight * value`` per example (``source`` None for a bias)."""

    source: tuple | None
    target: tuple
    weight: float
    value: np.ndarray
    product: np.ndarray
    edge: tuple | None = None  # (e, row, col) into net.W, for the diagram


@dataclass
class UnitForward:
    unit: tuple
    activation: str | None
    terms: list
    bias: float | None
    z: np.ndarray | None
    a: np.ndarray


@dataclass
class UnitDelta:
    """delta_i = dJ_x/dz_i per example (UFLDL's sign); ``rule`` names how it was made."""

    unit: tuple
    delta: np.ndarray
    fprime: np.ndarray | None
    terms: list
    total: np.ndarray | None  # the sum over successors, for hidden units
    output_part: np.ndarray | None  # the cost's own contribution, for output units
    rule: str
    h: np.ndarray | None = None
    y: np.ndarray | None = None
    column: int | None = None  # an output unit's column of Y


@dataclass
class ParamGrad:
    kind: str  # "W" or "b"
    source: tuple | None
    target: tuple
    value: float
    per_example: np.ndarray  # a_source * delta_target (or delta_target for a bias)
    average: float  # (1/m) sum, or the sample-weighted mean
    decay: float  # lambda W (+ l1 sign(W)); 0 for a bias
    total: float  # backprop's dJ/dparam
    numeric: float | None
    rel_error: float | None
    index: int  # position in net.params


@dataclass
class Example:
    """The examples explained, as given and as the network sees them.

    Attributes
    ----------
    feature_names : list of str
        One per input: a model's column names, else the input units' names (x1, x2, ...).
    output_names : list of str
        What each column of Y is: a class, P(class) for one sigmoid output, a target's name, or y1, y2, ...
    raw : ndarray of shape (m, n_inputs) or None
        A model's rows before standardisation (None for a bare network: X is the raw input).
    mean, scale : ndarray of shape (n_inputs,) or None
        The model's standardisation x = (raw - mean) / scale.
    labels : list or None
        A model's targets as given: one class label (classification) or one row of raw values
        (regression) per example.
    classes : list or None
        A classification model's classes, in the order of its outputs.
    target_mean, target_scale : ndarray or None
        A regression model's target standardisation y = (raw - mean) / scale.
    """

    feature_names: list
    output_names: list
    raw: np.ndarray | None = None
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None
    labels: list | None = None
    classes: list | None = None
    target_mean: np.ndarray | None = None
    target_scale: np.ndarray | None = None


@dataclass
class Explanation:
    """All the numbers of :func:`explain`; render with ``to_text``, ``to_markdown``, ``to_html``."""

    net: Network
    notation: Notation
    X: np.ndarray
    Y: np.ndarray
    weights: np.ndarray  # the factors of the mean (1/m each, or normalised sample weights)
    J: float
    data_cost: float
    decay_cost: float
    losses: np.ndarray
    forward: list
    deltas: list
    grads: list
    max_rel_error: float | None
    tol: float = 1e-6
    notes: list = field(default_factory=list)
    example: Example | None = None

    @property
    def m(self) -> int:
        return self.X.shape[0]

    def forward_value(self, unit, what: str, example: int) -> float:
        """One example's z or a of a unit (block, index)."""
        if getattr(self, "_forward_at", None) is None:
            self._forward_at = {uf.unit: uf for uf in self.forward}
        return float(np.atleast_1d(getattr(self._forward_at[tuple(unit)], what))[example])

    def delta_value(self, unit, example: int) -> float:
        """One example's delta (UFLDL's sign) of a computing unit (block, index)."""
        if getattr(self, "_delta_at", None) is None:
            self._delta_at = {d.unit: d for d in self.deltas}
        return float(self._delta_at[tuple(unit)].delta[example])

    @property
    def passed(self) -> bool | None:
        """Every gradient within ``tol`` of its finite difference (None if not checked)."""
        return None if self.max_rel_error is None else self.max_rel_error < self.tol

    def to_text(self) -> str:
        from .render import to_text

        return to_text(self)

    def to_markdown(self) -> str:
        from .render import to_markdown

        return to_markdown(self)

    def to_html(self) -> str:
        from .html import to_html

        return to_html(self)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        shape = "-".join(str(b.units) for b in self.net.blocks)
        who = "UFLDL's" if self.notation.kind == "ufldl" else "AIMA's"
        check = ("not checked" if self.max_rel_error is None else
                 f"{'every gradient agrees' if self.passed else 'SOME GRADIENTS DISAGREE'} "
                 f"(largest relative error {self.max_rel_error:.1e})")
        return (f"Explanation({self.m} example{'s' if self.m > 1 else ''}, {who} notation, network {shape}, "
                f"{self.notation.cost} = {self.J:.5g}, {check})")

    def _repr_html_(self) -> str:
        """Notebooks show the step-through page (its script runs where the notebook is trusted;
        elsewhere every step is still there to read)."""
        from .html import to_html_fragment

        return to_html_fragment(self)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


class ExplainCheckError(RuntimeError):
    """An explanation's number, rebuilt from its defining sum, disagrees with the engine's.

    Never expected: it would mean the explanation (or the engine) is wrong. Raised as an
    exception, not an ``assert``, so that ``python -O`` keeps the check.
    """


def _agree(rebuilt, engine, what: str, tol: float = 1e-9) -> None:
    """Raise ExplainCheckError unless ``rebuilt`` equals ``engine`` to a relative ``tol``."""
    rebuilt, engine = np.asarray(rebuilt, dtype=np.float64), np.asarray(engine, dtype=np.float64)
    if not np.all(np.abs(rebuilt - engine) <= tol * np.abs(engine) + 1e-12):
        worst = float(np.max(np.abs(rebuilt - engine)))
        raise ExplainCheckError(f"explain: {what} rebuilt from its sum differs from the engine's by {worst:.3g}")


def _output_unit_names(net) -> list:
    """The output units' names, in the order of Y's columns."""
    names = [""] * net.n_outputs
    for j, cols in net.layout.outputs:
        for i, c in enumerate(np.arange(net.n_outputs)[cols]):
            names[int(c)] = net.unit_map.name(j, i)
    return names


def _model_example(model: Model, x, y):
    """(X, Y, Example) for a model's raw row(s) and label(s)."""
    raw = as_matrix(x, name="x", n_cols=model.n_features, dtype=np.float64)
    X = raw if model.scaler is None else model.scaler.transform(raw)
    net = model.network
    names = list(model.feature_names) if model.feature_names else [net.unit_map.name(0, i)
                                                                     for i in range(net.n_inputs)]
    if model.task == "classification":
        labels = [y] if np.ndim(y) == 0 else list(np.asarray(y, dtype=object).ravel())
        if len(labels) != raw.shape[0]:
            raise ValueError(f"y has {len(labels)} labels for {raw.shape[0]} rows of x; give one class label per row")
        labels = [v.item() if isinstance(v, np.generic) else v for v in labels]
        Y = model.targets(np.array(labels, dtype=object))
        classes = list(model.classes or [])
        outputs = ([f"P({classes[1]})"] if net.n_outputs == 1 and len(classes) == 2
                   else [str(c) for c in classes][: net.n_outputs])
        return X, Y, Example(names, outputs, raw, None if model.scaler is None else model.scaler.mean,
                             None if model.scaler is None else model.scaler.scale, labels, classes)
    rows = np.asarray(y, dtype=np.float64).reshape(raw.shape[0], -1)
    Y = model.targets(rows)
    outputs = list(model.target_names) if model.target_names and len(model.target_names) == net.n_outputs \
        else _output_unit_names(net)
    ts = model.target_scaler
    return X, Y, Example(names, outputs, raw, None if model.scaler is None else model.scaler.mean,
                         None if model.scaler is None else model.scaler.scale, [list(r) for r in rows], None,
                         None if ts is None else ts.mean, None if ts is None else ts.scale)


def explain(net: Network | Model, x, y, notation: str = "ufldl", *, sample_weight=None,
            check: bool = True) -> Explanation:
    """Explain backprop on (x, y) number by number, in the textbook's notation.

    Parameters
    ----------
    net : Network or Model
        Layered, block DAG or compiled unit graph; explained through a float64 copy. A
        :class:`~deltaprop.Model` takes raw rows and labels: the explanation states them,
        their standardisation and the classes, then follows the network on the scaled row.
    x : array-like of shape (n_inputs,) or (m, n_inputs)
        One example or a small batch (raw feature values for a Model).
    y : array-like of shape (n_outputs,) or (m, n_outputs)
        Targets; for a classification Model, one class label (or one per row).
    notation : {"ufldl", "aima"}, default "ufldl"
        UFLDL's W, b, z, a, delta, f, J or AIMA's w, in, a, Delta, g, E.
    sample_weight : array-like of shape (m,), optional
    check : bool, default True
        Compute each gradient's central finite difference (networks of up to 5000 parameters).

    Returns
    -------
    Explanation

    Examples
    --------
    >>> import deltaprop as dp
    >>> net = dp.Network.layered([2, 3, 2], seed=0)
    >>> ex = dp.explain(net, [1.0, 0.5], [0.0, 1.0])
    >>> ex.passed
    True
    >>> print(ex.to_text().splitlines()[0])
    deltaprop explain: backpropagation on 1 example, in UFLDL's notation
    """
    example = None
    if isinstance(net, Model):
        if np.ndim(x) == 1:
            x = np.reshape(x, (1, -1))
        x, y, example = _model_example(net, x, y)
        net = net.network
    if not isinstance(net, Network):
        raise ValueError(f"net must be a deltaprop Network or Model, got {type(net).__name__}")
    nota = Notation(notation, net)
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim == 1:
        x = x.reshape(1, -1)
    if y.ndim == 1 and x.shape[0] == 1 and net.n_outputs != 1:
        y = y.reshape(1, -1)
    if example is None:
        example = Example([net.unit_map.name(0, i) for i in range(net.n_inputs)], _output_unit_names(net))
    net64 = net.copy(dtype="float64")
    layout = net64.layout
    for j, _ in layout.outputs:
        if net64.cost.output_rule(layout.activations[j]) is None:
            raise ValueError(f"explain writes out the output deltas of the built-in costs; cost {net64.cost.name!r} "
                             f"with {layout.activations[j].name!r} outputs says no rule for them (Cost.output_rule)")
    X = as_matrix(x, name="x", n_cols=net.n_inputs, dtype=np.float64)
    Y = as_targets(y, name="y", n_rows=X.shape[0], n_cols=net.n_outputs, dtype=np.float64)
    if X.shape[0] > 50:
        raise ValueError(f"explain shows every number: give at most 50 examples, got {X.shape[0]}")
    tr = net64.backprop(X, Y, sample_weight=sample_weight)
    m = X.shape[0]
    if sample_weight is None:
        weights = np.full(m, 1.0 / m)
    else:
        w = np.asarray(sample_weight, dtype=np.float64)
        weights = w / w.sum()

    # 1. forward: z_i = sum_p W_ip a_p + b_i, rebuilt term by term
    forward = [UnitForward((0, i), None, [], None, None, X[:, i]) for i in range(net64.n_inputs)]
    for j in range(1, len(net64.blocks)):
        bias_mask = net64.blocks[j].bias
        for i in range(net64.blocks[j].units):
            terms = []
            for e, k in layout.predecessors[j]:
                mask = net64.edges[e].mask
                for p in range(net64.blocks[k].units):
                    if mask is not None and not mask[i, p]:
                        continue
                    w = float(net64.W[e][i, p])
                    terms.append(Term((k, p), (j, i), w, tr.a[k][:, p], w * tr.a[k][:, p], (e, i, p)))
            has_bias = bias_mask is None or bias_mask[i]
            b = float(net64.b[j - 1][i]) if has_bias else None
            z = sum((t.product for t in terms), np.zeros(m)) + (b or 0.0)
            _agree(z, tr.z[j][:, i], f"z of {nota.unit_name((j, i))}")
            forward.append(UnitForward((j, i), net64.blocks[j].activation, terms, b, tr.z[j][:, i], tr.a[j][:, i]))

    # 2-3. deltas, in the order backprop computes them (last block first)
    out_cols = dict(layout.outputs)
    deltas = []
    for j in range(len(net64.blocks) - 1, 0, -1):
        act = layout.activations[j]
        for i in range(net64.blocks[j].units):
            terms = []
            for e, s in layout.successors[j]:
                mask = net64.edges[e].mask
                for r in range(net64.blocks[s].units):
                    if mask is not None and not mask[r, i]:
                        continue
                    w = float(net64.W[e][r, i])  # W_ri: the weight *from* this unit i *to* unit r
                    terms.append(Term((j, i), (s, r), w, tr.delta[s][:, r], w * tr.delta[s][:, r], (e, r, i)))
            total = sum((t.product for t in terms), np.zeros(m)) if terms else None
            fprime = act.fprime(tr.z[j][:, i:i + 1], tr.a[j][:, i:i + 1])[:, 0] if act.elementwise else None
            output_part = h = yy = col = None
            rule = "hidden"
            if j in out_cols:
                cols = out_cols[j]
                col = int((np.arange(cols.start, cols.stop) if isinstance(cols, slice) else cols)[i])
                h, yy = tr.a[j][:, i], Y[:, col]
                rule = net64.cost.output_rule(act)
                hidden_part = fprime * total if (total is not None and fprime is not None) else 0.0
                output_part = tr.delta[j][:, i] - hidden_part
            elif fprime is not None:
                _agree(fprime * total, tr.delta[j][:, i], f"delta of {nota.unit_name((j, i))}")
            deltas.append(UnitDelta((j, i), tr.delta[j][:, i], fprime, terms, total, output_part, rule, h, yy, col))

    # 4. gradients: the mean of a_j delta_i, plus lambda W_ij; the central difference beside it
    grads = []
    free = net64.free
    do_fd = check and int(free.sum()) <= MAX_FD_PARAMS
    offsets_W = [o for o, _ in layout.w_spans]
    for e, edge in enumerate(net64.edges):
        k, j = edge.source, edge.target
        for i in range(net64.blocks[j].units):
            for p in range(net64.blocks[k].units):
                if edge.mask is not None and not edge.mask[i, p]:
                    continue
                per = tr.a[k][:, p] * tr.delta[j][:, i]
                w = float(net64.W[e][i, p])
                decay = net64.weight_decay * w + net64.l1 * float(np.sign(w))
                idx = offsets_W[e] + i * net64.blocks[k].units + p
                grads.append(ParamGrad("W", (k, p), (j, i), w, per, float(weights @ per), decay,
                                       float(tr.dW[e][i, p]), None, None, idx))
    for j in range(1, len(net64.blocks)):
        bias_mask = net64.blocks[j].bias
        off = layout.b_spans[j - 1][0]
        for i in range(net64.blocks[j].units):
            if bias_mask is not None and not bias_mask[i]:
                continue
            per = tr.delta[j][:, i]
            grads.append(ParamGrad("b", None, (j, i), float(net64.b[j - 1][i]), per, float(weights @ per), 0.0,
                                   float(tr.db[j - 1][i]), None, None, off + i))
    for g in grads:
        if abs(g.average + g.decay - g.total) > 1e-9 * max(1.0, abs(g.total)):
            raise ExplainCheckError(f"explain: the gradient of {g.kind} into {nota.unit_name(g.target)} is not "
                                    f"its average plus its decay term ({g.average} + {g.decay} != {g.total})")
    max_err = None
    if do_fd:  # the central differences are gradcheck's; explain only sets them beside each gradient
        report = gradcheck(net64, X, Y, sample_weight=sample_weight)
        scale = max(abs(g.total) for g in grads) if grads else 1.0
        floor = max(1e-3 * scale, 1e-12)  # gradcheck's floor: rounding noise on a unit that is always off
        for g in grads:
            g.numeric = float(report.numeric[g.index])
            g.rel_error = abs(g.total - g.numeric) / max(abs(g.total), abs(g.numeric), floor)
        max_err = max((g.rel_error for g in grads), default=0.0)
    decay_cost = net64.regularization()
    notes = []
    if check and not do_fd:
        notes.append(f"finite differences skipped: the network has more than {MAX_FD_PARAMS} parameters")
    return Explanation(net64, nota, X, Y, weights, tr.cost, tr.cost - decay_cost, decay_cost, tr.losses, forward,
                       deltas, grads, max_err, notes=notes, example=example)

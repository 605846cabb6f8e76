"""ONNX export: the forward pass as an ONNX graph, with the model's input scaling built in.

The graph takes raw features (shape (N, n_features); float32, or float64 where float32 would lose
a feature's digits, see :func:`input_precision`) and returns what deltaprop
returns: class probabilities for classifiers (``predict --proba``), predictions for
regressors (target scaling undone), ``h(x)`` for a bare network. Block by block it is
the same arithmetic as :func:`deltaprop.core.backprop.forward`: z = sum over incoming edges
of a @ W^T, + b, then the activation.

Needs the optional ``onnx`` package (``pip install 'deltaprop[onnx]'``); onnxruntime is
only needed to run the result.
"""

from __future__ import annotations

import os

import numpy as np

from .core import Network
from .io import atomic_write_bytes
from .model import Model

__all__ = ["export_onnx", "input_precision", "OPSET", "IR_VERSION"]

OPSET = 17
IR_VERSION = 9  # pinned: onnxruntime >= 1.15 loads it

def _resolve(obj):
    """(network, input mean, input scale, post-processing, output name) for anything we can export."""
    if isinstance(obj, Network):
        return obj, None, None, None, "output"
    if isinstance(obj, Model):
        mean = scale = None
        if obj.scaler is not None:
            mean, scale = obj.scaler.mean, obj.scaler.scale
        if obj.task == "classification":
            binary = obj.network.n_outputs == 1 and obj.classes is not None and len(obj.classes) == 2
            return obj.network, mean, scale, ("binary",) if binary else None, "probabilities"
        post = None if obj.target_scaler is None else ("unscale", obj.target_scaler.mean, obj.target_scaler.scale)
        return obj.network, mean, scale, post, "predictions"
    name = type(obj).__name__
    kind = getattr(obj, "output_kind_", None)  # a fitted deltaprop estimator says what its outputs are
    if kind is not None and isinstance(getattr(obj, "network_", None), Network):
        if kind != "regression":
            return obj.network_, None, None, ("binary",) if kind == "binary" else None, "probabilities"
        return obj.network_, None, None, ("flatten",) if obj.target_1d_ else None, "predictions"
    raise ValueError(f"export_onnx takes a Network, a Model or a fitted deltaprop estimator, got {name}")


def input_precision(mean, scale) -> str:
    """``"float64"`` when float32 inputs would move some standardised feature by more than 1e-4
    (Unix times near 1.7e9 are 128 apart in float32: across an hour of them that is 0.1 of a
    standard deviation), else ``"float32"`` (ordinary data: a millionth or less)."""
    if mean is None:
        return "float32"
    mean, scale = np.asarray(mean, dtype=np.float64), np.asarray(scale, dtype=np.float64)
    reach = np.abs(mean) + 4 * scale  # nearly every value of the feature is within this
    with np.errstate(over="ignore"):
        ulp = np.spacing(reach.astype(np.float32)).astype(np.float64)
    return "float64" if bool(np.any(~np.isfinite(ulp) | (ulp > 1e-4 * scale))) else "float32"


def export_onnx(model, path: str | os.PathLike, *, opset: int = OPSET, input_dtype: str = "auto") -> str:
    """Write ``model``'s forward pass (with its input scaling) as an ONNX file.

    Parameters
    ----------
    model : Network, Model, DeltaClassifier or DeltaRegressor
    path : str
        Written atomically.
    opset : int, default 17
        ONNX opset (>= 13).
    input_dtype : {"auto", "float32", "float64"}, default "auto"
        The type of the graph's input. "auto" is float64 when float32 could not hold the
        features precisely enough for the model's scaling (see :func:`input_precision`),
        else float32. A float64 input is standardised in float64, then cast to float32.

    Returns
    -------
    str
        The input type written: ``"float32"`` or ``"float64"``.

    Raises
    ------
    ImportError
        If the ``onnx`` package is missing (``pip install 'deltaprop[onnx]'``).
    ValueError
        For an activation with no ONNX operator (a user-registered one).
    """
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        raise ImportError("ONNX export needs the onnx package: pip install 'deltaprop[onnx]' (or pip install onnx)") from None
    if opset < 13:
        raise ValueError(f"opset must be >= 13, got {opset}")
    net, mean, scale, post, out_name = _resolve(model)
    for j, act in enumerate(net.layout.activations[1:], start=1):
        if act.onnx is None:  # each activation says its ONNX operator, or that it has none
            raise ValueError(f"block {j}: activation {act.name!r} has no ONNX operator; register it with "
                             "onnx=(op_type, attributes) to export it")

    nodes, inits = [], []

    def const(name, value):
        inits.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        return name

    if input_dtype not in ("auto", "float32", "float64"):
        raise ValueError(f"input_dtype must be 'auto', 'float32' or 'float64', got {input_dtype!r}")
    precision = input_precision(mean, scale) if input_dtype == "auto" else input_dtype
    a = ["input"] + [None] * (len(net.blocks) - 1)
    Ws = [np.asarray(W, dtype=np.float64) for W in net.W]
    bs = [np.asarray(b, dtype=np.float64) for b in net.b]
    if precision == "float64":  # standardise in float64, then the network in float32
        source = "input"
        if mean is not None:
            inits.append(numpy_helper.from_array(np.asarray(mean, dtype=np.float64), "input_mean"))
            inits.append(numpy_helper.from_array(np.asarray(scale, dtype=np.float64), "input_scale"))
            nodes.append(helper.make_node("Sub", ["input", "input_mean"], ["centred"]))
            nodes.append(helper.make_node("Div", ["centred", "input_scale"], ["scaled64"]))
            source = "scaled64"
        nodes.append(helper.make_node("Cast", [source], ["scaled"], to=TensorProto.FLOAT))
        a[0] = "scaled"
    elif mean is not None:
        # float32 input: the scaling is folded into the edges out of the input block, in float64,
        # ((x - mean) / scale) W^T = x (W / scale)^T - (mean / scale) W^T, not subtracted in float32
        for e, edge in enumerate(net.edges):
            if edge.source == 0:
                Ws[e] = Ws[e] / np.asarray(scale, dtype=np.float64)[None, :]
                bs[edge.target - 1] = bs[edge.target - 1] - Ws[e] @ np.asarray(mean, dtype=np.float64)
    for j in range(1, len(net.blocks)):
        terms = []
        for e, k in net.layout.predecessors[j]:
            name = f"zpart_{e}"
            nodes.append(helper.make_node("MatMul", [a[k], const(f"W_{e}_T", Ws[e].T)], [name]))  # a @ W^T
            terms.append(name)
        nodes.append(helper.make_node("Sum", terms + [const(f"b_{j - 1}", bs[j - 1])], [f"z_{j}"]))
        op, attrs = net.layout.activations[j].onnx
        nodes.append(helper.make_node(op, [f"z_{j}"], [f"a_{j}"], **attrs))
        a[j] = f"a_{j}"

    outs = net.layout.outputs
    if len(outs) == 1 and isinstance(outs[0][1], slice):
        h = a[outs[0][0]]
    else:  # concatenate the output blocks, then put the columns in the declared order
        nodes.append(helper.make_node("Concat", [a[j] for j, _ in outs], ["h_blocks"], axis=1))
        order = np.concatenate([np.arange(c.start, c.stop) if isinstance(c, slice) else c for _, c in outs])
        inverse = np.argsort(order)
        inits.append(numpy_helper.from_array(inverse.astype(np.int64), "h_columns"))
        nodes.append(helper.make_node("Gather", ["h_blocks", "h_columns"], ["h"], axis=1))
        h = "h"

    n_out = net.n_outputs
    out_shape = ["N", n_out]
    if post is not None and post[0] == "unscale":
        nodes.append(helper.make_node("Mul", [h, const("target_scale", post[2])], ["h_scaled"]))
        nodes.append(helper.make_node("Add", ["h_scaled", const("target_mean", post[1])], [out_name]))
    elif post is not None and post[0] == "binary":  # one sigmoid unit -> [1 - p, p]
        nodes.append(helper.make_node("Sub", [const("one", np.ones((1, 1))), h], ["p_negative"]))
        nodes.append(helper.make_node("Concat", ["p_negative", h], [out_name], axis=1))
        out_shape = ["N", 2]
    elif post is not None and post[0] == "flatten":
        inits.append(numpy_helper.from_array(np.array([-1], dtype=np.int64), "flat_shape"))
        nodes.append(helper.make_node("Reshape", [h, "flat_shape"], [out_name]))
        out_shape = ["N"]
    else:
        nodes.append(helper.make_node("Identity", [h], [out_name]))

    graph = helper.make_graph(
        nodes, "deltaprop",
        [helper.make_tensor_value_info("input", TensorProto.DOUBLE if precision == "float64" else TensorProto.FLOAT,
                                       ["N", net.n_inputs])],
        [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, out_shape)],
        initializer=inits,
    )
    from .version import __version__

    onnx_model = helper.make_model(graph, producer_name="deltaprop", producer_version=__version__,
                                   opset_imports=[helper.make_opsetid("", opset)])
    onnx_model.ir_version = IR_VERSION
    onnx.checker.check_model(onnx_model, full_check=True)
    atomic_write_bytes(path, onnx_model.SerializeToString())
    return precision

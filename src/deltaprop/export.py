"""ONNX export: the forward pass as an ONNX graph, with the model's table decisions and input scaling built in.

The graph takes raw data and returns what deltaprop returns: class probabilities and the predicted
label for classifiers (``predict --proba`` and ``predict``), predictions for regressors (target
scaling undone), ``h(x)`` for a bare network. Block by block it is the same arithmetic as
:func:`deltaprop.core.backprop.forward`: z = sum over incoming edges of a @ W^T, + b, then the
activation.

Inputs. A model trained on a table with text columns or filled missing numbers (its
:attr:`~deltaprop.model.Model.columns`) takes one input per table column, named by the column:
numbers as float tensors of shape (N, 1), NaN where a cell is missing (replaced by the stored fill
inside the graph), text as string tensors of shape (N, 1) (one-hot encoded inside the graph with
ONNX-ML's ``OneHotEncoder``; an empty string, or any text not seen in training, encodes as all
zeros, as ``predict`` encodes a missing cell or an unseen category). Anything else takes one input
``"input"`` of shape (N, n_features): float32, or float64 where float32 would lose a feature's
digits (see :func:`input_precision`).

What the graph decided is written into the file's ``metadata_props`` (see :func:`export_onnx`).

Needs the optional ``onnx`` package (``pip install 'deltaprop[onnx]'``); onnxruntime is
only needed to run the result.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

from .core import Network
from .io import atomic_write_bytes
from .model import Model
from .preprocess import Columns

__all__ = ["export_onnx", "input_layout", "input_precision", "OPSET", "ML_OPSET", "IR_VERSION", "METADATA_KEYS"]

OPSET = 17
ML_OPSET = 1  # ai.onnx.ml, for OneHotEncoder (text columns only)
IR_VERSION = 9  # pinned: onnxruntime >= 1.15 loads it
INPUTS = ("auto", "columns", "matrix")

METADATA_KEYS = ("deltaprop_version", "task", "classes", "feature_names", "columns", "inputs", "outputs",
                 "input_scaling", "target_scaling")


@dataclass
class _Source:
    """What is exported: the network and everything around it that ``predict`` applies."""

    network: Network
    out_name: str  # "probabilities", "predictions" or "output": the names promised since the first export
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None
    post: tuple | None = None  # ("binary",), ("unscale", mean, scale) or ("flatten",)
    task: str | None = None
    classes: list | None = None
    label: str | None = None  # "argmax": one class per row; "indicator": multilabel 0/1 per label
    feature_names: list | None = None
    columns: Columns | None = None


def _native(v):
    return v.item() if isinstance(v, np.generic) else v


def _resolve(obj) -> _Source:
    if isinstance(obj, Network):
        return _Source(obj, "output")
    if isinstance(obj, Model):
        mean = scale = None
        if obj.scaler is not None:
            mean, scale = obj.scaler.mean, obj.scaler.scale
        names = obj.feature_names or (obj.columns.input_names if obj.columns is not None else None)
        if obj.task == "classification":
            classes = None if obj.classes is None else [_native(c) for c in obj.classes]
            binary = obj.network.n_outputs == 1 and classes is not None and len(classes) == 2
            return _Source(obj.network, "probabilities", mean, scale, ("binary",) if binary else None, "classification",
                           classes, None if classes is None else "argmax", names, obj.columns)
        post = None
        if obj.target_scaler is not None:
            post = ("unscale", obj.target_scaler.mean, obj.target_scaler.scale)
        return _Source(obj.network, "predictions", mean, scale, post, "regression", None, None, names, obj.columns)
    name = type(obj).__name__
    kind = getattr(obj, "output_kind_", None)  # a fitted deltaprop estimator says what its outputs are
    if kind is not None and isinstance(getattr(obj, "network_", None), Network):
        names = getattr(obj, "feature_names_in_", None)
        names = None if names is None else [str(n) for n in names]
        if kind != "regression":
            classes = [_native(c) for c in np.asarray(obj.classes_).tolist()]
            return _Source(obj.network_, "probabilities", post=("binary",) if kind == "binary" else None,
                           task="classification", classes=classes,
                           label="indicator" if kind == "multilabel" else "argmax", feature_names=names)
        return _Source(obj.network_, "predictions", post=("flatten",) if obj.target_1d_ else None, task="regression",
                       feature_names=names)
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


def input_layout(model, *, inputs: str = "auto") -> str:
    """Which inputs :func:`export_onnx` gives ``model``'s graph: ``"columns"`` or ``"matrix"``.

    Parameters
    ----------
    model : Network, Model, DeltaClassifier or DeltaRegressor
    inputs : {"auto", "columns", "matrix"}, default "auto"
        "auto" is "columns" for a model whose :attr:`~deltaprop.model.Model.columns` encode text
        or fill missing numbers, else "matrix" (a model whose columns are plain numbers keeps the
        single ``"input"`` its exports have always had).

    Returns
    -------
    str
        ``"columns"``: one input per table column, each of shape (N, 1), named by the column.
        ``"matrix"``: one input ``"input"`` of shape (N, n_features).

    Raises
    ------
    ValueError
        For an ``inputs`` not listed, or ``"columns"`` for a model that does not know its table columns.
    """
    if inputs not in INPUTS:
        raise ValueError(f"inputs must be 'auto', 'columns' or 'matrix', got {inputs!r}")
    columns = _resolve(model).columns
    if inputs == "columns" and columns is None:
        raise ValueError("inputs='columns' needs a Model trained on a table (its columns record); this one takes "
                         "a matrix of numbers: use inputs='matrix'")
    if inputs == "auto":
        return "columns" if columns is not None and not columns.plain else "matrix"
    return inputs


def _label_tensor(classes: list):
    """The class labels as a constant to Gather from, and its ONNX element type."""
    from onnx import TensorProto

    if all(isinstance(c, str) for c in classes):
        return np.array(classes, dtype=object), TensorProto.STRING
    if all(isinstance(c, bool) for c in classes):
        return np.array(classes, dtype=bool), TensorProto.BOOL
    if all(isinstance(c, int) and not isinstance(c, bool) for c in classes):
        return np.array(classes, dtype=np.int64), TensorProto.INT64
    if all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in classes):
        return np.array(classes, dtype=np.float64), TensorProto.DOUBLE
    kinds = sorted({type(c).__name__ for c in classes})
    raise ValueError(f"the class labels are of types {', '.join(kinds)}; an ONNX label output needs text, whole numbers, "
                     "numbers or booleans, one kind for all classes")


def export_onnx(model, path: str | os.PathLike, *, opset: int = OPSET, input_dtype: str = "auto",
                inputs: str = "auto") -> str:
    """Write ``model``'s forward pass (with its table decisions and input scaling) as an ONNX file.

    Parameters
    ----------
    model : Network, Model, DeltaClassifier or DeltaRegressor
    path : str
        Written atomically.
    opset : int, default 17
        ONNX opset (>= 13). Text columns also use ONNX-ML's opset 1 (``OneHotEncoder``).
    input_dtype : {"auto", "float32", "float64"}, default "auto"
        The type of the graph's number inputs. "auto" is float64 when float32 could not hold the
        features precisely enough for the model's scaling (see :func:`input_precision`),
        else float32. A float64 input is standardised in float64, then cast to float32.
    inputs : {"auto", "columns", "matrix"}, default "auto"
        One input per table column, or one matrix of the encoded inputs; see :func:`input_layout`.

    Returns
    -------
    str
        The number inputs' type: ``"float32"`` or ``"float64"``.

    Notes
    -----
    **Inputs.** ``"matrix"``: ``"input"``, shape (N, n_features), the network's inputs in order
    (for a model with columns, the encoded inputs, missing numbers filled as ``predict`` fills
    them). ``"columns"``: one input per table column in the model's order, named by the column
    (a name already used inside the graph gets ``_1``, ``_2``, ...; the metadata's ``inputs`` says
    which): a number column as a float tensor of shape (N, 1) whose NaN cells become the stored
    fill (``Where(IsNaN(x), fill, x)``; without a fill a NaN stays NaN and so do the outputs, where
    ``predict`` refuses the row), a text column as a string tensor of shape (N, 1) one-hot encoded
    with ``OneHotEncoder(zeros=1)``: pass a missing cell as ``""``; it and a category not seen in
    training encode as all zeros. The encoded inputs are concatenated in the model's order, then
    standardised and fed to the network as for ``"matrix"``.

    **Outputs.** Classifiers: ``"probabilities"`` (float, (N, n_classes), columns in the order of
    the classes) and ``"label"`` (shape (N,): the class with the largest probability, the first on a
    tie, as ``predict``; text labels as strings, whole-number labels as int64, other numbers as
    double, booleans as bool; a multilabel estimator's ``"label"`` is its (N, n_labels) 0/1
    indicator matrix as int64). Regressors: ``"predictions"``. A bare network: ``"output"``.

    **Metadata** (``metadata_props``, every value a string, JSON where it is a structure; onnxruntime
    reads them as ``session.get_modelmeta().custom_metadata_map``):

    ``deltaprop_version``; ``task`` ("classification" or "regression"; absent for a bare network);
    ``classes`` (JSON list, classifiers); ``feature_names`` (JSON list of the network inputs' names,
    where known); ``columns`` (JSON, :meth:`deltaprop.preprocess.Columns.to_record`, models trained
    on a table); ``inputs`` (JSON list, one entry per graph input: ``name``, ``type``, ``shape``, and
    ``column`` with ``kind`` for a table column, or ``features`` for the matrix); ``outputs`` (JSON
    list of the output names); ``input_scaling`` (JSON: ``{"method": "standardise", "formula":
    ..., "mean": [...], "scale": [...]}`` in the order of ``feature_names``, or ``{"method":
    "none"}``); ``target_scaling`` (JSON, regression models that learned standardised targets).

    Raises
    ------
    ImportError
        If the ``onnx`` package is missing (``pip install 'deltaprop[onnx]'``).
    ValueError
        For an activation with no ONNX operator (a user-registered one), class labels of mixed or
        unusual types, a text column with the empty text as a category (``inputs="columns"``: it
        could not be told from a missing cell), or options out of range.

    Examples
    --------
    >>> import deltaprop as dp
    >>> net = dp.Network.layered([4, 8, 3], output="softmax", cost="cross_entropy", seed=0)
    >>> dp.export_onnx(net, "net.onnx")  # doctest: +SKIP
    'float32'
    """
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        raise ImportError("ONNX export needs the onnx package: pip install 'deltaprop[onnx]' (or pip install onnx)") from None
    if opset < 13:
        raise ValueError(f"opset must be >= 13, got {opset}")
    if input_dtype not in ("auto", "float32", "float64"):
        raise ValueError(f"input_dtype must be 'auto', 'float32' or 'float64', got {input_dtype!r}")
    layout = input_layout(model, inputs=inputs)
    src = _resolve(model)
    net, mean, scale, post, out_name = src.network, src.mean, src.scale, src.post, src.out_name
    for j, act in enumerate(net.layout.activations[1:], start=1):
        if act.onnx is None:  # each activation says its ONNX operator, or that it has none
            raise ValueError(f"block {j}: activation {act.name!r} has no ONNX operator; register it with "
                             "onnx=(op_type, attributes) to export it")
    for col in src.columns.columns if src.columns is not None and layout == "columns" else ():
        if col.kind == "category" and "" in col.categories:
            raise ValueError(f"column {col.name!r}: the empty text is one of its categories, so its ONNX string input could "
                             "not tell it from a missing cell; export with inputs='matrix' (the encoded inputs)")
    labels = None
    if src.label == "argmax":
        n_scores = 2 if post is not None and post[0] == "binary" else net.n_outputs
        if len(src.classes) != n_scores:
            raise ValueError(f"the model lists {len(src.classes)} classes but its network gives {n_scores} class scores")
        labels = _label_tensor(src.classes)

    nodes, inits = [], []

    def const(name, value, dtype=np.float32):
        inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    precision = input_precision(mean, scale) if input_dtype == "auto" else input_dtype
    real = np.float64 if precision == "float64" else np.float32
    real_type = TensorProto.DOUBLE if precision == "float64" else TensorProto.FLOAT

    # --- the table's columns -> the network's inputs, before scaling -------------------------------------
    columns = src.columns
    placeholders = {}  # placeholder name -> the table column it stands for (renamed once every name is known)
    if layout == "columns":
        parts = []
        if any(col.kind == "category" for col in columns.columns):
            const("squeeze_axis_1", [1], np.int64)
        for i, col in enumerate(columns.columns):
            x = f"column_{i}"
            placeholders[x] = col
            if col.kind == "number":
                if col.fill is not None:  # a missing number becomes the training rows' statistic
                    nodes.append(helper.make_node("IsNaN", [x], [f"{x}_missing"]))
                    nodes.append(helper.make_node("Where", [f"{x}_missing", const(f"{x}_fill", [[col.fill]], real), x],
                                                  [f"{x}_filled"]))
                    x = f"{x}_filled"
                parts.append(x)
                continue
            # one input per category; an unseen category and "" (a missing cell) are all zeros
            nodes.append(helper.make_node("OneHotEncoder", [x], [f"{x}_onehot3d"], domain="ai.onnx.ml",
                                          cats_strings=list(col.categories), zeros=1))
            nodes.append(helper.make_node("Squeeze", [f"{x}_onehot3d", "squeeze_axis_1"], [f"{x}_onehot"]))  # (N, 1, C)
            x = f"{x}_onehot"
            if real is np.float64:
                nodes.append(helper.make_node("Cast", [x], [f"{x}64"], to=TensorProto.DOUBLE))
                x = f"{x}64"
            parts.append(x)
        nodes.append(helper.make_node("Concat", parts, ["encoded"], axis=1))
        x = "encoded"
    else:
        x = "input"
        fills = np.zeros(net.n_inputs)
        filled = np.zeros(net.n_inputs, dtype=bool)
        j = 0
        for col in columns.columns if columns is not None else ():
            if col.kind == "number" and col.fill is not None:
                fills[j], filled[j] = col.fill, True
            j += len(col.input_names)
        if filled.any():  # the encoded inputs as predict takes them: a number column's NaN becomes its fill
            nodes.append(helper.make_node("IsNaN", [x], ["input_nan"]))
            nodes.append(helper.make_node("And", ["input_nan", const("input_has_fill", filled[None, :], bool)],
                                          ["input_missing"]))
            nodes.append(helper.make_node("Where", ["input_missing", const("input_fill", fills[None, :], real), x],
                                          ["input_filled"]))
            x = "input_filled"

    # --- input scaling and the network ----------------------------------------------------------------------
    a = [None] * len(net.blocks)
    Ws = [np.asarray(W, dtype=np.float64) for W in net.W]
    bs = [np.asarray(b, dtype=np.float64) for b in net.b]
    if precision == "float64":  # standardise in float64, then the network in float32
        if mean is not None:
            const("input_mean", mean, np.float64)
            const("input_scale", scale, np.float64)
            nodes.append(helper.make_node("Sub", [x, "input_mean"], ["centred"]))
            nodes.append(helper.make_node("Div", ["centred", "input_scale"], ["scaled64"]))
            x = "scaled64"
        nodes.append(helper.make_node("Cast", [x], ["scaled"], to=TensorProto.FLOAT))
        a[0] = "scaled"
    else:
        a[0] = x
        if mean is not None:
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
        const("h_columns", np.argsort(order), np.int64)
        nodes.append(helper.make_node("Gather", ["h_blocks", "h_columns"], ["h"], axis=1))
        h = "h"

    # --- outputs -------------------------------------------------------------------------------------------
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
        const("flat_shape", [-1], np.int64)
        nodes.append(helper.make_node("Reshape", [h, "flat_shape"], [out_name]))
        out_shape = ["N"]
    else:
        nodes.append(helper.make_node("Identity", [h], [out_name]))
    outputs = [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, out_shape)]
    if labels is not None:  # predict's argmax: the first of equal probabilities, as NumPy's
        values, label_type = labels
        inits.append(numpy_helper.from_array(values, "class_labels"))
        nodes.append(helper.make_node("ArgMax", [out_name], ["label_index"], axis=1, keepdims=0))
        nodes.append(helper.make_node("Gather", ["class_labels", "label_index"], ["label"], axis=0))
        outputs.append(helper.make_tensor_value_info("label", label_type, ["N"]))
    elif src.label == "indicator":  # a multilabel estimator's predict: h > 0.5, as 0/1
        nodes.append(helper.make_node("Greater", [out_name, const("half", 0.5)], ["label_on"]))
        nodes.append(helper.make_node("Cast", ["label_on"], ["label"], to=TensorProto.INT64))
        outputs.append(helper.make_tensor_value_info("label", TensorProto.INT64, out_shape))

    # --- graph inputs: the table's column names, unless the graph already uses one ----------------------------
    graph_inputs, input_meta = [], []
    if layout == "columns":
        taken = {t.name for t in inits} | {o for n in nodes for o in n.output}
        rename = {}
        for placeholder, col in placeholders.items():
            name, k = col.name, 0
            while name in taken:
                k += 1
                name = f"{col.name}_{k}"
            taken.add(name)
            rename[placeholder] = name
            number = col.kind == "number"
            graph_inputs.append(helper.make_tensor_value_info(name, real_type if number else TensorProto.STRING, ["N", 1]))
            input_meta.append({"name": name, "column": col.name, "kind": col.kind,
                               "type": precision if number else "string", "shape": ["N", 1]})
        for node in nodes:
            for i, name in enumerate(node.input):
                if name in rename:
                    node.input[i] = rename[name]
    else:
        graph_inputs.append(helper.make_tensor_value_info("input", real_type, ["N", net.n_inputs]))
        input_meta.append({"name": "input", "type": precision, "shape": ["N", net.n_inputs]}
                          | ({"features": list(src.feature_names)} if src.feature_names else {}))

    graph = helper.make_graph(nodes, "deltaprop", graph_inputs, outputs, initializer=inits)
    from .version import __version__

    opsets = [helper.make_opsetid("", opset)]
    if any(n.domain == "ai.onnx.ml" for n in nodes):
        opsets.append(helper.make_opsetid("ai.onnx.ml", ML_OPSET))
    onnx_model = helper.make_model(graph, producer_name="deltaprop", producer_version=__version__, opset_imports=opsets,
                                   doc_string="trained by backpropagation as UFLDL's tutorial and AIMA's textbook teach it")
    onnx_model.ir_version = IR_VERSION
    helper.set_model_props(onnx_model, _metadata(src, __version__, input_meta, [o.name for o in outputs]))
    onnx.checker.check_model(onnx_model, full_check=True)
    atomic_write_bytes(path, onnx_model.SerializeToString())
    return precision


def _metadata(src: _Source, version: str, inputs: list, outputs: list) -> dict:
    """The ``metadata_props`` entries: strings, JSON where the value is a structure."""

    def js(value):
        return json.dumps(value, ensure_ascii=False, allow_nan=False)

    def floats(v):
        return [float(x) for x in np.asarray(v, dtype=np.float64).ravel()]

    meta = {"deltaprop_version": version}
    if src.task is not None:
        meta["task"] = src.task
    if src.classes is not None:
        meta["classes"] = js(src.classes)
    if src.feature_names:
        meta["feature_names"] = js([str(n) for n in src.feature_names])
    if src.columns is not None:
        meta["columns"] = js(src.columns.to_record())
    meta["inputs"] = js(inputs)
    meta["outputs"] = js(outputs)
    if src.mean is None:
        meta["input_scaling"] = js({"method": "none"})
    else:
        meta["input_scaling"] = js({"method": "standardise",
                                    "formula": "x' = (x - mean) / scale, per network input, inside the graph after "
                                               "the columns are encoded",
                                    "mean": floats(src.mean), "scale": floats(src.scale)})
    if src.post is not None and src.post[0] == "unscale":
        meta["target_scaling"] = js({"method": "standardise",
                                     "formula": "prediction = h * scale + mean, inside the graph",
                                     "mean": floats(src.post[1]), "scale": floats(src.post[2])})
    return meta

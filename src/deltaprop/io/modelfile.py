"""Model files and checkpoints: safetensors for the numbers, JSON metadata for the rest. No pickle.

One file holds the tensors (``W.e`` and ``b.l`` parallel to ``net.W``/``net.b``, the
connectivity masks ``mask.e`` and ``bias_mask.l`` where a network has them, the input
scaling ``input.mean``/``input.scale`` of a model, the training state ``train.*`` of a
checkpoint) and, under the metadata key ``deltaprop``, one JSON record:
``format``, ``format_version``, ``deltaprop_version``, ``kind`` and the kind's fields.

Loading trusts nothing: the header's size is checked against the file before it is
parsed, the record's fields and types are checked, every tensor's name, dtype and
shape is checked against the architecture before anything is allocated, and every
value must be finite. Anything else is a :class:`FileFormatError` naming the file.
"""

from __future__ import annotations

import json
import math
import os
import struct

import numpy as np

from . import schema
from .atomic import atomic_write_bytes, is_regular_file

__all__ = ["FileFormatError", "save", "load", "save_checkpoint", "load_checkpoint", "newest_checkpoint"]

FORMAT = "deltaprop"
FORMAT_VERSION = 1
MAX_HEADER_BYTES = 16 * 2**20
MAX_UNITS = 10**7
MAX_BLOCKS = 10**5

_FIELDS = {
    "network": {"network"},
    "model": {"network", "model"},
    "checkpoint": {"network", "model", "training", "config"},
}
_COMMON = {"format", "format_version", "deltaprop_version", "kind", "checksum"}

# Record kinds that a face above this layer adds (the scikit-learn estimators' "estimator"):
# kind -> (the type it stores, record(obj) -> (tensors, fields), build(fields, net, path) -> obj,
# to_model(obj) -> Model or None). A kind can also be declared before its face is imported,
# with a loader that imports it on first use.
_KINDS: dict = {}
_LAZY: dict = {}


def register_kind(kind: str, *, fields: set, stores: type, record, build, to_model=None) -> None:
    """Let :func:`save`/:func:`load` handle another kind of object.

    Parameters
    ----------
    kind : str
        The ``kind`` written in the file.
    fields : set of str
        The record's fields besides the common ones (``"network"`` among them).
    stores : type
        Objects of this type are saved as this kind.
    record : callable(obj) -> (tensors dict, fields dict)
    build : callable(fields dict, Network, path) -> obj
        Raises ValueError, TypeError or KeyError for a malformed record (reported as a
        :class:`FileFormatError` naming the file).
    to_model : callable(obj) -> Model or None, optional
        How the command line uses such an object as a :class:`deltaprop.Model`.
    """
    if kind in ("network", "model", "checkpoint"):
        raise ValueError(f"record kind {kind!r} is built in")
    _FIELDS[kind] = set(fields)
    _KINDS[kind] = (stores, record, build, to_model)


def declare_kind(kind: str, fields: set, importer) -> None:
    """Name a kind whose :func:`register_kind` happens when ``importer()`` is first called."""
    _FIELDS.setdefault(kind, set(fields))
    _LAZY[kind] = importer


def _kind_handlers(kind: str):
    if kind not in _KINDS and kind in _LAZY:
        _LAZY[kind]()  # imports the face that registers it
    return _KINDS.get(kind)


def as_model(obj):
    """A :class:`deltaprop.Model` for a loaded object, or None (a Network gives None)."""
    from ..model import Model

    if isinstance(obj, Model):
        return obj
    for stores, _, _, to_model in list(_KINDS.values()):
        if isinstance(obj, stores) and to_model is not None:
            return to_model(obj)
    return None


def _checksum(record: dict, tensors: dict) -> str:
    """sha256 over the record (without its checksum) and every tensor's name, dtype, shape and bytes."""
    import hashlib

    h = hashlib.sha256()
    body = {k: v for k, v in record.items() if k != "checksum"}
    h.update(json.dumps(body, sort_keys=True, allow_nan=False, default=_json_default).encode())
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name])
        h.update(f"{name}|{arr.dtype.str}|{arr.shape}".encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def checksum(record: dict, tensors: dict) -> str:
    """The checksum a file's record carries: sha256 over the record (without its checksum) and
    every tensor's name, dtype, shape and bytes."""
    return _checksum(record, tensors)


class FileFormatError(ValueError):
    """A model or checkpoint file that cannot be used; the message names the file and the problem."""


def _version() -> str:
    from ..version import __version__

    return __version__


# --- network <-> tensors and record ---------------------------------------------------------


def _network_record(net) -> tuple[dict, dict]:
    tensors = {}
    for e, W in enumerate(net.W):
        tensors[f"W.{e}"] = np.ascontiguousarray(W)
        if net.edges[e].mask is not None:
            tensors[f"mask.{e}"] = net.edges[e].mask
    for l, b in enumerate(net.b):
        tensors[f"b.{l}"] = np.ascontiguousarray(b)
        if net.blocks[l + 1].bias is not None:
            tensors[f"bias_mask.{l}"] = net.blocks[l + 1].bias
    record = {
        "blocks": [{"units": int(b.units), "activation": b.activation, "bias_mask": b.bias is not None}
                   for b in net.blocks],
        "edges": [{"source": e.source, "target": e.target, "mask": e.mask is not None} for e in net.edges],
        "outputs": [int(j) for j, _ in net.layout.outputs],
        "output_columns": [list(range(c.start, c.stop)) if isinstance(c, slice) else [int(i) for i in c]
                           for _, c in net.layout.outputs],
        "cost": net.cost.name,
        "weight_decay": net.weight_decay,
        "l1": net.l1,
        "dtype": net.dtype.name,
        "graph": net.graph_spec,
    }
    return tensors, record


def _need(cond, path, message):
    if not cond:
        raise FileFormatError(f"{path}: {message}")


def _is_int(v, lo, hi):
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def _expected_network_tensors(rec, path) -> dict:
    """Names -> (dtype code, shape) implied by a network record, checked for sanity first."""
    _need(isinstance(rec, dict), path, "the 'network' field must be an object")
    keys = {"blocks", "edges", "outputs", "output_columns", "cost", "weight_decay", "l1", "dtype", "graph"}
    _need(set(rec) == keys, path, f"the network record has fields {sorted(rec)}, expected {sorted(keys)}")
    blocks, edges = rec["blocks"], rec["edges"]
    _need(isinstance(blocks, list) and 2 <= len(blocks) <= MAX_BLOCKS, path, "the network needs 2 or more blocks")
    _need(rec["dtype"] in ("float32", "float64"), path, f"dtype must be float32 or float64, got {rec['dtype']!r}")
    for j, b in enumerate(blocks):
        _need(isinstance(b, dict) and set(b) == {"units", "activation", "bias_mask"}, path, f"block {j} is malformed")
        _need(_is_int(b["units"], 1, MAX_UNITS), path, f"block {j} has {b['units']!r} units")
        _need((b["activation"] is None) == (j == 0) and (j == 0 or isinstance(b["activation"], str)), path,
              f"block {j} has activation {b['activation']!r}")
        _need(isinstance(b["bias_mask"], bool) and not (j == 0 and b["bias_mask"]), path, f"block {j} bias_mask")
    _need(isinstance(edges, list) and len(edges) >= len(blocks) - 1, path, "the edges are missing")
    dt = "F32" if rec["dtype"] == "float32" else "F64"
    expected = {}
    n = len(blocks)
    for e, edge in enumerate(edges):
        _need(isinstance(edge, dict) and set(edge) == {"source", "target", "mask"}, path, f"edge {e} is malformed")
        s, t = edge["source"], edge["target"]
        _need(_is_int(s, 0, n - 1) and _is_int(t, 1, n - 1) and s < t, path, f"edge {e} joins blocks {s!r} -> {t!r}")
        shape = (blocks[t]["units"], blocks[s]["units"])
        expected[f"W.{e}"] = (dt, shape)
        if edge["mask"] is True:
            expected[f"mask.{e}"] = ("BOOL", shape)
    for l, b in enumerate(blocks[1:]):
        expected[f"b.{l}"] = (dt, (b["units"],))
        if b["bias_mask"]:
            expected[f"bias_mask.{l}"] = ("BOOL", (b["units"],))
    return expected


def _build_network(rec, tensors, path):
    from ..core import Block, Edge, Graph, Network, available_activations, available_costs

    unknown = sorted({b["activation"] for b in rec["blocks"][1:]} - set(available_activations()))
    _need(not unknown, path, f"unknown activation {', '.join(map(repr, unknown))}; a user-defined activation "
          "must be registered (dp.register_activation) before loading")
    _need(isinstance(rec["cost"], str) and rec["cost"] in available_costs(), path,
          f"unknown cost {rec['cost']!r}; expected one of {', '.join(available_costs())}")
    try:
        if rec["graph"] is not None:
            net = Graph.from_spec(rec["graph"]).compile(
                cost=rec["cost"], weight_decay=rec["weight_decay"], l1=rec["l1"], dtype=rec["dtype"], seed=0)
            same = len(net.blocks) == len(rec["blocks"]) and all(
                b.units == r["units"] and b.activation == r["activation"] for b, r in zip(net.blocks, rec["blocks"]))
            same = same and [(e.source, e.target) for e in net.edges] == [
                (e["source"], e["target"]) for e in rec["edges"]]
            _need(same, path, "the unit graph does not compile to the blocks stored in the file")
            for e, edge in enumerate(net.edges):
                stored = tensors.get(f"mask.{e}")
                ours = edge.mask
                _need((stored is None and ours is None) or (stored is not None and ours is not None
                                                            and np.array_equal(stored, ours)),
                      path, f"mask.{e} does not match the unit graph's edges")
        else:
            blocks = [Block(r["units"], r["activation"], tensors.get(f"bias_mask.{j - 1}") if j else None)
                      for j, r in enumerate(rec["blocks"])]
            edges = [Edge(r["source"], r["target"], tensors.get(f"mask.{e}")) for e, r in enumerate(rec["edges"])]
            net = Network(blocks, edges, rec["outputs"], output_columns=rec["output_columns"], cost=rec["cost"],
                          weight_decay=rec["weight_decay"], l1=rec["l1"], dtype=rec["dtype"], seed=0)
    except FileFormatError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise FileFormatError(f"{path}: the architecture in the file is invalid: {exc}") from None
    for e in range(len(net.W)):
        net.W[e][...] = tensors[f"W.{e}"]
    for l in range(len(net.b)):
        net.b[l][...] = tensors[f"b.{l}"]
    _need(np.all(net.params[~net.free] == 0), path, "a weight or bias is set where its mask says none exists")
    return net


# --- model <-> tensors and record ---------------------------------------------------------------------


def _model_record(model) -> tuple[dict, dict]:
    tensors = {}
    if model.scaler is not None:
        tensors["input.mean"] = np.asarray(model.scaler.mean, dtype=np.float64)
        tensors["input.scale"] = np.asarray(model.scaler.scale, dtype=np.float64)
    if model.target_scaler is not None:
        tensors["target.mean"] = np.asarray(model.target_scaler.mean, dtype=np.float64)
        tensors["target.scale"] = np.asarray(model.target_scaler.scale, dtype=np.float64)
    record = {
        "task": model.task,
        "classes": model.classes,
        "feature_names": model.feature_names,
        "target_names": model.target_names,
        "scaling": model.scaler is not None,
        "target_scaling": model.target_scaler is not None,
        "settings": model.settings,
        "metrics": model.metrics,
        "history": None if model.history is None else model.history.to_dict(),
    }
    if getattr(model, "columns", None) is not None:
        record["columns"] = model.columns.to_record()
    return tensors, record


def _check_model_record(rec, n_inputs, n_outputs, path) -> dict:
    keys = {"task", "classes", "feature_names", "target_names", "scaling", "target_scaling", "settings", "metrics",
            "history"}
    _need(isinstance(rec, dict) and set(rec) - {"columns"} == keys, path,
          f"the model record has fields {sorted(rec) if isinstance(rec, dict) else rec!r}, expected {sorted(keys)}")
    _need(rec["task"] in ("classification", "regression"), path, f"unknown task {rec['task']!r}")
    if rec["task"] == "classification":
        classes = rec["classes"]
        _need(isinstance(classes, list) and (len(classes) == n_outputs or (n_outputs == 1 and len(classes) == 2)),
              path, f"a classifier with {n_outputs} outputs needs {max(n_outputs, 2)} class labels")
        _need(all(isinstance(c, (str, int, float)) and not isinstance(c, bool) for c in classes)
              and len(set(classes)) == len(classes), path, "class labels must be distinct strings or numbers")
    names = rec["feature_names"]
    _need(names is None or (isinstance(names, list) and len(names) == n_inputs
                            and all(isinstance(n, str) for n in names)),
          path, f"feature_names must list {n_inputs} strings")
    _need(rec["target_names"] is None or (isinstance(rec["target_names"], list)
                                          and all(isinstance(n, str) for n in rec["target_names"])),
          path, "target_names must be a list of strings")
    _need(isinstance(rec["scaling"], bool) and isinstance(rec["target_scaling"], bool), path,
          "scaling and target_scaling must be true or false")
    _need(not (rec["target_scaling"] and rec["task"] != "regression"), path, "target_scaling is for regression only")
    _need(isinstance(rec["settings"], dict) and isinstance(rec["metrics"], dict), path,
          "settings and metrics must be objects")
    _need(rec["history"] is None or (isinstance(rec["history"], dict) and isinstance(rec["history"].get("records"),
                                                                                      list)),
          path, "history is malformed")
    expected = {}
    if rec["scaling"]:
        expected.update({"input.mean": ("F64", (n_inputs,)), "input.scale": ("F64", (n_inputs,))})
    if rec["target_scaling"]:
        expected.update({"target.mean": ("F64", (n_outputs,)), "target.scale": ("F64", (n_outputs,))})
    return expected


def _build_model(rec, tensors, net, path):
    from ..model import Model, Scaler
    from ..train import History

    scaler = None
    if rec["scaling"]:
        scale = tensors["input.scale"]
        _need(np.all(scale > 0), path, "input.scale must be positive")
        scaler = Scaler(tensors["input.mean"], scale)
    target_scaler = None
    if rec["target_scaling"]:
        _need(np.all(tensors["target.scale"] > 0), path, "target.scale must be positive")
        target_scaler = Scaler(tensors["target.mean"], tensors["target.scale"])
    columns = None
    if rec.get("columns") is not None:
        from ..preprocess import Columns

        try:
            columns = Columns.from_record(rec["columns"])
        except (ValueError, KeyError, TypeError) as exc:
            raise FileFormatError(f"{path}: the model's columns are invalid: {exc}") from None
        _need(len(columns.input_names) == net.n_inputs, path,
              f"the columns make {len(columns.input_names)} inputs but the network has {net.n_inputs}")
    return Model(net, rec["task"], rec["classes"], rec["feature_names"], rec["target_names"], scaler,
                 rec["settings"], rec["metrics"], None if rec["history"] is None else History.from_dict(rec["history"]),
                 target_scaler, columns)


# --- writing ----------------------------------------------------------------------------------------------


def _encode(kind: str, tensors: dict, fields: dict) -> bytes:
    from safetensors.numpy import save as st_save

    for name, arr in tensors.items():  # never write a file that load() would refuse
        arr = np.asarray(arr)
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise ValueError(f"refusing to write a model that could not be loaded back: tensor {name} contains "
                             "NaN or infinite values")
    for name in ("input.scale", "target.scale"):
        if name in tensors and not (np.asarray(tensors[name]) > 0).all():
            raise ValueError(f"refusing to write a model that could not be loaded back: {name} must be positive")

    record = {"format": FORMAT, "format_version": FORMAT_VERSION, "deltaprop_version": _version(), "kind": kind}
    record.update(fields)
    record = json.loads(json.dumps(record, allow_nan=False, default=_json_default))  # exactly what is stored
    record["checksum"] = _checksum(record, tensors)
    text = json.dumps(record, allow_nan=False)
    return st_save({k: np.ascontiguousarray(v) for k, v in tensors.items()}, metadata={"deltaprop": text})


def _json_default(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    raise TypeError(f"cannot store {type(v).__name__} in a model file")


def network_record(net) -> tuple[dict, dict]:
    """``(tensors, record)`` of a network, for a record kind that stores one."""
    return _network_record(net)


def clean(value):
    """JSON-safe copy: non-finite floats become None (the JSON standard has no NaN)."""
    return _clean(value)


def _record_of(obj) -> tuple[str, dict, dict]:
    from ..core import Network
    from ..model import Model

    if isinstance(obj, Network):
        tensors, rec = _network_record(obj)
        return "network", tensors, {"network": rec}
    if isinstance(obj, Model):
        tensors, rec = _network_record(obj.network)
        mt, mrec = _model_record(obj)
        tensors.update(mt)
        return "model", tensors, {"network": rec, "model": _clean(mrec)}
    for kind, (stores, record, _, _) in list(_KINDS.items()):
        if isinstance(obj, stores):
            tensors, fields = record(obj)
            return kind, tensors, fields
    raise ValueError(f"dp.save stores a Network, a Model or a deltaprop estimator, got {type(obj).__name__}")


def _clean(value):
    """JSON-safe copy: non-finite floats become None (the JSON standard has no NaN)."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.generic):
        return value.item()
    return value


def save(obj, path: str | os.PathLike) -> None:
    """Write a Network, Model or fitted deltaprop estimator to ``path`` (safetensors, atomically).

    Examples
    --------
    >>> import os, tempfile, deltaprop as dp
    >>> net = dp.Network.layered([2, 3, 1], seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "net.safetensors")
    >>> dp.save(net, path)
    >>> bool((dp.load(path).params == net.params).all())
    True
    """
    kind, tensors, fields = _record_of(obj)
    atomic_write_bytes(path, _encode(kind, tensors, fields))


# --- reading -----------------------------------------------------------------------------------------------


def read_header(path) -> tuple[dict, dict, str]:
    """``(record, tensor specs, path)`` of a deltaprop file, checked, without reading any tensor."""
    return _open(path)


def _open(path) -> tuple[dict, dict, dict]:
    """(record, tensor specs, reader) after the checks that need no allocation."""
    from safetensors import SafetensorError, safe_open

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    if os.path.isdir(path):
        raise FileFormatError(f"{path}: is a folder, expected a model file")
    if not is_regular_file(path):  # a FIFO would block the read forever, a device never ends
        raise FileFormatError(f"{path}: is not a regular file (a pipe, device or socket); expected a model file")
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
    _need(len(head) == 8, path, f"not a deltaprop model file: {size} bytes is too short for a safetensors header")
    (n,) = struct.unpack("<Q", head)
    _need(n <= MAX_HEADER_BYTES and 8 + n <= size, path,
          f"not a deltaprop model file: its header claims {n} bytes in a file of {size}")
    try:
        with safe_open(path, framework="np") as f:
            meta = f.metadata() or {}
            specs = {k: (f.get_slice(k).get_dtype(), tuple(f.get_slice(k).get_shape())) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise FileFormatError(f"{path}: not a valid safetensors file ({exc})") from None
    _need("deltaprop" in meta, path, "a safetensors file, but not a deltaprop model (no 'deltaprop' metadata)")
    try:
        record = schema.parse_json(meta["deltaprop"])
    except schema.RecordError as exc:
        raise FileFormatError(f"{path}: the deltaprop metadata is not usable JSON: {exc}") from None
    _need(isinstance(record, dict), path, "the deltaprop metadata must be a JSON object")
    _need(record.get("format") == FORMAT, path, f"format is {record.get('format')!r}, expected 'deltaprop'")
    version = record.get("format_version")
    _need(version == FORMAT_VERSION, path,
          f"format_version {version!r} is not one this deltaprop ({_version()}) reads (it reads {FORMAT_VERSION})")
    kind = record.get("kind")
    _need(kind in _FIELDS, path, f"unknown kind {kind!r}; expected one of {sorted(_FIELDS)}")
    want = _COMMON | _FIELDS[kind]
    missing, unknown = want - set(record), set(record) - want
    _need(not missing, path, f"missing metadata field(s): {', '.join(sorted(missing))}")
    _need(not unknown, path, f"unknown metadata field(s): {', '.join(sorted(unknown))}")
    return record, specs, path


def _read_tensors(path, specs: dict, expected: dict, record: dict, extra_prefix: str | None = None) -> dict:
    """Check names, dtypes and shapes against ``expected``, then read, verify the checksum,
    and check finiteness."""
    from safetensors import safe_open

    names = set(specs)
    free = {k for k in names if extra_prefix and k.startswith(extra_prefix)}
    missing = sorted(set(expected) - names)
    unknown = sorted(names - set(expected) - free)
    _need(not missing, path, f"missing tensor(s): {', '.join(missing[:5])}")
    _need(not unknown, path, f"unexpected tensor(s): {', '.join(unknown[:5])}")
    for name, (dtype, shape) in expected.items():
        got = specs[name]
        _need(got == (dtype, shape), path,
              f"tensor {name} has dtype {got[0]} and shape {list(got[1])}, expected {dtype} and {list(shape)}")
    tensors = {}
    with safe_open(path, framework="np") as f:
        for name in expected.keys() | free:
            tensors[name] = f.get_tensor(name)
    _need(record.get("checksum") == _checksum(record, tensors), path,
          "the file is damaged: its checksum does not match its contents")
    for name, arr in tensors.items():
        if arr.dtype.kind == "f":
            _need(np.isfinite(arr).all(), path, f"tensor {name} contains NaN or infinite values")
    return tensors


def _check_schema(record, path) -> None:
    """The whole record against its declared schema (every field, every range, every name)."""
    from ..core import available_activations, available_costs
    from ..train import available_optimizers, schedules
    from ..train.state import BIT_GENERATORS

    kind = record["kind"]
    known = kind in ("network", "model", "checkpoint", "estimator")
    declared = schema.record_schema(kind if known else "network", activations=available_activations(),
                                    costs=available_costs(), optimizers=available_optimizers(),
                                    schedules=schedules.available_schedules(), generators=list(BIT_GENERATORS))
    if not known:  # a kind a face registered: its own fields are its to check
        declared = dict(declared, required=[k for k in declared["required"] if k != "kind"],
                        additionalProperties=True, properties={k: v for k, v in declared["properties"].items()
                                                               if k != "kind"})
    try:
        schema.validate(record, declared)
    except schema.RecordError as exc:
        raise FileFormatError(f"{path}: {exc}") from None


def _load_network_and_model(record, specs, path, extra_prefix=None):
    expected = _expected_network_tensors(record["network"], path)
    _check_schema(record, path)
    rec_model = record.get("model")
    if rec_model is not None:
        blocks = record["network"]["blocks"]
        n_in = blocks[0]["units"]
        outs = record["network"]["outputs"]
        _need(isinstance(outs, list) and all(_is_int(o, 1, len(blocks) - 1) for o in outs), path, "bad outputs")
        n_out = sum(blocks[o]["units"] for o in outs)
        expected.update(_check_model_record(rec_model, n_in, n_out, path))
    tensors = _read_tensors(path, specs, expected, record, extra_prefix)
    net = _build_network(record["network"], tensors, path)
    model = _build_model(rec_model, tensors, net, path) if rec_model is not None else None
    return net, model, tensors


def load(path: str | os.PathLike):
    """Read a file written by :func:`save`: a Network, a Model or a fitted estimator.

    Raises
    ------
    FileNotFoundError
        If there is no file.
    FileFormatError
        (a ValueError) for anything that is not a valid deltaprop model file; nothing
        in the file is ever executed.
    """
    record, specs, path = _open(path)
    kind = record["kind"]
    if kind == "checkpoint":
        raise FileFormatError(f"{path}: is a training checkpoint; load it with deltaprop.io.load_checkpoint")
    if kind not in ("network", "model"):
        handlers = _kind_handlers(kind)
        _need(handlers is not None, path, f"a {kind!r} file needs the part of deltaprop that writes it")
        net, _, _ = _load_network_and_model(record, specs, path)
        try:
            return handlers[2]({k: record[k] for k in _FIELDS[kind]}, net, path)
        except FileFormatError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise FileFormatError(f"{path}: the {kind} record is invalid ({type(exc).__name__}: {exc})") from None
    net, model, _ = _load_network_and_model(record, specs, path)
    return net if kind == "network" else model


# --- checkpoints ----------------------------------------------------------------------------------------------

CHECKPOINT_PREFIX = "checkpoint-"
CHECKPOINT_SUFFIX = ".safetensors"


def save_checkpoint(directory, model, config: dict, *, keep: int = 2) -> str:
    """Write ``model`` and its network's training state as ``checkpoint-EEEEEE.safetensors``.

    The new file is complete (written atomically) before older checkpoints beyond the
    newest ``keep`` are removed. Returns the new file's path.
    """
    from ..train import capture_state

    net = model.network
    state = capture_state(net)
    arrays = {f"train.{k}": v for k, v in state["arrays"].items() if k != "params"}
    tensors, rec = _network_record(net)
    mt, mrec = _model_record(model)
    tensors.update(mt)
    tensors.update(arrays)
    fields = {"network": rec, "model": _clean(mrec), "training": _clean(state["meta"]), "config": _clean(config)}
    epoch = int(state["meta"].get("epoch", 0))
    pending = state["meta"].get("pending")
    tag = f"{epoch:06d}" + (f"-{pending['step']:06d}" if pending else "")
    path = os.path.join(os.fspath(directory), f"{CHECKPOINT_PREFIX}{tag}{CHECKPOINT_SUFFIX}")
    atomic_write_bytes(path, _encode("checkpoint", tensors, fields))
    for old in _checkpoint_files(directory)[:-keep]:
        try:
            os.unlink(old)
        except OSError:
            pass
    return path


def load_checkpoint(path) -> tuple:
    """Read a checkpoint: returns ``(model, config)`` with the training state restored on
    ``model.network.training_state``."""
    from ..train import restore_state

    record, specs, path = _open(path)
    _need(record["kind"] == "checkpoint", path, f"is a {record['kind']} file, not a training checkpoint")
    net, model, tensors = _load_network_and_model(record, specs, path, extra_prefix="train.")
    arrays = {k[len("train."):]: v for k, v in tensors.items() if k.startswith("train.")}
    arrays["params"] = net.params.copy()
    training = record["training"]
    _need(isinstance(training, dict) and isinstance(training.get("epoch"), int), path, "the training record is malformed")
    try:
        restore_state(net, {"arrays": arrays, "meta": training})
    except (KeyError, ValueError, TypeError, AttributeError, OverflowError) as exc:
        raise FileFormatError(f"{path}: the training state is invalid ({type(exc).__name__}: {exc})") from None
    model.history = net.training_state.history if net.training_state is not None else model.history
    return model, record["config"]


def remove_stale_temporaries(directory) -> int:
    """Delete ``.tmp-*.part`` files a killed write left in ``directory``; returns how many."""
    directory = os.fspath(directory)
    removed = 0
    if os.path.isdir(directory):
        for name in os.listdir(directory):
            if name.startswith(".tmp-") and name.endswith(".part"):
                try:
                    os.unlink(os.path.join(directory, name))
                    removed += 1
                except OSError:
                    pass
    return removed


def checkpoint_position(path) -> tuple[int, int] | None:
    """(epochs done, steps done in the next epoch) that a checkpoint records inside, or None
    when its header cannot be read. Checkpoints are ordered by this, never by file name."""
    try:
        record, _, _ = _open(path)
        training = record.get("training") if record.get("kind") == "checkpoint" else None
        epoch = training.get("epoch") if isinstance(training, dict) else None
        pending = training.get("pending") if isinstance(training, dict) else None
        step = pending.get("step", 0) if isinstance(pending, dict) else 0
        if isinstance(epoch, int) and isinstance(step, int) and epoch >= 0 and step >= 0:
            return epoch, step
    except (FileFormatError, OSError):
        pass
    return None


def _checkpoint_files(directory) -> list:
    """The checkpoint files of ``directory``, oldest first by the (epoch, step) inside them;
    files whose header cannot be read come first (the oldest: pruned first, resumed last)."""
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        return []
    paths = [os.path.join(directory, n) for n in os.listdir(directory)
             if n.startswith(CHECKPOINT_PREFIX) and n.endswith(CHECKPOINT_SUFFIX)]
    keyed = []
    for path in paths:
        pos = checkpoint_position(path)
        keyed.append(((0, 0, 0) if pos is None else (1, *pos), os.path.basename(path), path))
    return [path for _, _, path in sorted(keyed)]


def checkpoint_files(directory) -> list:
    """The checkpoints in ``directory``, oldest first by the (epoch, step) recorded inside."""
    return _checkpoint_files(directory)


class CheckpointLock:
    """An exclusive lock on a checkpoint directory for one training run.

    A second run on the same directory is refused with the holder's process id, instead of
    deleting the first run's files. The lock is ``flock`` on ``.deltaprop.lock`` inside the
    directory, released when the run ends or its process dies.
    """

    NAME = ".deltaprop.lock"

    def __init__(self, directory):
        self.directory = os.fspath(directory)
        self.fd = None

    def __enter__(self) -> "CheckpointLock":
        import fcntl

        path = os.path.join(self.directory, self.NAME)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            try:
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            finally:
                os.close(fd)
            raise OSError(f"--checkpoint-dir {self.directory}: another training run (pid {holder}) is using it; "
                          "wait for it to finish or choose another folder") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self.fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            import fcntl

            try:
                os.ftruncate(self.fd, 0)
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            finally:
                os.close(self.fd)
                self.fd = None


def newest_checkpoint(directory) -> tuple:
    """``(path, model, config, skipped)`` for the newest checkpoint in ``directory`` that loads,
    or ``(None, None, None, skipped)``; ``skipped`` lists the damaged ones passed over."""
    skipped = []
    for path in reversed(_checkpoint_files(directory)):
        try:
            model, config = load_checkpoint(path)
            return path, model, config, skipped
        except (FileFormatError, OSError) as exc:
            skipped.append(f"{path}: {exc}")
    return None, None, None, skipped

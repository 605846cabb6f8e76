"""Model files: round trips for every kind of network, and hostile or broken files refused."""

from __future__ import annotations

import json
import os
import pickle
import struct

import numpy as np
import pytest
from safetensors.numpy import save as st_save

import deltaprop as dp
from deltaprop.io import modelfile
from deltaprop.model import Model, Scaler
from conftest import random_dag


def _unit_graph():
    g = dp.Graph()
    x1, x2 = g.input("x1"), g.input("x2")
    h = g.unit("tanh", name="h", bias=None)
    o1, o2 = g.unit("sigmoid", name="o1"), g.unit("identity", name="o2")
    g.connect(x1, h), g.connect(x2, h), g.connect(h, o1), g.connect(x1, o1), g.connect(h, o2)
    g.output(o2, o1)
    return g


def test_round_trip_layered_dag_and_graph(tmp_path):
    rng = np.random.default_rng(0)
    nets = [
        dp.Network.layered([3, 4, 2], hidden="elu", output="softmax", cost="cross_entropy", weight_decay=0.1,
                           dtype="float32", seed=0),
        random_dag(rng, "tanh", "identity", "squared", l1=0.01),
        _unit_graph().compile(seed=3),
    ]
    for i, net in enumerate(nets):
        path = tmp_path / f"net{i}.safetensors"
        dp.save(net, path)
        back = dp.load(path)
        assert type(back) is dp.Network
        assert np.array_equal(back.params, net.params) and back.params.dtype == net.params.dtype
        assert (back.cost.name, back.weight_decay, back.l1) == (net.cost.name, net.weight_decay, net.l1)
        X = rng.normal(size=(5, net.n_inputs))
        assert np.array_equal(back.predict(X), net.predict(X))
        assert np.array_equal(back.free, net.free)
    g_back = dp.load(tmp_path / "net2.safetensors")
    assert g_back.weight(g_back.unit("x1"), g_back.unit("o1")) == nets[2].weight(*[u for u in nets[2].units
                                                                                  if u.name in ("x1", "o1")])
    with pytest.raises(ValueError, match="built with bias=None"):
        g_back.bias(g_back.unit("h"))


def test_round_trip_model(tmp_path):
    net = dp.Network.layered([3, 5, 1], hidden="tanh", output="identity", seed=0)
    model = Model(net, "regression", None, ["a", "b", "c"], ["y"], Scaler(np.array([1.0, 2, 3]), np.array([1, 2, 4.0])),
                  {"lr": 0.01}, {"test_r2": 0.5}, target_scaler=Scaler(np.array([10.0]), np.array([3.0])))
    path = tmp_path / "m.safetensors"
    dp.save(model, path)
    back = dp.load(path)
    X = np.random.default_rng(1).normal(size=(4, 3))
    assert np.array_equal(back.predict(X), model.predict(X))
    assert back.feature_names == ["a", "b", "c"] and back.settings == {"lr": 0.01}


def test_write_is_atomic_and_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    net = dp.Network.layered([2, 2, 1], seed=0)
    dp.save(net, path)
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="could not write .*No space left on device"):
        dp.save(dp.Network.layered([2, 2, 1], seed=1), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]  # no temporary file left behind


# --- hostile and broken files ---------------------------------------------------------------------------------


def _write(path, record, tensors):
    """A file with this record and these tensors, with a correct checksum unless the record has one."""
    record = json.loads(json.dumps(record))
    if "checksum" not in record:
        record["checksum"] = modelfile.checksum(record, tensors)
    path.write_bytes(st_save(tensors, metadata={"deltaprop": json.dumps(record)}))
    return path


def _good(tmp_path):
    path = tmp_path / "good.safetensors"
    dp.save(dp.Network.layered([2, 3, 1], seed=0), path)
    from safetensors import safe_open

    with safe_open(str(path), framework="np") as f:
        record = json.loads(f.metadata()["deltaprop"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    record.pop("checksum")
    return record, tensors


def _refused(path, match):
    with pytest.raises(dp.FileFormatError, match=match) as info:
        dp.load(path)
    assert str(path) in str(info.value)


def test_truncated_random_and_empty_files(tmp_path):
    good = tmp_path / "good.safetensors"
    dp.save(dp.Network.layered([2, 3, 1], seed=0), good)
    data = good.read_bytes()
    for cut in (0, 5, 8, 20, len(data) // 2, len(data) - 1):
        p = tmp_path / f"cut{cut}.safetensors"
        p.write_bytes(data[:cut])
        _refused(p, "not a deltaprop model file|not a valid safetensors file|header claims")
    rng = np.random.default_rng(0)
    for i in range(20):
        p = tmp_path / f"rand{i}.safetensors"
        p.write_bytes(rng.bytes(int(rng.integers(1, 4000))))
        _refused(p, ".")


def test_flipped_bytes_are_detected(tmp_path):
    good = tmp_path / "good.safetensors"
    dp.save(dp.Network.layered([2, 3, 1], seed=0), good)
    data = good.read_bytes()
    rng = np.random.default_rng(1)
    for trial in range(40):
        flipped = bytearray(data)
        i = int(rng.integers(0, len(data)))
        flipped[i] ^= 1 << int(rng.integers(0, 8))
        p = tmp_path / f"flip{trial}.safetensors"
        p.write_bytes(bytes(flipped))
        _refused(p, ".")


def test_header_that_claims_an_enormous_size(tmp_path):
    p = tmp_path / "huge.safetensors"
    p.write_bytes(struct.pack("<Q", 2**62) + b"{}")
    _refused(p, r"header claims 4611686018427387904 bytes in a file of 10")


def test_pickle_renamed_to_safetensors_is_never_unpickled(tmp_path):
    class Boom:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))

    p = tmp_path / "evil.safetensors"
    p.write_bytes(pickle.dumps(Boom()))
    _refused(p, ".")
    assert not (tmp_path / "pwned").exists()


def test_shapes_that_contradict_the_architecture(tmp_path):
    record, tensors = _good(tmp_path)
    tensors["W.0"] = np.zeros((4, 2))
    _refused(_write(tmp_path / "shape.safetensors", record, tensors),
             r"tensor W.0 has dtype F64 and shape \[4, 2\], expected F64 and \[3, 2\]")
    record, tensors = _good(tmp_path)
    record["network"]["blocks"][1]["units"] = 10**9  # claims a billion units: refused before any allocation
    _refused(_write(tmp_path / "big.safetensors", record, tensors), "block 1 has 1000000000 units")
    record, tensors = _good(tmp_path)
    record["network"]["blocks"][1]["units"] = 5000  # plausible, but not what the tensors hold
    _refused(_write(tmp_path / "five.safetensors", record, tensors), r"tensor W.0 .* expected F64 and \[5000, 2\]")


@pytest.mark.parametrize(
    "mutate,match",
    [
        (lambda r: r.pop("kind"), "unknown kind None"),
        (lambda r: r.pop("deltaprop_version"), "missing metadata field.*deltaprop_version"),
        (lambda r: r.update(extra=1), "unknown metadata field.*extra"),
        (lambda r: r.update(format_version=99), "format_version 99 is not one this deltaprop"),
        (lambda r: r.update(format="other"), "format is 'other'"),
        (lambda r: r.update(kind="virus"), "unknown kind 'virus'"),
        (lambda r: r["network"].pop("cost"), "the network record has fields"),
        (lambda r: r["network"]["blocks"][1].update(activation="gelu"), "unknown activation 'gelu'"),
        (lambda r: r["network"].update(dtype="int8"), "dtype must be float32 or float64"),
        (lambda r: r["network"]["edges"][0].update(source=1), "edge 0 joins blocks 1 -> 1"),
        (lambda r: r["network"].update(cost="hinge"), "unknown cost 'hinge'"),
    ],
)
def test_missing_unknown_or_bad_metadata(tmp_path, mutate, match):
    record, tensors = _good(tmp_path)
    mutate(record)
    _refused(_write(tmp_path / "meta.safetensors", record, tensors), match)


def test_nan_weights_and_bad_checksum_and_foreign_files(tmp_path):
    record, tensors = _good(tmp_path)
    tensors["b.0"] = np.array([0.0, np.nan, 0.0])
    _refused(_write(tmp_path / "nan.safetensors", record, tensors), "tensor b.0 contains NaN")
    record, tensors = _good(tmp_path)
    record["checksum"] = "0" * 64
    _refused(_write(tmp_path / "sum.safetensors", record, tensors), "checksum does not match")
    p = tmp_path / "plain.safetensors"
    p.write_bytes(st_save({"x": np.zeros(2)}))
    _refused(p, "not a deltaprop model")
    p = tmp_path / "notjson.safetensors"
    p.write_bytes(st_save({"x": np.zeros(2)}, metadata={"deltaprop": "{nope"}))
    _refused(p, "not valid JSON")
    record, tensors = _good(tmp_path)
    tensors["extra"] = np.zeros(1)
    _refused(_write(tmp_path / "extra.safetensors", record, tensors), "unexpected tensor.*extra")
    with pytest.raises(FileNotFoundError, match="no such file"):
        dp.load(tmp_path / "absent.safetensors")
    with pytest.raises(dp.FileFormatError, match="is a folder"):
        dp.load(tmp_path)


def test_mask_violations_are_refused(tmp_path):
    rng = np.random.default_rng(2)
    net = random_dag(rng, "tanh", "identity", "squared")
    assert (~net.free).any()
    path = tmp_path / "dag.safetensors"
    dp.save(net, path)
    from safetensors import safe_open

    with safe_open(str(path), framework="np") as f:
        record = json.loads(f.metadata()["deltaprop"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    record.pop("checksum")
    e = next(i for i, edge in enumerate(net.edges) if edge.mask is not None and not edge.mask.all())
    W = tensors[f"W.{e}"].copy()
    W[~tensors[f"mask.{e}"]] = 1.0
    tensors[f"W.{e}"] = W
    _refused(_write(tmp_path / "mask.safetensors", record, tensors), "where its mask says none exists")

"""Fuzzing the model loader and the CSV reader with Hypothesis.

Property: whatever the bytes, loading either succeeds (and then the result is sound) or
raises FileFormatError / ValueError with the file's name; never another exception, never
a hang, never more than a few MiB of memory. CI runs a few hundred cases of each; the
``slow`` marker runs 10000.
"""

from __future__ import annotations

import json
import os
import tracemalloc

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import deltaprop as dp  # noqa: E402
from deltaprop.io import read_data  # noqa: E402

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
LONG = settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

COUNTS = {"files": 0, "refused": 0, "csv": 0}


def _valid_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "valid.safetensors"
    model = dp.Model(dp.Network.layered([3, 4, 2], hidden="tanh", output="softmax", cost="cross_entropy", seed=0),
                     "classification", ["a", "b"], ["x", "y", "z"])
    dp.save(model, path)
    return path.read_bytes()


@pytest.fixture(scope="module")
def valid_bytes(tmp_path_factory):
    return _valid_file(tmp_path_factory)


mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(0, 7)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.integers(0, 255)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 64)),
    st.tuples(st.just("overwrite"), st.integers(0, 10**6), st.integers(0, 2**32 - 1)),
)


def _mutate(data: bytes, ops) -> bytes:
    b = bytearray(data)
    for op, pos, arg in ops:
        if not b:
            break
        i = pos % len(b)
        if op == "flip":
            b[i] ^= 1 << arg
        elif op == "truncate":
            del b[i:]
        elif op == "insert":
            b.insert(i, arg)
        elif op == "delete":
            del b[i : i + arg]
        else:
            b[i : i + 4] = arg.to_bytes(4, "little")
    return bytes(b)


def _check_load(path):
    COUNTS["files"] += 1
    tracemalloc.start()
    try:
        obj = dp.load(path)
    except (dp.FileFormatError, ValueError) as exc:
        COUNTS["refused"] += 1
        assert str(path) in str(exc)
        obj = None
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < 32 * 2**20, f"loading a {os.path.getsize(path)}-byte file peaked at {peak} bytes"
    if obj is not None:  # anything accepted must be a sound model
        assert np.isfinite(obj.network.params).all()
        h = obj.predict_proba(np.zeros((2, 3)))
        assert np.allclose(h.sum(axis=1), 1)


def _fuzz_loader(valid_bytes, tmp_path, ops):
    path = tmp_path / "fuzzed.safetensors"
    path.write_bytes(_mutate(valid_bytes, ops))
    _check_load(path)


@FAST
@given(ops=st.lists(mutation, min_size=1, max_size=4))
def test_fuzz_model_loader(valid_bytes, tmp_path, ops):
    _fuzz_loader(valid_bytes, tmp_path, ops)


@pytest.mark.slow
@LONG
@given(ops=st.lists(mutation, min_size=1, max_size=6))
def test_fuzz_model_loader_long(valid_bytes, tmp_path, ops):
    _fuzz_loader(valid_bytes, tmp_path, ops)


@FAST
@given(data=st.binary(max_size=2048))
def test_fuzz_model_loader_random_bytes(tmp_path, data):
    path = tmp_path / "random.safetensors"
    path.write_bytes(data)
    _check_load(path)


@FAST
@given(record=st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                           lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                           max_leaves=20))
def test_fuzz_metadata_records(tmp_path, record):
    """Arbitrary JSON in the metadata (with a matching checksum) is refused in words."""
    from safetensors.numpy import save as st_save

    from deltaprop.io import modelfile

    tensors = {"W.0": np.zeros((2, 2)), "b.0": np.zeros(2)}
    if isinstance(record, dict):
        record = {**record, "format": "deltaprop", "format_version": 1}
        try:
            record["checksum"] = modelfile.checksum(record, tensors)
        except ValueError:  # Infinity has no standard JSON form: the file gets no checksum
            pass
    path = tmp_path / "meta.safetensors"
    path.write_bytes(st_save(tensors, metadata={"deltaprop": json.dumps(record)}))
    with pytest.raises((dp.FileFormatError, ValueError)):
        dp.load(path)
    COUNTS["files"] += 1
    COUNTS["refused"] += 1


cell = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers().map(str),
                 st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=6),
                 st.sampled_from(["", "NA", "nan", "?", "1e400", "-0", " 3 ", '"4"', "1,5"]))


def _fuzz_csv(tmp_path, header, rows, target):
    COUNTS["csv"] += 1
    import csv

    path = tmp_path / "fuzz.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    try:
        ds = read_data(path, target)
    except ValueError as exc:
        assert str(path) in str(exc) or "is empty" in str(exc)
        return
    assert ds.X.ndim == 2 and np.isfinite(ds.X).all()
    assert ds.y is None if target is None else ds.X.shape[0] == len(ds.y)


@FAST
@given(header=st.lists(st.text(max_size=5), min_size=1, max_size=4),
       rows=st.lists(st.lists(cell, min_size=0, max_size=5), max_size=6), target_index=st.integers(0, 5))
def test_fuzz_csv_reader(tmp_path, header, rows, target_index):
    _fuzz_csv(tmp_path, header, rows, header[target_index % len(header)].strip() or None)


@FAST
@given(text=st.text(max_size=300))
def test_fuzz_csv_reader_raw_text(tmp_path, text):
    COUNTS["csv"] += 1
    path = tmp_path / "raw.csv"
    path.write_text(text, encoding="utf-8")
    try:
        ds = read_data(path, "y")
    except ValueError:
        return
    assert np.isfinite(ds.X).all()


@pytest.mark.slow
@LONG
@given(header=st.lists(st.text(max_size=5), min_size=1, max_size=5),
       rows=st.lists(st.lists(cell, min_size=0, max_size=6), max_size=8), target_index=st.integers(0, 5))
def test_fuzz_csv_reader_long(tmp_path, header, rows, target_index):
    _fuzz_csv(tmp_path, header, rows, header[target_index % len(header)].strip() or None)


def test_report_counts():
    """Runs last in this file: the number of inputs tried, for the record (pytest -s shows it)."""
    print(f"\nfuzz: {COUNTS['files']} model files tried, {COUNTS['refused']} refused; {COUNTS['csv']} CSV files")
    assert COUNTS["files"] == 0 or COUNTS["refused"] > 0

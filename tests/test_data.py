"""Data readers: CSV, .npz, IDX and built-in sets; every problem named by file, row and column."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from deltaprop.io import load_builtin, read_data
from deltaprop.model import encode_labels, infer_task


def csv(tmp_path, text, name="d.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_csv_reads_features_target_and_names(tmp_path):
    p = csv(tmp_path, "\ufeffa,b,label\n1,2.5,cat\n3,-4e2,dog\n\n5,6,cat\n")
    ds = read_data(p, "label")
    assert ds.X.tolist() == [[1, 2.5], [3, -400], [5, 6]]
    assert ds.y.tolist() == ["cat", "dog", "cat"]
    assert ds.feature_names == ["a", "b"]
    assert infer_task(ds.y) == "classification"


def test_csv_target_types():
    from deltaprop.io.data import target_column

    assert target_column(["1", "2"]).dtype.kind == "i"
    assert target_column(["1.5", "2"]).dtype.kind == "f"
    assert target_column(["a", "2"]).dtype.kind == "O"
    assert infer_task(np.array([1, 2, 1])) == "classification"
    assert infer_task(np.array([0.5, 2.25, 1.0])) == "regression"


def test_csv_columns_by_name_ignore_extras(tmp_path):
    p = csv(tmp_path, "z,b,a,y\n9,2,1,0\n9,4,3,1\n")
    ds = read_data(p, None, columns=["a", "b"])
    assert ds.X.tolist() == [[1, 2], [3, 4]]
    with pytest.raises(ValueError, match=r"missing column\(s\) 'c' that the model needs"):
        read_data(p, None, columns=["a", "c"])


@pytest.mark.parametrize(
    "text,match",
    [
        ("", "the file is empty"),
        ("a,b,y\n", "no data rows after the header"),
        ("a,b,y\n1,2,3\n4,5\n", "row 3 has 2 cells but the header has 3 columns"),
        ("a,b,y\n1,2,3\n4,x5,6\n", r"row 3, column 'b': 'x5' is not a number"),
        ("a,b,y\n1,,3\n", r"row 2, column 'b': missing value; pass --drop-missing"),
        ("a,b,y\n1,NA,3\n", r"row 2, column 'b': missing value"),
        ("a,a,y\n1,2,3\n", r"duplicate column name 'a' \(columns 1 and 2\)"),
        ("a,,y\n1,2,3\n", "column 2 of the header has no name"),
        ("a,b,y\n1,inf,3\n", r"row 2, column 'b': 'inf' is not a finite number"),
        ("a,b,c\n1,2,3\n", r"no column named 'y'; the columns are a, b, c"),
        ("y\n1\n", "no feature columns besides the target"),
    ],
)
def test_csv_errors(tmp_path, text, match):
    p = csv(tmp_path, text)
    with pytest.raises(ValueError, match=match) as info:
        read_data(p, "y")
    assert str(p) in str(info.value) or "is empty" in str(info.value)


def test_csv_drop_missing_and_gzip(tmp_path):
    p = csv(tmp_path, "a,b,y\n1,?,0\n2,3,1\n")
    assert read_data(p, "y", drop_missing=True).X.tolist() == [[2, 3]]
    gz = tmp_path / "d.csv.gz"
    gz.write_bytes(gzip.compress(b"a,y\n1,0\n2,1\n"))
    assert read_data(gz, "y").X.tolist() == [[1], [2]]


def test_csv_not_text(tmp_path):
    p = tmp_path / "bin.csv"
    p.write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(ValueError, match="not a UTF-8 text file"):
        read_data(p, "y")


def test_npz(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, X=np.arange(6.0).reshape(3, 2), y=np.array([0, 1, 0]))
    ds = read_data(p)
    assert ds.X.shape == (3, 2) and ds.y.tolist() == [0, 1, 0]
    bad = tmp_path / "obj.npz"
    np.savez(bad, X=np.array([[1, 2]], dtype=object), y=np.array([1]))
    with pytest.raises(ValueError, match="without pickle"):
        read_data(bad)
    nox = tmp_path / "nox.npz"
    np.savez(nox, A=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="no array named 'X'; the arrays are A"):
        read_data(nox)


def _idx(path, arr, code=0x08, gz=False):
    head = bytes([0, 0, code, arr.ndim]) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    data = head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.parametrize("gz", [False, True])
def test_idx_images_and_labels(tmp_path, gz):
    ext = ".gz" if gz else ""
    images = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    img = _idx(tmp_path / f"train-images-idx3-ubyte{ext}", images, gz=gz)
    _idx(tmp_path / f"train-labels-idx1-ubyte{ext}", np.array([7, 1], dtype=np.uint8), gz=gz)
    ds = read_data(img)
    assert ds.X.shape == (2, 9) and ds.X[1, 0] == 9 and ds.y.tolist() == [7, 1]


def test_idx_broken(tmp_path):
    p = tmp_path / "x-idx3-ubyte"
    p.write_bytes(b"\x00\x00\x08\x03" + struct.pack(">III", 100, 28, 28) + b"\x00" * 10)
    with pytest.raises(ValueError, match=r"promises \(100, 28, 28\)"):
        read_data(p)
    p.write_bytes(b"PK\x03\x04rest")
    with pytest.raises(ValueError, match="bad magic number"):
        read_data(p)


@pytest.mark.parametrize("name,shape,task", [("xor", (4, 2), "classification"), ("iris", (150, 4), "classification"),
                                             ("digits", (1797, 64), "classification"),
                                             ("breast-cancer", (569, 30), "classification"),
                                             ("wine", (178, 13), "classification"), ("diabetes", (442, 10), "regression")])
def test_builtin(name, shape, task):
    pytest.importorskip("sklearn")
    ds = load_builtin(name)
    assert ds.X.shape == shape and infer_task(ds.y) == task


def test_labels_encoding():
    Y, classes = encode_labels(np.array(["b", "a", "b"], dtype=object))
    assert classes == ["a", "b"] and Y.tolist() == [[0, 1], [1, 0], [0, 1]]
    with pytest.raises(ValueError, match="labels not seen in training: 'c'"):
        encode_labels(np.array(["c"], dtype=object), classes)
    with pytest.raises(ValueError, match="mix types"):
        encode_labels(np.array(["a", 1], dtype=object))

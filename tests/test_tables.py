"""Real tables (issue 14): delimiters, formats, text columns, missing values, IDs, the task rule,
and the decisions stored in the model file and applied again by predict, evaluate and explain."""

from __future__ import annotations

import csv
import gzip
import io
import os

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.cli import main
from deltaprop.io.data import read_data, read_table, sniff_delimiter
from deltaprop.model import infer_task, task_reason
from deltaprop.preprocess import Columns

PENGUINS = os.path.join(os.path.dirname(__file__), "..", "examples", "data", "penguins.csv")


def write(path, header, rows, delimiter=","):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=delimiter, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return path


def table_rows(n=60, seed=0):
    """A small table with a text column, a boolean-ish column and numbers; label follows the colour."""
    rng = np.random.default_rng(seed)
    colours = np.array(["red", "green", "blue"])[rng.integers(0, 3, n)]
    x = rng.normal(size=n)
    flag = np.where(rng.uniform(size=n) > 0.5, "true", "false")
    label = np.where(colours == "red", "stop", "go")
    return [[c, f"{v:.4f}", f, lab] for c, v, f, lab in zip(colours, x, flag, label)]


def cli(argv, capsys):
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


# --- reading: delimiters, compression, formats -----------------------------------------------------------


@pytest.mark.parametrize("delimiter,name", [(",", "t.csv"), (";", "t.csv"), ("\t", "t.tsv"), ("\t", "t.txt"),
                                            ("|", "t.csv")])
def test_every_delimiter_is_sniffed(tmp_path, delimiter, name):
    p = write(tmp_path / name, ["a", "b c", "y"], [[1, 2.5, "u"], [3, 4, "v"], [5, 6, "u"]], delimiter)
    t = read_table(p)
    assert list(t.columns) == ["a", "b c", "y"]
    assert t.columns["b c"].tolist() == [2.5, 4.0, 6.0]
    assert t.columns["y"].tolist() == ["u", "v", "u"]
    if delimiter != ",":
        assert any("separated" in n for n in t.notes)


def test_delimiter_flag_overrides_the_sniffer_and_is_checked(tmp_path):
    p = write(tmp_path / "t.csv", ["a;b", "y"], [["1;2", 0], ["3;4", 1]], ",")
    assert list(read_table(p, delimiter=",").columns) == ["a;b", "y"]
    assert list(read_table(p, delimiter="semicolon").columns) == ['"a', 'b",y'] or read_table(p, delimiter=";")
    with pytest.raises(ValueError, match="--delimiter must be one character"):
        read_table(p, delimiter="::")


def test_sniffer_needs_a_consistent_split():
    assert sniff_delimiter("a;b;c\n1;2;3\n") == ";"
    assert sniff_delimiter("a,b;c\n1,2;3\n4,5;6\n") == ","  # both consistent: the one with more cells wins (tie: first)
    assert sniff_delimiter("single\n1\n") is None


def test_decimal_comma_with_semicolons(tmp_path):
    p = tmp_path / "eu.csv"
    p.write_text("a;b;y\n1,5;2;x\n-3,25;4;z\n", encoding="utf-8")
    t = read_table(p)
    assert t.columns["a"].tolist() == [1.5, -3.25]
    assert any("decimal comma" in n for n in t.notes)


def test_gzip_parquet_and_feather_read_the_same_table(tmp_path):
    import pyarrow as pa
    import pyarrow.feather as pf
    import pyarrow.parquet as pq

    rows = table_rows(30)
    p = write(tmp_path / "t.csv", ["colour", "x", "flag", "label"], rows)
    gz = tmp_path / "t.csv.gz"
    gz.write_bytes(gzip.compress(p.read_bytes()))
    at = pa.table({"colour": [r[0] for r in rows], "x": [float(r[1]) for r in rows], "flag": [r[2] == "true" for r in rows],
                   "label": [r[3] for r in rows]})
    pq.write_table(at, tmp_path / "t.parquet")
    pf.write_feather(at, tmp_path / "t.feather")
    ref = read_table(p)
    for other in (gz, tmp_path / "t.parquet", tmp_path / "t.feather"):
        t = read_table(other)
        assert t.columns["x"].tolist() == ref.columns["x"].tolist()
        assert t.columns["colour"].tolist() == ref.columns["colour"].tolist()
        assert len(t) == 30


@pytest.mark.parametrize("content,match", [
    (b"a,b\n1,2\n3\n", "row 3 has 1 cells but the header has 2 columns"),
    (b"a,a\n1,2\n", "duplicate column name 'a'"),
    (b"a,,c\n1,2,3\n", "column 2 of the header has no name"),
    (b"", "the file is empty"),
    (b"a,b\n", "no data rows after the header"),
    (b"\xff\xfe\x00\x81garbage\n1,2\n", "not a UTF-8 text file"),
])
def test_broken_files_are_named_with_the_row(tmp_path, content, match):
    p = tmp_path / "bad.csv"
    p.write_bytes(content)
    with pytest.raises(ValueError, match=match) as info:
        read_table(p)
    assert str(p) in str(info.value)
    assert "\n" not in str(info.value)


def test_a_row_longer_than_the_block_is_refused_by_name(tmp_path, monkeypatch):
    import deltaprop.io.data as data

    monkeypatch.setattr(data, "_BLOCK", 1 << 12)
    p = tmp_path / "long.csv"
    p.write_text("a,b\n1,2\n" + "3," + "9" * 10000 + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="a row is longer than") as info:
        read_table(p)
    assert str(p) in str(info.value)


def test_a_pandas_index_column_is_left_out_and_said(tmp_path):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"x": np.arange(30) * 0.5, "y": ["a", "b", "c"] * 10})
    df.to_csv(tmp_path / "p.csv")  # writes an unnamed index column first
    t = read_table(tmp_path / "p.csv")
    assert list(t.columns) == ["x", "y"]
    assert any("row index" in n for n in t.notes)


def test_missing_cells_in_every_spelling_are_missing(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("a,b,y\n1,NA,u\n2,,v\n3,nan,u\n4,?,v\n5,null,u\n6,N/A,v\n7,2,u\n", encoding="utf-8")
    t = read_table(p)
    assert np.isnan(t.columns["b"][:6]).all() and t.columns["b"][6] == 2


# --- columns: encoding, refusals, imputation --------------------------------------------------------------


def test_text_and_booleans_are_one_hot_and_unseen_categories_are_zeros():
    table = {"colour": np.array(["red", "blue", None, "red"], dtype=object), "n": np.array([1.0, 2.0, 3.0, 4.0]),
             "flag": np.array([True, False, True, True], dtype=object)}
    cols, decisions = Columns.fit(table)
    assert cols.input_names == ["colour=blue", "colour=red", "n", "flag=false", "flag=true"]
    assert any("one-hot encoded into 2 inputs" in d and "1 missing encoded as all zeros" in d for d in decisions)
    X, notes = cols.transform({"colour": np.array(["green", "red"], dtype=object), "n": np.array([5.0, 6.0]),
                               "flag": np.array([False, None], dtype=object)})
    assert X.tolist() == [[0, 0, 5, 1, 0], [0, 1, 6, 0, 0]]
    assert len(notes) == 1 and "green" in notes[0] and "all zeros" in notes[0]


@pytest.mark.parametrize("values,match", [
    ([f"passenger {i}" for i in range(40)], r"40 distinct values in 40 rows looks like an ID or free text"),
    ([f"c{i % 30}" for i in range(200)], r"more than --max-categories 20"),
    ([str(i) for i in range(19)] + ["12,5"] + [str(i) for i in range(10)], r"row 20, column 'v': '12,5' is not a number"),
])
def test_unusable_text_columns_are_refused_with_a_hint(values, match):
    with pytest.raises(ValueError, match=match) as info:
        Columns.fit({"v": np.array(values, dtype=object)})
    assert "--ignore v" in str(info.value)


def test_max_categories_raises_the_limit():
    values = np.array([f"c{i % 30}" for i in range(200)], dtype=object)
    cols, _ = Columns.fit({"v": values}, max_categories=30)
    assert len(cols.input_names) == 30


def test_a_row_number_column_is_refused():
    with pytest.raises(ValueError, match=r"column 'PassengerId'.*look like a row ID.*--ignore PassengerId"):
        Columns.fit({"PassengerId": np.arange(1.0, 101.0), "x": np.zeros(100)})
    Columns.fit({"small": np.arange(1.0, 11.0)})  # ten rows counting up are data, not an ID


def test_with_imputation_every_number_column_keeps_a_fill():
    """Predict may meet a gap in a column that had none in training: it is filled too."""
    cols, decisions = Columns.fit({"a": np.array([1.0, 2.0, 4.0]), "b": np.array([1.0, np.nan, 3.0])}, impute="median")
    assert [c.fill for c in cols.columns] == [2.0, 2.0]
    assert len(decisions) == 1 and "column 'b'" in decisions[0]  # only the column that had gaps is said
    X, _ = cols.transform({"a": np.array([np.nan]), "b": np.array([np.nan])})
    assert X.tolist() == [[2.0, 2.0]]


def test_numbers_written_as_text_are_numbers():
    cols, _ = Columns.fit({"v": np.array(["1", "2.5", None, "4"], dtype=object)}, impute="mean")
    assert cols.columns[0].kind == "number" and cols.columns[0].fill == pytest.approx(7.5 / 3)


@pytest.mark.parametrize("how,expected", [("mean", 3.0), ("median", 2.0), ("most-frequent", 1.0)])
def test_imputation_statistics_are_the_training_rows(how, expected):
    x = np.array([1.0, 1.0, 2.0, np.nan, 8.0, 6.0, 3.0])
    x = x[~np.isnan(x)][:5]  # 1, 1, 2, 8, 6 -> mean 3.6? keep an exact set below
    x = np.array([1.0, 1.0, 2.0, 5.0, 6.0, np.nan])  # mean 3, median 2, mode 1
    cols, decisions = Columns.fit({"x": x}, impute=how)
    assert cols.columns[0].fill == expected
    assert decisions and "1 missing of 6 filled" in decisions[0]
    X, _ = cols.transform({"x": np.array([np.nan, 7.0])})
    assert X[:, 0].tolist() == [expected, 7.0]


def test_missing_numbers_are_refused_without_impute_naming_row_and_column():
    with pytest.raises(ValueError, match=r"row 3, column 'x': missing value \(1 in the column\); pass --impute"):
        Columns.fit({"x": np.array([1.0, 2.0, np.nan])})
    cols, _ = Columns.fit({"x": np.array([1.0, 2.0])})
    with pytest.raises(ValueError, match=r"row 2, column 'x': missing value; the model was trained without --impute"):
        cols.transform({"x": np.array([1.0, np.nan])})


def test_columns_record_round_trip_and_bad_records():
    cols, _ = Columns.fit({"c": np.array(["a", "b"], dtype=object), "x": np.array([1.0, np.nan])}, impute="mean")
    again = Columns.from_record(cols.to_record())
    assert again == cols
    with pytest.raises(ValueError, match="categories repeat"):
        Columns.from_record([{"name": "c", "kind": "category", "categories": ["a", "a"]}])
    with pytest.raises(ValueError, match="listed twice"):
        Columns.from_record([{"name": "c", "kind": "number", "fill": None}] * 2)


# --- the task rule ----------------------------------------------------------------------------------------


def test_task_rule_on_penguins_body_mass_and_labels():
    t = read_table(PENGUINS)
    mass = t.columns["body_mass_g"]
    mass = mass[~np.isnan(mass)]
    assert infer_task(mass) == "regression"  # grams: 94 distinct whole numbers in 342 rows
    assert "94 distinct whole numbers in 342 rows" in task_reason(mass)[1]
    assert infer_task(t.columns["species"]) == "classification"
    assert infer_task(np.arange(60000) % 10) == "classification"  # digit labels
    assert infer_task(np.array([0, 1, 1, 0])) == "classification"  # XOR: two values in four rows
    assert infer_task(np.array([1.5, 2.0, 3.0])) == "regression"
    assert infer_task(np.arange(100) % 21) == "regression"  # 21 distinct whole values: more than 20


# --- the command line, file to predictions -----------------------------------------------------------------


def test_penguins_from_a_semicolon_file_to_predictions(tmp_path, capsys):
    model = tmp_path / "m.safetensors"
    code, out, err = cli(["train", PENGUINS, "--target", "species", "--impute", "median", "--epochs", "30",
                          "--out", model], capsys)
    assert code == 0, err
    assert "semicolon-separated" in err
    assert "column 'island': text, one-hot encoded into 3 inputs (Biscoe, Dream, Torgersen)" in err
    assert "column 'sex': text, one-hot encoded into 2 inputs (female, male), " in err
    assert "filled with the training rows' median" in err
    saved = dp.load(model)
    assert saved.columns is not None and saved.columns.names == ["island", "bill_length_mm", "bill_depth_mm",
                                                                  "flipper_length_mm", "body_mass_g", "sex", "year"]
    assert saved.metrics["test_accuracy"] >= 0.95
    code, out, err = cli(["predict", model, PENGUINS], capsys)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0] == "prediction" and len(lines) == 1 + 344  # every row, the incomplete ones too
    with open(PENGUINS, encoding="utf-8") as f:
        truth = [r["species"] for r in csv.DictReader(f, delimiter=";")]
    assert np.mean(np.array(lines[1:]) == np.array(truth)) >= 0.95
    code, out, err = cli(["evaluate", model, PENGUINS, "--target", "species", "--json"], capsys)
    assert code == 0, err
    code, out, err = cli(["explain", model, PENGUINS, "--target", "species", "--row", "4"], capsys)
    assert code == 0, err  # row 4 has missing numbers: explained with the filled values


def test_penguins_body_mass_is_regression_from_the_command_line(tmp_path, capsys):
    # with --impute, --drop-missing skips only the rows without a target (2 of 344); features are filled
    code, out, err = cli(["train", PENGUINS, "--target", "body_mass_g", "--drop-missing", "--impute", "median",
                          "--epochs", "3", "--out", tmp_path / "m.safetensors"], capsys)
    assert code == 0, err
    assert "regression (the target holds 94 distinct whole numbers in 342 rows" in " ".join(err.split())
    code, out, err = cli(["train", PENGUINS, "--target", "body_mass_g", "--drop-missing", "--task", "classification",
                          "--epochs", "1", "--out", tmp_path / "c.safetensors"], capsys)
    assert code == 0 and "classification (--task)" in " ".join(err.split())


def test_features_and_ignore_choose_columns(tmp_path, capsys):
    model = tmp_path / "m.safetensors"
    code, _, err = cli(["train", PENGUINS, "--target", "species", "--ignore", "island,sex,year", "--drop-missing",
                        "--epochs", "2", "--out", model], capsys)
    assert code == 0, err
    assert "left out (--ignore): island, sex, year" in err
    assert dp.load(model).columns.names == ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    code, _, err = cli(["train", PENGUINS, "--target", "species", "--features", "sex,island", "--epochs", "2",
                        "--out", model], capsys)
    assert code == 0, err
    assert dp.load(model).columns.names == ["sex", "island"]
    code, _, err = cli(["train", PENGUINS, "--target", "species", "--ignore", "colour", "--out", model], capsys)
    assert code == 1 and "--ignore names 'colour', not among the columns" in err
    code, _, err = cli(["train", PENGUINS, "--target", "species", "--features", "species", "--out", model], capsys)
    assert code == 1 and "cannot also be a feature" in err


def test_predict_never_misaligns_rows(tmp_path, capsys):
    rows = [[1.0, 2.0, "a"], [2.0, 1.0, "b"]] * 15
    train = write(tmp_path / "train.csv", ["x1", "x2", "y"], rows)
    model = tmp_path / "m.safetensors"
    code, _, err = cli(["train", train, "--target", "y", "--epochs", "2", "--out", model], capsys)
    assert code == 0, err
    test = write(tmp_path / "test.csv", ["x1", "x2"], [[1, 2], ["", 1], [2, 1], [1, "NA"]])
    code, _, err = cli(["predict", model, test], capsys)
    assert code == 1 and "row 3, column 'x1': missing value" in err  # no fill value in the model: refused
    code, out, err = cli(["predict", model, test, "--drop-missing"], capsys)
    assert code == 0, err
    got = list(csv.reader(io.StringIO(out)))
    assert got[0] == ["row", "prediction"] and [r[0] for r in got[1:]] == ["2", "4"]


def test_a_model_with_text_columns_predicts_from_a_dataframe(tmp_path, capsys):
    pd = pytest.importorskip("pandas")
    p = write(tmp_path / "t.csv", ["colour", "x", "flag", "label"], table_rows(80))
    model = tmp_path / "m.safetensors"
    code, _, err = cli(["train", p, "--target", "label", "--epochs", "20", "--out", model], capsys)
    assert code == 0, err
    m = dp.load(model)
    df = pd.read_csv(p)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pandas' booleans are the same categories as the file's true/false
        pred = m.predict(df.drop(columns="label"))
    assert np.mean(pred == df["label"].to_numpy()) >= 0.9
    with pytest.raises(ValueError, match="reads text columns|expected a table"):
        m.predict(np.zeros((2, 3)))
    with pytest.warns(UserWarning, match="not seen in training"):
        m.predict(pd.DataFrame({"colour": ["purple"], "x": [0.0], "flag": [True]}))


def test_the_chunked_reader_never_resizes_a_buffer_pyarrow_may_still_hold(tmp_path, monkeypatch):
    """pyarrow can let go of a chunk's buffer after read_csv returns (seen once in CI as "BufferError: Existing
    exports of data: object cannot be re-sized"). Here every buffer it was given is kept alive: the reader
    must still read the file, equal to the whole reader."""
    import pyarrow.csv as pacsv

    import deltaprop.io.data as data

    rng = np.random.default_rng(2)
    rows = [[f"{v:.6g}" for v in r] + ["abc"[i % 3]] for i, r in enumerate(rng.normal(size=(3000, 4)))]
    p = write(tmp_path / "big.csv", ["a", "b", "c", "d", "t"], rows)
    whole = read_table(p)
    held, real = [], pacsv.read_csv

    def holding(source, *args, **kwargs):
        held.append(source)  # an export of the reader's buffer that outlives the call
        return real(source, *args, **kwargs)

    monkeypatch.setattr(data, "_CHUNKED_FROM", 0)
    monkeypatch.setattr(data, "_CHUNK", 4096)
    monkeypatch.setattr(pacsv, "read_csv", holding)
    chunked = read_table(p)
    assert len(held) > 10 and chunked.block is not None  # read in chunks, not by the fallback
    for name in whole.columns:
        np.testing.assert_array_equal(chunked.columns[name], whole.columns[name])


def test_a_large_file_read_in_chunks_equals_the_whole_file_read(tmp_path, monkeypatch):
    """The chunked reader (files over 32 MB; here the threshold is lowered) gives exactly the whole
    reader's columns, features as one block without a copy, and falls back where it cannot chunk."""
    import deltaprop.io.data as data

    rng = np.random.default_rng(1)
    rows = [[f"{v:.6g}" for v in r] + [str(i % 3), "abc"[i % 3]] for i, r in enumerate(rng.normal(size=(3000, 4)))]
    rows[2500][1] = "NA"
    p = write(tmp_path / "big.csv", ["a", "b", "c", "d", "n", "t"], rows)
    gz = tmp_path / "big.csv.gz"
    gz.write_bytes(gzip.compress(p.read_bytes()))
    whole = read_table(p)
    monkeypatch.setattr(data, "_CHUNKED_FROM", 0)
    monkeypatch.setattr(data, "_CHUNK", 4096)  # about 40 chunks
    for path in (p, gz):
        chunked = read_table(path)
        assert list(chunked.columns) == list(whole.columns)
        for name in whole.columns:
            np.testing.assert_array_equal(chunked.columns[name], whole.columns[name])
        assert chunked.rows.tolist() == whole.rows.tolist()
        assert chunked.columns["a"].base is not None and chunked.columns["a"].base.flags.f_contiguous  # chunked
    ds = read_data(p, "t", columns=["a", "b", "c", "d"], drop_missing=True)  # a row dropped: copied
    keep = np.arange(3000) != 2500
    np.testing.assert_array_equal(ds.X, np.column_stack([whole.columns[c][keep] for c in "abcd"]))
    ds = read_data(p, "t", columns=["c", "d"])  # consecutive columns of the block: a view, no copy
    assert not ds.X.flags.owndata  # a view of the block
    np.testing.assert_array_equal(ds.X, np.column_stack([whole.columns["c"], whole.columns["d"]]))
    ds = read_data(p, "t", columns=["d", "c"])  # another order: copied, right
    np.testing.assert_array_equal(ds.X, np.column_stack([whole.columns["d"], whole.columns["c"]]))
    quoted = tmp_path / "quoted.csv"
    quoted.write_text('a,b\n1,"x"\n2,"y\nz"\n', encoding="utf-8")  # a newline inside quotes: the whole reader
    assert read_table(quoted).columns["b"].tolist() == ["x", "y\nz"]


def test_chunked_reader_names_a_long_row_and_reports_progress(tmp_path, monkeypatch):
    import deltaprop.io.data as data

    monkeypatch.setattr(data, "_CHUNKED_FROM", 0)
    monkeypatch.setattr(data, "_CHUNK", 1024)
    monkeypatch.setattr(data, "_BLOCK", 8192)
    p = tmp_path / "long.csv"
    p.write_text("a,b\n1,2\n3," + "9" * 20000 + "\n4,5\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"long.csv: row 3 is longer than 0 MB|long.csv: row 3 is longer than"):
        read_table(p)
    seen = []
    q = write(tmp_path / "ok.csv", ["a", "b"], [[i, i + 1] for i in range(2000)])
    t = read_table(q, progress=lambda done, total: seen.append((done, total)))
    assert len(t) == 2000 and seen and seen[-1] == (q.stat().st_size, q.stat().st_size)


def test_a_gzip_bomb_costs_the_final_arrays_not_a_multiple_of_them(tmp_path):
    """2M x 10 zeros (22 bytes a row, 400x compressible): read in chunks into one block sized from
    gzip's stated length; the peak stays within the final float64 matrix plus its chunks."""
    import tracemalloc

    p = tmp_path / "zeros.csv.gz"
    with gzip.open(p, "wb", compresslevel=6) as f:
        f.write(b"c0,c1,c2,c3,c4,c5,c6,c7,c8,c9,y\n" + b"0,0,0,0,0,0,0,0,0,0,0\n" * 400000)
    assert p.stat().st_size < 100_000
    tracemalloc.start()
    ds = read_data(p, "y")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert ds.X.shape == (400000, 10) and not ds.X.any() and (ds.y == 0).all()
    assert peak < 2.5 * ds.X.nbytes, (peak, ds.X.nbytes)  # NumPy's buffers as traced; arrow's chunks are not


@pytest.mark.parametrize("how", ["mean", "median", "most-frequent"])
def test_encoding_equals_scikit_learns_encoder_and_imputer(how):
    """An independent reference: the same table through scikit-learn's SimpleImputer (numbers) and
    OneHotEncoder(handle_unknown="ignore") (text, missing text as its own absent category) gives
    exactly deltaprop's inputs, on the training rows and on rows with unseen categories."""
    pytest.importorskip("sklearn")
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(3)
    n = 200
    x = rng.integers(0, 7, n).astype(float)
    x[rng.uniform(size=n) < 0.1] = np.nan
    colour = np.array(["red", "green", "blue", None], dtype=object)[rng.integers(0, 4, n)]
    train = {"x": x, "colour": colour}
    cols, _ = Columns.fit(train, impute=how)
    test = {"x": np.array([np.nan, 3.0, 9.0]), "colour": np.array(["green", "purple", None], dtype=object)}
    imp = SimpleImputer(strategy=how.replace("-", "_")).fit(x[:, None])
    known = colour[colour != None]  # noqa: E711 - an object array
    enc = OneHotEncoder(handle_unknown="ignore", categories=[sorted(set(known))]).fit(known[:, None])
    for table in (train, test):
        mine, _ = cols.transform(table)
        text = np.array(["(missing)" if v is None else v for v in table["colour"]], dtype=object)[:, None]
        ref = np.hstack([imp.transform(table["x"][:, None]), enc.transform(text).toarray()])
        np.testing.assert_array_equal(mine, ref)


def test_info_shows_each_table_column(tmp_path, capsys):
    model = tmp_path / "m.safetensors"
    assert cli(["train", PENGUINS, "--target", "species", "--impute", "median", "--epochs", "1", "--out", model],
               capsys)[0] == 0
    code, out, _ = cli(["info", model], capsys)
    flat = " ".join(out.split())
    assert code == 0 and "column island │ text, one-hot (Biscoe, Dream, Torgersen)" in flat
    assert "column year │ number, missing -> 2008" in flat
    code, out, _ = cli(["info", model, "--json"], capsys)
    import json

    assert json.loads(out)["columns"][0] == {"name": "island", "kind": "category",
                                              "categories": ["Biscoe", "Dream", "Torgersen"]}


@pytest.mark.parametrize("kind", ["list", "struct", "map", "dictionary", "timestamp", "binary", "decimal", "null"])
def test_every_arrow_column_type_reads_or_is_refused_by_name(tmp_path, kind):
    """A Parquet file from a stranger may hold any Arrow type: each column is read (nested values as
    JSON text, which train then refuses by name as it would free text, or encodes), never a traceback."""
    import datetime
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 30
    values = {
        "list": pa.array([[i, i + 1] for i in range(n)]),
        "struct": pa.array([{"x": i} for i in range(n)]),
        "map": pa.array([[("k", i)] for i in range(n)], pa.map_(pa.string(), pa.int64())),
        "dictionary": pa.array(["ab"[i % 2] for i in range(n)]).dictionary_encode(),
        "timestamp": pa.array([datetime.datetime(2020, 1, 1 + i % 28) for i in range(n)]),
        "binary": pa.array([bytes([i % 3]) for i in range(n)]),
        "decimal": pa.array([decimal.Decimal(f"{i}.5") for i in range(n)]),
        "null": pa.array([None] * n, pa.null()),
    }[kind]
    p = tmp_path / "t.parquet"
    pq.write_table(pa.table({"v": values, "y": ["uv"[i % 2] for i in range(n)]}), p)
    table = read_table(p, text_columns=["y"])
    assert len(table) == n and set(table.columns) == {"v", "y"}
    try:
        cols, _ = Columns.fit({"v": table.columns["v"]})
    except ValueError as exc:
        assert "column 'v'" in str(exc) and "\n" not in str(exc)
    else:
        X, _ = cols.transform({"v": table.columns["v"]})
        assert X.shape[0] == n and np.isfinite(X).all()


def test_empty_and_misnamed_columnar_files_are_refused_in_one_line(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    empty = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"a": pa.array([], pa.float64()), "y": pa.array([], pa.int64())}), empty)
    with pytest.raises(ValueError, match=r"empty.parquet: no data rows$"):
        read_data(empty, "y")
    dupes = tmp_path / "dupes.parquet"
    pq.write_table(pa.Table.from_arrays([pa.array([1.0]), pa.array([2.0]), pa.array([0])], names=["a", "a", "y"]), dupes)
    with pytest.raises(ValueError, match=r"duplicate column name 'a' \(columns 1 and 2\)") as info:
        read_table(dupes)
    assert "\n" not in str(info.value)


def test_features_come_from_a_chunked_block_only_when_there_is_one(tmp_path):
    """A whole-file read's columns are never mistaken for a chunked block (the fuzz test's case:
    X came back with one row of two)."""
    p = tmp_path / "t.csv"
    p.write_text("0,1\n0.0,0.0\n0.0,0.5\n", encoding="utf-8")
    ds = read_data(p, "0")
    assert ds.X.tolist() == [[0.0], [0.5]] and len(ds.y) == 2

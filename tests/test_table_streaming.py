"""Tables read from disk a block at a time (data.in_memory: false): the same encoder and, with one shuffle window,
the same model as in memory; held-out rows drawn by their numbers; batches a window of pieces at a time, the
same after a resume; evaluate reading in parts. Small files: memory and speed are measured in bench/tables.py."""

import gc
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from tabledata import mixed_columns, write_csv, write_mixed_csv

from dnncli.data.encoding import TableSpec, fit_encoder
from dnncli.data.streamed import WINDOW_PIECES, Split, row_draws
from dnncli.data.table_sets import load_table_sets
from dnncli.data.tables import fits_in_memory, read_table
from dnncli.engine.trainer import BatchOrder, PieceOrder, steps_per_epoch
from dnncli.model import checkpoint
from dnncli.run.feed import PieceSource
from dnncli.run.job import prepare


def config_file(folder, train, name, in_memory=False, training=None, seed=0, **data):
    config = {
        "name": name,
        "seed": seed,
        "data": {"train": str(train), "target": "label", "in_memory": in_memory, **data},
        "model": {"layers": ["auto", 16, 8, "auto"]},
        "training": {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 32, "epochs": 3, "log_every": 20,
                     **(training or {})},
        "output": {"dir": str(folder / "runs")},
    }  # fmt: skip
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def run_folder(dnn, config, *args):
    result = dnn("train", "--config", config, "--quiet", *args)
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


def assert_same_model(first, second):
    a, b = (checkpoint.load(f"{folder}/checkpoint.npz") for folder in (first, second))
    assert a.header["table"] == b.header["table"]  # the same encoder, every statistic to the bit
    assert a.params.keys() == b.params.keys()
    for name in a.params:
        assert np.array_equal(a.params[name], b.params[name]), name


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """The generated table (numbers, categories, booleans, missing cells, an id) as CSV and as Parquet in row
    groups of 50 rows."""
    folder = tmp_path_factory.mktemp("mixed")
    columns = mixed_columns(m=400)
    write_mixed_csv(folder / "mixed.csv", columns)
    pq.write_table(pa.table(columns), folder / "mixed.parquet", row_group_size=50)
    return folder


@pytest.mark.parametrize(
    "name, dtype", [("mixed.csv", "float64"), ("mixed.parquet", "float64"), ("mixed.csv", "float32")]
)
def test_with_one_window_a_streamed_table_trains_the_model_trained_in_memory(in_tmp, dnn, mixed, name, dtype):
    runs = [
        run_folder(
            dnn, config_file(in_tmp, mixed / name, f"m{in_memory}", in_memory, id="id"), "--set", f"dtype={dtype}"
        )
        for in_memory in (True, False)
    ]
    assert_same_model(*runs)
    scores = [json.loads((in_tmp / run / "metrics.json").read_text())["train"] for run in runs]
    assert scores[0] == scores[1]


@pytest.fixture(scope="module")
def long_csv(tmp_path_factory):
    """A CSV of 30,000 rows, over a megabyte (several blocks, ``note`` pads the rows): ``code`` holds whole numbers
    for 25,000 rows, then text, so its first block gives it a type its later blocks do not fit."""
    rng = np.random.default_rng(5)
    m = 30_000
    x = rng.normal(size=m)
    code = [str(v) for v in rng.integers(0, 4, 25_000)] + [f"A{v}" for v in rng.integers(0, 3, m - 25_000)]
    label = np.where(x + rng.normal(0, 0.5, m) > 0, "yes", "no")
    path = tmp_path_factory.mktemp("long") / "long.csv"
    note = "a note no one reads, to make the rows longer"
    rows = [[f"{a:.6f}", c, note, b] for a, c, b in zip(x, code, label, strict=True)]
    write_csv(path, ["x", "code", "note", "label"], rows)
    assert path.stat().st_size > 2**20
    return path


def test_a_column_whose_later_blocks_hold_text_is_read_again_as_text(in_tmp, dnn, long_csv):
    training = {"batch_size": 512, "epochs": 1}
    runs = [
        run_folder(
            dnn,
            config_file(
                in_tmp, long_csv, f"l{in_memory}", in_memory, training, columns={"code": "category"}, drop="note"
            ),
        )
        for in_memory in (True, False)
    ]
    assert_same_model(*runs)
    columns = checkpoint.load(f"{runs[1]}/checkpoint.npz").header["table"]["columns"]
    assert {"A0", "1"} <= set(columns[1]["categories"])  # as written, in both


def test_a_cell_that_is_not_a_number_is_named_by_its_line_as_in_memory(in_tmp, dnn):
    note = "a note no one reads, to make the rows longer"
    rows = [[f"{i % 7}.5", note, "yes" if i % 2 else "no"] for i in range(40_000)]
    rows[33_000][0] = "n.a."
    path = write_csv(in_tmp / "typo.csv", ["x", "note", "label"], rows)
    assert path.stat().st_size > 2**20
    errors = []
    for in_memory in (True, False):
        config = config_file(in_tmp, path, f"t{in_memory}", in_memory, drop="note")
        result = dnn("train", "--config", config, "--quiet")
        assert result.exit_code == 2
        errors.append(result.stderr.strip())
    assert errors[0] == errors[1]
    assert "line 33002, column 'x': 'n.a.' is not a number" in errors[1]


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty; a table needs a header row and at least one row"),
        ("x,label\n", "has a header but no rows"),
        (
            "x,label\n" + "1.5,yes\n2.5,no\n" * 100_000 + "3,yes,extra\n1,no\n",
            "line 200002 has 3 cells, the header has 2",
        ),
        ("x,label\n1.5,yes\n\xff\xfe,no\n", "not UTF-8 text (byte 17 is 0xff); save the table as UTF-8 CSV"),
        (
            "x,label\n" + "1.5,yes\n2.5,no\n" * 5 + "\n\n3,yes\nn.a.,no\n",
            "line 15, column 'x': 'n.a.' is not a number; fix the cell, leave it empty for a missing value, or set "
            "data.columns.x: category",
        ),
    ],
    ids=["empty", "header only", "ragged past the first block", "not utf-8", "after blank lines"],
)
def test_a_bad_file_read_from_disk_is_refused_as_in_memory(in_tmp, dnn, text, message):
    path = in_tmp / "bad.csv"
    path.write_bytes(text.encode("latin-1"))
    errors = []
    for in_memory in (True, False):
        config = config_file(in_tmp, path, f"b{in_memory}", in_memory)
        result = dnn("train", "--config", config, "--quiet")
        assert result.exit_code == 2, result.output
        errors.append(result.stderr.strip())
    assert errors[0] == errors[1] == f"Error: {path}: {message}"
    assert not (in_tmp / "runs").exists() or not any((in_tmp / "runs").rglob("metrics.json"))


def test_held_out_rows_are_drawn_by_their_number_and_no_statistic_comes_from_them(in_tmp, dnn, mixed):
    training = {"validation_fraction": 0.2}
    config = config_file(in_tmp, mixed / "mixed.csv", "held", training=training, seed=7, id="id", test_fraction=0.25)
    job = prepare(yaml_config(config))
    where = Split(7, 0.25, 0.2).of(np.arange(400))
    assert (job.train.m, job.validation.m, job.test.m) == tuple(int(np.sum(where == k)) for k in range(3))
    assert set(job.test.positions - 2) == set(np.flatnonzero(where == 2))  # lines 2.. are rows 0..

    # the encoder is the one fitted in memory on exactly the training rows
    training_rows = read_table(mixed / "mixed.csv").select(np.flatnonzero(where == 0))
    spec = TableSpec.of(yaml_config(config)["data"])
    in_memory = fit_encoder(training_rows, spec, read_table(mixed / "mixed.csv"))
    assert job.encoder.header() == in_memory.header()


def yaml_config(path):
    from dnncli.config import load as configs

    return configs.load(path)


def test_row_draws_are_a_function_of_the_seed_the_stream_and_the_row_alone():
    rows = np.arange(200_000)
    draws = row_draws(3, 5, rows)
    assert np.array_equal(draws[1000:2000], row_draws(3, 5, np.arange(1000, 2000)))  # whatever the block
    assert np.all((draws >= 0) & (draws < 1))
    assert abs(np.mean(draws < 0.2) - 0.2) < 0.005
    assert not np.array_equal(draws, row_draws(4, 5, rows))
    assert not np.array_equal(draws, row_draws(3, 2, rows))
    held = Split(3, 0.2, 0.1).of(rows)
    assert abs(np.mean(held == 2) - 0.2) < 0.005
    assert abs(np.mean(held == 1) - 0.08) < 0.005  # a tenth of the rows left


@pytest.mark.parametrize("m, piece, window, batch", [(1003, 10, 4, 64), (999, 7, 8, 100), (64, 8, 2, 5)])
def test_windowed_batches_take_every_row_once_an_epoch_a_few_pieces_at_a_time(m, piece, window, batch):
    order = PieceOrder(11, m, batch, piece, window)
    steps = steps_per_epoch(m, batch)
    for epoch in range(3):
        seen = []
        for k in range(steps):
            indices = order.indices(epoch * steps + k)
            windows, _ = order.windows_of(epoch * steps + k)
            assert len(windows) <= -(-batch // (piece * window)) + 1
            pieces = {int(p) for e, j in windows for p in order.window_pieces(e, j)}
            assert set((indices // piece).tolist()) <= pieces
            seen.append(indices)
        assert np.array_equal(np.sort(np.concatenate(seen)), np.arange(m))
    # a function of the seed and the iteration: a fresh order asked at any iteration agrees (what a resume needs)
    for iteration in (0, steps - 1, steps + 3, 2 * steps + 1):
        assert np.array_equal(PieceOrder(11, m, batch, piece, window).indices(iteration), order.indices(iteration))
    assert not np.array_equal(order.indices(0), PieceOrder(12, m, batch, piece, window).indices(0))


def test_one_window_holding_every_piece_is_the_in_memory_order():
    whole, memory = PieceOrder(2, 500, 32, 10, 50), BatchOrder(2, 500, 32)
    assert all(np.array_equal(whole.indices(t), memory.indices(t)) for t in range(60))


def test_a_streamed_source_keeps_only_the_pieces_of_the_windows_in_play(in_tmp, mixed):
    config = config_file(in_tmp, mixed / "mixed.csv", "keep", id="id", shuffle_window=16)  # pieces of 2 rows
    job = prepare(yaml_config(config))
    source = PieceSource(job.train, job.net, job.dtype)
    order = source.batch_order(1, 32)
    held = 0
    for t in range(3 * steps_per_epoch(job.train.m, 32)):
        X, Y = source.take(order.indices(t))
        source.will_take(order.indices(t + 1))
        held = max(held, len(source.pieces))
        assert X.shape == (job.train.features, len(order.indices(t))) and Y.shape[1] == X.shape[1]
    assert held <= 3 * WINDOW_PIECES + 1 < job.train.pieces.count  # three windows at most, of 200 pieces


def test_a_streamed_source_gives_the_rows_and_targets_of_the_table_in_memory(in_tmp, mixed):
    streamed = prepare(yaml_config(config_file(in_tmp, mixed / "mixed.csv", "s", id="id", shuffle_window=24)))
    memory = prepare(yaml_config(config_file(in_tmp, mixed / "mixed.csv", "m", True, id="id")))
    source = PieceSource(streamed.train, streamed.net, streamed.dtype)
    indices = np.random.default_rng(0).permutation(400)[:50]
    X, Y = source.take(indices)
    assert np.array_equal(X, memory.train.rows()[indices].T)
    assert np.array_equal(Y, memory.train.labels[indices][None].astype(float))


def test_a_streamed_subset_holds_the_rows_asked_for_in_their_order_reading_a_piece_at_a_time(in_tmp, mixed):
    streamed = prepare(yaml_config(config_file(in_tmp, mixed / "mixed.csv", "s", id="id", shuffle_window=24)))
    memory = prepare(yaml_config(config_file(in_tmp, mixed / "mixed.csv", "m", True, id="id")))
    train = streamed.train
    read = []
    original = train.read
    train.read = lambda pieces, *rest: read.append(list(pieces)) or original(pieces, *rest)
    indices = np.concatenate([np.random.default_rng(0).permutation(train.m)[:60], [5, 5, train.m - 1]])
    subset = train.subset(indices)
    assert np.array_equal(subset.rows(), memory.train.rows()[indices])
    assert np.array_equal(subset.labels, memory.train.labels[indices])
    assert np.array_equal(subset.positions, memory.train.positions[indices])
    assert all(len(pieces) == 1 for pieces in read) and len(read) == len(set(indices // train.piece_rows))


def test_a_resumed_streamed_run_continues_bit_for_bit(in_tmp, dnn, mixed):
    config = config_file(in_tmp, mixed / "mixed.csv", "resume", id="id", shuffle_window=40, test_fraction=0.2)
    whole = run_folder(dnn, config, "--set", "training.epochs=4")
    half = run_folder(dnn, config, "--set", "training.epochs=2")
    resumed = dnn("train", "--resume", half, "--quiet", "--set", "training.epochs=4")
    assert resumed.exit_code == 0, resumed.output
    a, b = checkpoint.load(f"{whole}/checkpoint.npz"), checkpoint.load(f"{half}/checkpoint.npz")
    for name in a.params:
        assert np.array_equal(a.params[name], b.params[name]), name


def test_evaluate_reads_the_streamed_test_rows_and_agrees_with_training(in_tmp, dnn, mixed):
    config = config_file(in_tmp, mixed / "mixed.parquet", "eval", id="id", test_fraction=0.3, shuffle_window=40)
    run = run_folder(dnn, config)
    metrics = json.loads((in_tmp / run / "metrics.json").read_text())
    result = dnn("evaluate", "--run", run, "--json", "-")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["examples"] == metrics["test"]["examples"]
    assert report["accuracy"] == metrics["test"]["accuracy"]
    rows = {record["row"] for record in report["predictions"]}
    assert rows == {int(r) + 1 for r in np.flatnonzero(Split(0, 0.3).of(np.arange(400)) == 2)}


@pytest.mark.parametrize("task", ["regression", "three classes"])
def test_a_numeric_or_many_class_target_streamed_trains_the_model_in_memory(in_tmp, dnn, task):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 3))
    y = x @ [1.0, -2.0, 0.5] + rng.normal(0, 0.1, 300)
    target = (
        [repr(float(v)) for v in y]
        if task == "regression"
        else [("low", "mid", "high")[int(v > -1) + int(v > 1)] for v in y]
    )
    rows = [[*(repr(float(v)) for v in row), t] for row, t in zip(x, target, strict=True)]
    path = write_csv(in_tmp / "r.csv", ["a", "b", "c", "label"], rows)
    runs = [run_folder(dnn, config_file(in_tmp, path, f"r{in_memory}", in_memory)) for in_memory in (True, False)]
    assert_same_model(*runs)
    assert checkpoint.load(f"{runs[1]}/checkpoint.npz").net.layers[-1] == (1 if task == "regression" else 3)


def test_reading_from_disk_needs_a_batch_size(in_tmp, dnn, mixed):
    config = config_file(in_tmp, mixed / "mixed.csv", "nobatch", training={"batch_size": None})
    result = dnn("train", "--config", config, "--quiet")
    assert result.exit_code == 2
    assert "data.in_memory: reading from disk goes a batch at a time; set training.batch_size" in result.stderr


def test_auto_reads_a_table_from_disk_when_it_needs_over_half_the_memory(mixed):
    size = (mixed / "mixed.csv").stat().st_size
    assert fits_in_memory(mixed / "mixed.csv", available=2 * size)
    assert not fits_in_memory(mixed / "mixed.csv", available=2 * size - 1)


def test_a_run_records_how_auto_read_its_table_so_evaluate_and_resume_read_it_so(in_tmp, dnn, mixed):
    config = config_file(in_tmp, mixed / "mixed.csv", "auto", "auto", id="id", test_fraction=0.25)
    run = run_folder(dnn, config, "--set", "training.epochs=1")
    assert yaml.safe_load((in_tmp / run / "config.yaml").read_text())["data"]["in_memory"] is True  # it fits
    resumed = dnn("train", "--resume", run, "--config", config, "--quiet", "--set", "training.epochs=2")
    assert resumed.exit_code == 0, resumed.output


def test_a_row_store_a_killed_process_left_is_removed_by_the_next_pass(in_tmp, mixed, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(in_tmp / "tmp"))
    (in_tmp / "tmp").mkdir()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    left = in_tmp / "tmp" / f"dnn-rows-{gone.pid}-x1"
    living = in_tmp / "tmp" / f"dnn-rows-{os.getppid()}-x2"  # a process still there: its store is in use
    for folder in (left, living):
        folder.mkdir()
        (folder / "train.arrow").write_bytes(b"rows")
    job = prepare(yaml_config(config_file(in_tmp, mixed / "mixed.csv", "s", id="id")))
    assert not left.exists() and living.exists()
    assert [p.name.split("-")[2] for p in (in_tmp / "tmp").glob("dnn-rows-*") if p != living] == [str(os.getpid())]
    del job


class Stopped(Exception):
    pass


def test_a_pass_is_checked_at_each_block_and_stopped_there_keeps_no_rows(in_tmp, long_csv, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(in_tmp / "tmp"))
    (in_tmp / "tmp").mkdir()
    config = yaml_config(config_file(in_tmp, long_csv, "s", drop=["note", "code"]))
    checked = []

    def check():
        checked.append(len(checked))
        if len(checked) == 2:  # a run's signal, recorded while the first block was read: it stops the pass here
            raise Stopped

    with pytest.raises(Stopped):
        load_table_sets(config, check=check)
    gc.collect()  # the pass's row store, no longer held, removes its folder
    assert checked == [0, 1] and not list((in_tmp / "tmp").iterdir())
    every = []
    assert load_table_sets(config, check=lambda: every.append(1)).train.m > 0
    assert len(every) > 1  # once a block, and the file is read in several


def test_a_row_longer_than_a_block_is_read_from_disk_as_in_memory(in_tmp, dnn):
    rows = [[f"{i % 7}.5", "short", "yes" if i % 2 else "no"] for i in range(300)]
    rows[150][1] = "n" * (3 << 20)  # a cell of 3 MB in a column left out: longer than a block of 1 MiB
    path = write_csv(in_tmp / "long-row.csv", ["x", "note", "label"], rows)
    runs = []
    for in_memory in (True, False):
        config = config_file(in_tmp, path, f"long{in_memory}", in_memory, drop="note", training={"epochs": 1})
        runs.append(run_folder(dnn, config))
    assert_same_model(*(in_tmp / run for run in runs))


def test_categories_unseen_in_training_are_counted_alike_read_from_disk_or_whole(in_tmp, dnn, mixed):
    columns = mixed_columns(m=120, seed=9)
    columns["colour"] = [
        ("mauve" if i % 7 == 0 else "black" if i % 11 == 0 else c) for i, c in enumerate(columns["colour"])
    ]
    write_mixed_csv(in_tmp / "new.csv", columns)
    warnings = []
    for in_memory in (True, False):
        config = config_file(
            in_tmp, mixed / "mixed.csv", f"u{in_memory}", in_memory, id="id", test=str(in_tmp / "new.csv")
        )
        run = run_folder(dnn, config)
        result = dnn("evaluate", "--run", run, "--json", "-")
        assert result.exit_code == 0, result.output
        warnings.append([line for line in result.stderr.splitlines() if "not learned in training" in line])
    assert warnings[0] == warnings[1] and warnings[0], warnings
    assert "'mauve' (" in warnings[0][0] and "'black' (" in warnings[0][0]

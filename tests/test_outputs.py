"""No output of any command replaces one of its inputs or a run's own files, however the path is spelled
(issue 26): refused in one line, exit 2, the file as it was."""

import os
import shutil
from pathlib import Path

import pytest

from conftest import CONFIGS, write_config
from dnncli.files import RUN_FILES

WRITE_REFUSED = "writing would replace it: give another name"


@pytest.fixture
def run(in_tmp, validated_run, demo_data):
    """A copy of ``validated_run`` under the test's folder (runs/t/1), with its data beside it (data/)."""
    shutil.copytree(demo_data, in_tmp / "data", ignore=shutil.ignore_patterns("samples"))
    folder = in_tmp / "runs" / "t" / "1"
    shutil.copytree(validated_run, folder)
    config = (folder / "config.yaml").read_text().replace(str(demo_data), str(in_tmp / "data"))
    (folder / "config.yaml").write_text(config)
    return folder


def commands(run, out):
    """Every command that writes a file its user names, writing to ``out``."""
    photos = run.parent.parent.parent / "photos"
    return {
        "export": ("export", "--run", run, "--out", out),
        "export --best": ("export", "--run", run, "--best", "--out", out),
        "report": ("report", run, "--out", out),
        "plot": ("plot", run, "--out", out),
        "evaluate": ("evaluate", "--run", run, "--json", out),
        "lr-find": ("lr-find", "--config", run / "config.yaml", "--steps", "5", "--out", out),
        "data import": ("data", "import", photos, "--out", out),
        "init-config": ("init-config", out, "--force"),
    }


def spellings(target, where):
    """``target`` named five ways from the folder ``where``: as it is, relative, through ``..``, by a symbolic
    link and by a hard link (the links made in ``where``)."""
    relative = os.path.relpath(target, where)
    detour = Path(target).parent / ".." / Path(target).parent.name / "." / Path(target).name
    symlink, hardlink = where / f"link-{target.name}.png", where / f"hard-{target.name}.png"
    symlink.symlink_to(target)
    os.link(target, hardlink)
    return {"as is": target, "relative": relative, "..": detour, "symlink": symlink, "hard link": hardlink}


def refused(result, path):
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: {path}: is the ") and line.endswith(WRITE_REFUSED), line


@pytest.mark.parametrize("command", ["export", "report", "evaluate", "lr-find", "init-config"])
def test_no_output_replaces_a_runs_own_file_however_spelled(in_tmp, run, dnn, command):
    # each file once, each spelling once (a hard link is no loss here: the rename replaces the link's name only;
    # a hard link of an input is refused below); report builds its page first, so it tries two
    names = RUN_FILES[:2] if command == "report" else RUN_FILES
    ways = ["symlink", "..", "relative", "as is"]
    for name, how in zip(names, ways, strict=False):
        target = run / name
        before = target.read_bytes()
        path = spellings(target, in_tmp)[how]
        refused(dnn(*commands(run, path)[command]), path)
        assert target.read_bytes() == before, how


@pytest.mark.parametrize("command", ["export --best", "plot"])
def test_a_symbolic_link_named_as_a_picture_is_followed_to_the_run_file(in_tmp, run, dnn, command):
    before = {name: (run / name).read_bytes() for name in RUN_FILES}
    for name in RUN_FILES:
        (in_tmp / "out.png").unlink(missing_ok=True)
        (in_tmp / "out.png").symlink_to(run / name)
        refused(dnn(*commands(run, in_tmp / "out.png")[command]), in_tmp / "out.png")
    assert {name: (run / name).read_bytes() for name in RUN_FILES} == before


@pytest.mark.parametrize("command", ["evaluate", "lr-find", "report", "export"])
def test_no_output_replaces_the_data_or_config_it_read(in_tmp, run, dnn, command):
    config = write_config(in_tmp / "other.yaml", in_tmp / "data", model={"layers": [12288, 2, 1]})
    (in_tmp / "copy.npz").write_bytes((run / "checkpoint.npz").read_bytes())
    targets = {
        "evaluate": [in_tmp / "data" / "test.h5"],
        "lr-find": [in_tmp / "data" / "train.h5", config],
        "report": [in_tmp / "data" / "test.h5"],
        "export": [in_tmp / "copy.npz"],
    }[command]
    for target in targets:
        before = target.read_bytes()
        ways = spellings(target, in_tmp)
        for how in ("hard link", "relative") if command == "report" else ways:
            path = ways[how]
            args = {
                "lr-find": ("lr-find", "--config", config, "--steps", "5", "--out", path),
                "export": ("export", "--checkpoint", in_tmp / "copy.npz", "--out", path),
            }.get(command) or commands(run, path)[command]
            refused(dnn(*args), path)
            assert target.read_bytes() == before, how
        ways["symlink"].unlink()
        ways["hard link"].unlink()


def test_an_import_never_replaces_a_picture_it_decodes(in_tmp, run, dnn, demo_data):
    for label, picture in (("plain", "plain-1.jpg"), ("shape", "shape-2.png")):
        (in_tmp / "photos" / label).mkdir(parents=True)
        shutil.copy(demo_data / "samples" / picture, in_tmp / "photos" / label / picture)
    target = in_tmp / "photos" / "plain" / "plain-1.jpg"
    before = target.read_bytes()
    # the picture is read only once the HDF5 file is being written: the check is made again before the rename
    refused(
        dnn(*commands(run, "photos/plain/../plain/plain-1.jpg")["data import"]), "photos/plain/../plain/plain-1.jpg"
    )
    assert target.read_bytes() == before
    assert sorted(os.listdir(target.parent)) == ["plain-1.jpg"]  # no temporary file left


def test_demo_never_writes_through_a_link_to_a_runs_file(in_tmp, run, dnn):
    (in_tmp / "demo").mkdir()
    (in_tmp / "demo" / "train.h5").symlink_to(run / "checkpoint.npz")
    before = (run / "checkpoint.npz").read_bytes()
    refused(dnn("data", "demo", "--out", in_tmp / "demo"), in_tmp / "demo" / "train.h5")
    assert (run / "checkpoint.npz").read_bytes() == before


def test_outputs_beside_a_runs_files_and_over_their_own_earlier_copies_are_written(in_tmp, run, dnn):
    for out in (run / "model.onnx", run / "model.onnx"):  # a second time over its own first
        assert dnn("export", "--run", run, "--out", out).exit_code == 0
    assert dnn("report", run, "--out", run / "report.html").exit_code == 0
    assert dnn("init-config", in_tmp / "config.yaml").exit_code == 0  # a config.yaml that is no run's
    assert dnn("init-config", in_tmp / "config.yaml", "--force").exit_code == 0


def test_predict_out_of_a_table_model_replaces_neither_the_rows_it_reads_nor_the_run(in_tmp, dnn):
    assert dnn("data", "demo", "--format", "table", "--out", in_tmp / "data" / "plants").exit_code == 0
    config = in_tmp / "plants.yaml"
    config.write_text((CONFIGS / "plants.yaml").read_text().replace("../data/plants", str(in_tmp / "data" / "plants")))
    trained = dnn("train", "--config", config, "--quiet", "--set", "training.epochs=2")
    assert trained.exit_code == 0, trained.output
    run = in_tmp / trained.stdout.strip().splitlines()[-1]
    rows = in_tmp / "data" / "plants" / "new-plants.csv"
    for target in (rows, run / "checkpoint.npz"):
        before = target.read_bytes()
        ways = spellings(target, in_tmp)
        for how, path in ways.items():
            refused(dnn("predict", rows, "--run", run, "--out", path), path)
            assert target.read_bytes() == before, how
        ways["symlink"].unlink()
        ways["hard link"].unlink()
    written = dnn("predict", rows, "--run", run, "--out", in_tmp / "predictions.csv")
    assert written.exit_code == 0, written.output
    assert (in_tmp / "predictions.csv").read_text().startswith("line,id,predicted,")

"""Honest answers through every command, on real runs: what a checkpoint carries (familiarity, temperature,
threshold, class counts), predict's margin, abstaining and unfamiliarity, evaluate beside a baseline with the
calibration error before and after, `dnn calibrate`, `evaluate --choose-threshold`, serve, the report and the
ONNX export (docs/honest-answers.md)."""

import json
import re
import shutil

import h5py
import numpy as np
import pytest
from PIL import Image

from conftest import metrics_of, train_run, write_config
from dnncli.config.load import load as load_config
from dnncli.engine import forward
from dnncli.model import checkpoint
from dnncli.model.calibration import calibrated, fit_temperature
from dnncli.model.familiarity import PICTURE_FEATURES, QUANTILES
from dnncli.model.honesty import PREFIX
from dnncli.model.predict import classify
from dnncli.model.thresholds import choose_threshold
from dnncli.run.job import prepare
from unlike_pictures import generated

TRAINING = {"learning_rate": 0.01, "iterations": 300, "validation_fraction": 0.3, "log_every": 50}


@pytest.fixture(scope="module")
def calibrated_run(tmp_path_factory, demo_data):
    """The demo's model with 30% of its training set held out: calibrated at the end of training."""
    root = tmp_path_factory.mktemp("calibrated")
    return train_run(root, write_config(root / "c.yaml", demo_data, training=TRAINING))


@pytest.fixture(scope="module")
def uncalibrated_run(tmp_path_factory, demo_data):
    """The same run, ``training.calibrate: false``: the same weights, no temperature."""
    root = tmp_path_factory.mktemp("uncalibrated")
    return train_run(root, write_config(root / "c.yaml", demo_data, training={**TRAINING, "calibrate": False}))


def copied_run(run, tmp_path):
    """A copy of a run folder, to change without touching the module's run."""
    folder = tmp_path / "runs" / "t" / "1"
    shutil.copytree(run, folder)
    return folder


def json_lines(result):
    return [json.loads(line) for line in result.stdout.splitlines()]


def validation_of(run):
    """The run's validation split, as training held it out."""
    return prepare(load_config(run / "config.yaml"), with_test=False).validation


def logits(saved, dataset):
    return forward(saved.net, saved.params, dataset.rows().T)[0]


def without_honesty(saved, path):
    """``saved`` written to ``path`` as a checkpoint from before dnn kept what doubts its answers."""
    header = {
        k: v for k, v in saved.header.items() if k not in ("familiarity", "calibration", "threshold", "class_counts")
    }
    checkpoint.save(path, header, saved.params, saved.state)
    return path


# --- what a checkpoint carries ---------------------------------------------------------------------------


def test_a_checkpoint_carries_its_familiarity_class_counts_and_temperature(calibrated_run):
    saved = checkpoint.load(calibrated_run / "checkpoint.npz")
    validation = validation_of(calibrated_run)
    assert saved.class_counts is not None and sum(saved.class_counts) == 300 - validation.m == 210
    fitted = saved.familiarity
    assert fitted.kind == "pictures" and fitted.features == len(PICTURE_FEATURES) and fitted.examples == 210
    shapes = {name: a.shape for name, a in saved.arrays.items()}
    assert shapes == {f"{PREFIX}mean": (17,), f"{PREFIX}scale": (17,), f"{PREFIX}precision": (17, 17),
                      f"{PREFIX}quantiles": (QUANTILES,)}  # fmt: skip
    calibration = saved.header["calibration"]
    assert calibration["split"] == "validation" and calibration["examples"] == validation.m == 90
    assert metrics_of(calibrated_run)["calibration"] == calibration
    assert metrics_of(calibrated_run)["class_counts"] == dict(zip(saved.classes, saved.class_counts, strict=True))
    # the temperature is the one that minimises the validation split's log loss, for each checkpoint's weights
    for name in ("checkpoint.npz", "best.npz"):
        model = checkpoint.load(calibrated_run / name)
        fitted = fit_temperature(logits(model, validation), validation.labels)
        assert model.temperature == fitted.temperature
        assert model.header["calibration"]["log_loss_after"] == fitted.log_loss_after < fitted.log_loss_before
    assert checkpoint.load(calibrated_run / "best.npz").familiarity.threshold == saved.familiarity.threshold


def test_a_run_with_calibrate_false_keeps_the_networks_own_probabilities(uncalibrated_run, calibrated_run):
    saved = checkpoint.load(uncalibrated_run / "checkpoint.npz")
    assert "calibration" not in saved.header and saved.temperature == 1
    assert "calibration" not in metrics_of(uncalibrated_run)
    same = checkpoint.load(calibrated_run / "checkpoint.npz")
    for name, value in saved.params.items():
        assert np.array_equal(value, same.params[name])  # calibrating never changes the weights


EDITS = {
    "a familiarity of no kind": (lambda h, a: h["familiarity"].update(kind="faces"), "header field 'familiarity'"),
    "a negative threshold": (lambda h, a: h["familiarity"].update(threshold=-1), "header field 'familiarity'"),
    "a temperature of 0": (lambda h, a: h["calibration"].update(temperature=0), "header field 'calibration' must"),
    "a threshold above 1": (lambda h, a: h.update(threshold={"threshold": 2.5}), "header field 'threshold' must"),
    "counts of one class": (lambda h, a: h.update(class_counts=[210]), "header field 'class_counts' must count"),
    "no precision": (lambda h, a: a.pop(f"{PREFIX}precision"), "array familiarity.precision is missing"),
    "a scale of 0": (lambda h, a: a[f"{PREFIX}scale"].__setitem__(0, 0.0), "holds a scale that is not positive"),
    "nan in the mean": (lambda h, a: a[f"{PREFIX}mean"].__setitem__(3, np.nan), "array familiarity.mean holds nan"),
    "a wrong shape": (
        lambda h, a: a.update({f"{PREFIX}precision": np.eye(16)}),
        "array familiarity.precision has shape (16, 16), layer sizes need (17, 17)",
    ),
    "percentiles out of order": (
        lambda h, a: a.update({f"{PREFIX}quantiles": np.linspace(1, 0, QUANTILES)}),
        "array familiarity.quantiles is not in order",
    ),
}


@pytest.mark.parametrize("edit", EDITS)
def test_a_hand_edited_checkpoint_is_refused_in_one_line(calibrated_run, demo_data, dnn, tmp_path, edit):
    saved = checkpoint.load(calibrated_run / "checkpoint.npz")
    header, arrays = json.loads(json.dumps(saved.header)), {k: v.copy() for k, v in saved.arrays.items()}
    change, message = EDITS[edit]
    change(header, arrays)
    checkpoint.save(tmp_path / "m.npz", header, saved.params, saved.state, arrays)
    result = dnn("predict", demo_data / "samples", "--checkpoint", tmp_path / "m.npz")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"Error: {tmp_path / 'm.npz'}: ")
    assert message in result.stderr


def test_familiarity_arrays_without_their_header_are_refused(calibrated_run, demo_data, dnn, tmp_path):
    saved = checkpoint.load(calibrated_run / "checkpoint.npz")
    header = {k: v for k, v in saved.header.items() if k != "familiarity"}
    checkpoint.save(tmp_path / "m.npz", header, saved.params, saved.state, saved.arrays)
    result = dnn("predict", demo_data / "samples", "--checkpoint", tmp_path / "m.npz")
    assert result.exit_code == 2 and "it holds an array 'familiarity.mean', which no checkpoint has" in result.stderr


def test_a_checkpoint_from_before_still_answers_without_them(calibrated_run, demo_data, dnn, tmp_path):
    saved = checkpoint.load(calibrated_run / "checkpoint.npz")
    older = without_honesty(saved, tmp_path / "older.npz")
    records = json_lines(dnn("predict", demo_data / "samples", "--checkpoint", older, "--json"))
    assert records and all(r["unfamiliarity"] is None and r["unfamiliar"] is None for r in records)
    pictures = np.stack([np.asarray(Image.open(demo_data / "samples" / r["path"].rsplit("/", 1)[-1])) for r in records])
    raw = forward(saved.net, saved.params, (pictures.reshape(len(pictures), -1) / 255.0).T)[0][0]
    assert [r["probabilities"]["shape"] for r in records] == pytest.approx(1 / (1 + np.exp(-raw)), abs=1e-12)
    report = json.loads(dnn("evaluate", "--checkpoint", older, "--data", demo_data / "test.h5", "--json", "-").stdout)
    assert report["baseline"] is None and report["temperature"] is None and report["unfamiliar"] is None
    assert "uncalibrated" not in report


# --- predict ----------------------------------------------------------------------------------------------


def test_predict_shows_the_margin_and_abstains_below_the_least_confidence(calibrated_run, demo_data, dnn):
    samples = demo_data / "samples"
    plain = json_lines(dnn("predict", samples, "--run", calibrated_run, "--json"))
    for record in plain:
        p = sorted(record["probabilities"].values())
        assert record["margin"] == pytest.approx(p[-1] - p[-2], abs=1e-15) and "guess" not in record
    least = float(np.median([r["probability"] for r in plain]))
    unsure = json_lines(dnn("predict", samples, "--run", calibrated_run, "--json", "--min-confidence", least))
    for before, after in zip(plain, unsure, strict=True):
        if before["probability"] < least:
            assert after["class"] == "unsure" and after["guess"] == before["class"]
            assert {k: v for k, v in after.items() if k not in ("class", "guess")} == {
                k: v for k, v in before.items() if k != "class"
            }
        else:
            assert after == before
    assert sum(r["class"] == "unsure" for r in unsure) >= 1
    piped = dnn("predict", samples, "--run", calibrated_run, "--min-confidence", least, env={"TTY_COMPATIBLE": "0"})
    classes = [line.split("\t")[1] for line in piped.stdout.splitlines()]
    assert classes == [r["class"] for r in unsure]


def test_a_model_with_a_class_named_unsure_cannot_abstain(calibrated_run, demo_data, dnn, tmp_path):
    saved = checkpoint.load(calibrated_run / "checkpoint.npz")
    checkpoint.save(
        tmp_path / "m.npz", dict(saved.header, classes=["plain", "unsure"]), saved.params, None, saved.arrays
    )
    result = dnn("predict", demo_data / "samples", "--checkpoint", tmp_path / "m.npz", "--min-confidence", "0.9")
    assert result.exit_code == 2
    assert "--min-confidence: the model has a class named 'unsure', the name an abstention takes" in result.stderr


@pytest.fixture(scope="module")
def unlike(tmp_path_factory):
    """28 generated pictures unlike any demo picture (noise, flat colours, text, drawings, silhouettes, skies,
    blobs), as PNG files."""
    folder = tmp_path_factory.mktemp("unlike")
    kinds, pictures = generated(per_kind=4, seed=2)
    for i, (kind, pixels) in enumerate(zip(kinds, pictures, strict=True)):
        Image.fromarray(pixels).save(folder / f"{i:02d}-{kind}.png")
    return folder


def test_pictures_unlike_the_training_set_are_flagged_and_keep_their_class(calibrated_run, unlike, dnn, tmp_path):
    records = json_lines(dnn("predict", unlike, "--run", calibrated_run, "--json"))
    assert len(records) == 28
    assert np.mean([r["unfamiliar"] for r in records]) >= 0.9
    assert all(r["unfamiliar"] == (r["unfamiliarity"] > 1) for r in records)
    saved = checkpoint.load(calibrated_run / "checkpoint.npz")
    older = without_honesty(saved, tmp_path / "older.npz")
    # the flag never changes the class: the same as a checkpoint without familiarity, at its temperature
    plain = json_lines(dnn("predict", unlike, "--checkpoint", older, "--json"))
    assert [r["class"] for r in records] == [r["class"] for r in plain]


def test_the_test_pictures_are_rarely_flagged_and_evaluate_counts_the_flags(calibrated_run, dnn):
    report = json.loads(dnn("evaluate", "--run", calibrated_run, "--json", "-").stdout)
    flags = [p["unfamiliar"] for p in report["predictions"]]
    counts = report["unfamiliar"]
    assert counts["flagged"] == sum(flags) and counts["examples"] == 100
    assert counts["flagged"] <= 15  # the threshold is the held-out 95th percentile: about 1 in 20 flagged
    right = np.array([p["true"] == p["predicted"] for p in report["predictions"]])
    flags = np.array(flags)
    assert counts["accuracy_flagged"] == pytest.approx(right[flags].mean())
    assert counts["accuracy_familiar"] == pytest.approx(right[~flags].mean())


# --- evaluate: a baseline beside every score, calibration before and after ---------------------------------


def test_evaluate_puts_a_baseline_beside_every_score(calibrated_run, demo_data, dnn):
    metrics = pytest.importorskip("sklearn.metrics")
    result = dnn("evaluate", "--run", calibrated_run, env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    report = json.loads((calibrated_run / "evaluation-test.json").read_text())
    counts = checkpoint.load(calibrated_run / "checkpoint.npz").class_counts
    common = ["plain", "shape"][int(np.argmax(counts))]
    with h5py.File(demo_data / "test.h5") as f:
        labels = f["test_set_y"][()].ravel()
    predicted = np.array([["plain", "shape"].index(p["predicted"]) for p in report["predictions"]])
    assert report["baseline"]["class"] == common
    assert report["baseline"]["accuracy"] == np.mean(labels == ["plain", "shape"].index(common))
    assert report["baseline"]["balanced_accuracy"] == 0.5
    assert report["balanced_accuracy"] == pytest.approx(metrics.balanced_accuracy_score(labels, predicted))
    recall = metrics.recall_score(labels, predicted, average=None)
    assert [report["per_class"][c]["recall"] for c in ("plain", "shape")] == pytest.approx(recall)
    assert report["no_better"] is None
    table = result.stdout
    assert (
        re.search(r"│ accuracy +│ +[0-9.]+ │ +0\.5000 │", table) and f"baseline: always answering '{common}'" in table
    )


def test_the_calibration_error_is_computed_as_scikit_learns_calibration_curve(calibrated_run, dnn, tmp_path):
    calibration = pytest.importorskip("sklearn.calibration")
    report = json.loads(dnn("evaluate", "--run", calibrated_run, "--json", "-").stdout)
    older = without_honesty(checkpoint.load(calibrated_run / "checkpoint.npz"), tmp_path / "older.npz")
    shutil.copy(calibrated_run / "config.yaml", tmp_path / "config.yaml")
    raw = json.loads(dnn("evaluate", "--checkpoint", older, "--json", "-").stdout)

    def peer_error(predictions):
        """Expected calibration error from scikit-learn's reliability curve of the top class's probability."""
        confidence = np.array([max(p["probabilities"].values()) for p in predictions])
        correct = np.array([p["true"] == p["predicted"] for p in predictions])
        accuracy, mean_confidence = calibration.calibration_curve(correct, confidence, n_bins=10)
        occupied = np.bincount(np.searchsorted(np.linspace(0, 1, 11)[1:-1], confidence), minlength=10)
        occupied = occupied[occupied > 0]
        return float(np.sum(occupied / len(confidence) * np.abs(accuracy - mean_confidence)))

    assert report["calibration"]["expected_calibration_error"] == pytest.approx(peer_error(report["predictions"]))
    assert report["uncalibrated"]["calibration_error"] == pytest.approx(peer_error(raw["predictions"]))
    assert report["uncalibrated"]["log_loss"] == raw["log_loss"] == metrics_of(calibrated_run)["test"]["cost"]
    assert report["temperature"] == checkpoint.load(calibrated_run / "checkpoint.npz").header["calibration"]
    # on the split T was fitted on, calibrating lowers the log loss
    validation = json.loads(dnn("evaluate", "--run", calibrated_run, "--split", "validation", "--json", "-").stdout)
    assert validation["examples"] == 90
    assert validation["log_loss"] == pytest.approx(report["temperature"]["log_loss_after"])
    assert validation["log_loss"] < validation["uncalibrated"]["log_loss"]


def test_evaluate_says_how_many_would_be_answered_at_a_least_confidence(calibrated_run, dnn):
    report = json.loads(dnn("evaluate", "--run", calibrated_run, "--json", "-").stdout)
    top = np.array([max(p["probabilities"].values()) for p in report["predictions"]])
    right = np.array([p["true"] == p["predicted"] for p in report["predictions"]])
    least = float(np.median(top))
    report = json.loads(dnn("evaluate", "--run", calibrated_run, "--min-confidence", least, "--json", "-").stdout)
    abstaining = report["abstaining"]
    assert abstaining["answered"] == int(np.sum(top >= least)) >= 50 and abstaining["examples"] == 100
    assert abstaining["accuracy_answered"] == pytest.approx(right[top >= least].mean())


# --- dnn calibrate -----------------------------------------------------------------------------------------


def test_dnn_calibrate_fits_the_temperature_training_would_have(uncalibrated_run, calibrated_run, dnn, tmp_path):
    run = copied_run(uncalibrated_run, tmp_path)
    result = dnn("calibrate", run)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [str(run / "checkpoint.npz"), str(run / "best.npz")]
    assert "fitted on the 90 examples of the validation split" in lines[0]
    for name in ("checkpoint.npz", "best.npz"):
        assert (
            checkpoint.load(run / name).header["calibration"]
            == checkpoint.load(calibrated_run / name).header["calibration"]
        )


def test_calibrating_needs_a_validation_split(demo_run, dnn):
    result = dnn("calibrate", demo_run)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {demo_run / 'config.yaml'}: training.validation_fraction is 0, so no examples were held out for "
        "validation; train with one, e.g. --set training.validation_fraction=0.2\n"
    )


# --- thresholds chosen from data ------------------------------------------------------------------------------


def test_a_threshold_chosen_on_the_validation_split_is_stored_and_used(calibrated_run, demo_data, dnn, tmp_path):
    run = copied_run(calibrated_run, tmp_path)
    result = dnn("evaluate", "--run", run, "--choose-threshold", "balanced_accuracy")
    assert result.exit_code == 0, result.output
    saved = checkpoint.load(run / "checkpoint.npz")
    chosen = saved.header["threshold"]
    validation = validation_of(run)
    p = calibrated(logits(saved, validation), saved.temperature)[0]
    expected = choose_threshold(validation.labels == 1, p, "balanced_accuracy")
    assert {k: chosen[k] for k in expected} == expected and chosen["examples"] == 90
    assert saved.threshold == chosen["threshold"] and result.stdout.startswith(f"{run / 'checkpoint.npz'}: threshold ")
    report = json.loads((run / "evaluation-test.json").read_text())
    assert report["threshold"] == chosen
    for record in report["predictions"]:  # evaluate answers as predict does: above the stored threshold
        assert record["predicted"] == ("shape" if record["probabilities"]["shape"] > chosen["threshold"] else "plain")
        other = "plain" if record["predicted"] == "shape" else "shape"
        lead = record["probabilities"][record["predicted"]] - record["probabilities"][other]
        assert record["margin"] == pytest.approx(lead, abs=1e-15)  # below 0 where the threshold answers the less likely
    with h5py.File(demo_data / "test.h5") as f:
        pictures = f["test_set_x"][:]
    probabilities, labels = classify(saved, pictures)
    assert np.array_equal(labels, probabilities[1] > chosen["threshold"])
    for i in range(3):
        Image.fromarray(pictures[i]).save(tmp_path / f"{i}.png")
    records = json_lines(dnn("predict", *(tmp_path / f"{i}.png" for i in range(3)), "--run", run, "--json"))
    assert [r["class"] for r in records] == [["plain", "shape"][k] for k in labels[:3]]
    overridden = json_lines(dnn("predict", tmp_path / "0.png", "--run", run, "--json", "--threshold", "0.999999"))
    assert overridden[0]["class"] == ("shape" if overridden[0]["probabilities"]["shape"] > 0.999999 else "plain")
    # calibrating again chooses it again, by its rule
    again = dnn("calibrate", run)
    assert "threshold" in again.stdout.splitlines()[1] and "chosen by balanced accuracy" in again.stdout


def test_choosing_a_threshold_is_refused_where_it_means_nothing(softmax_run, demo_run, dnn):
    result = dnn("evaluate", "--run", softmax_run, "--choose-threshold", "f1")
    assert result.exit_code == 2 and "--choose-threshold: for a two-class model" in result.stderr
    result = dnn("evaluate", "--run", demo_run, "--choose-threshold", "f1")
    assert result.exit_code == 2 and "training.validation_fraction is 0" in result.stderr
    result = dnn("evaluate", "--run", demo_run, "--choose-threshold", "precision")
    assert result.exit_code == 2 and "--choose-threshold precision takes --target-precision P" in result.stderr


def test_the_onnx_export_divides_by_the_temperature_and_uses_the_threshold(calibrated_run, demo_data, dnn, tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    run = copied_run(calibrated_run, tmp_path)
    assert dnn("evaluate", "--run", run, "--choose-threshold", "f1", "--json", "-").exit_code == 0
    saved = checkpoint.load(run / "checkpoint.npz")
    assert saved.temperature != 1 and saved.threshold != 0.5
    with h5py.File(demo_data / "test.h5") as f:
        pictures = f["test_set_x"][:]
    probabilities, labels = classify(saved, pictures)
    out = tmp_path / "m.onnx"
    assert dnn("export", "--run", run, "--out", out, "--dtype", "float64").exit_code == 0
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    onnx_probabilities, onnx_labels = session.run(None, {"pictures": pictures})
    np.testing.assert_allclose(onnx_probabilities, probabilities.T, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(onnx_labels, labels)
    metadata = (
        {p.key: p.value for p in session.get_modelmeta().custom_metadata_map.items()}
        if False
        else (session.get_modelmeta().custom_metadata_map)
    )
    assert json.loads(metadata["temperature"]) == saved.temperature
    assert json.loads(metadata["threshold"]) == saved.threshold


# --- serve and the report --------------------------------------------------------------------------------------


def test_serve_answers_as_predict_does_and_says_how(calibrated_run, demo_data, dnn, tmp_path):
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("starlette")
    from test_serve import Server, predict

    saved = checkpoint.load(calibrated_run / "checkpoint.npz")
    server = Server(tmp_path, "--run", calibrated_run, "--min-confidence", "0.9")
    try:
        info = httpx.get(server.url + "/info").json()
        assert info["temperature"] == saved.temperature and info["threshold"] == saved.threshold == 0.5
        assert info["min_confidence"] == 0.9 and info["unsure"] == "unsure" and info["familiarity"] is True
        samples = sorted((demo_data / "samples").iterdir())
        answer = predict(server.url, [(p.name, p.read_bytes()) for p in samples]).json()
    finally:
        server.stop()
    expected = json_lines(dnn("predict", *samples, "--run", calibrated_run, "--json", "--min-confidence", "0.9"))
    for record in expected:
        record["path"] = record["path"].rsplit("/", 1)[-1]
    assert answer["predictions"] == expected


def test_the_report_says_how_far_to_trust_the_model(calibrated_run, dnn, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "r.html"
    assert dnn("report", calibrated_run, "--out", out).exit_code == 0
    page = out.read_text()
    trust = page[page.index('<section id="trust">') : page.index("</section>", page.index('<section id="trust">'))]
    text = re.sub(r"<[^>]+>", " ", trust)
    assert "How far to trust it" in text and "The model does better than its baseline." in text
    assert "balanced accuracy" in text and "recall of each class" in text
    assert "calibration error, uncalibrated" in text and "Calibrated: temperature" in text
    assert re.search(r"\d+ of 100 test examples are unlike the training inputs", text)


# --- tables ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory):
    """A classifier of the generated mixed table (numbers, categories, booleans, missing cells), with a
    validation split (so calibrated) and a test split."""
    import yaml
    from click.testing import CliRunner
    from tabledata import mixed_columns, write_mixed_csv

    from dnncli.cli import main

    folder = tmp_path_factory.mktemp("mixed")
    write_mixed_csv(folder / "mixed.csv", mixed_columns(m=600))
    config = {
        "name": "mixed",
        "data": {"train": str(folder / "mixed.csv"), "target": "label", "id": "id", "test_fraction": 0.2},
        "model": {"layers": ["auto", 16, "auto"]},
        "training": {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 32, "epochs": 20,
                     "validation_fraction": 0.25},
    }  # fmt: skip
    (folder / "c.yaml").write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(main, ["train", "--config", str(folder / "c.yaml"), "--quiet",
                                       "--set", f"output.dir={folder / 'runs'}"])  # fmt: skip
    assert result.exit_code == 0, result.output
    return folder / "runs" / "mixed" / "1"


def test_rows_far_outside_the_training_ranges_or_of_unseen_categories_are_unfamiliar(mixed_run, dnn, tmp_path):
    from dnncli.data.tables import read_table
    from dnncli.model.answers import unseen_categories

    saved = checkpoint.load(mixed_run / "checkpoint.npz")
    assert saved.familiarity.kind == "rows" and saved.familiarity.features == saved.net.layers[0]
    assert "calibration" in saved.header and sum(saved.class_counts) == 360
    colour = next(c for c in saved.encoder.columns if c["name"] == "colour")
    assert not colour["other"]  # every colour has an input of its own: a new one has none
    rows = ["id,size,weight,colour,indoor", "typical,10,50,red,true", "far,1000,50,red,true",
            "new colour,10,50,purple,true", "both,1000,50,purple,false"]  # fmt: skip
    (tmp_path / "new.csv").write_text("\n".join(rows) + "\n")
    result = dnn("predict", tmp_path / "new.csv", "--run", mixed_run, "--json")
    assert result.exit_code == 0, result.output
    records = {r["id"]: r for r in json_lines(result)}
    assert not records["typical"]["unfamiliar"] and records["typical"]["unfamiliarity"] < 1
    assert records["far"]["unfamiliar"] and records["far"]["unfamiliarity"] > 10
    assert records["new colour"]["unfamiliar"] and records["new colour"]["unfamiliarity"] > 1
    inputs, _ = saved.encoder.encode(read_table(tmp_path / "new.csv"))
    assert unseen_categories(saved.encoder, inputs).tolist() == [0, 0, 1, 1]
    distance = saved.familiarity.unfamiliarity(inputs)
    assert [records[k]["unfamiliarity"] for k in ("new colour", "both")] == pytest.approx(distance[2:] + 1)
    table = list(csv_rows(dnn("predict", tmp_path / "new.csv", "--run", mixed_run).stdout))
    assert [row["unfamiliar"] for row in table] == ["false", "true", "true", "true"]
    assert float(table[1]["unfamiliarity"]) == records["far"]["unfamiliarity"]


def csv_rows(text):
    import csv
    import io

    return csv.DictReader(io.StringIO(text))


def test_the_training_rows_like_new_rows_are_rarely_flagged(mixed_run, dnn):
    report = json.loads(dnn("evaluate", "--run", mixed_run, "--json", "-").stdout)
    assert report["examples"] == 120 and report["unfamiliar"]["flagged"] <= 18  # about 1 in 20, by design
    assert report["baseline"]["class"] == "yes" and report["temperature"]["split"] == "validation"


def test_a_regression_stands_beside_always_answering_the_training_mean(mixed_run, dnn, tmp_path):
    metrics = pytest.importorskip("sklearn.metrics")
    config = (mixed_run / "config.yaml").read_text().replace("target: label", "target: size")
    (tmp_path / "r.yaml").write_text(config.replace("name: mixed", "name: size"))
    result = dnn("train", "--config", tmp_path / "r.yaml", "--quiet", "--set", f"output.dir={tmp_path / 'runs'}")
    assert result.exit_code == 0, result.output
    run = tmp_path / "runs" / "size" / "1"
    saved = checkpoint.load(run / "checkpoint.npz")
    assert saved.class_counts is None and "calibration" not in saved.header and saved.familiarity is not None
    report = json.loads(dnn("evaluate", "--run", run, "--json", "-").stdout)
    truth = np.array([r["true"]["size"] for r in report["predictions"]])
    always = np.full_like(truth, saved.encoder.target["mean"][0])
    assert report["baseline"]["rmse"] == pytest.approx(metrics.root_mean_squared_error(truth, always))
    assert report["baseline"]["mae"] == pytest.approx(metrics.mean_absolute_error(truth, always))
    assert report["baseline"]["r2"] == pytest.approx(metrics.r2_score(truth, always)) and report["baseline"]["r2"] <= 0
    assert (report["no_better"] is None) == (report["rmse"] < report["baseline"]["rmse"])
    final = metrics_of(run)["test"]
    assert final["baseline_rmse"] == pytest.approx(report["baseline"]["rmse"])
    assert final["baseline_r2"] == pytest.approx(report["baseline"]["r2"])
    assert {"unfamiliarity", "unfamiliar"} <= set(report["predictions"][0])
    refused = dnn("predict", mixed_run.parents[2] / "mixed.csv", "--run", run, "--min-confidence", "0.9")
    assert refused.exit_code == 2 and "--min-confidence: for a model of classes" in refused.stderr
    refused = dnn("calibrate", run)
    assert refused.exit_code == 2 and "predicts numbers; only a model of classes has probabilities" in refused.stderr


def test_class_weights_reach_a_picture_folder_and_silence_the_uneven_warning(demo_data, dnn, tmp_path):
    from dnncli.data.demo import write_demo

    write_demo(tmp_path / "folder", layout="folder")
    for split, keep in (("train", {"plain": 60, "shape": 10}), ("test", {"plain": 20, "shape": 20})):
        for name, count in keep.items():
            for extra in sorted((tmp_path / "folder" / split / name).iterdir())[count:]:
                extra.unlink()
    data = {"format": "folder", "train": str(tmp_path / "folder" / "train"), "test": str(tmp_path / "folder" / "test")}
    results = {}
    for weight in (None, "balanced"):
        training = {"learning_rate": 0.01, "iterations": 100, "class_weight": weight}
        config = write_config(tmp_path / f"{weight}.yaml", demo_data, data=data, training=training)
        result = dnn("train", "--config", config, "--quiet", "--set", f"output.dir={tmp_path / str(weight)}")
        assert result.exit_code == 0, result.output
        results[weight] = metrics_of(tmp_path / str(weight) / "t" / "1")
    assert results[None]["warnings"][0].startswith("uneven classes: 'shape' 10 (14%) of 70 training examples")
    assert not any(w.startswith("uneven") for w in results["balanced"].get("warnings", []))
    assert results["balanced"]["train"]["cost"] != results[None]["train"]["cost"]  # the weights reached the cost


def test_a_table_model_s_onnx_graph_divides_by_the_temperature_and_uses_the_threshold(mixed_run, dnn, tmp_path):
    pytest.importorskip("onnxruntime")
    from test_export_tables import onnx_feed, predicted_json, session

    run = copied_run(mixed_run, tmp_path)
    assert dnn("evaluate", "--run", run, "--choose-threshold", "f1", "--json", "-").exit_code == 0
    saved = checkpoint.load(run / "checkpoint.npz")
    assert saved.temperature != 1 and saved.threshold != 0.5
    rows = mixed_run.parents[2] / "mixed.csv"
    records = predicted_json(dnn, run, rows)
    expected = np.array([[r["probabilities"][c] for c in saved.classes] for r in records])
    labels = np.array([saved.classes.index(r["predicted"]) for r in records])
    assert not np.array_equal(labels, expected.argmax(axis=1))  # the threshold moved some answers
    path = tmp_path / "m.onnx"
    assert dnn("export", "--run", run, "--out", path, "--dtype", "float64").exit_code == 0
    probabilities, label = session(path).run(None, onnx_feed(path, rows))
    np.testing.assert_allclose(probabilities, expected, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(label, labels)

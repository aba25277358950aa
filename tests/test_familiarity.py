"""How unlike its training data an input is (model.familiarity): the features, the distance, the threshold,
and the targets on the course's cat pictures (docs/honest-answers.md)."""

import h5py
import numpy as np
import pytest

from dnncli.data.pictures import load_picture
from dnncli.model import familiarity
from dnncli.model.familiarity import PICTURE_FEATURES, Familiarity, fit, ledoit_wolf_shrinkage, picture_features
from dnncli.model.metrics import roc_auc
from unlike_pictures import KINDS, UNLIKE_PHOTOS, generated, photo_paths

sklearn_covariance = pytest.importorskip("sklearn.covariance")


def auroc(familiar, unfamiliar):
    """The chance an unfamiliar input scores above a familiar one."""
    truth = np.r_[np.zeros(len(familiar)), np.ones(len(unfamiliar))].astype(bool)
    return roc_auc(truth, np.r_[familiar, unfamiliar])


@pytest.mark.parametrize("m, n", [(40, 7), (12, 30), (300, 17)])
def test_shrinkage_is_ledoit_and_wolfs(m, n):
    rng = np.random.default_rng(m + n)
    z = rng.normal(size=(m, n)) @ rng.normal(size=(n, n))  # correlated columns
    z -= z.mean(axis=0)
    expected = sklearn_covariance.ledoit_wolf_shrinkage(z, assume_centered=True)
    assert ledoit_wolf_shrinkage(z) == pytest.approx(expected, abs=1e-12)


def test_distance_is_mahalanobis_under_ledoit_and_wolfs_covariance_of_the_standardised_features():
    rng = np.random.default_rng(2)
    features = rng.normal(size=(200, 6)) @ rng.normal(size=(6, 6)) + rng.normal(size=6) * 10
    fitted = fit(features, kind="rows")
    z = (features - features.mean(axis=0)) / features.std(axis=0)
    peer = sklearn_covariance.LedoitWolf().fit(z)  # its target, trace / n times I, is I for standardised columns
    assert fitted.shrinkage == pytest.approx(peer.shrinkage_)
    new = rng.normal(size=(30, 6)) * 3
    expected = peer.mahalanobis((new - features.mean(axis=0)) / features.std(axis=0))  # squared distances
    assert fitted.distances(new) ** 2 == pytest.approx(expected)


def test_the_threshold_holds_the_held_out_share_and_a_new_sample_like_the_training_one_is_rarely_flagged():
    rng = np.random.default_rng(3)
    mixing = rng.normal(size=(5, 5))
    fitted = fit(rng.normal(size=(2000, 5)) @ mixing, kind="rows")
    assert fitted.quantiles[fitted.percent] == pytest.approx(fitted.threshold)
    assert np.all(np.diff(fitted.quantiles) >= 0)
    flagged = fitted.unfamiliar(rng.normal(size=(5000, 5)) @ mixing).mean()
    assert 0.03 < flagged < 0.07  # about 1 in 20 of inputs like the training data
    assert fitted.farther_than(np.array([0.0, fitted.threshold, 1e9])) == pytest.approx([0, 0.95, 1])


def test_rows_far_outside_the_training_ranges_and_unseen_categories_are_unfamiliar():
    rng = np.random.default_rng(4)
    rows = np.c_[rng.normal(50, 10, 500), rng.uniform(0, 1, 500), np.ones(500)]  # the last never varies
    fitted = fit(rows, kind="rows")
    typical = np.array([[50.0, 0.5, 1.0]])
    assert not fitted.unfamiliar(typical)[0]
    assert fitted.unfamiliar(np.array([[500.0, 0.5, 1.0]]))[0]  # 45 standard deviations out
    assert fitted.unfamiliar(np.array([[50.0, 0.5, 1.1]]))[0]  # a value the training data never left
    assert fitted.unfamiliar(typical, unseen=[1])[0]  # a category never seen in training
    assert fitted.unfamiliarity(typical, unseen=[2])[0] == pytest.approx(fitted.unfamiliarity(typical)[0] + 2)
    huge = fitted.unfamiliarity(np.array([[1e300, 0.5, 1.0], [np.inf, 0, 1]]))
    assert np.all(huge == np.inf)


def test_the_saved_form_is_plain_arrays_and_numbers_and_gives_the_same_scores():
    rng = np.random.default_rng(5)
    fitted = fit(rng.normal(size=(100, 4)), kind="rows")
    arrays, header = fitted.arrays, fitted.header
    assert {name: a.shape for name, a in arrays.items()} == familiarity.saved_shapes(4)
    assert all(isinstance(v, (int, float, str)) for v in header.values())
    restored = Familiarity.restored(header, {name: a.copy() for name, a in arrays.items()})
    new = rng.normal(size=(20, 4)) * 2
    assert np.array_equal(restored.unfamiliarity(new), fitted.unfamiliarity(new))
    assert restored.header == header


def test_fit_is_the_same_every_time_and_needs_enough_examples():
    rng = np.random.default_rng(6)
    rows = rng.normal(size=(50, 3))
    assert fit(rows[: familiarity.MIN_EXAMPLES - 1]) is None
    first, second = fit(rows), fit(rows)
    assert first.threshold == second.threshold and np.array_equal(first.quantiles, second.quantiles)


def test_picture_features_of_known_pictures():
    flat = np.full((1, 16, 16, 3), (200, 40, 40), dtype=np.uint8)
    values = dict(zip(PICTURE_FEATURES, picture_features(flat)[0], strict=True))
    for name in ("contrast", "gradient", "edges", "grey_entropy", "chroma_spread"):
        assert values[name] == pytest.approx(0, abs=1e-12), name
    assert values["flat"] == values["top_colour"] == 1
    assert values["palette"] == 1 / 512
    assert values["chroma"] == pytest.approx(160 / 255)
    assert values["grey_share"] == 0
    grey = np.random.default_rng(7).integers(0, 256, (3, 16, 16), dtype=np.uint8)
    as_grey = dict(zip(PICTURE_FEATURES, picture_features(grey).T, strict=True))
    assert np.all(as_grey["chroma"] == 0) and np.all(as_grey["grey_share"] == 1)
    assert np.array_equal(picture_features(grey), picture_features(grey[..., None]))  # (h, w) and (h, w, 1)
    rgba = np.concatenate([np.repeat(grey[..., None], 3, axis=3), np.zeros((3, 16, 16, 1), np.uint8)], axis=3)
    assert np.allclose(picture_features(rgba), picture_features(grey))  # alpha is left out


def test_the_spectrum_slope_of_pink_noise_is_minus_one():
    rng = np.random.default_rng(8)
    fy, fx = np.fft.fftfreq(128)[:, None], np.fft.fftfreq(128)[None, :]
    radius = np.hypot(fy, fx)
    radius[0, 0] = 1
    spectrum = np.exp(2j * np.pi * rng.random((4, 128, 128))) / radius  # amplitude 1 / f
    grey = np.real(np.fft.ifft2(spectrum))
    grey = (grey - grey.min()) / (grey.max() - grey.min())
    slope = familiarity.spectrum_slope(grey)
    assert slope == pytest.approx(-1, abs=0.15)


@pytest.mark.parametrize("shape", [(1, 1, 3), (2, 2), (3, 1, 4), (1, 7, 1), (5, 9, 3)])
def test_pictures_of_any_size_give_finite_features(shape):
    pixels = np.random.default_rng(9).integers(0, 256, (4, *shape), dtype=np.uint8)
    features = picture_features(pixels)
    assert features.shape == (4, len(PICTURE_FEATURES)) and np.all(np.isfinite(features))
    assert picture_features(pixels[:0]).shape == (0, len(PICTURE_FEATURES))


def test_many_pictures_are_measured_a_batch_at_a_time_with_the_same_numbers():
    pixels = np.random.default_rng(10).integers(0, 256, (familiarity.FEATURE_BATCH + 3, 8, 8, 3), dtype=np.uint8)
    assert np.array_equal(picture_features(pixels)[-3:], picture_features(pixels[-3:]))


# --- the course's cat pictures --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cat_pictures(cat_data):
    """The familiarity of the cat training pictures, and the 50 test pictures' unfamiliarity.

    The score depends on the training pictures only, never on the weights, so no model is trained here:
    a checkpoint of configs/cat.yaml carries exactly this fit (docs/honest-answers.md)."""
    with h5py.File(cat_data / "train_catvnoncat.h5") as f:
        train = f["train_set_x"][:]
    with h5py.File(cat_data / "test_catvnoncat.h5") as f:
        test = f["test_set_x"][:]
    fitted = fit(picture_features(train))
    return fitted, fitted.unfamiliarity(picture_features(test))


def test_the_default_threshold_flags_at_most_a_tenth_of_the_cat_test_pictures(cat_pictures):
    _, test = cat_pictures
    assert len(test) == 50
    assert np.mean(test > 1) <= 0.10


def test_generated_pictures_unlike_any_cat_picture_are_told_apart(cat_pictures):
    fitted, test = cat_pictures
    kinds, pictures = generated(per_kind=8, seed=1)  # bench/familiarity.py measures seed 0 for the docs
    unfamiliar = fitted.unfamiliarity(picture_features(pictures))
    assert auroc(test, unfamiliar) >= 0.9
    assert set(kinds) == set(KINDS)


def test_real_photos_unlike_any_cat_picture_are_told_apart(cat_pictures):
    pytest.importorskip("skimage")
    fitted, test = cat_pictures
    photos = np.stack([load_picture(path, (64, 64, 3)) for path in photo_paths(UNLIKE_PHOTOS)])
    assert auroc(test, fitted.unfamiliarity(picture_features(photos))) >= 0.8

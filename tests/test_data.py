import time

import numpy as np
import pytest
import tensorflow as tf

from ssl_gen import data
from ssl_gen.data import sources
from ssl_gen.errors import ConfigError, DataError


def test_split_is_balanced_and_deterministic():
    labels = np.repeat(np.arange(10), 50)
    first = data.balanced_labeled_indices(labels, 100, 10, seed=3)
    again = data.balanced_labeled_indices(labels, 100, 10, seed=3)
    other = data.balanced_labeled_indices(labels, 100, 10, seed=4)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    np.testing.assert_array_equal(np.bincount(labels[first]), np.full(10, 10))
    assert len(np.unique(first)) == 100


def test_split_is_saved_and_reused(tmp_path):
    labels = np.repeat(np.arange(4), 10)
    saved = data.load_or_create_split(str(tmp_path), labels, 8, 4, seed=0, validation_size=6)
    # A resumed run with a different seed still gets the saved split.
    reused = data.load_or_create_split(str(tmp_path), labels, 8, 4, seed=99, validation_size=6)
    for part in ("labeled", "validation", "unlabeled"):
        np.testing.assert_array_equal(getattr(saved, part), getattr(reused, part))
    np.testing.assert_array_equal(np.load(tmp_path / "labeled_indices.npy"), saved.labeled)
    np.testing.assert_array_equal(np.load(tmp_path / "validation_indices.npy"), saved.validation)


def test_validation_split_is_disjoint_from_the_labeled_images_and_left_out_of_the_unlabeled_pool():
    labels = np.repeat(np.arange(10), 100)
    split = data.split.create(labels, 100, 10, seed=7, validation_size=300)
    assert len(split.validation) == 300 and len(split.unlabeled) == 700
    assert not np.intersect1d(split.validation, split.labeled).size
    assert not np.intersect1d(split.validation, split.unlabeled).size
    assert np.isin(split.labeled, split.unlabeled).all()  # labeled images stay in the unlabeled pool
    np.testing.assert_array_equal(np.bincount(labels[split.labeled]), np.full(10, 10))
    again = data.split.create(labels, 100, 10, seed=7, validation_size=300)
    other = data.split.create(labels, 100, 10, seed=8, validation_size=300)
    np.testing.assert_array_equal(split.validation, again.validation)
    assert not np.array_equal(split.validation, other.validation)


def test_all_labels_means_every_image_outside_the_validation_split():
    labels = np.repeat(np.arange(3), 20)
    split = data.split.create(labels, 60, 3, seed=0, validation_size=6)
    np.testing.assert_array_equal(split.labeled, split.unlabeled)
    assert len(split.labeled) == 54


@pytest.mark.parametrize("requested, images, expected", [(-1, 60000, 5000), (-1, 1000, 100), (0, 1000, 0),
                                                         (250, 1000, 250)])
def test_validation_size_resolves_to_ten_percent_at_most_5000(requested, images, expected):
    assert data.resolve_validation_size(requested, images) == expected


def test_a_resumed_split_with_another_validation_size_is_refused(tmp_path):
    labels = np.repeat(np.arange(4), 10)
    data.load_or_create_split(str(tmp_path), labels, 8, 4, seed=0, validation_size=6)
    with pytest.raises(ConfigError, match="holds 6 validation images but the run asks for validation_size=0"):
        data.load_or_create_split(str(tmp_path), labels, 8, 4, seed=0, validation_size=0)


def test_pipeline_shapes_ranges_and_dtypes(rgb_arrays):
    dataset = data.from_arrays("rgb", **rgb_arrays)
    assert dataset.spec.image_shape == (8, 8, 3) and dataset.spec.num_classes == 3
    indices = data.balanced_labeled_indices(dataset.y_train, 6, 3, seed=0)
    labeled, unlabeled = next(iter(data.train_dataset(dataset, indices, 10, seed=0, unlabeled_views=2)))
    assert labeled["image"].shape == (6, 8, 8, 3) and labeled["image"].dtype == tf.float32
    assert labeled["label"].dtype == tf.int32
    assert sorted(labeled["label"].numpy().tolist()) == [0, 0, 1, 1, 2, 2]
    assert set(unlabeled) == {"image", "image2"}
    for images in (labeled["image"], unlabeled["image"], unlabeled["image2"]):
        assert -1.0 <= float(tf.reduce_min(images)) and float(tf.reduce_max(images)) <= 1.0
    assert unlabeled["image"].shape == (10, 8, 8, 3)
    assert not np.array_equal(unlabeled["image"].numpy(), unlabeled["image2"].numpy())


def test_generator_inputs_are_balanced_reproducible_and_two_independent_draws(rgb_arrays):
    dataset = data.from_arrays("rgb", **rgb_arrays)
    indices = data.balanced_labeled_indices(dataset.y_train, 6, 3, seed=0)

    def first_batch(seed):
        _, unlabeled = next(iter(data.train_dataset(dataset, indices, 9, seed=seed, latent_dim=5)))
        return unlabeled

    batch, again, other = first_batch(0), first_batch(0), first_batch(1)
    assert batch["latent"].shape == batch["latent2"].shape == (9, 5)
    np.testing.assert_array_equal(np.bincount(batch["generated_label"].numpy()), [3, 3, 3])
    for name in ("latent", "latent2"):
        values = batch[name].numpy()
        assert 0.0 <= values.min() and values.max() < 1.0
        np.testing.assert_array_equal(values, again[name].numpy())
        assert not np.array_equal(values, other[name].numpy())
    assert not np.allclose(batch["latent"].numpy(), batch["latent2"].numpy())


def test_every_labeled_batch_holds_each_labeled_image_once(rgb_arrays):
    dataset = data.from_arrays("rgb", **rgb_arrays)
    indices = data.balanced_labeled_indices(dataset.y_train, 9, 3, seed=0)
    iterator = iter(data.train_dataset(dataset, indices, 9, seed=0))
    expected = np.sort(data.images.to_model_range(dataset.x_train[indices]).numpy().reshape(9, -1), axis=0)
    for _ in range(3):
        labeled, _ = next(iterator)
        got = np.sort(labeled["image"].numpy().reshape(9, -1), axis=0)
        np.testing.assert_allclose(got, expected)


def test_image_conversions_round_trip():
    pixels = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
    model = data.images.to_model_range(pixels)
    assert float(tf.reduce_min(model)) == -1.0 and float(tf.reduce_max(model)) == 1.0
    np.testing.assert_array_equal(data.images.model_to_uint8(model).numpy(), pixels)


def test_npz_float_images_in_unit_range_are_accepted(rgb_arrays):
    rgb_arrays["x_train"] = rgb_arrays["x_train"] / 255.0
    dataset = data.from_arrays("rgb", **rgb_arrays)
    assert dataset.x_train.dtype == np.uint8


def test_keras_cifar_style_labels_are_accepted(rgb_arrays):
    rgb_arrays["y_train"] = rgb_arrays["y_train"][:, None]
    assert data.from_arrays("rgb", **rgb_arrays).y_train.shape == (60,)


def _with(arrays, **changes):
    return {**arrays, **changes}


BAD_ARRAYS = [
    ("wrong rank", lambda a: _with(a, x_train=a["x_train"][:, :, :, 0, None, None]), "received shape"),
    ("wrong dtype", lambda a: _with(a, x_train=a["x_train"].astype(np.int16)), "int16"),
    ("float out of range", lambda a: _with(a, x_train=a["x_train"].astype(np.float32)), "255.0"),
    ("label out of range", lambda a: _with(a, y_test=a["y_test"] + 5), "label 7"),
    ("negative label", lambda a: _with(a, y_train=a["y_train"] - 1), "-1"),
    ("labels wrong shape", lambda a: _with(a, y_train=a["y_train"].reshape(30, 2)), "(30, 2)"),
    ("float labels", lambda a: _with(a, y_train=a["y_train"].astype(np.float32)), "float32"),
    ("length mismatch", lambda a: _with(a, y_train=a["y_train"][:50]), "50 labels"),
    ("empty", lambda a: _with(a, x_test=a["x_test"][:0], y_test=a["y_test"][:0]), "empty"),
    ("test shape differs", lambda a: _with(a, x_test=a["x_test"][:, :4]), "(4, 8, 3)"),
    ("missing class", lambda a: _with(a, y_train=np.where(a["y_train"] == 1, 0, a["y_train"])), "[1]"),
]


@pytest.mark.parametrize("name,corrupt,fragment", BAD_ARRAYS, ids=[case[0] for case in BAD_ARRAYS])
def test_bad_arrays_raise_errors_naming_what_was_received(rgb_arrays, name, corrupt, fragment):
    with pytest.raises(DataError) as error:
        data.from_arrays("rgb", **corrupt(rgb_arrays))
    assert fragment in str(error.value)


def test_npz_missing_keys(tmp_path, rgb_arrays):
    path = tmp_path / "partial.npz"
    np.savez(path, x_train=rgb_arrays["x_train"], y_train=rgb_arrays["y_train"])
    with pytest.raises(DataError, match=r"lacks keys \['x_test', 'y_test'\]"):
        data.load_npz(str(path))


@pytest.mark.parametrize("content,fragment", [(b"", "empty"), (b"not a zip archive", "cannot read")])
def test_npz_unreadable(tmp_path, content, fragment):
    path = tmp_path / "broken.npz"
    path.write_bytes(content)
    with pytest.raises(DataError, match=fragment):
        data.load_npz(str(path))


def test_npz_truncated(tmp_path, rgb_arrays):
    good = tmp_path / "good.npz"
    np.savez(good, **rgb_arrays)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(DataError, match="truncated.npz"):
        data.load_npz(str(truncated))


def test_npz_missing_file(tmp_path):
    with pytest.raises(DataError, match="nowhere.npz"):
        data.load_npz(str(tmp_path / "nowhere.npz"))


def test_unknown_dataset_name():
    with pytest.raises(DataError, match="'imagenet_tiny'"):
        data.load("imagenet_tiny")


@pytest.mark.parametrize("num_labeled,fragment", [(7, "not divisible"), (63, "only 20"), (600, "needs 200 examples of class 0"),
                                                     (0, "positive")])
def test_bad_num_labeled(num_labeled, fragment):
    labels = np.tile(np.arange(3), 20)
    with pytest.raises(ConfigError, match=fragment):
        data.balanced_labeled_indices(labels, num_labeled, 3, seed=0)


def test_labeling_every_image_ignores_balance_but_one_fewer_does_not():
    labels = np.repeat(np.arange(3), [30, 20, 10])  # unbalanced, as MNIST's classes are
    np.testing.assert_array_equal(data.balanced_labeled_indices(labels, 60, 3, seed=0), np.arange(60))
    with pytest.raises(ConfigError, match="needs 19 examples of class 2 but the training set has only 10"):
        data.balanced_labeled_indices(labels, 57, 3, seed=0)


def test_tfds_path_with_mock_data():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=30):
        dataset = data.load("mnist")
    assert dataset.spec.image_shape == (28, 28, 1)
    assert dataset.x_train.dtype == np.uint8 and len(dataset.x_train) == 30
    assert dataset.y_train.max() < dataset.spec.num_classes <= 10


def test_offline_tfds_fails_at_once_naming_the_npz_route(monkeypatch, tmp_path):
    pytest.importorskip("tensorflow_datasets")

    def no_network(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr(sources.socket, "create_connection", no_network)
    started = time.time()
    with pytest.raises(DataError, match=r"'mnist' is not downloaded .* pass --data_path=FILE.npz instead"):
        data.load("mnist", tfds_data_dir=str(tmp_path))
    assert time.time() - started < 30

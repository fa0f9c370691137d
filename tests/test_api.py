"""ssl_gen.fit / ssl_gen.load: one contract for a run and for its export (images in [0, 1] or uint8)."""

import numpy as np
import pytest

import ssl_gen
from ssl_gen import export
from ssl_gen.training import runs
from ssl_gen.errors import ConfigError

TINY = dict(num_labeled=20, batch_size=20, train_steps=4, eval_every=4, checkpoint_every=4, log_every=2,
            warmup_steps=1, classifier_units=(32, 16), discriminator_units=(32, 16), generator_units=(16,),
            latent_dim=8)


@pytest.fixture(scope="module")
def fitted(mnist_small_path, tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("api") / "run")
    return run_dir, ssl_gen.fit(run_dir, data_path=mnist_small_path, **TINY)


def _images(count=6):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (count, 28, 28, 1), dtype=np.uint8)


def test_fit_returns_a_model_with_the_exports_contract(fitted):
    run_dir, model = fitted
    assert (model.image_shape, model.num_classes) == ((28, 28, 1), 10)
    as_uint8 = model.classify(_images())
    as_float = model.classify(_images().astype(np.float32) / 255.0)
    np.testing.assert_allclose(as_uint8, as_float, atol=1e-6)
    np.testing.assert_allclose(as_uint8.sum(axis=1), 1.0, atol=1e-5)
    samples = model.generate([0, 3, 9], seed=7)
    assert samples.shape == (3, 28, 28, 1) and 0.0 <= samples.min() and samples.max() <= 1.0
    np.testing.assert_array_equal(samples, model.generate([0, 3, 9], seed=7))
    assert not np.array_equal(samples, model.generate([0, 3, 9], seed=8))


def test_a_loaded_run_and_its_export_answer_as_the_fitted_model(fitted, tmp_path):
    run_dir, model = fitted
    export_dir = str(tmp_path / "export")
    export.export_run(run_dir, export_dir)
    for loaded in (ssl_gen.load(run_dir), ssl_gen.load(export_dir)):
        np.testing.assert_allclose(loaded.classify(_images()), model.classify(_images()), atol=1e-5)
        np.testing.assert_allclose(loaded.generate([1, 2], seed=3), model.generate([1, 2], seed=3), atol=1e-5)


@pytest.mark.parametrize("call, fragment", [
    (lambda model: model.classify(_images().astype(np.float32)), "received values in [0.0, 255.0]"),
    (lambda model: model.classify(_images()[..., 0]), "received shape (6, 28, 28)"),
    (lambda model: model.classify(_images().astype(np.int32)), "received int32"),
    (lambda model: model.generate([3, 10]), "labels must be class indices 0..9; received [10]"),
    (lambda model: model.generate([-1]), "received [-1]"),
    (lambda model: model.generate([0.5]), "integer labels"),
])
def test_mistakes_are_refused_with_what_was_received(fitted, call, fragment):
    with pytest.raises(ConfigError) as error:
        call(fitted[1])
    assert fragment in str(error.value)


def test_fit_applies_a_preset_under_the_settings_given(mnist_small_path, tmp_path):
    ssl_gen.fit(str(tmp_path / "run"), preset="consistency", data_path=mnist_small_path,
                **{**TINY, "train_steps": 2, "eval_every": 2, "checkpoint_every": 2})
    saved = runs.restore(str(tmp_path / "run"))[0]
    assert saved.preset == "consistency" and saved.method_settings.unlabeled_consistency_weight == 1.0
    assert saved.train_steps == 2  # the explicit setting wins over the preset's 30,000

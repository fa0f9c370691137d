import json

import numpy as np
import pytest
import tensorflow as tf

from ssl_gen import data as data_lib
from ssl_gen import export, sampling
from ssl_gen.training import runs, train
from ssl_gen.errors import ConfigError
from ssl_gen.evaluation import evaluator as evaluator_lib
from ssl_gen.evaluation import report
from tests.conftest import tiny_config


class _Brightness:
    """G(z, y) is a constant image of value z[0]; C scores class 1 by brightness, class 0 by darkness."""

    latent_center = 0.0

    def sample_latents(self, count, seed):
        return tf.random.stateless_uniform([count, 3], seed=[seed, 0], minval=-1.0, maxval=1.0)

    def generate(self, labels, latents):
        del labels
        return tf.tile(tf.reshape(latents[:, 0], [-1, 1, 1, 1]), [1, 2, 2, 1])

    def classify(self, images):
        brightness = tf.reduce_mean(images, axis=[1, 2, 3])
        return tf.stack([-4.0 * brightness, 4.0 * brightness], axis=1)

    def checkpoint_items(self):
        return {}


def test_best_of_candidates_keeps_the_draw_the_classifier_finds_most_likely():
    sampler = sampling.BestOfCandidates(_Brightness(), candidates=5)
    latents = sampler.sample_latents(6, seed=3)
    assert latents.shape == (6, 5, 3)
    labels = tf.constant([0, 1, 0, 1, 0, 1])
    images = sampler.generate(labels, latents).numpy()
    assert images.shape == (6, 2, 2, 1)
    first = latents[:, :, 0].numpy()
    expected = np.where(labels.numpy() == 1, first.max(axis=1), first.min(axis=1))
    np.testing.assert_allclose(images[:, 0, 0, 0], expected)
    # A seed fixes every image; another seed gives other images.
    np.testing.assert_array_equal(sampler.sample_latents(6, seed=3), latents)
    assert not np.allclose(sampler.sample_latents(6, seed=4), latents)


def test_one_candidate_is_the_plain_generator_and_zero_is_refused():
    method = _Brightness()
    assert sampling.wrap(method, candidates=1) is method
    with pytest.raises(ConfigError, match="received 0"):
        sampling.wrap(method, candidates=0)


def test_shrunk_latents_are_pulled_toward_the_prior_centre_and_g_is_unchanged():
    method = _Brightness()
    method.latent_center = 0.25
    shrunk = sampling.wrap(method, latent_scale=0.5)
    plain_latents = method.sample_latents(50, seed=7).numpy()
    latents = shrunk.sample_latents(50, seed=7).numpy()
    np.testing.assert_allclose(latents, 0.25 + 0.5 * (plain_latents - 0.25), rtol=1e-6)
    labels = tf.zeros([50], tf.int32)
    np.testing.assert_array_equal(shrunk.generate(labels, latents), method.generate(labels, latents))
    assert np.std(latents) == pytest.approx(0.5 * np.std(plain_latents), rel=1e-5)


def test_shrunk_latents_compose_with_best_of_k():
    method = _Brightness()
    sampler = sampling.wrap(method, candidates=3, latent_scale=0.1)
    latents = sampler.sample_latents(4, seed=1).numpy()
    assert latents.shape == (4, 3, 3)
    assert np.abs(latents).max() <= 0.1  # U(-1, 1) shrunk by 0.1 around 0
    assert sampling.report_name(3, 0.1) == "eval_best_of_3_latent_scale_0.1"
    assert sampling.report_name(1, 0.5) == "eval_latent_scale_0.5"
    assert sampling.report_name() == "eval"


@pytest.mark.parametrize("scale", [0.0, -0.5, 1.5])
def test_latent_scale_outside_zero_one_is_refused(scale):
    with pytest.raises(ConfigError, match=f"received {scale}"):
        sampling.wrap(_Brightness(), latent_scale=scale)


def test_a_method_without_a_latent_centre_cannot_be_shrunk():
    method = _Brightness()
    method.latent_center = None
    with pytest.raises(ConfigError, match="_Brightness does not say where its latent prior is centred"):
        sampling.wrap(method, latent_scale=0.5)


@pytest.fixture(scope="module")
def trained_run(mnist_small_path, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    train.run(tiny_config(run_dir, mnist_small_path, train_steps=30, eval_every=30, checkpoint_every=30))
    evaluator_dir = tmp_path_factory.mktemp("evaluator")
    evaluator_lib.train(data_lib.load_npz(mnist_small_path), str(evaluator_dir), epochs=1)
    return run_dir, str(evaluator_dir)


def test_guided_report_is_written_beside_g_own(trained_run):
    run_dir, evaluator_dir = trained_run
    plain = report.evaluate_run(str(run_dir), evaluator_dir=evaluator_dir)
    guided = report.evaluate_run(str(run_dir), evaluator_dir=evaluator_dir, candidates=8)
    assert json.loads((run_dir / "eval.json").read_text())["candidates"] == 1
    assert json.loads((run_dir / "eval_best_of_8.json").read_text()) == json.loads(json.dumps(guided))
    for image in ("samples_by_class", "interpolation", "nearest_neighbours"):
        assert (run_dir / "eval_best_of_8" / f"{image}.png").stat().st_size > 100
    assert guided["test_error"] == plain["test_error"]
    assert guided["fid"] != plain["fid"]


def test_guided_samples_are_more_likely_under_the_model_classifier(trained_run):
    _, _, method, _ = runs.restore(str(trained_run[0]))
    labels = tf.constant(np.repeat(np.arange(10, dtype=np.int32), 20))

    def mean_log_probability(model):
        images = model.generate(labels, model.sample_latents(len(labels), 0))
        log_probabilities = tf.nn.log_softmax(method.classify(images))
        return float(tf.reduce_mean(tf.gather(log_probabilities, labels, batch_dims=1)))

    assert mean_log_probability(sampling.BestOfCandidates(method, 8)) > mean_log_probability(method) + 0.01


def test_the_sampler_exports_and_exported_models_are_judged_through_it(trained_run, tmp_path):
    run_dir, evaluator_dir = trained_run
    from_run = report.evaluate_run(str(run_dir), evaluator_dir=evaluator_dir, candidates=4)
    plain_dir, guided_dir = str(tmp_path / "plain"), str(tmp_path / "guided")
    export.export_run(str(run_dir), plain_dir)
    assert export.export_run(str(run_dir), guided_dir, candidates=4)["candidates"] == 4
    # A plain export judged through the sampler, and an export of the sampler judged as it is.
    plain_through_sampler = report.evaluate_saved_model(plain_dir, evaluator_dir=evaluator_dir, candidates=4)
    guided_as_is = report.evaluate_saved_model(guided_dir, evaluator_dir=evaluator_dir)
    for result in (plain_through_sampler, guided_as_is):
        assert result["conditional_accuracy"] == pytest.approx(from_run["conditional_accuracy"], abs=0.01)
        assert result["fid"] == pytest.approx(from_run["fid"], rel=0.02)
    assert (tmp_path / "plain" / "eval_best_of_4.json").exists()
    # TensorFlow alone runs the exported sampler's signatures.
    loaded = tf.saved_model.load(guided_dir)
    latents = loaded.signatures["sample_latents"](count=tf.constant(3), seed=tf.constant(0))["latents"]
    assert latents.shape[:2] == (3, 4)
    images = loaded.signatures["generate"](labels=tf.constant([0, 1, 2]), seed=tf.constant(0))["images"]
    assert images.shape == (3, 28, 28, 1)


def test_shrunk_latents_are_judged_beside_g_own_report_and_exported(trained_run, tmp_path):
    run_dir, evaluator_dir = trained_run
    plain = report.evaluate_run(str(run_dir), evaluator_dir=evaluator_dir)
    shrunk = report.evaluate_run(str(run_dir), evaluator_dir=evaluator_dir, latent_scale=0.5)
    assert json.loads((run_dir / "eval_latent_scale_0.5.json").read_text())["latent_scale"] == 0.5
    assert json.loads((run_dir / "eval.json").read_text())["latent_scale"] == 1.0
    assert shrunk["diversity_ratio"] < plain["diversity_ratio"]
    assert shrunk["test_error"] == plain["test_error"]

    export_dir = str(tmp_path / "shrunk")
    metadata = export.export_run(str(run_dir), export_dir, latent_scale=0.5)
    assert (metadata["latent_scale"], metadata["latent_center"]) == (0.5, 0.5)
    loaded = tf.saved_model.load(export_dir)
    latents = loaded.signatures["sample_latents"](count=tf.constant(3), seed=tf.constant(0))["latents"]
    prior = tf.random.stateless_uniform(latents.shape, seed=[0, 0])  # the GAN methods' U(0, 1) draw
    np.testing.assert_allclose(latents, 0.5 + 0.5 * (prior - 0.5), rtol=1e-6)
    judged = report.evaluate_saved_model(export_dir, evaluator_dir=evaluator_dir)
    assert judged["conditional_accuracy"] == pytest.approx(shrunk["conditional_accuracy"], abs=0.01)
    assert judged["fid"] == pytest.approx(shrunk["fid"], rel=0.02)

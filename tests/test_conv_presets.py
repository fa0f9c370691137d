"""Presets: the conv networks and SVHN-1000 / CIFAR-10-4000 presets (smoke-tested on tfds mock data), and
the MNIST presets' equivalence to the commands they stand for."""

import csv
import dataclasses
import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from absl import flags

from ssl_gen import export, methods
from ssl_gen.training import cli, presets, runs, train
from ssl_gen.training import config as config_lib
from ssl_gen.training.config import Config
from ssl_gen.models.conv_networks import ConvClassifier, ConvDiscriminator, ConvGenerator
from ssl_gen.errors import ConfigError

TINY_CONV = dict(classifier_channels=(8, 16), discriminator_channels=(4, 8), generator_channels=(16, 8, 4),
                 latent_dim=8, num_labeled=20, batch_size=20, train_steps=2, epochs=0.0, eval_every=2,
                 checkpoint_every=2, log_every=1, warmup_steps=1)


def test_conv_networks_output_shapes_and_features():
    images = tf.random.uniform((4, 32, 32, 3), -1, 1)
    labels = tf.constant([0, 1, 2, 3])
    classifier = ConvClassifier(10, channels=(8, 16), seed=0)
    logits, features = classifier.logits_and_features(images, training=True, initialize=True)
    assert logits.shape == (4, 10) and features.shape == (4, 16)
    assert ConvDiscriminator(10, channels=(4, 8), seed=0)(images, labels, training=True).shape == (4,)
    generated = ConvGenerator((32, 32, 3), 10, channels=(16, 8, 4), latent_dim=5, seed=0)(
        tf.random.uniform((4, 5)), labels, training=True)
    assert generated.shape == (4, 32, 32, 3)
    assert float(tf.reduce_max(tf.abs(generated))) <= 1.0


def test_conv_generator_refuses_an_image_size_it_cannot_reach():
    with pytest.raises(ValueError, match=r"\(28, 28, 1\) is not divisible by 8"):
        ConvGenerator((28, 28, 1), 10, channels=(16, 8, 4))


def test_conv_weight_norm_init_standardises_the_first_layer():
    classifier = ConvClassifier(10, channels=(8, 16), input_noise=0.0, seed=0)
    images = tf.random.uniform((64, 32, 32, 3), -1, 1)
    classifier.logits_and_features(images, training=False, initialize=True)
    first = classifier.body.stages[0][0][0]
    response = first(images).numpy()
    assert abs(response.mean()) < 1e-3 and response.std() == pytest.approx(1.0, abs=1e-2)


def test_conv_weight_norm_init_runs_inside_a_mixed_precision_model():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        classifier = ConvClassifier(10, channels=(8, 16), input_noise=0.0, seed=0)
        images = tf.random.uniform((64, 32, 32, 3), -1, 1)
        logits, _ = classifier.logits_and_features(images, training=False, initialize=True)
        response = tf.cast(classifier.body.stages[0][0][0](tf.cast(images, tf.bfloat16)), tf.float32).numpy()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert logits.dtype == tf.float32 and np.all(np.isfinite(logits.numpy()))
    assert abs(response.mean()) < 2e-2 and response.std() == pytest.approx(1.0, abs=3e-2)


@pytest.mark.parametrize("preset, shape", [("svhn1000", (32, 32, 3)), ("cifar4000", (32, 32, 3))])
def test_preset_trains_on_mock_data(preset, shape, tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    config = config_lib.build(**{**presets.get(preset), **TINY_CONV, "output_dir": str(tmp_path), "preset": preset})
    assert config.networks.architecture == "conv"
    with tfds.testing.mock_data(num_examples=200):
        train.run(config)
        _, data, method, step = runs.restore(str(tmp_path))
    assert data.spec.image_shape == shape and step == 2
    with open(tmp_path / "metrics.csv") as file:
        row = list(csv.DictReader(file))[-1]
    losses = {key: float(value) for key, value in row.items() if key.startswith("loss/")}
    assert len(losses) >= 8 and all(math.isfinite(value) for value in losses.values())
    generated = method.generate(tf.constant([0, 9]), method.sample_latents(2, seed=0))
    assert generated.shape == (2,) + shape
    probe = tf.random.uniform((3,) + shape, -1, 1, seed=1)
    logits = method.classify(probe)
    assert logits.shape == (3, 10)
    # The conv model exports like the MLP: the SavedModel takes [0, 1] images and agrees with C.
    export.export(method, data.spec, str(tmp_path / "export"), metadata={"preset": preset})
    served = tf.saved_model.load(str(tmp_path / "export"))
    probabilities = served.classify(images=(probe + 1.0) / 2.0)["probabilities"]
    np.testing.assert_allclose(probabilities.numpy(), tf.nn.softmax(logits).numpy(), atol=1e-5)
    assert served.generate(labels=tf.constant([3, 4]), seed=tf.constant(0))["images"].shape == (2,) + shape


def _config_from(argv):
    values = flags.FlagValues()
    cli.define_config_flags(values)
    values(["prog", "--output_dir=x"] + argv)
    return cli.config_from_flags(values)


def test_explicit_flags_override_the_preset():
    config = _config_from(["--preset=cifar4000", "--num_labeled=400", "--learning_rate=0.001"])
    assert (config.dataset, config.networks.architecture, config.epochs) == ("cifar10", "conv", 1200.0)
    assert (config.num_labeled, config.learning_rate) == (400, 0.001)


def test_improved_gan_mnist_preset_is_improved_gans_published_setting():
    # openai/improved-gan's MNIST-100 feature matching: no D(x, y), constant rate, 0.9999 average, 300 epochs.
    explicit = _config_from(["--method=improved_gan", "--architecture=mlp", "--num_labeled=100",
                             "--lr_decay_start=1.0", "--lr_warmup_steps=0", "--generator_tanh_scale=1.0",
                             "--ema_decay=0.9999", "--independent_generator_step", "--train_steps=138000"])
    preset = _config_from(["--preset=improved_gan_mnist"])
    assert dataclasses.replace(preset, preset="") == explicit


def test_consistency_preset_is_the_feature_matching_game_with_generic_augmentation_and_consistency():
    explicit = _config_from(["--method=improved_gan", "--architecture=mlp", "--lr_decay_start=1.0",
                             "--ema_decay=0.9999", "--independent_generator_step", "--augment_shift=2", "--augment_rotation=15",
                             "--augment_scale=0.1", "--unlabeled_consistency_weight=1",
                             "--confidence_threshold=0.95", "--generator_adam_beta1=0", "--lr_warmup_steps=1000",
                             "--generator_tanh_scale=0.5", "--train_steps=30000"])
    preset = _config_from(["--preset=consistency", "--num_labeled=50"])
    assert dataclasses.replace(preset, preset="", num_labeled=100) == explicit
    # No data set and no label count: the command line names them, so it serves MNIST and Fashion-MNIST.
    assert {"dataset", "data_path", "num_labeled"}.isdisjoint(presets.get("consistency"))


def test_the_joint_method_plays_c_s_game_as_the_consistency_preset_does():
    # Joint's C is the validated C: its own defaults are the consistency preset's values.
    own = methods.get_class("joint").Settings()
    shared = {name: value for name, value in presets.get("consistency").items() if hasattr(own, name)}
    # One term on top, chosen on validation: C also learns from the conditional G's samples (R_p).
    assert own.classifier_generated_weight == 1.0 and "classifier_generated_weight" not in shared
    assert {"augment_shift", "augment_rotation", "unlabeled_consistency_weight", "generator_adam_beta1"} <= set(shared)
    assert {name: getattr(own, name) for name in shared} == shared
    # ... and its run-level values are the defaults' (the default's G and D are the conditional conv ones).
    run_level = {name: value for name, value in presets.get("consistency").items()
                 if name not in shared and name not in ("method", "architecture")}
    defaults = config_lib.build(output_dir="run").flat()
    assert {name: defaults[name] for name in run_level} == run_level


def test_a_preset_for_one_method_refuses_another_methods_flags():
    with pytest.raises(ConfigError, match="augment_shift is a setting of .*improved_gan.*, not of "
                                          "method='pseudo_label'"):
        _config_from(["--preset=consistency", "--method=pseudo_label"])
    with pytest.raises(ConfigError, match="m2_alpha is a setting of ssvae_m2, not of method='joint'"):
        _config_from(["--m2_alpha=0.2"])


def test_no_preset_draws_class_specific_strokes():
    # Every augmentation a preset may set is class-blind: it acts on an image without knowing its label.
    class_blind = {"augment_shift", "augment_rotation", "augment_scale", "augment_elastic", "consistency_cutout"}
    for name, values in presets.PRESETS.items():
        assert {key for key in values if key.startswith("augment_")} <= class_blind, name


def test_unknown_preset_and_architecture_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="unknown preset 'imagenet'"):
        Config(output_dir=str(tmp_path), preset="imagenet").validate()
    with pytest.raises(ConfigError, match="received 'resnet'"):
        config_lib.build(output_dir=str(tmp_path), architecture="resnet").validate()


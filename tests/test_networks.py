import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from ssl_gen.models.layers import GaussianNoise, WeightNormDense, box_muller_normal
from ssl_gen.models.conv_networks import ConvClassifier
from ssl_gen.models.networks import (BernoulliDecoder, Classifier, Discriminator, GaussianEncoder, Generator,
                              PlainClassifier)


def test_output_shapes_follow_the_data():
    images = tf.random.uniform((5, 8, 8, 3), -1, 1)
    labels = tf.constant([0, 1, 2, 0, 1])
    classifier = Classifier(3, hidden_units=(16, 8), seed=0)
    logits, features = classifier.logits_and_features(images)
    assert logits.shape == (5, 3) and features.shape == (5, 8)
    assert Discriminator(3, hidden_units=(16,), seed=0)(images, labels).shape == (5,)
    generated = Generator((8, 8, 3), 3, hidden_units=(16,), latent_dim=4, seed=0)(
        tf.random.uniform((5, 4)), labels)
    assert generated.shape == (5, 8, 8, 3)
    assert float(tf.reduce_max(tf.abs(generated))) <= 1.0


def test_weight_norm_data_dependent_init_standardises_pre_activations():
    inputs = tf.random.normal((200, 30), mean=3.0, stddev=5.0, seed=1)
    layer = WeightNormDense(7, seed=0)
    layer.initialize_from_batch(inputs)
    outputs = layer(inputs).numpy()
    np.testing.assert_allclose(outputs.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(outputs.std(axis=0), 1.0, atol=1e-3)
    assert not layer.scale.trainable  # Hidden-layer scales stay fixed after init, as in improved-gan.


def test_generator_is_deterministic_at_inference_and_conditioned_on_label():
    generator = Generator((4, 4, 1), 2, hidden_units=(8,), latent_dim=3, seed=0)
    latents = tf.random.uniform((2, 3), seed=2)
    first = generator(latents, tf.constant([0, 0])).numpy()
    again = generator(latents, tf.constant([0, 0])).numpy()
    other = generator(latents, tf.constant([1, 1])).numpy()
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


def test_noise_is_on_only_in_training():
    classifier = Classifier(2, hidden_units=(8,), seed=0)
    images = tf.zeros((3, 4, 4, 1))
    np.testing.assert_array_equal(classifier(images).numpy(), classifier(images).numpy())
    assert not np.allclose(classifier(images, training=True).numpy(), classifier(images, training=True).numpy())


def test_weight_norm_dense_computes_x_times_v_scaled_to_unit_columns():
    inputs = tf.random.normal((6, 5), seed=3)
    layer = WeightNormDense(4, train_scale=True, seed=0)
    layer.build(inputs.shape)
    layer.scale.assign([0.5, 1.0, 2.0, 3.0])
    layer.bias.assign([0.1, -0.2, 0.3, 0.0])
    direction = layer.direction.numpy()
    kernel = direction / np.linalg.norm(direction, axis=0) * layer.scale.numpy()
    np.testing.assert_allclose(layer(inputs).numpy(), inputs.numpy() @ kernel + layer.bias.numpy(),
                               rtol=1e-5, atol=1e-5)


def _normal_cdf(values):
    return 0.5 * (1.0 + np.vectorize(math.erf)(values / math.sqrt(2.0)))


def test_box_muller_noise_is_standard_normal_in_any_shape():
    samples = box_muller_normal(tf.constant([401, 251]), keras.random.SeedGenerator(5)).numpy()
    assert samples.shape == (401, 251)  # an odd count: the last pair is cut
    flat = np.sort(samples.ravel())
    assert abs(flat.mean()) < 0.01 and abs(flat.std() - 1.0) < 0.01
    # Kolmogorov–Smirnov distance to N(0, 1): 0.01 is twice its 1 % critical value here (1.63/√n).
    empirical = np.arange(1, flat.size + 1) / flat.size
    assert np.max(np.abs(empirical - _normal_cdf(flat))) < 0.01
    # The two normals of one pair of uniforms (r·cos θ at i, r·sin θ at i + pairs) are uncorrelated.
    pairs = (flat.size + 1) // 2
    in_order = samples.ravel()
    assert abs(np.corrcoef(in_order[: flat.size - pairs], in_order[pairs:])[0, 1]) < 0.01


def test_noise_layer_draws_fresh_reproducible_noise_with_the_given_stddev():
    first, second = GaussianNoise(0.3, seed=7), GaussianNoise(0.3, seed=7)
    zeros = tf.zeros((200, 100))
    draws = [first(zeros, training=True).numpy() for _ in range(2)]
    assert not np.allclose(draws[0], draws[1])
    np.testing.assert_array_equal(draws[0], second(zeros, training=True).numpy())
    assert abs(draws[0].std() - 0.3) < 0.01
    np.testing.assert_array_equal(first(zeros).numpy(), zeros.numpy())


def test_mlp_generator_with_half_tanh_scale_is_the_anchors_sigmoid_mapped_to_minus_one_one():
    latents, labels = tf.random.uniform((4, 3), seed=2), tf.constant([0, 1, 0, 1])
    anchors_map = Generator((4, 4, 1), 2, hidden_units=(8,), latent_dim=3, seed=0, tanh_scale=0.5)(
        latents, labels).numpy()
    full_tanh = Generator((4, 4, 1), 2, hidden_units=(8,), latent_dim=3, seed=0)(latents, labels).numpy()
    pre_activation = np.arctanh(full_tanh)  # the same weights: the same a under both maps
    sigmoid = 1.0 / (1.0 + np.exp(-pre_activation))
    np.testing.assert_allclose(anchors_map, 2.0 * sigmoid - 1.0, atol=1e-5)


def test_glorot_output_init_gives_the_anchors_smaller_directions_and_a_unit_norm_function():
    latents, labels = tf.random.uniform((4, 3), seed=2), tf.constant([0, 1, 0, 1])
    norms = {}
    for init in ("normal", "glorot"):
        generator = Generator((8, 8, 1), 2, hidden_units=(30,), latent_dim=3, seed=0, output_init=init)
        images = generator(latents, labels).numpy()
        assert images.shape == (4, 8, 8, 1) and np.all(np.abs(images) <= 1.0)
        direction = generator.output_dense.direction.numpy()
        norms[init] = np.linalg.norm(direction, axis=0).mean()
    glorot_limit = np.sqrt(6.0 / (32 + 64))  # fan_in = 30 hidden units + 2 one-hot classes
    assert abs(norms["glorot"] - np.sqrt(32 * glorot_limit ** 2 / 3)) < 0.1 * norms["glorot"]
    assert abs(norms["normal"] - np.sqrt(32) * 0.1) < 0.1 * norms["normal"]


def test_unknown_direction_init_is_refused_naming_it():
    with pytest.raises(ValueError, match="'uniform'"):
        WeightNormDense(3, direction_init="uniform")


def test_under_mixed_precision_the_hidden_layers_are_bfloat16_and_the_outputs_float32():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        classifier = Classifier(10, hidden_units=(16, 8), seed=1)
        logits, features = classifier.logits_and_features(tf.zeros((3, 28, 28, 1)), training=True)
        discriminator = Discriminator(10, hidden_units=(16, 8), seed=1)
        pair_logits = discriminator(tf.zeros((3, 28, 28, 1)), tf.constant([0, 1, 2]), training=True)
        conv_logits, conv_features = ConvClassifier(10, channels=(4, 8), seed=0).logits_and_features(
            tf.zeros((3, 32, 32, 3)), training=True)
        labels = tf.constant([0, 1, 2])
        m2_outputs = [PlainClassifier(10, (8,), seed=0)(tf.zeros((3, 28, 28, 1))),
                      *GaussianEncoder(10, (8,), latent_dim=4, seed=0)(tf.zeros((3, 28, 28, 1)), labels),
                      BernoulliDecoder((28, 28, 1), 10, (8,), seed=0)(tf.zeros((3, 4)), labels)]
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert features.dtype == tf.bfloat16 and conv_features.dtype == tf.bfloat16
    assert logits.dtype == tf.float32 and pair_logits.dtype == tf.float32 and conv_logits.dtype == tf.float32
    assert [output.dtype for output in m2_outputs] == [tf.float32] * 4

import numpy as np
import tensorflow as tf

from ssl_gen.layers import WeightNormDense
from ssl_gen.networks import Classifier, Discriminator, Generator


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

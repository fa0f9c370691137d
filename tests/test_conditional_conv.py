"""The class-conditional conv G and the spectral-norm projection D (ssl_gen/models/conditional_conv.py)."""

import math

import numpy as np
import pytest
import tensorflow as tf

from ssl_gen import data, methods
from ssl_gen.methods import parts
from ssl_gen.models import conditional_conv
from ssl_gen.training.trainer import make_checkpoint
from tests.conftest import tiny_config


def test_spectral_normalization_finds_the_largest_singular_value_by_power_iteration():
    kernel = tf.random.stateless_normal((3, 3, 4, 8), seed=[1, 2])
    normalization = conditional_conv.SpectralNormalization(seed=0)
    normalization.build(kernel.shape)
    for _ in range(60):  # one power iteration per training call
        normalized = normalization(kernel, training=True)
    singular_values = np.linalg.svd(kernel.numpy().reshape(-1, 8), compute_uv=False)
    np.testing.assert_allclose(np.linalg.svd(normalized.numpy().reshape(-1, 8), compute_uv=False)[0], 1.0,
                               rtol=1e-3)
    np.testing.assert_allclose(kernel.numpy() / normalized.numpy(), singular_values[0], rtol=1e-3)


def test_spectral_normalization_moves_its_estimate_only_in_training():
    normalization = conditional_conv.SpectralNormalization(seed=0)
    normalization.build((5, 3))
    before = normalization.u.numpy().copy()
    normalization(tf.ones((5, 3)) + tf.eye(5, 3), training=False)
    np.testing.assert_array_equal(normalization.u.numpy(), before)
    normalization(tf.ones((5, 3)) + tf.eye(5, 3), training=True)
    assert not np.array_equal(normalization.u.numpy(), before)


def test_conditional_batch_norm_scales_and_shifts_by_class():
    norm = conditional_conv.ConditionalBatchNorm(num_classes=3)
    images = tf.random.stateless_normal((6, 4, 4, 2), seed=[3, 4])
    labels = tf.constant([0, 1, 2, 0, 1, 2])
    plain = norm(images, labels, training=True)
    assert plain.shape == images.shape
    norm.gamma.assign([[1.0, 1.0], [2.0, 2.0], [1.0, 1.0]])
    norm.beta.assign([[0.0, 0.0], [0.0, 0.0], [5.0, 5.0]])
    scaled = norm(images, labels, training=True)
    np.testing.assert_allclose(scaled[0].numpy(), plain[0].numpy(), atol=1e-5)
    np.testing.assert_allclose(scaled[1].numpy(), 2.0 * plain[1].numpy(), atol=1e-5)
    np.testing.assert_allclose(scaled[2].numpy(), plain[2].numpy() + 5.0, atol=1e-5)


def test_the_generator_draws_28_by_28_images_that_depend_on_the_label():
    generator = conditional_conv.ConditionalConvGenerator((28, 28, 1), 10, channels=(16, 8, 4), latent_dim=8,
                                                         seed=0)
    latents = tf.random.stateless_uniform((4, 8), seed=[5, 6])
    generator(latents, tf.zeros((4,), tf.int32))
    for norm in generator.norms:  # class-specific scales, as after training
        norm.gamma.assign(tf.random.stateless_uniform(norm.gamma.shape, seed=[7, 8], minval=0.5, maxval=1.5))
    images = generator(latents, tf.constant([0, 1, 2, 3]))
    assert images.shape == (4, 28, 28, 1)
    assert float(tf.reduce_max(tf.abs(images))) <= 1.0
    assert not np.allclose(images.numpy(), generator(latents, tf.constant([4, 5, 6, 7])).numpy())
    with pytest.raises(ValueError, match="not divisible by 8"):
        conditional_conv.ConditionalConvGenerator((28, 28, 1), 10, channels=(16, 8, 4, 2))


def test_at_initialization_the_latent_moves_the_images_as_much_as_anything_does():
    # Fed raw, the U(0, 1) latent made ~0.6 of the images' spread, and the trained G ignored it.
    generator = conditional_conv.ConditionalConvGenerator((28, 28, 1), 10, seed=0)
    images = generator(tf.random.stateless_uniform((200, 100), seed=[1, 2]), tf.zeros((200,), tf.int32),
                       training=True).numpy()
    assert images.std(axis=0).mean() >= 0.85 * images.std()


def test_the_projection_head_adds_the_label_embedding_times_the_features():
    discriminator = conditional_conv.ProjectionDiscriminator(num_classes=10, channels=(8, 16), seed=0)
    images = tf.random.stateless_uniform((3, 28, 28, 1), seed=[9, 10], minval=-1.0, maxval=1.0)
    logits, features = discriminator.logits_and_features(images, tf.constant([1, 1, 1]))
    assert logits.shape == (3,) and features.shape == (3, 16)
    other = discriminator(images, tf.constant([4, 4, 4]))
    embedding = discriminator.embedding.normalization(discriminator.embedding.kernel).numpy()
    expected = features.numpy() @ (embedding[1] - embedding[4])
    np.testing.assert_allclose(logits.numpy() - other.numpy(), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["triple_gan", "pseudo_label", "joint"])
def test_a_step_with_the_conditional_conv_networks_updates_every_network(name, mnist_small_path, tmp_path):
    dataset = data.load_npz(mnist_small_path)
    own = {"conditional_mode_seeking_weight": 1.0} if name == "joint" else {}
    config = tiny_config(tmp_path, "", method=name, num_labeled=10, architecture="conditional_conv",
                         generator_channels=(16, 8, 4), discriminator_channels=(8, 16), **own)
    method = methods.create(config, dataset.spec, total_steps=10)
    method.build()
    assert type(method.generator.network).__name__ == "ConditionalConvGenerator"
    indices = data.balanced_labeled_indices(dataset.y_train, 10, dataset.spec.num_classes, seed=0)
    labeled, unlabeled = next(iter(data.train_dataset(dataset, indices, 20, seed=0,
                                                      unlabeled_views=method.unlabeled_views,
                                                      latent_dim=method.latent_dim)))
    method.initialize(unlabeled["image"])
    networks = {key: item for key, item in method.checkpoint_items().items() if hasattr(item, "trainable_weights")}
    before = {key: [w.numpy().copy() for w in net.trainable_weights] for key, net in networks.items()}
    step_losses = tf.function(method.train_step)(labeled, unlabeled)
    assert all(math.isfinite(float(value)) for value in step_losses.values())
    if name == "joint":  # G's mode seeking, with its pairs within the batch
        assert float(step_losses["loss/generator/mode_seeking"]) > 0.0
    assert {"discriminator", "generator", "classifier"} <= set(networks)
    for key, network in networks.items():
        changed = [not np.array_equal(old, new.numpy()) for old, new in zip(before[key], network.trainable_weights)]
        assert all(changed), f"{key}: weights {np.flatnonzero(~np.array(changed))} did not change"


@pytest.mark.parametrize("batch, expected", [(6, [0, 1, 2, 0, 1, 2]), (7, [0, 1, 2, 0, 1, 2, 6])])
def test_mode_seeking_pairs_in_a_batch_give_the_second_half_the_first_halfs_labels(batch, expected):
    labels = tf.range(batch)
    assert parts.same_labels_in_both_halves(labels).numpy().tolist() == expected


def test_mode_seeking_pairs_in_a_batch_draw_the_generator_once(mnist_small_path, tmp_path, monkeypatch):
    dataset = data.load_npz(mnist_small_path)
    config = tiny_config(tmp_path, "", method="joint", num_labeled=10, architecture="conditional_conv",
                         generator_channels=(16, 8, 4), discriminator_channels=(8, 16))
    method = methods.create(config, dataset.spec, total_steps=10)
    method.build()
    calls = []
    draw = parts.Generator.__call__
    monkeypatch.setattr(parts.Generator, "__call__",
                        lambda self, latents, labels, **kwargs: calls.append(labels) or draw(self, latents, labels,
                                                                                            **kwargs))
    latents = tf.random.normal([8, method.latent_dim], seed=0)
    labels = tf.constant([0, 1, 2, 3, 4, 5, 6, 7])
    for pairs_in_batch, draws in ((True, 1), (False, 2)):
        calls.clear()
        terms = parts.conditional_generator_update(
            method.generator, method.discriminator, latents, labels, None, None, adversarial_weight=1.0,
            feature_matching_weight=0.0, classification_weight=0.0, mode_seeking_weight=1.0, hinge=True,
            pairs_in_batch=pairs_in_batch)
        assert len(calls) == draws and math.isfinite(float(terms["mode_seeking"]))
    assert calls[0].numpy().tolist() == [0, 1, 2, 3, 4, 5, 6, 7]  # the second draw keeps the labels


def test_a_checkpoint_restores_the_spectral_estimates_and_the_class_scales(mnist_small_path, tmp_path):
    dataset = data.load_npz(mnist_small_path)

    def new_method():
        config = tiny_config(tmp_path, "", method="triple_gan", num_labeled=10, architecture="conditional_conv",
                             generator_channels=(16, 8, 4), discriminator_channels=(8, 16))
        method = methods.create(config, dataset.spec, total_steps=10)
        method.build()
        return method

    method = new_method()
    for norm in method.generator.network.norms:
        norm.gamma.assign(tf.random.stateless_uniform(norm.gamma.shape, seed=[1, 1]))
    method.discriminator.network.convs[0].normalization.u.assign(tf.ones((1, 8)))
    path = make_checkpoint(method, tf.Variable(1, dtype=tf.int64)).save(str(tmp_path / "ckpt"))
    restored = new_method()
    make_checkpoint(restored, tf.Variable(0, dtype=tf.int64)).restore(path).assert_consumed()
    np.testing.assert_array_equal(restored.discriminator.network.convs[0].normalization.u.numpy(), np.ones((1, 8)))
    labels, latents = tf.constant([1, 2]), method.sample_latents(2, seed=0)
    np.testing.assert_allclose(method.generate(labels, latents).numpy(), restored.generate(labels, latents).numpy())


def test_the_joint_generators_average_is_what_it_samples_and_a_checkpoint_restores_it(mnist_small_path, tmp_path):
    dataset = data.load_npz(mnist_small_path)

    def new_method():
        config = tiny_config(tmp_path, "", method="joint", num_labeled=10, architecture="conditional_conv",
                             generator_channels=(16, 8, 4), discriminator_channels=(8, 16),
                             conditional_ema_decay=0.999)
        method = methods.create(config, dataset.spec, total_steps=10)
        method.build()
        return method

    method = new_method()
    labels, latents = tf.constant([1, 2, 3]), method.sample_latents(3, seed=0)
    own = method.generator.network
    # The average starts as G's copy, so the two sample alike until G trains.
    np.testing.assert_allclose(method.generate(labels, latents).numpy(),
                               own(latents, labels, training=False).numpy(), atol=1e-6)
    indices = data.balanced_labeled_indices(dataset.y_train, 10, dataset.spec.num_classes, seed=0)
    batches = iter(data.train_dataset(dataset, indices, 20, seed=0, unlabeled_views=method.unlabeled_views,
                                      latent_dim=method.latent_dim))
    step = tf.function(method.train_step)
    for _ in range(3):
        step(*next(batches))
    sampled = method.generate(labels, latents).numpy()
    np.testing.assert_allclose(sampled, method.generator.average_network(latents, labels).numpy(), atol=1e-6)
    assert np.abs(sampled - own(latents, labels, training=False).numpy()).max() > 1e-4
    path = make_checkpoint(method, tf.Variable(3, dtype=tf.int64)).save(str(tmp_path / "ckpt"))
    restored = new_method()
    make_checkpoint(restored, tf.Variable(0, dtype=tf.int64)).restore(path).assert_consumed()
    np.testing.assert_allclose(restored.generate(labels, latents).numpy(), sampled, atol=1e-6)

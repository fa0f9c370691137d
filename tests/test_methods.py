"""The contract every method meets; parameterised over the registry."""

import math

import numpy as np
import pytest
import tensorflow as tf

from ssl_gen import augment, data, methods, settings
from ssl_gen.methods import parts
from ssl_gen.training.trainer import make_checkpoint
from tests.conftest import tiny_config


def _batches(dataset, method, batch_size=20):
    indices = data.balanced_labeled_indices(dataset.y_train, 10, dataset.spec.num_classes, seed=0)
    return next(iter(data.train_dataset(dataset, indices, batch_size, seed=0,
                                        unlabeled_views=method.unlabeled_views,
                                        latent_dim=method.latent_dim)))


def _new_method(name, dataset, tmp_path, **overrides):
    config = tiny_config(tmp_path, "", method=name, num_labeled=10, **overrides)
    method = methods.create(config, dataset.spec, total_steps=10)
    method.build()
    return method


@pytest.fixture
def small_mnist(mnist_small_path):
    return data.load_npz(mnist_small_path)


# Every coupling term and option switched on from step 0, so the step's full path is exercised.
COUPLED = dict(warmup_steps=0, classifier_adversarial_weight=0.1, classifier_generated_weight=0.1,
               generator_classification_weight=0.1, augment_shift=2, class_balance_weight=0.3,
               classifier_entropy_weight=0.3, augment_rotation=10.0, augment_scale=0.1,
               unlabeled_consistency_weight=0.5, confidence_threshold=0.0,  # an untrained C is never sure
               augment_elastic=20.0, consistency_cutout=6, labeled_pair_weight=0.5,
               conditional_classification_weight=0.1, conditional_mode_seeking_weight=0.1)


@pytest.mark.parametrize("overrides", [{}, COUPLED], ids=["defaults", "coupled"])
@pytest.mark.parametrize("name", sorted(methods.METHODS))
def test_one_step_updates_every_network_and_returns_finite_named_losses(name, overrides, small_mnist,
                                                                        tmp_path):
    own = settings.names(methods.get_class(name).Settings)
    method = _new_method(name, small_mnist, tmp_path, **{key: value for key, value in overrides.items() if key in own})
    labeled, unlabeled = _batches(small_mnist, method)
    method.initialize(unlabeled["image"])
    networks = {key: item for key, item in method.checkpoint_items().items() if hasattr(item, "trainable_weights")}
    before = {key: [w.numpy().copy() for w in net.trainable_weights] for key, net in networks.items()}
    step_losses = tf.function(method.train_step)(labeled, unlabeled)
    assert step_losses and all(key.startswith("loss/") for key in step_losses)
    assert all(math.isfinite(float(value)) for value in step_losses.values())
    if overrides and name in ("triple_gan", "improved_gan"):
        parts = {key.split("/")[-1]: float(value) for key, value in step_losses.items()
                 if key.startswith("loss/classifier/")}
        # Improved-GAN has no D, so C has no term through it.
        assert ("adversarial" in parts) == (name == "triple_gan")
        expected = (parts["supervised"] + parts["unsupervised"] + 0.1 * parts.get("adversarial", 0.0)
                    + 0.1 * parts["generated"] + 0.3 * parts["balance"] + 0.3 * parts["entropy"]
                    + 0.5 * parts["consistency"])
        assert parts["consistency"] > 0  # the copy is rotated, scaled and shifted
        assert float(step_losses["loss/classifier"]) == pytest.approx(expected, rel=1e-5)
    if name == "joint":  # the four players, and each coupling term once switched on
        expected = {"loss/classifier/unsupervised", "loss/complement_generator/feature_matching",
                    "loss/discriminator/real", "loss/generator/adversarial"}
        if overrides:
            expected |= {"loss/classifier/generated", "loss/generator/classification", "loss/generator/mode_seeking"}
        assert expected <= set(step_losses)
    for key, network in networks.items():
        changed = [not np.array_equal(old, new.numpy()) for old, new in zip(before[key], network.trainable_weights)]
        assert all(changed), f"{key}: weights {np.flatnonzero(~np.array(changed))} did not change"


@pytest.mark.parametrize("name", sorted(methods.METHODS))
def test_classify_and_generate_shapes(name, small_mnist, tmp_path):
    method = _new_method(name, small_mnist, tmp_path)
    images = tf.zeros((4, 28, 28, 1))
    assert method.classify(images).shape == (4, 10)
    latents = method.sample_latents(4, seed=3)
    generated = method.generate(tf.constant([0, 1, 2, 3]), latents)
    assert generated.shape == (4, 28, 28, 1)
    np.testing.assert_array_equal(latents.numpy(), method.sample_latents(4, seed=3).numpy())


@pytest.mark.parametrize("name", sorted(methods.METHODS))
def test_checkpoint_round_trip_restores_every_network_and_optimizer(name, small_mnist, tmp_path):
    method = _new_method(name, small_mnist, tmp_path)
    labeled, unlabeled = _batches(small_mnist, method)
    method.initialize(unlabeled["image"])
    step_fn = tf.function(method.train_step)
    step_fn(labeled, unlabeled)
    path = make_checkpoint(method, tf.Variable(1, dtype=tf.int64)).save(str(tmp_path / "ckpt"))

    restored = _new_method(name, small_mnist, tmp_path)
    make_checkpoint(restored, tf.Variable(0, dtype=tf.int64)).restore(path).assert_consumed()
    images = unlabeled["image"]
    np.testing.assert_allclose(method.classify(images).numpy(), restored.classify(images).numpy())
    labels, latents = tf.constant([1, 2]), method.sample_latents(2, seed=0)
    np.testing.assert_allclose(method.generate(labels, latents).numpy(),
                               restored.generate(labels, latents).numpy())
    for key, item in method.checkpoint_items().items():
        if hasattr(item, "iterations"):
            assert int(restored.checkpoint_items()[key].iterations) == int(item.iterations) == 1


def test_without_discriminator_terms_triple_gan_builds_no_d_and_its_step_skips_d(small_mnist, tmp_path):
    method = _new_method("triple_gan", small_mnist, tmp_path, generator_adversarial_weight=0.0,
                         classifier_adversarial_weight=0.0)
    method.build()
    assert method.discriminator is None
    assert not any("discriminator" in name for name in method.checkpoint_items())
    labeled, unlabeled = _batches(small_mnist, method)
    method.initialize(unlabeled["image"])
    step_losses = tf.function(method.train_step)(labeled, unlabeled)
    assert not any(key.startswith("loss/discriminator") for key in step_losses)
    assert "loss/generator/adversarial" not in step_losses


def test_pseudo_label_builds_its_pair_discriminator_even_with_g_by_feature_matching_alone(small_mnist, tmp_path):
    method = _new_method("pseudo_label", small_mnist, tmp_path, generator_adversarial_weight=0.0)
    method.build()
    assert "discriminator" in method.checkpoint_items() and method.discriminator.network.built


def test_improved_gan_is_triple_gan_without_its_discriminator(small_mnist, tmp_path):
    """Same seeds, same batches: the two methods take identical steps when every D term is off."""
    results = []
    for name in ("improved_gan", "triple_gan"):
        no_discriminator = dict(generator_adversarial_weight=0.0, classifier_adversarial_weight=0.0)
        method = _new_method(name, small_mnist, tmp_path, warmup_steps=0, generator_classification_weight=0.1,
                             **(no_discriminator if name == "triple_gan" else {}))
        labeled, unlabeled = _batches(small_mnist, method)
        method.initialize(unlabeled["image"])
        step_fn = tf.function(method.train_step)
        for _ in range(2):
            step_losses = step_fn(labeled, unlabeled)
        results.append(({key: float(value) for key, value in step_losses.items()},
                        method.classify(unlabeled["image"]).numpy(),
                        method.generate(tf.constant([0, 5]), method.sample_latents(2, seed=1)).numpy()))
    (ig_losses, ig_logits, ig_images), (tg_losses, tg_logits, tg_images) = results
    assert ig_losses == tg_losses
    np.testing.assert_array_equal(ig_logits, tg_logits)
    np.testing.assert_array_equal(ig_images, tg_images)


@pytest.mark.parametrize("independent", [False, True])
def test_only_an_independent_generator_step_uses_the_second_latent(independent, small_mnist, tmp_path):
    """improved-gan draws G's z anew for its update; the shared step reuses C's batch and ignores latent2."""
    generator_weights = []
    for shift in (0.0, 0.5):
        method = _new_method("improved_gan", small_mnist, tmp_path, independent_generator_step=independent)
        labeled, unlabeled = _batches(small_mnist, method)
        unlabeled = {**unlabeled, "latent2": tf.math.floormod(unlabeled["latent2"] + shift, 1.0)}
        method.initialize(unlabeled["image"])
        tf.function(method.train_step)(labeled, unlabeled)
        weights = method.generator.network.trainable_weights
        generator_weights.append(np.concatenate([w.numpy().ravel() for w in weights]))
    assert np.array_equal(generator_weights[0], generator_weights[1]) == (not independent)


def _augmented(method, images, view=0):
    return parts.augmented(method.config.method_settings, images, method.classifier.optimizer.iterations, view)


def test_the_consistency_copy_is_drawn_apart_from_the_labeled_view(small_mnist, tmp_path):
    method = _new_method("improved_gan", small_mnist, tmp_path, augment_shift=2, augment_rotation=10.0,
                         augment_scale=0.1)
    _, unlabeled = _batches(small_mnist, method)
    images = unlabeled["image"]
    labeled_view, copy = _augmented(method, images), _augmented(method, images, view=1)
    seeds = parts.view_seeds(tf.constant([0, 0]), 0)  # step 0, replica 0
    expected = augment.random_shift(augment.random_affine(images, 10.0, 0.1, seeds["affine"]), 2, seeds["shift"])
    np.testing.assert_array_equal(labeled_view.numpy(), expected.numpy())
    assert not np.allclose(copy.numpy(), labeled_view.numpy(), atol=1e-3)
    assert float(tf.reduce_max(tf.abs(copy - images))) > 0.5  # and the copy is transformed


def test_every_augmentation_of_every_view_draws_its_own_seed():
    drawn = [tuple(seed.numpy()) for view in (0, 1) for seed in parts.view_seeds(tf.constant([3, 0]), view)
             .values()]
    assert len(set(drawn)) == 2 * len(parts.AUGMENTATIONS)


def test_elastic_distortion_bends_the_labeled_view_before_the_affine_transform(small_mnist, tmp_path):
    method = _new_method("improved_gan", small_mnist, tmp_path, augment_elastic=20.0, augment_rotation=10.0)
    labeled, _ = _batches(small_mnist, method)
    images = labeled["image"]
    seeds = parts.view_seeds(tf.constant([0, 0]), 0)
    expected = augment.random_affine(augment.random_elastic(images, 20.0, seeds["elastic"]), 10.0, 0.0,
                                     seeds["affine"])
    np.testing.assert_allclose(_augmented(method, images).numpy(), expected.numpy(), atol=1e-6)
    without = augment.random_affine(images, 10.0, 0.0, seeds["affine"])
    assert float(tf.reduce_max(tf.abs(expected - without))) > 0.5


def test_consistency_cutout_erases_one_square_of_the_copy_only(small_mnist, tmp_path):
    method = _new_method("improved_gan", small_mnist, tmp_path, unlabeled_consistency_weight=1.0,
                         consistency_cutout=6)
    _, unlabeled = _batches(small_mnist, method)
    images = unlabeled["image"]
    np.testing.assert_array_equal(_augmented(method, images).numpy(), images.numpy())  # no --augment_*
    copy = _augmented(method, images, view=1).numpy()[..., 0]
    changed = copy != images.numpy()[..., 0]
    erased = copy[changed]
    np.testing.assert_array_equal(erased, -1.0)  # set to background
    per_image = changed.reshape(len(changed), -1).sum(axis=1)
    assert per_image.max() <= 36 and per_image.sum() > 0


def _first_moments_after_one_step(small_mnist, tmp_path, **overrides):
    method = _new_method("improved_gan", small_mnist, tmp_path, seed=5, **overrides)
    labeled, unlabeled = _batches(small_mnist, method)
    method.initialize(unlabeled["image"])
    tf.function(method.train_step)(labeled, unlabeled)
    return {name: [m.numpy() for m in optimizer.variables if m.name.endswith("_momentum")]
            for name, optimizer in (("generator", method.generator.optimizer),
                                    ("classifier", method.classifier.optimizer))}


def test_generator_adam_beta1_sets_the_momentum_of_g_alone(small_mnist, tmp_path):
    # Same seed, same batch, so the first gradients match: Adam's first moment after one step is
    # (1 - β1)·g, twice as large for β1 = 0 as for 0.5, in G only.
    default = _first_moments_after_one_step(small_mnist, tmp_path / "a")
    no_momentum = _first_moments_after_one_step(small_mnist, tmp_path / "b", generator_adam_beta1=0.0)
    for ours, theirs in zip(no_momentum["generator"], default["generator"]):
        np.testing.assert_allclose(ours, 2.0 * theirs, rtol=1e-4, atol=1e-7)
    for ours, theirs in zip(no_momentum["classifier"], default["classifier"]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-8)
    assert any(np.abs(m).max() > 0 for m in default["generator"])

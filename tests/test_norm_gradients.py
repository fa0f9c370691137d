"""Weight norm's gradient through ‖v‖, taken once per update (ssl_gen/norm_gradients.py): the same
gradients as the ordinary tape, for every variable, over several forward passes, with and without the
native kernels."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ssl_gen import native
from ssl_gen.layers import WeightNormDense
from ssl_gen.networks import Discriminator
from ssl_gen.norm_gradients import UpdateTape


def _discriminator_gradients(tape_class, passes):
    network = Discriminator(3, hidden_units=(20, 70, 11), seed=5)
    batches = [tf.random.stateless_uniform((9, 6, 6, 1), [1, p], -1, 1) for p in range(passes)]
    labels = tf.constant([0, 1, 2] * 3)
    network.body(batches[0], labels)  # built outside the tape, as the methods build theirs
    with tape_class() as tape:
        loss = 0.0
        for batch in batches:  # several passes through the same layers, as C's updates make
            logits, features = network.body(batch, labels, training=True)
            loss += tf.reduce_sum(tf.sin(logits)) + tf.reduce_sum(tf.cast(features, tf.float32) ** 2)
    variables = network.trainable_variables
    if tape_class is UpdateTape:
        return tape.network_gradients(loss, variables), tape
    return tape.gradient(loss, variables), tape


@pytest.mark.parametrize("kernels", ["on", "off"])
def test_update_tape_gives_the_ordinary_gradients_over_several_passes(kernels, monkeypatch):
    monkeypatch.setenv(native.ENV_MODE, kernels)
    monkeypatch.setattr(native, "_library", {})
    deferred, tape = _discriminator_gradients(UpdateTape, passes=3)
    ordinary, _ = _discriminator_gradients(tf.GradientTape, passes=3)
    assert len(tape.norms) == 3 * 4  # four weight-normed layers, three passes
    for deferred_gradient, ordinary_gradient in zip(deferred, ordinary):
        np.testing.assert_allclose(deferred_gradient.numpy(), ordinary_gradient.numpy(), rtol=2e-4, atol=1e-6)


def test_under_mixed_precision_the_restored_gradients_are_float32_and_the_ordinary_ones():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        deferred, _ = _discriminator_gradients(UpdateTape, passes=2)
        ordinary, _ = _discriminator_gradients(tf.GradientTape, passes=2)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    for deferred_gradient, ordinary_gradient in zip(deferred, ordinary):
        assert deferred_gradient.dtype == tf.float32
        scale = np.abs(ordinary_gradient.numpy()).max()
        np.testing.assert_allclose(deferred_gradient.numpy(), ordinary_gradient.numpy(), atol=0.02 * scale)


def test_the_norm_path_matters_so_the_comparison_can_fail():
    layer = WeightNormDense(4, seed=1)
    inputs = tf.random.stateless_normal((5, 3), [2, 3])
    layer(inputs)
    with UpdateTape(persistent=True) as tape:
        loss = tf.reduce_sum(layer(inputs) ** 2)
    cut = tape.gradient(loss, layer.direction)  # the plain gradient misses the path through ‖v‖
    restored = tape.network_gradients(loss, [layer.direction])[0]
    with tf.GradientTape() as ordinary_tape:
        ordinary_loss = tf.reduce_sum(layer(inputs) ** 2)
    ordinary = ordinary_tape.gradient(ordinary_loss, layer.direction)
    np.testing.assert_allclose(restored.numpy(), ordinary.numpy(), rtol=1e-4, atol=1e-6)
    assert np.abs(cut.numpy() - ordinary.numpy()).max() > 1e-3


def test_a_tape_only_restores_norms_of_the_variables_it_is_asked_for():
    layer, other = WeightNormDense(4, seed=1), WeightNormDense(2, seed=2)
    inputs = tf.random.stateless_normal((5, 3), [2, 3])
    other(layer(inputs))
    with UpdateTape() as tape:
        loss = tf.reduce_sum(other(layer(inputs)))
    gradients = tape.network_gradients(loss, other.trainable_variables)
    with tf.GradientTape() as ordinary_tape:
        ordinary_loss = tf.reduce_sum(other(layer(inputs)))
    ordinary = ordinary_tape.gradient(ordinary_loss, other.trainable_variables)
    for restored, expected in zip(gradients, ordinary):
        np.testing.assert_allclose(restored.numpy(), expected.numpy(), rtol=1e-4, atol=1e-6)


def test_add_scaled_columns_adds_the_scaled_kernel_and_names_bad_shapes():
    if native.library() is None:
        pytest.skip("no native kernels here")
    rng = np.random.default_rng(0)
    gradient, kernel = rng.normal(size=(7, 5)).astype(np.float32), rng.normal(size=(7, 5)).astype(np.float32)
    scales = rng.normal(size=5).astype(np.float32)
    result = native.add_scaled_columns(tf.constant(gradient), tf.constant(kernel), tf.constant(scales))
    np.testing.assert_allclose(result.numpy(), gradient + kernel * scales, rtol=1e-6, atol=1e-6)  # FMA
    ops = native.library()
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"column_scales must be a vector of the kernel's 5 "
                                                             r"columns, received \[4\]"):
        ops.ssl_gen_add_scaled_columns(gradient, kernel, tf.zeros(4))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"gradient must have the kernel's shape \[7,5\], received \[5,7\]"):
        ops.ssl_gen_add_scaled_columns(gradient.T, kernel, scales)

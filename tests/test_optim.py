import keras
import numpy as np
import pytest
import tensorflow as tf

from ssl_gen.optim import ConstantThenLinearDecay, FusedAdam, WeightAverage


def _twins(value):
    model, twin = (keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]) for _ in range(2))
    for weight in model.weights:
        weight.assign(np.full(weight.shape, value, np.float32))
    return model, twin


def _average_after_one_update(start, new, decay, step):
    model, twin = _twins(start)
    average = WeightAverage(model, twin, decay)
    average.reset()
    for weight in model.weights:
        weight.assign(np.full(weight.shape, new, np.float32))
    average.update(step)
    return twin


def test_weight_average_starts_as_a_copy_and_warms_its_decay_up():
    # At step 0 the decay is min(0.9999, 1/10): the average moves 90 % of the way to the weights.
    twin = _average_after_one_update(1.0, 3.0, decay=0.9999, step=0)
    np.testing.assert_allclose(twin.weights[0].numpy(), 1.0 * 0.1 + 3.0 * 0.9, rtol=1e-6)


def test_weight_average_uses_the_full_decay_late_in_training():
    twin = _average_after_one_update(0.0, 10.0, decay=0.9, step=100000)
    np.testing.assert_allclose(twin.weights[0].numpy(), 1.0, rtol=1e-5)


@pytest.mark.parametrize("step, expected", [(0, 1.0), (50, 1.0), (75, 0.5), (100, 0.0), (150, 0.0)])
def test_learning_rate_is_constant_then_decays_linearly_to_zero(step, expected):
    schedule = ConstantThenLinearDecay(1.0, total_steps=100, decay_start=0.5)
    assert float(schedule(step)) == pytest.approx(expected)


@pytest.mark.parametrize("step, expected", [(0, 0.25), (1, 0.5), (3, 1.0), (50, 1.0), (75, 0.5), (100, 0.0)])
def test_learning_rate_warms_up_linearly_before_the_constant_stretch(step, expected):
    schedule = ConstantThenLinearDecay(1.0, total_steps=100, decay_start=0.5, warmup_steps=4)
    assert float(schedule(step)) == pytest.approx(expected)


def test_the_warmup_survives_serialisation_so_a_resumed_run_keeps_its_schedule():
    schedule = ConstantThenLinearDecay(2.0, total_steps=100, decay_start=0.5, warmup_steps=10)
    restored = ConstantThenLinearDecay.from_config(schedule.get_config())
    assert float(restored(4)) == pytest.approx(1.0)


def _after_adam_steps(optimizer_class, start, gradients):
    variable = keras.Variable(start)
    optimizer = optimizer_class(ConstantThenLinearDecay(3e-3, 10, 0.5), beta_1=0.5, epsilon=1e-4)
    apply = tf.function(lambda gradient: optimizer.apply([gradient], [variable]))
    for gradient in gradients:
        apply(tf.constant(gradient))
    return variable.numpy(), [weight.numpy() for weight in optimizer.variables]


def test_fused_adam_takes_the_same_steps_as_keras_adam():
    rng = np.random.default_rng(0)
    start = rng.normal(size=(7, 3)).astype(np.float32)
    gradients = [rng.normal(scale=10.0 ** -k, size=(7, 3)).astype(np.float32) for k in range(8)]
    fused, fused_state = _after_adam_steps(FusedAdam, start, gradients)
    keras_result, keras_state = _after_adam_steps(keras.optimizers.Adam, start, gradients)
    assert np.abs(fused - start).max() > 1e-3  # it moved, over the decaying learning rate too
    np.testing.assert_allclose(fused, keras_result, rtol=1e-5, atol=1e-6)
    for ours, theirs in zip(fused_state, keras_state):  # iterations, m and v (checkpointed state)
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7)


def test_the_one_op_updates_are_used_only_on_float32_variables_outside_a_strategy():
    from ssl_gen import native
    from ssl_gen.optim import _native_updates_apply
    single = [tf.Variable(tf.zeros(3)), tf.Variable(tf.zeros((2, 2)))]
    expected = native.library() is not None
    assert _native_updates_apply(single) is expected
    assert not _native_updates_apply(single + [tf.Variable(tf.zeros(3, tf.bfloat16))])
    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        assert not _native_updates_apply(single)

import keras
import numpy as np
import pytest
import tensorflow as tf

from ssl_gen.optim import ConstantThenLinearDecay, WeightAverage, adam_moments


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


def test_adam_moments_are_the_ones_adam_updates():
    variable = keras.Variable(np.zeros((2, 3), np.float32), name="kernel")
    optimizer = keras.optimizers.Adam(0.1, beta_1=0.5, beta_2=0.9)
    gradient = np.full((2, 3), 2.0, np.float32)
    optimizer.apply([tf.constant(gradient)], [variable])
    momentum, velocity = adam_moments(optimizer, variable)
    np.testing.assert_allclose(momentum.numpy(), 0.5 * gradient)
    np.testing.assert_allclose(velocity.numpy(), 0.1 * gradient ** 2, rtol=1e-6)


def test_adam_moments_of_a_variable_the_optimizer_does_not_hold_name_what_it_holds():
    optimizer = keras.optimizers.Adam()
    optimizer.build([keras.Variable(np.zeros(2, np.float32), name="held")])
    with pytest.raises(ValueError, match="held_momentum"):
        adam_moments(optimizer, keras.Variable(np.zeros(2, np.float32), name="other"))


@pytest.mark.parametrize("statistics, expected_mean", [(True, 0.1 * 0.0 + 0.9 * 4.0), (False, 0.0)])
def test_weight_average_averages_batch_norms_statistics_only_when_told(statistics, expected_mean):
    model, twin = (keras.Sequential([keras.Input((2,)), keras.layers.BatchNormalization()]) for _ in range(2))
    average = WeightAverage(model, twin, 0.9999, statistics=statistics)
    average.reset()  # moving mean 0 in both
    model.layers[0].moving_mean.assign([4.0, 4.0])
    model.layers[0].gamma.assign([3.0, 3.0])
    average.update(0)  # decay 0.1 at step 0
    np.testing.assert_allclose(twin.layers[0].moving_mean.numpy(), expected_mean, rtol=1e-6)
    np.testing.assert_allclose(twin.layers[0].gamma.numpy(), 0.1 * 1.0 + 0.9 * 3.0, rtol=1e-6)


class _Counted(keras.layers.Layer):
    """A layer with an integer state beside its float weight (e.g. a counter of updates)."""

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(1,), initializer="zeros")
        self.count = self.add_weight(shape=(), initializer="zeros", dtype="int32", trainable=False)

    def call(self, inputs):
        return inputs * self.kernel


def test_weight_average_copies_integer_state_instead_of_averaging_it():
    model, twin = (keras.Sequential([keras.Input((1,)), _Counted()]) for _ in range(2))
    average = WeightAverage(model, twin, 0.9999, statistics=True)
    average.reset()
    model.layers[0].kernel.assign([2.0])
    model.layers[0].count.assign(7)
    average.update(0)  # decay 0.1 at step 0
    assert twin.layers[0].count.numpy() == 7
    np.testing.assert_allclose(twin.layers[0].kernel.numpy(), 0.9 * 2.0, rtol=1e-6)

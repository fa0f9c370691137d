import keras
import numpy as np
import pytest

from ssl_gen.optim import ConstantThenLinearDecay, WeightAverage


def _twins(value):
    model, twin = (keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]) for _ in range(2))
    for weight in model.weights:
        weight.assign(np.full(weight.shape, value, np.float32))
    return model, twin


def test_weight_average_starts_as_a_copy_and_warms_its_decay_up():
    model, twin = _twins(1.0)
    average = WeightAverage(model, twin, decay=0.9999)
    average.reset()
    for weight in model.weights:
        weight.assign(np.full(weight.shape, 3.0, np.float32))
    average.update(step=0)  # decay = min(0.9999, 1/10): the average moves 90 % toward the weights.
    np.testing.assert_allclose(twin.weights[0].numpy(), 1.0 * 0.1 + 3.0 * 0.9, rtol=1e-6)


def test_weight_average_uses_the_full_decay_late_in_training():
    model, twin = _twins(0.0)
    average = WeightAverage(model, twin, decay=0.9)
    average.reset()
    for weight in model.weights:
        weight.assign(np.full(weight.shape, 10.0, np.float32))
    average.update(step=100000)
    np.testing.assert_allclose(twin.weights[0].numpy(), 1.0, rtol=1e-5)


@pytest.mark.parametrize("step, expected", [(0, 1.0), (50, 1.0), (75, 0.5), (100, 0.0), (150, 0.0)])
def test_learning_rate_is_constant_then_decays_linearly_to_zero(step, expected):
    schedule = ConstantThenLinearDecay(1.0, total_steps=100, decay_start=0.5)
    assert float(schedule(step)) == pytest.approx(expected)

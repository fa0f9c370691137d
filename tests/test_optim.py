import keras
import numpy as np
import pytest

from ssl_gen.optim import ConstantThenLinearDecay, WeightAverage


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

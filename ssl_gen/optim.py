"""Optimisers, learning-rate schedule and weight averaging shared by methods."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="ssl_gen")
class ConstantThenLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """lr0 until `decay_start · total_steps`, then linear to 0 at `total_steps` (Bad GAN's schedule);
    with `warmup_steps`, the rate first rises linearly from lr0 / warmup_steps to lr0 over those steps."""

    def __init__(self, initial_learning_rate, total_steps, decay_start, warmup_steps=0):
        self.initial_learning_rate = float(initial_learning_rate)
        self.total_steps = int(total_steps)
        self.decay_start = float(decay_start)
        self.warmup_steps = int(warmup_steps)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        start = self.decay_start * self.total_steps
        remaining = (self.total_steps - step) / max(self.total_steps - start, 1.0)
        warmup = linear_ramp(step, 0, self.warmup_steps)
        return self.initial_learning_rate * warmup * tf.clip_by_value(remaining, 0.0, 1.0)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "total_steps": self.total_steps,
                "decay_start": self.decay_start, "warmup_steps": self.warmup_steps}


def adam(config, total_steps, learning_rate=None, beta_1=None):
    """Adam on the run's schedule; `learning_rate` and `beta_1` override --learning_rate and
    --adam_beta1 for one network."""
    initial = config.learning_rate if learning_rate is None else learning_rate
    schedule = ConstantThenLinearDecay(initial, total_steps, config.lr_decay_start, config.lr_warmup_steps)
    return keras.optimizers.Adam(schedule, beta_1=config.adam_beta1 if beta_1 is None else beta_1,
                                 epsilon=config.adam_epsilon)


def adam_moments(optimizer, variable):
    """(m, v): Adam's first and second moment variables of `variable`, found by the names Keras gives
    them (`add_variable_from_reference`: the variable's path, then _momentum / _velocity)."""
    prefix = variable.path.replace("/", "_")
    by_name = {moment.name: moment for moment in optimizer.variables}
    names = (f"{prefix}_momentum", f"{prefix}_velocity")
    if not all(name in by_name for name in names):
        raise ValueError(f"the optimizer holds no Adam moments named {names}; it holds "
                         f"{sorted(by_name)}")
    return tuple(by_name[name] for name in names)


def linear_ramp(step, start, length):
    """0 before `start`, then linear to 1 over `length` steps (1 from the start when length is 0)."""
    return tf.clip_by_value((tf.cast(step, tf.float32) - start + 1.0) / max(float(length), 1.0), 0.0, 1.0)


class WeightAverage:
    """Exponential moving average of a model's trainable weights, kept in a twin model.

    The twin starts as a copy and the decay warms up as min(decay, (1 + t) / (10 + t)) (TensorFlow's
    `ExponentialMovingAverage(num_updates=t)`): with improved-gan's 0.9999 a fixed decay would keep
    37 % of the random initial weights in the average after 10,000 steps.

    With `statistics` the non-trainable weights (batch norm's moving statistics) are averaged too, so an
    averaged network with batch norm normalizes by statistics of the same span of training.
    """

    def __init__(self, model, twin, decay, statistics=False):
        self.model, self.twin, self.decay, self.statistics = model, twin, decay, statistics

    def reset(self):
        for average, weight in zip(self.twin.weights, self.model.weights):
            average.assign(weight)

    def update(self, step):
        step = tf.cast(step, tf.float32)
        decay = tf.minimum(self.decay, (1.0 + step) / (10.0 + step))
        pairs = (zip(self.twin.weights, self.model.weights) if self.statistics
                 else zip(self.twin.trainable_weights, self.model.trainable_weights))
        for average, weight in pairs:
            average.assign(decay * average + (1.0 - decay) * weight if tf.as_dtype(average.dtype).is_floating
                           else weight)

"""Optimisers, learning-rate schedule and weight averaging shared by methods."""

import keras
import tensorflow as tf

from ssl_gen import native


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
    return FusedAdam(schedule, beta_1=config.adam_beta1 if beta_1 is None else beta_1,
                     epsilon=config.adam_epsilon)


@keras.saving.register_keras_serializable(package="ssl_gen")
class FusedAdam(keras.optimizers.Adam):
    """Keras Adam whose per-variable update is TensorFlow's one-kernel `ResourceApplyAdam`, or, where
    ssl_gen's native kernels run, one op for all of a network's variables.

    Keras 3 writes the update as ~10 element-wise ops per variable; the fused kernel does the same
    arithmetic (m, v, then var −= lr·√(1−β2ᵗ)/(1−β1ᵗ)·m/(√v + ε)) in one pass over memory, which
    halved the optimiser's share of the MLP step here. Under a distribution strategy, with AMSGrad, or
    on another backend it is plain Keras Adam.
    """

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        # Where the native kernels run: every variable's update in one op (ssl_gen/native/optimizer.cc),
        # the same arithmetic as ResourceApplyAdam below.
        if not (self._fused_kernel_applies() and _native_updates_apply(trainable_variables)):
            return super()._backend_update_step(grads, trainable_variables, learning_rate)
        indices = [self._get_variable_index(variable) for variable in trainable_variables]
        native.apply_adam([tf_variable(variable) for variable in trainable_variables],
                          [tf_variable(self._momentums[index]) for index in indices],
                          [tf_variable(self._velocities[index]) for index in indices],
                          [tf.cast(gradient, tf.float32) for gradient in grads], learning_rate, self.beta_1,
                          self.beta_2, self.epsilon, *self._beta_powers(tf.float32))

    def _beta_powers(self, dtype):
        """(β1ᵗ, β2ᵗ) of this update, t counting it: Adam's bias corrections."""
        step = tf.cast(self.iterations + 1, dtype)
        return tf.pow(tf.cast(self.beta_1, dtype), step), tf.pow(tf.cast(self.beta_2, dtype), step)

    def _fused_kernel_applies(self):
        return not self.amsgrad and keras.backend.backend() == "tensorflow" and not tf.distribute.has_strategy()

    def update_step(self, gradient, variable, learning_rate):
        if not self._fused_kernel_applies():
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        index = self._get_variable_index(variable)
        beta_1_power, beta_2_power = self._beta_powers(dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=self._momentums[index].handle, v=self._velocities[index].handle,
            beta1_power=beta_1_power, beta2_power=beta_2_power,
            lr=tf.cast(learning_rate, dtype), beta1=tf.cast(self.beta_1, dtype),
            beta2=tf.cast(self.beta_2, dtype), epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype))


def linear_ramp(step, start, length):
    """0 before `start`, then linear to 1 over `length` steps (1 from the start when length is 0)."""
    return tf.clip_by_value((tf.cast(step, tf.float32) - start + 1.0) / max(float(length), 1.0), 0.0, 1.0)


class WeightAverage:
    """Exponential moving average of a model's trainable weights, kept in a twin model.

    The twin starts as a copy and the decay warms up as min(decay, (1 + t) / (10 + t)) (TensorFlow's
    `ExponentialMovingAverage(num_updates=t)`): with improved-gan's 0.9999 a fixed decay would keep
    37 % of the random initial weights in the average after 10,000 steps.
    """

    def __init__(self, model, twin, decay):
        self.model, self.twin, self.decay = model, twin, decay

    def reset(self):
        for average, weight in zip(self.twin.weights, self.model.weights):
            average.assign(weight)

    def update(self, step):
        step = tf.cast(step, tf.float32)
        decay = tf.minimum(self.decay, (1.0 + step) / (10.0 + step))
        pairs = list(zip(self.twin.trainable_weights, self.model.trainable_weights))
        if _native_updates_apply([average for average, _ in pairs]):
            # One op for every weight (ssl_gen/native/optimizer.cc) instead of four per weight.
            native.moving_average([tf_variable(average) for average, _ in pairs],
                                  [tf.convert_to_tensor(weight) for _, weight in pairs], decay)
            return
        for average, weight in pairs:
            average.assign(decay * average + (1.0 - decay) * weight)


def _native_updates_apply(variables):
    """Whether the one-op updates of ssl_gen/native/optimizer.cc can write these variables: the kernels
    run here, every variable is float32, and no strategy keeps copies of them (the ops write one)."""
    return (native.supports(tf.float32) and not tf.distribute.has_strategy()
            and all(variable.dtype == "float32" for variable in variables))


def tf_variable(variable):
    """The tf.Variable behind a Keras variable (TensorFlow backend), whose handle the native ops take."""
    return variable.value if isinstance(variable, keras.Variable) else variable

"""Layers behind the Improved-GAN / Triple-GAN MLPs, ported from openai/improved-gan `nn.py`."""

import math

import keras
import tensorflow as tf



class GaussianNoise(keras.layers.GaussianNoise):
    """`keras.layers.GaussianNoise` with its normals drawn by a vectorised Box–Muller transform.

    Noise on every layer of C and D is the largest cost of the MLP step after its matmuls; TensorFlow's
    own normal kernel transforms one element at a time. The layer's own seed generator drives the draw,
    so the checkpoint layout is Keras's.
    """

    def call(self, inputs, training=False):
        if not self.active(training):
            return inputs
        noise = box_muller_normal(tf.shape(inputs), self.seed_generator)
        return inputs + tf.cast(self.stddev * noise, inputs.dtype)

    def active(self, training):
        """Whether a call adds noise (and so draws a seed)."""
        return bool(training) and self.stddev != 0


def box_muller_normal(shape, seed):
    """float32 N(0, 1) samples of `shape`: each pair of uniforms (u, w) gives r·cos θ and r·sin θ."""
    count = tf.reduce_prod(shape)
    pairs = (count + 1) // 2
    uniform = keras.random.uniform(tf.stack([2, pairs]), seed=seed)
    # 1 − u lies in (0, 1], so the log is finite; the largest radius is √(2·24·ln 2) ≈ 5.8.
    radius = tf.sqrt(-2.0 * tf.math.log1p(-uniform[0]))
    angle = (2.0 * math.pi) * uniform[1]
    normals = tf.concat([radius * tf.cos(angle), radius * tf.sin(angle)], axis=0)
    return tf.reshape(normals[:count], shape)


# normal: N(0, 0.1), improved-gan's weight-normed `DenseLayer` (C, D). glorot: Lasagne's default, which
# improved-gan's and Triple-GAN's `l2normalize` keeps for G's output layer.
DIRECTION_INITS = ("normal", "glorot")

# The networks' output layers compute in float32 under mixed precision too (Keras's mixed-precision
# guide): bfloat16 keeps 8 bits of a logit, so a logit near 10 moves in steps of 0.06, and the losses
# and their gradients would start from that rounding.
OUTPUT_DTYPE = "float32"


class WeightNormDense(keras.layers.Layer):
    """Dense layer with W = v * g / ||v|| per output unit (Salimans & Kingma, 2016).

    As in improved-gan and ssl_bad_gan, the scale g of hidden layers is fixed after the data-dependent
    init (`train_scale=False`); only the output layer trains it.
    """

    def __init__(self, units, train_scale=False, seed=None, direction_init="normal", **kwargs):
        super().__init__(**kwargs)
        if direction_init not in DIRECTION_INITS:
            raise ValueError(f"direction_init must be one of {DIRECTION_INITS}; received {direction_init!r}")
        self.units = units
        self.train_scale = train_scale
        self.seed = seed
        self.direction_init = direction_init

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        self.direction = self.add_weight(
            name="direction", shape=(fan_in, self.units),
            initializer=self._direction_initializer())
        self.scale = self.add_weight(name="scale", shape=(self.units,), initializer="ones",
                                     trainable=self.train_scale)
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")

    def _direction_initializer(self):
        # The norm is divided out, so the init's scale sets no function: it sets how fast Adam, whose
        # steps are ~lr per weight whatever the gradient, turns the direction (smaller weights, faster).
        if self.direction_init == "glorot":
            return keras.initializers.GlorotUniform(seed=self.seed)
        return keras.initializers.RandomNormal(stddev=0.1, seed=self.seed)

    def _unit_kernel(self):
        return self.direction / tf.norm(self.direction, axis=0, keepdims=True)

    def unit_scale(self):
        """g / ‖v‖ per unit."""
        return self.scale / tf.norm(self.direction, axis=0)

    def call(self, inputs):
        # x·(v·g/‖v‖) = (x·v)·(g/‖v‖): scaling the [batch, units] product instead of the [fan_in, units]
        # kernel saves two element-wise passes over every kernel, forward and backward.
        outputs = tf.matmul(inputs, tf.cast(self.direction, inputs.dtype))
        return outputs * tf.cast(self.unit_scale(), inputs.dtype) + tf.cast(self.bias, inputs.dtype)

    def initialize_from_batch(self, inputs):
        """Data-dependent init: pre-activations of this batch get zero mean and unit variance."""
        if not self.built:
            self.build(inputs.shape)
        # float32 on both sides: inside a mixed-precision model's call Keras reads the kernel as bfloat16.
        pre_activation = tf.matmul(tf.cast(inputs, tf.float32), tf.cast(self._unit_kernel(), tf.float32))
        mean, variance = tf.nn.moments(pre_activation, axes=[0])
        inverse_std = 1.0 / tf.sqrt(variance + 1e-8)
        self.scale.assign(inverse_std)
        self.bias.assign(-mean * inverse_std)


class WeightNormConv2D(keras.layers.Layer):
    """2-D convolution with a weight-normed kernel (one norm per output channel) and data-dependent init,
    as improved-gan's `nn.weight_norm(Conv2DLayer)` in its CIFAR-10 / SVHN networks."""

    def __init__(self, filters, kernel_size, strides=1, padding="SAME", seed=None, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size = filters, kernel_size
        self.strides, self.padding, self.seed = strides, padding, seed

    def build(self, input_shape):
        shape = (self.kernel_size, self.kernel_size, int(input_shape[-1]), self.filters)
        self.direction = self.add_weight(
            name="direction", shape=shape,
            initializer=keras.initializers.RandomNormal(stddev=0.05, seed=self.seed))
        self.scale = self.add_weight(name="scale", shape=(self.filters,), initializer="ones")
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def _convolve(self, inputs, kernel):
        return tf.nn.conv2d(inputs, kernel, self.strides, self.padding)

    def _unit_kernel(self):
        return self.direction / tf.norm(tf.reshape(self.direction, [-1, self.filters]), axis=0)

    def call(self, inputs):
        kernel = tf.cast(self._unit_kernel() * self.scale, inputs.dtype)
        return self._convolve(inputs, kernel) + tf.cast(self.bias, inputs.dtype)

    def initialize_from_batch(self, inputs):
        if not self.built:
            self.build(inputs.shape)
        response = self._convolve(tf.cast(inputs, tf.float32), tf.cast(self._unit_kernel(), tf.float32))
        mean, variance = tf.nn.moments(response, axes=[0, 1, 2])
        inverse_std = 1.0 / tf.sqrt(variance + 1e-8)
        self.scale.assign(inverse_std)
        self.bias.assign(-mean * inverse_std)

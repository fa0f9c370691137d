"""Keras subclassed networks: generator G(z, y) = P(x|y), classifier C(x) = P(y|x), discriminator D(x, y).

Shapes follow the authors' MNIST code (openai/improved-gan, zhenxuan00/triple-gan): MLPs with weight
norm and Gaussian noise in C and D, softplus + batch-norm MLP in G. Every width is a constructor argument
so tests can build tiny models; image shape and class count come from the data.
"""

import math

import keras
import tensorflow as tf

from ssl_gen import optim
from ssl_gen.models.layers import OUTPUT_DTYPE, GaussianNoise, WeightNormDense


def _one_hot(labels, num_classes, dtype):
    return tf.one_hot(tf.cast(labels, tf.int32), num_classes, dtype=dtype)


class NoisyWeightNormMLP(keras.layers.Layer):
    """Gaussian noise → WN dense → ReLU blocks, then a WN output layer with a trainable scale.

    With `num_classes` set, the one-hot label is concatenated to the input of every layer
    (Triple-GAN's `MLPConcatLayer`), making it a network on image–label pairs.
    """

    def __init__(self, hidden_units, outputs, input_noise, hidden_noise, num_classes=None, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.noises = [GaussianNoise(input_noise, seed=seed)]
        self.noises += [GaussianNoise(hidden_noise, seed=None if seed is None else seed + i + 1)
                        for i in range(len(hidden_units))]
        self.denses = [WeightNormDense(units, seed=None if seed is None else seed + 100 + i)
                       for i, units in enumerate(hidden_units)]
        self.denses.append(WeightNormDense(outputs, train_scale=True,
                                           seed=None if seed is None else seed + 200, dtype=OUTPUT_DTYPE))

    def call(self, images, labels=None, training=False, initialize=False):
        """Returns (outputs, features of the last hidden layer).

        `initialize=True` (eager only) runs improved-gan's data-dependent init layer by layer.
        """
        hidden = tf.reshape(images, [tf.shape(images)[0], -1])
        condition = None
        if self.num_classes:
            condition = _one_hot(labels, self.num_classes, hidden.dtype)
        features = hidden
        hidden = self.noises[0](hidden, training=training)
        output_index = len(self.denses) - 1
        for index, dense in enumerate(self.denses):
            if condition is not None:
                hidden = tf.concat([hidden, condition], axis=1)
            if initialize:
                dense.initialize_from_batch(hidden)
            if index == output_index:
                return dense(hidden), features
            # The features are the last hidden layer's activations before their noise.
            features = tf.nn.relu(dense(hidden))
            hidden = self.noises[index + 1](features, training=training)


class Classifier(keras.Model):
    """C(x): K logits. Also Improved-GAN's real/fake discriminator through D(x) = σ(logsumexp(logits))."""

    def __init__(self, num_classes, hidden_units=(1000, 500, 250, 250, 250), input_noise=0.6,
                 hidden_noise=0.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.body = NoisyWeightNormMLP(hidden_units, num_classes, input_noise, hidden_noise, seed=seed)

    def call(self, images, training=False):
        return self.body(images, training=training)[0]

    def logits_and_features(self, images, training=False, initialize=False):
        return self.body(images, training=training, initialize=initialize)


class Discriminator(keras.Model):
    """D(x, y): one logit saying whether the pair is a real (image, label) pair."""

    def __init__(self, num_classes, hidden_units=(1000, 500, 250, 250, 250), input_noise=0.6,
                 hidden_noise=0.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.body = NoisyWeightNormMLP(hidden_units, 1, input_noise, hidden_noise,
                                       num_classes=num_classes, seed=seed)

    def call(self, images, labels, training=False, initialize=False):
        return self.body(images, labels, training=training, initialize=initialize)[0][:, 0]

    def logits_and_features(self, images, labels, training=False):
        """The logit and the last hidden layer, which a generator can match (feature matching)."""
        outputs, features = self.body(images, labels, training=training)
        return outputs[:, 0], features


class Generator(keras.Model):
    """G(z, y): images in [-1, 1]. [z, y] → (Dense → BN → softplus → concat y)* → WN Dense → tanh.

    The anchors end in a sigmoid σ(a) for [0, 1] data; on the library's [-1, 1] that map is
    2σ(a) − 1 = tanh(a/2), i.e. `tanh_scale` = 0.5. tanh(a) (1.0, the config's default so far) doubles
    the output layer's reach and gradient in image space.
    """

    def __init__(self, image_shape, num_classes, hidden_units=(500, 500), latent_dim=100, seed=None,
                 tanh_scale=1.0, output_init="normal", **kwargs):
        super().__init__(**kwargs)
        self.tanh_scale = tanh_scale
        self.image_shape = tuple(image_shape)
        self.num_classes = num_classes
        self.latent_dim = latent_dim
        self.denses = [keras.layers.Dense(units, use_bias=False,
                                          kernel_initializer=keras.initializers.GlorotUniform(
                                              seed=None if seed is None else seed + i))
                       for i, units in enumerate(hidden_units)]
        # synchronized: under tf.distribute, statistics of the global batch, as on one device.
        self.norms = [keras.layers.BatchNormalization(scale=False, epsilon=1e-6, synchronized=True)
                      for _ in hidden_units]
        self.output_dense = WeightNormDense(math.prod(self.image_shape), train_scale=True,
                                            seed=None if seed is None else seed + 100,
                                            direction_init=output_init)

    def call(self, latents, labels, training=False):
        condition = _one_hot(labels, self.num_classes, latents.dtype)
        hidden = tf.concat([latents, condition], axis=1)
        for dense, norm in zip(self.denses, self.norms):
            hidden = tf.nn.softplus(norm(dense(hidden), training=training))
            hidden = tf.concat([hidden, condition], axis=1)
        images = tf.tanh(self.tanh_scale * self.output_dense(hidden))
        return tf.reshape(images, (-1,) + self.image_shape)

    def adopt_tanh_scale(self, trained_scale, optimizer):
        """Rescales weights trained under tanh(trained_scale · a) so that G's images are unchanged.

        tanh(k·a) differs from tanh(a) only in the output layer's scale and bias (a = s·v̂·h + b):
        multiplying both by trained_scale / k keeps every image. Adam's moments are rescaled with them
        (m by k / trained_scale, v by its square), so the next steps are those a run trained at k all
        along would take from these weights: in image space, steps on s and b grow by k / trained_scale.
        """
        ratio = trained_scale / self.tanh_scale
        layer = self.output_dense
        for variable in (layer.scale, layer.bias):
            variable.assign(variable * ratio)
            momentum, velocity = optim.adam_moments(optimizer, variable)
            momentum.assign(momentum / ratio)
            velocity.assign(velocity / ratio ** 2)


def _glorot_dense(units, seed, offset, activation=None, dtype=None):
    return keras.layers.Dense(units, activation=activation, kernel_initializer=keras.initializers.GlorotUniform(
        seed=None if seed is None else seed + offset), dtype=dtype)


def _glorot_output(units, seed, offset):
    """M2's output layers (moments, pixel logits, class logits), in OUTPUT_DTYPE."""
    return _glorot_dense(units, seed, offset, dtype=OUTPUT_DTYPE)


def _softplus_mlp(hidden_units, seed):
    return [_glorot_dense(units, seed, i, "softplus") for i, units in enumerate(hidden_units)]


def _apply(layers, hidden):
    for layer in layers:
        hidden = layer(hidden)
    return hidden


def _flat(images):
    return tf.reshape(images, [tf.shape(images)[0], -1])


class GaussianEncoder(keras.Model):
    """q(z | x, y) of M2 (Kingma et al., 2014): softplus MLP on [x, one-hot y] → (mean, log-variance)."""

    def __init__(self, num_classes, hidden_units=(500,), latent_dim=50, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.hidden = _softplus_mlp(hidden_units, seed)
        self.moments = _glorot_output(2 * latent_dim, seed, 100)

    def call(self, images, labels):
        hidden = tf.concat([_flat(images), _one_hot(labels, self.num_classes, images.dtype)], axis=1)
        mean, log_variance = tf.split(self.moments(_apply(self.hidden, hidden)), 2, axis=1)
        return mean, log_variance


class BernoulliDecoder(keras.Model):
    """p(x | y, z) of M2: softplus MLP on [z, one-hot y] → per-pixel Bernoulli logits (pixels in [0, 1])."""

    def __init__(self, image_shape, num_classes, hidden_units=(500,), seed=None, **kwargs):
        super().__init__(**kwargs)
        self.image_shape = tuple(image_shape)
        self.num_classes = num_classes
        self.hidden = _softplus_mlp(hidden_units, seed)
        self.pixels = _glorot_output(math.prod(self.image_shape), seed, 100)

    def call(self, latents, labels):
        hidden = tf.concat([latents, _one_hot(labels, self.num_classes, latents.dtype)], axis=1)
        return tf.reshape(self.pixels(_apply(self.hidden, hidden)), (-1,) + self.image_shape)


class PlainClassifier(keras.Model):
    """q(y | x) of M2: a softplus MLP → K logits (no noise, no weight norm, as in the paper)."""

    def __init__(self, num_classes, hidden_units=(500,), seed=None, **kwargs):
        super().__init__(**kwargs)
        self.hidden = _softplus_mlp(hidden_units, seed)
        self.logits = _glorot_output(num_classes, seed, 100)

    def call(self, images, training=False):
        return self.logits(_apply(self.hidden, _flat(images)))

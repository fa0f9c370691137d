"""Convolutional C(x), D(x, y) and G(z, y) for 32×32 colour data sets (SVHN, CIFAR-10).

Shapes follow the anchors' conv nets: improved-gan `train_cifar_feature_matching.py` (C: Gaussian
noise, dropout, weight-normed 3×3 convs with leaky ReLU, two stride-2 stages, NiN layers, global mean
pool; G: dense 4×4×512 then stride-2 transposed convs with BN, tanh) and triple-gan's `ConvConcatLayer`
(the one-hot label appended as constant feature maps at every stage of D and G). The interfaces equal the
MLPs' in networks.py, so a method does not know which it holds.
"""

import keras
import tensorflow as tf

from ssl_gen.models.layers import OUTPUT_DTYPE, GaussianNoise, WeightNormConv2D, WeightNormDense


def _seed(seed, offset):
    return None if seed is None else seed + offset


def _label_maps(labels, num_classes, like):
    """One-hot labels broadcast to constant [B, H, W, K] maps the size of `like`."""
    one_hot = tf.one_hot(tf.cast(labels, tf.int32), num_classes, dtype=like.dtype)
    return tf.broadcast_to(one_hot[:, None, None, :], tf.concat([tf.shape(like)[:3], [num_classes]], 0))


class ConvBody(keras.layers.Layer):
    """noise → dropout → per stage: 3×3 convs, stride-2 conv, dropout → 3×3 valid conv, two NiN → mean pool.

    `channels` = (c1, c2): improved-gan's CIFAR net is (96, 192). With `num_classes`, label maps are
    concatenated to the input of every stage (triple-gan's D).
    """

    def __init__(self, channels, outputs, input_noise, dropout=0.5, num_classes=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.noise = GaussianNoise(input_noise, seed=_seed(seed, 1))
        self.input_dropout = keras.layers.Dropout(0.2, seed=_seed(seed, 2))
        self.stages = []
        for index, width in enumerate(channels):
            convs = [WeightNormConv2D(width, 3, seed=_seed(seed, 10 * index + k)) for k in range(2)]
            convs.append(WeightNormConv2D(width, 3, strides=2, seed=_seed(seed, 10 * index + 2)))
            self.stages.append((convs, keras.layers.Dropout(dropout, seed=_seed(seed, 10 * index + 3))))
        last = channels[-1]
        self.head = [WeightNormConv2D(last, 3, padding="VALID", seed=_seed(seed, 100)),
                     WeightNormConv2D(last, 1, seed=_seed(seed, 101)),
                     WeightNormConv2D(last, 1, seed=_seed(seed, 102))]
        self.output_dense = WeightNormDense(outputs, train_scale=True, seed=_seed(seed, 200), dtype=OUTPUT_DTYPE)

    def _condition(self, hidden, labels):
        if not self.num_classes:
            return hidden
        return tf.concat([hidden, _label_maps(labels, self.num_classes, hidden)], axis=-1)

    def _apply(self, layer, hidden, initialize):
        if initialize:
            layer.initialize_from_batch(hidden)
        return layer(hidden)

    def call(self, images, labels=None, training=False, initialize=False):
        hidden = self.input_dropout(self.noise(images, training=training), training=training)
        for convs, dropout in self.stages:
            hidden = self._condition(hidden, labels)
            for conv in convs:
                hidden = tf.nn.leaky_relu(self._apply(conv, hidden, initialize), 0.2)
            hidden = dropout(hidden, training=training)
        hidden = self._condition(hidden, labels)
        for conv in self.head:
            hidden = tf.nn.leaky_relu(self._apply(conv, hidden, initialize), 0.2)
        features = tf.reduce_mean(hidden, axis=[1, 2])
        if self.num_classes:
            features = tf.concat([features, tf.one_hot(tf.cast(labels, tf.int32), self.num_classes,
                                                        dtype=features.dtype)], axis=1)
        return self._apply(self.output_dense, features, initialize), features


class ConvClassifier(keras.Model):
    """C(x) for colour images: K logits; features = the pooled last conv layer (improved-gan's FM layer)."""

    def __init__(self, num_classes, channels=(96, 192), input_noise=0.2, dropout=0.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.body = ConvBody(channels, num_classes, input_noise, dropout, seed=seed)

    def call(self, images, training=False):
        return self.body(images, training=training)[0]

    def logits_and_features(self, images, training=False, initialize=False):
        return self.body(images, training=training, initialize=initialize)


class ConvDiscriminator(keras.Model):
    """D(x, y) for colour images: one logit; label maps join every stage."""

    def __init__(self, num_classes, channels=(32, 64), input_noise=0.2, dropout=0.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.body = ConvBody(channels, 1, input_noise, dropout, num_classes=num_classes, seed=seed)

    def call(self, images, labels, training=False, initialize=False):
        return self.body(images, labels, training=training, initialize=initialize)[0][:, 0]

    def logits_and_features(self, images, labels, training=False):
        """The logit and the last hidden layer, which a generator can match (feature matching)."""
        outputs, features = self.body(images, labels, training=training)
        return outputs[:, 0], features


class ConvGenerator(keras.Model):
    """G(z, y): [z, y] → dense (H/2^n)×(W/2^n)×c0 → BN → ReLU → n × (label maps, 5×5 stride-2 transposed
    conv, BN, ReLU) → tanh. `channels` = (512, 256, 128) as improved-gan's; n = len(channels)."""

    def __init__(self, image_shape, num_classes, channels=(512, 256, 128), latent_dim=100, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.image_shape, self.num_classes, self.latent_dim = tuple(image_shape), num_classes, latent_dim
        height, width, colours = self.image_shape
        factor = 2 ** len(channels)
        if height % factor or width % factor:
            raise ValueError(f"the conv generator halves {len(channels)} times; image shape "
                             f"{self.image_shape} is not divisible by {factor}")
        self.start = (height // factor, width // factor, channels[0])
        init = lambda offset: keras.initializers.RandomNormal(stddev=0.05, seed=_seed(seed, offset))  # noqa: E731
        self.dense = keras.layers.Dense(height // factor * width // factor * channels[0], use_bias=False,
                                        kernel_initializer=init(0))
        self.norms = [keras.layers.BatchNormalization(synchronized=True) for _ in channels]
        widths = list(channels[1:]) + [colours]
        self.deconvs = [keras.layers.Conv2DTranspose(width, 5, strides=2, padding="same",
                                                     use_bias=index == len(widths) - 1,
                                                     kernel_initializer=init(index + 1))
                        for index, width in enumerate(widths)]

    def call(self, latents, labels, training=False):
        one_hot = tf.one_hot(tf.cast(labels, tf.int32), self.num_classes, dtype=latents.dtype)
        hidden = self.dense(tf.concat([latents, one_hot], axis=1))
        hidden = tf.reshape(hidden, (-1,) + self.start)
        hidden = tf.nn.relu(self.norms[0](hidden, training=training))
        for index, deconv in enumerate(self.deconvs):
            hidden = deconv(tf.concat([hidden, _label_maps(labels, self.num_classes, hidden)], axis=-1))
            if index + 1 < len(self.deconvs):
                hidden = tf.nn.relu(self.norms[index + 1](hidden, training=training))
        return tf.tanh(hidden)

"""A class-conditional conv G(z, y) and a spectral-norm projection D(x, y) for small images (28×28).

Learned from SNGAN / cGAN-PD (Miyato et al. 2018; Miyato & Koyama 2018, pfnet-research/sngan_projection)
and Triple-GAN-V2 (taufikxu/Triple-GAN): G is conditioned through class-conditional batch norm, D
through an inner product of an embedding of y with its pooled features, and D's weights are divided by
their largest singular value, estimated by one power iteration per training call. Both keep the
interfaces of the MLPs in networks.py, so a method does not know which it holds.
"""

import keras
import tensorflow as tf

from ssl_gen.models.layers import OUTPUT_DTYPE


def _seed(seed, offset):
    return None if seed is None else seed + offset


class SpectralNormalization(keras.layers.Layer):
    """Holds u, the running estimate of a kernel's first left singular vector, and divides the kernel by
    σ = uᵀ W v (SNGAN: the gradient flows through σ, not through u and v)."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed

    def build(self, kernel_shape):
        # Only the first replica's estimate is kept: every replica computes the same one.
        self.u = self.add_weight(name="u", shape=(1, kernel_shape[-1]), trainable=False,
                                 initializer=keras.initializers.RandomNormal(seed=self.seed),
                                 aggregation="only_first_replica")

    def call(self, kernel, training=False):
        matrix = tf.reshape(kernel, [-1, kernel.shape[-1]])
        u = tf.cast(self.u, matrix.dtype)
        v = tf.stop_gradient(tf.math.l2_normalize(tf.matmul(u, matrix, transpose_b=True)))
        u = tf.stop_gradient(tf.math.l2_normalize(tf.matmul(v, matrix)))
        if training:
            self.u.assign(tf.cast(u, self.u.dtype))
        sigma = tf.reduce_sum(tf.matmul(v, matrix) * u)
        return kernel / sigma


class SpectralConv2D(keras.layers.Layer):
    """Conv2D whose kernel is spectrally normalized."""

    def __init__(self, filters, kernel_size, strides=1, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.strides, self.seed = filters, kernel_size, strides, seed
        self.normalization = SpectralNormalization(seed=_seed(seed, 1))

    def build(self, input_shape):
        shape = (self.kernel_size, self.kernel_size, input_shape[-1], self.filters)
        self.kernel = self.add_weight(name="kernel", shape=shape,
                                      initializer=keras.initializers.GlorotUniform(seed=self.seed))
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
        self.normalization.build(shape)

    def call(self, inputs, training=False):
        kernel = tf.cast(self.normalization(self.kernel, training=training), inputs.dtype)
        hidden = tf.nn.conv2d(inputs, kernel, self.strides, padding="SAME")
        return hidden + tf.cast(self.bias, inputs.dtype)


class SpectralDense(keras.layers.Layer):
    """Dense layer whose kernel is spectrally normalized."""

    def __init__(self, units, use_bias=True, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.units, self.use_bias, self.seed = units, use_bias, seed
        self.normalization = SpectralNormalization(seed=_seed(seed, 1))

    def build(self, input_shape):
        shape = (input_shape[-1], self.units)
        self.kernel = self.add_weight(name="kernel", shape=shape,
                                      initializer=keras.initializers.GlorotUniform(seed=self.seed))
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros") if self.use_bias else None
        self.normalization.build(shape)

    def call(self, inputs, training=False):
        outputs = tf.matmul(inputs, tf.cast(self.normalization(self.kernel, training=training), inputs.dtype))
        return outputs if self.bias is None else outputs + tf.cast(self.bias, inputs.dtype)


class ConditionalBatchNorm(keras.layers.Layer):
    """Batch norm whose scale and shift are looked up by class: γ_y · BN(x) + β_y (cGAN-PD's G)."""

    def __init__(self, num_classes, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        # synchronized: under tf.distribute, statistics of the global batch, as on one device.
        self.norm = keras.layers.BatchNormalization(center=False, scale=False, synchronized=True)

    def build(self, input_shape):
        channels = input_shape[-1]
        self.gamma = self.add_weight(name="gamma", shape=(self.num_classes, channels), initializer="ones")
        self.beta = self.add_weight(name="beta", shape=(self.num_classes, channels), initializer="zeros")
        self.norm.build(input_shape)

    def call(self, inputs, labels, training=False):
        labels = tf.cast(labels, tf.int32)
        shape = [-1] + [1] * (len(inputs.shape) - 2) + [inputs.shape[-1]]
        gamma = tf.reshape(tf.gather(tf.cast(self.gamma, inputs.dtype), labels), shape)
        beta = tf.reshape(tf.gather(tf.cast(self.beta, inputs.dtype), labels), shape)
        return gamma * self.norm(inputs, training=training) + beta


class ConditionalConvGenerator(keras.Model):
    """G(z, y): z → dense (H/2^n)×(W/2^n)×c0 → CBN → ReLU → n × (2× nearest upsampling, 3×3 conv,
    CBN, ReLU) → 3×3 conv → tanh; y enters through every CBN. `channels` = (c0, …, c_n)."""

    def __init__(self, image_shape, num_classes, channels=(64, 32, 16), latent_dim=100, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.image_shape, self.num_classes, self.latent_dim = tuple(image_shape), num_classes, latent_dim
        height, width, colours = self.image_shape
        factor = 2 ** (len(channels) - 1)
        if height % factor or width % factor:
            raise ValueError(f"the conditional conv generator doubles its maps {len(channels) - 1} times; "
                             f"image shape {self.image_shape} is not divisible by {factor}")
        self.start = (height // factor, width // factor, channels[0])
        init = lambda offset: keras.initializers.GlorotUniform(seed=_seed(seed, offset))  # noqa: E731
        self.dense = keras.layers.Dense(self.start[0] * self.start[1] * channels[0], kernel_initializer=init(0))
        self.norms = [ConditionalBatchNorm(num_classes) for _ in channels]
        self.convs = [keras.layers.Conv2D(width, 3, padding="same", kernel_initializer=init(index + 1))
                      for index, width in enumerate(channels[1:])]
        self.output_conv = keras.layers.Conv2D(colours, 3, padding="same", kernel_initializer=init(len(channels)),
                                               dtype=OUTPUT_DTYPE)

    def call(self, latents, labels, training=False):
        # The prior is U(0, 1); standardized, z is as loud as SNGAN's N(0, I). Raw, its variation was a
        # sixth of the dense layer's output at init, and G learned to ignore it (one image per class).
        standardized = (tf.cast(latents, self.dense.compute_dtype) - 0.5) * 12.0 ** 0.5
        hidden = tf.reshape(self.dense(standardized), (-1,) + self.start)
        hidden = tf.nn.relu(self.norms[0](hidden, labels, training=training))
        for conv, norm in zip(self.convs, self.norms[1:]):
            hidden = tf.repeat(tf.repeat(hidden, 2, axis=1), 2, axis=2)  # nearest-neighbour 2× upsampling
            hidden = tf.nn.relu(norm(conv(hidden), labels, training=training))
        return tf.tanh(self.output_conv(hidden))


class ProjectionDiscriminator(keras.Model):
    """D(x, y) = ψ(φ(x)) + embed(y)ᵀ φ(x): φ is a stack of spectrally normalized convs (per width a 4×4
    stride-2 conv, then a 3×3 one; leaky ReLU 0.1), summed over positions; ψ and the embedding are
    spectrally normalized too (cGAN-PD's projection head). Halving before the 3×3 conv, unlike SNGAN's
    full-resolution first stage, keeps D affordable on a CPU."""

    def __init__(self, num_classes, channels=(32, 64), seed=None, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.convs = []
        for index, width in enumerate(channels):
            self.convs += [SpectralConv2D(width, 4, strides=2, seed=_seed(seed, 10 * index)),
                           SpectralConv2D(width, 3, seed=_seed(seed, 10 * index + 5))]
        self.linear = SpectralDense(1, seed=_seed(seed, 200), dtype=OUTPUT_DTYPE)
        # The embedding is a bias-free dense layer on one-hot labels, so its rows are normalized as one matrix.
        self.embedding = SpectralDense(channels[-1], use_bias=False, seed=_seed(seed, 300), dtype=OUTPUT_DTYPE)

    def logits_and_features(self, images, labels, training=False):
        """The logit and the pooled features φ(x), which a generator can match (feature matching)."""
        hidden = images
        for conv in self.convs:
            hidden = conv(hidden, training=training)
            # Leaky ReLU as a maximum: grappler's remapper fails (and logs an error) fusing LeakyRelu's gradient.
            hidden = tf.maximum(hidden, 0.1 * hidden)
        features = tf.cast(tf.reduce_sum(hidden, axis=[1, 2]), tf.float32)
        one_hot = tf.one_hot(tf.cast(labels, tf.int32), self.num_classes)
        projection = tf.reduce_sum(self.embedding(one_hot, training=training) * features, axis=1)
        return self.linear(features, training=training)[:, 0] + projection, features

    def call(self, images, labels, training=False, initialize=False):
        """`initialize` is accepted for the weight-normed nets' interface; spectral norm needs no init."""
        return self.logits_and_features(images, labels, training=training)[0]

"""Sampling P(x|y) with the model's own P(y|x): for each requested image, G draws `candidates` latents and
the one whose image the classifier gives the highest log-probability of y is kept.

This is a rejection-style sampler from p_G(x|y) reweighted toward C(y|x) — the joint model using its
classifier to sharpen its generator, as discriminator rejection sampling (Azadi et al., 2019) uses D.
It needs no training and no labels beyond the run's own; it trades diversity for class fidelity, which
the evaluation report shows (conditional accuracy against FID and the diversity ratio).
"""

import tensorflow as tf

from ssl_gen.errors import ConfigError


class BestOfCandidates:
    """Wraps a method (or an exported model) behind the same classify / generate / sample_latents API.

    Latents are [count, candidates, *latent_shape], so a seed still fixes every image, and slicing a batch
    of latents slices whole groups of candidates.
    """

    def __init__(self, method, candidates):
        if int(candidates) < 1:
            raise ConfigError(f"candidates must be at least 1; received {candidates!r}")
        self._method = method
        self.candidates = int(candidates)

    def checkpoint_items(self):
        return self._method.checkpoint_items()

    def classify(self, images):
        return self._method.classify(images)

    def sample_latents(self, count, seed):
        latents = self._method.sample_latents(count * self.candidates, seed)
        return tf.reshape(latents, tf.concat([[count, self.candidates], tf.shape(latents)[1:]], 0))

    def generate(self, labels, latents):
        count = tf.shape(latents)[0]
        flat_latents = tf.reshape(latents, tf.concat([[count * self.candidates], tf.shape(latents)[2:]], 0))
        repeated_labels = tf.repeat(tf.cast(labels, tf.int32), self.candidates)
        images = self._method.generate(repeated_labels, flat_latents)
        log_probabilities = tf.nn.log_softmax(tf.cast(self._method.classify(images), tf.float32))
        label_log_probability = tf.gather(log_probabilities, repeated_labels, batch_dims=1)
        best = tf.argmax(tf.reshape(label_log_probability, [count, self.candidates]), axis=1,
                         output_type=tf.int32)
        grouped = tf.reshape(images, tf.concat([[count, self.candidates], tf.shape(images)[1:]], 0))
        return tf.gather(grouped, best, batch_dims=1)


def with_candidates(method, candidates):
    """The method itself for one candidate (plain G), else its best-of-`candidates` sampler."""
    return method if int(candidates) == 1 else BestOfCandidates(method, candidates)

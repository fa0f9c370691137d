"""Samplers of P(x|y) other than G's own draws, each behind the method's classify / generate /
sample_latents API, so evaluation and export take them as they take a method.

- Best of K (`candidates`): for each requested image, G draws K latents and the one whose image the
  classifier gives the highest log-probability of y is kept. This is a rejection-style sampler from
  p_G(x|y) reweighted toward C(y|x) — the joint model using its classifier to sharpen its generator, as
  discriminator rejection sampling (Azadi et al., 2019) uses D.
- Shrunk latents (`latent_scale` s < 1): z' = c + s (z − c) around the prior's centre c, G alone. It is a
  cousin of BigGAN's truncation trick (Brock et al., 2019) and Glow's temperature (Kingma & Dhariwal,
  2018). A shrunk U(0, 1) latent is still one G could have drawn; the prior is flat, so why the interior
  gives surer samples is an empirical matter for the evaluation report, not derived from density.

Both need no training and no labels beyond the run's own; both trade diversity for fidelity, which the
evaluation report shows (conditional accuracy against FID and the diversity ratio).
"""

import tensorflow as tf

from ssl_gen.errors import ConfigError


class _Sampler:
    """A method (or an exported model) behind its own classify / generate / sample_latents API; a sampler
    overrides only what it changes."""

    def __init__(self, method):
        self._method = method
        self.latent_center = getattr(method, "latent_center", None)

    def checkpoint_items(self):
        return self._method.checkpoint_items()

    def classify(self, images):
        return self._method.classify(images)

    def sample_latents(self, count, seed):
        return self._method.sample_latents(count, seed)

    def generate(self, labels, latents):
        return self._method.generate(labels, latents)


class BestOfCandidates(_Sampler):
    """Latents are [count, candidates, *latent_shape], so a seed still fixes every image, and slicing a
    batch of latents slices whole groups of candidates."""

    def __init__(self, method, candidates):
        if int(candidates) < 1:
            raise ConfigError(f"candidates must be at least 1; received {candidates!r}")
        super().__init__(method)
        self.candidates = int(candidates)

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


class ShrunkLatents(_Sampler):
    """G with latents pulled toward the centre of its prior by `scale` (0 < scale ≤ 1)."""

    def __init__(self, method, scale):
        if not 0.0 < float(scale) <= 1.0:
            raise ConfigError(f"latent_scale must be in (0, 1]; received {scale!r}")
        super().__init__(method)
        if self.latent_center is None:
            raise ConfigError(f"{type(method).__name__} does not say where its latent prior is centred, so its "
                              "latents cannot be shrunk (latent_scale); received latent_center=None")
        self.scale = float(scale)

    def sample_latents(self, count, seed):
        latents = self._method.sample_latents(count, seed)
        return self.latent_center + self.scale * (latents - self.latent_center)


def wrap(method, candidates=1, latent_scale=1.0):
    """The method itself for G's own draws, else the sampler asked for: latents shrunk by `latent_scale`,
    then the best of `candidates` such draws."""
    if float(latent_scale) != 1.0:
        method = ShrunkLatents(method, latent_scale)
    return method if int(candidates) == 1 else BestOfCandidates(method, candidates)


def report_name(candidates=1, latent_scale=1.0):
    """'eval' for G's own draws; 'eval_best_of_K', 'eval_latent_scale_S' or both for the samplers."""
    name = "eval"
    if int(candidates) != 1:
        name += f"_best_of_{int(candidates)}"
    if float(latent_scale) != 1.0:
        name += f"_latent_scale_{float(latent_scale):g}"
    return name

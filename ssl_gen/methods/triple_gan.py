"""Triple-GAN (Li et al., 2017) with an Improved-GAN classifier (Salimans et al., 2016).

Three players, learned from zhenxuan00/triple-gan (`x2y_yz2x_xy2p_ssl_mnist.py`) and openai/improved-gan
(`train_mnist_feature_matching.py`):
- C(x) = P(y|x) learns from the labeled cross-entropy, from Improved-GAN's real/fake term
  (σ(logsumexp C(x)) tells unlabeled images from G's), through D (its pairs (x_u, argmax C) should look
  real) and from G's samples with their conditioning labels (R_p).
- D(x, y) tells real pairs — labeled pairs, and unlabeled images with C's labels as in triple-gan's code —
  from G's pairs (x_g, y) and C's pairs (x_u, argmax C(x_u)).
- G(z, y) = P(x|y) learns through D, by feature matching on C's last hidden layer (what makes C good),
  and by C's cross-entropy on its samples.
Every term that couples the players through labels (C through D, R_p, G through D, G through C's
cross-entropy) ramps in after `warmup_steps`: before that the model is Improved-GAN, which makes C good
first. With G's D-term on from the start, G drifted off C's features and the run collapsed at ~2k steps
(FM loss 0.3 → 30, C's unsupervised loss → 0).
The classifier used for evaluation and export is an exponential moving average of C. C, G, their
updates and the averaging are `ImprovedGan`'s; this class adds D and the terms through it.
"""

import tensorflow as tf

from ssl_gen import architectures, losses, optim
from ssl_gen.methods.base import UpdateTape, apply_gradients, named_losses
from ssl_gen.methods.improved_gan import ImprovedGan


class TripleGan(ImprovedGan):

    def __init__(self, config, spec, total_steps):
        super().__init__(config, spec, total_steps)
        self.discriminator = architectures.discriminator(config, spec, seed=config.seed * 7919 + 2)
        self.discriminator_optimizer = optim.adam(config, total_steps, self._gan_learning_rate())
        self.noise = tf.random.Generator.from_seed(config.seed)  # D's random labels at initialisation

    @property
    def uses_discriminator(self):
        return self.config.generator_adversarial_weight > 0 or self.config.classifier_adversarial_weight > 0

    # --- construction -------------------------------------------------------------------------------
    def build(self):
        self.discriminator(tf.zeros((2,) + tuple(self.spec.image_shape)), tf.zeros((2,), tf.int32))
        super().build()

    def initialize(self, unlabeled_images):
        """improved-gan's data-dependent weight-norm init of C and D (noise on)."""
        labels = self.noise.uniform([tf.shape(unlabeled_images)[0]], 0, self.spec.num_classes, tf.int32)
        self.discriminator(unlabeled_images, labels, training=True, initialize=True)
        super().initialize(unlabeled_images)

    def _updates(self):
        return super()._updates() + ((self.discriminator, self.discriminator_optimizer),)

    def checkpoint_items(self):
        return {**super().checkpoint_items(), "discriminator": self.discriminator,
                "discriminator_optimizer": self.discriminator_optimizer, "noise": self.noise}

    # --- the terms through D ------------------------------------------------------------------------
    def _classifier_pair_logits(self, unlabeled_images, unlabeled_logits):
        if not self.config.classifier_adversarial_weight:  # A Python branch: skips D's pass when unused.
            return None
        return self.discriminator(unlabeled_images, tf.argmax(unlabeled_logits, axis=1, output_type=tf.int32),
                                  training=True)

    def _generator_pair_logits(self, generated, generated_labels):
        if not self.uses_discriminator:
            return None
        return self.discriminator(generated, generated_labels, training=True)

    def _between_updates(self, labeled, unlabeled, unlabeled_logits, reference, generated,
                         generated_labels):
        if not self.uses_discriminator:  # Python branch: with every D term off the model is Improved-GAN.
            return {}
        images = tf.concat([labeled["image"], unlabeled["image2"], generated, unlabeled["image"]], 0)
        labels = tf.concat([labeled["label"], reference["labels"], generated_labels,
                            tf.argmax(unlabeled_logits, axis=1, output_type=tf.int32)], 0)
        num_real = tf.shape(labeled["image"])[0] + tf.shape(unlabeled["image2"])[0]
        sizes = [num_real, tf.shape(generated)[0], tf.shape(unlabeled["image"])[0]]
        with UpdateTape() as tape:
            real, fake_generated, fake_classified = tf.split(
                self.discriminator(images, labels, training=True), sizes)
            discriminator_losses = losses.discriminator_loss(real, fake_generated, fake_classified)
        apply_gradients(tape, discriminator_losses["total"], self.discriminator,
                        self.discriminator_optimizer)
        return named_losses("discriminator", discriminator_losses)

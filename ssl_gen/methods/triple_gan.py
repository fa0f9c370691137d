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
The classifier used for evaluation and export is an exponential moving average of C. With every D term
off there is no D: the method is Improved-GAN.
"""

import dataclasses

import tensorflow as tf

from ssl_gen import losses, optim
from ssl_gen.methods import parts
from ssl_gen.methods.base import apply_gradients, named_losses
from ssl_gen.settings import setting


@dataclasses.dataclass
class Settings(parts.ClassifierGameSettings):
    """Improved-GAN's game and C's augmentation, plus the two players' terms through D(x, y)."""

    classifier_adversarial_weight: float = setting(0.0, "Weight of C's loss through D(x, y) (after warm-up).")
    generator_adversarial_weight: float = setting(0.1, "Weight of G's loss through D(x, y) (after warm-up).")


class TripleGan(parts.ComposedMethod):
    Settings = Settings
    # The second unlabeled view gives D its real pairs (x, C(x)) and G its feature-matching target.
    unlabeled_views = 2
    collapse_loss = "loss/classifier/unsupervised"

    def __init__(self, config, spec, total_steps):
        super().__init__(config, spec, total_steps)
        settings = config.method_settings
        self.classifier = parts.AveragedClassifier(config, spec, total_steps, settings.ema_decay)
        self.generator = parts.Generator(config, spec, total_steps, settings.generator_adam_beta1)
        if settings.generator_adversarial_weight > 0 or settings.classifier_adversarial_weight > 0:
            self.discriminator = parts.PairDiscriminator(config, spec, total_steps)

    def train_step(self, labeled, unlabeled):
        settings = self.config.method_settings
        ramp = optim.linear_ramp(self.classifier.optimizer.iterations, settings.warmup_steps,
                                 settings.warmup_steps)
        latents, labels = unlabeled["latent"], unlabeled["generated_label"]
        generated = self.generator(latents, labels, training=True)
        independent = settings.independent_generator_step
        if not independent:
            target = parts.reference(self.classifier.network, unlabeled["image2"])
        classifier_losses, unlabeled_logits = parts.classifier_update(
            self.classifier, settings, labeled, unlabeled, generated, labels, ramp,
            pair_logits_of=self._classifier_pair_logits if settings.classifier_adversarial_weight else None,
            adversarial_weight=settings.classifier_adversarial_weight)
        if independent:
            target = parts.reference(self.classifier.network, unlabeled["image2"])
        named = named_losses("classifier", classifier_losses)
        if self.discriminator:
            named.update(self._discriminator_update(labeled, unlabeled, unlabeled_logits, target, generated,
                                                    labels))
        generator_losses = parts.generator_update(
            self.generator, self.classifier.network, settings, unlabeled["latent2"] if independent else latents,
            labels, target, ramp, pair_logits_of=self._pair_logits if self.discriminator else None,
            adversarial_weight=settings.generator_adversarial_weight)
        self.classifier.average.update(self.generator.optimizer.iterations)
        return {**named, **named_losses("generator", generator_losses)}

    def _pair_logits(self, images, labels):
        return self.discriminator(images, labels, training=True)

    def _classifier_pair_logits(self, unlabeled_images, unlabeled_logits):
        return self._pair_logits(unlabeled_images, tf.argmax(unlabeled_logits, axis=1, output_type=tf.int32))

    def _discriminator_update(self, labeled, unlabeled, unlabeled_logits, target, generated, generated_labels):
        """D: real pairs (labeled, and the second unlabeled batch with C's labels) against G's pairs and
        C's pairs (x_u, argmax C(x_u))."""
        images = tf.concat([labeled["image"], unlabeled["image2"], generated, unlabeled["image"]], 0)
        labels = tf.concat([labeled["label"], target["labels"], generated_labels,
                            tf.argmax(unlabeled_logits, axis=1, output_type=tf.int32)], 0)
        num_real = tf.shape(labeled["image"])[0] + tf.shape(unlabeled["image2"])[0]
        sizes = [num_real, tf.shape(generated)[0], tf.shape(unlabeled["image"])[0]]
        with tf.GradientTape() as tape:
            real, fake_generated, fake_classified = tf.split(self.discriminator(images, labels, training=True),
                                                             sizes)
            discriminator_losses = losses.discriminator_loss(real, fake_generated, fake_classified)
        apply_gradients(tape, discriminator_losses["total"], self.discriminator.network,
                        self.discriminator.optimizer)
        return named_losses("discriminator", discriminator_losses)
